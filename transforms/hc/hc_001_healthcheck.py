from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass, field

from orchfix import shell
from orchfix.text import Edit, newline_of
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import dockerenv, images, ports

#: ENV variables that name the port an app listens on
_PORT_VARS = ("PORT", "HTTP_PORT", "SERVER_PORT", "APP_PORT", "FLASK_RUN_PORT", "ASPNETCORE_HTTP_PORTS")
_WEB_SERVERS = {"nginx", "httpd", "httpd-foreground", "apache2-foreground", "apachectl", "apache2ctl", "openresty", "caddy"}
_INSTALL = re.compile(
    r"\b(?:apk\s+(?:-\S+\s+|--\S+\s+)*add|apt-get\s+(?:-\S+\s+)*install|apt\s+(?:-\S+\s+)*install|"
    r"(?:yum|dnf|microdnf|tdnf)\s+(?:-\S+\s+)*install|zypper\s+(?:-\S+\s+)*(?:in|install))\b([^;&|]*)")
_REMOVE = re.compile(r"\b(?:apk\s+del|apt-get\s+(?:-\S+\s+)*(?:purge|remove)|apt\s+(?:purge|remove)|(?:yum|dnf|microdnf)\s+remove)\b([^;&|]*)")
_VIRTUAL = re.compile(r"(?:--virtual|-t)[ =](\S+)")
_NO_SHELL = "the image has no shell and no HTTP client (distroless/scratch); probe it from outside (orchestrator) or build a health command into the app"


@dataclass
class Serving:
    """How the final stage serves: the port and where it was read, or why it cannot be told."""

    port: int | None = None
    source: str = ""
    others: list[int] = field(default_factory=list)
    server: str | None = None
    problem: str | None = None


def _int(text: str | None) -> int | None:
    text = (text or "").strip().strip("'\"")
    match = re.match(r"^(?:https?://[^:/]*:)?(\d{1,5})", text)
    return int(match.group(1)) if match and 0 < int(match.group(1)) < 65536 else None


def _bind_port(value: str) -> int | None:
    """The port of a ``host:port`` / ``:port`` / ``port`` bind address (None for unix sockets)."""
    if value.startswith("unix:"):
        return None
    return _int(value.rsplit(":", 1)[-1])


def _option(argv: list[str], *names: str) -> str | None:
    for i, word in enumerate(argv):
        for name in names:
            if word == name and i + 1 < len(argv):
                return argv[i + 1]
            if name.startswith("--") and word.startswith(name + "="):
                return word[len(name) + 1:]
            if not name.startswith("--") and word.startswith(name) and len(word) > len(name) and word[len(name)].isdigit():
                return word[len(name):]
    return None


def _server_command(argv: list[str], env: dict[str, str]) -> tuple[int, str] | None:
    """(port, what) for a command line of a known server."""
    names = [posixpath.basename(w) for w in argv]
    if "gunicorn" in names:
        bind = _option(argv, "-b", "--bind")
        port = _bind_port(bind) if bind else 8000
        return (port, "gunicorn") if port else None
    for server, default in (("uvicorn", 8000), ("hypercorn", 8000), ("daphne", 8000)):
        if server in names:
            return (_int(_option(argv, "--port", "-p")) or _bind_port(_option(argv, "--bind", "-b") or "") or default, server)
    if "flask" in names and "run" in argv:
        return (_int(_option(argv, "--port", "-p")) or _int(env.get("FLASK_RUN_PORT")) or 5000, "flask run")
    if "runserver" in argv:
        rest = argv[argv.index("runserver") + 1:]
        address = next((w for w in rest if not w.startswith("-")), "8000")
        return (_bind_port(address) or 8000, "manage.py runserver")
    if "http.server" in argv:
        rest = argv[argv.index("http.server") + 1:]
        return (_int(next((w for w in rest if w.isdigit()), "8000")) or 8000, "python -m http.server")
    if "php" in names and "-S" in argv:
        port = _bind_port(_option(argv, "-S") or "")
        return (port, "php -S") if port else None
    if ("rails" in names and any(w in ("s", "server") for w in argv)) or "puma" in names:
        port = _int(_option(argv, "-p", "--port"))
        return (port or 3000, "rails server") if port or "rails" in names else None
    if "java" in names:
        port = _int(_option(argv, "-Dserver.port", "--server.port"))
        if port is None:
            port = next((_int(w.split("=", 1)[1]) for w in argv if w.startswith(("-Dserver.port=", "--server.port="))), None)
        return (port, "java server.port") if port else None
    if names and names[0] in _WEB_SERVERS:
        return 80, names[0]
    return None


def _argv(ins) -> list[str]:
    if ins is None:
        return []
    if ins.exec_form is not None:
        return ins.exec_form
    try:
        return shell.words(ins.args)
    except ValueError:
        return ins.args.split()


def _installed(doc, chain_ins) -> set[str]:
    """HTTP clients (curl, wget) that a RUN in the final image's stages installs and keeps."""
    tools: set[str] = set()
    runs = [i for i in chain_ins if i.keyword == "RUN"]
    text = "\n".join(dockerenv.command_text(i) for i in runs)
    removed = {w for m in _REMOVE.finditer(text) for w in m.group(1).split()}
    for match in _INSTALL.finditer(text):
        words = match.group(1).split()
        virtual = _VIRTUAL.search(match.group(0))
        if virtual and virtual.group(1) in removed:
            continue  # a virtual package group deleted again later
        for word in words:
            name = re.split(r"[=<>~]", word, maxsplit=1)[0]
            if name in ("curl", "wget") and name not in removed:
                tools.add(name)
    return tools


class HealthCheck(Transform):
    r"""Give images that serve a port a HEALTHCHECK.

    What it finds:
        A final stage that serves on a port (``EXPOSE``, ``ENV PORT=…``, or a known server
        command: gunicorn/uvicorn ``--bind``/``--port``, ``flask run``, ``manage.py runserver``,
        ``java -jar … --server.port=``, nginx, httpd; or a base image that is itself a server, such
        as nginx or postgres) and has no HEALTHCHECK, neither its own nor from a stage of the
        file it is built on. ``HEALTHCHECK NONE`` is a decision and is left alone. The port is the
        first TCP port of EXPOSE (``EXPOSE $PORT`` resolved through ENV/ARG defaults); UDP-only
        stages are skipped. The probe is a command the image has: busybox ``wget`` on
        alpine/busybox, ``curl`` where the full image ships it or a RUN installs it, a ``node -e``
        or ``python -c`` one-liner on slim Node/Python images, the table's command for database
        images (``pg_isready``, ``redis-cli ping``…).
        Reported without a fix: distroless/scratch images (no shell, no client), unknown base
        images and images without any client, ports that do not speak HTTP (22, 443, 5432 on a
        non-database image, gRPC's 50051…), ports hidden behind variables without a default.

    Why it matters:
        Without a HEALTHCHECK Docker only knows whether the process runs, not whether it
        answers. A health status lets ``docker ps``, Compose's ``depends_on: service_healthy``,
        Swarm and restart policies act on a hung app.

    Before:
        FROM python:3.12-slim
        WORKDIR /app
        COPY . .
        EXPOSE 8000
        USER nobody
        CMD ["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]

    After:
        FROM python:3.12-slim
        WORKDIR /app
        COPY . .
        EXPOSE 8000
        USER nobody
        HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
            CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health').getcode() < 400 else 1)"]
        CMD ["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]

    Options:
        ``path`` (default ``"/health"``): the URL path the app answers health checks on.
        ``web_server_path`` (default ``"/"``): the path probed when the server is the base
        image's own web server (nginx, httpd), which has no health route of its own.
        ``interval`` (``"30s"``), ``timeout`` (``"5s"``), ``start_period`` (``"10s"``),
        ``retries`` (``3``): the HEALTHCHECK timings.

    Safety:
        Unsafe: the container gets a health status, and a probe on a path the app does not
        serve marks it unhealthy (set ``path``); orchestrators that act on health may restart
        it. The HEALTHCHECK goes before the final stage's CMD/ENTRYPOINT (above their comment
        lines), or at the end of the stage.
    """

    id = "hc-001"
    category = "hc"
    title = "Dockerfile HEALTHCHECK"
    safety = Safety.UNSAFE
    kinds = frozenset({"dockerfile"})
    options = {"path": "/health", "web_server_path": "/", "interval": "30s", "timeout": "5s",
               "start_period": "10s", "retries": 3}
    precheck = re.compile(r"^\s*from\s", re.I | re.M)

    def check(self, doc):
        # no stage, nothing runs
        if not doc.stages:
            return
        final = doc.stages[-1]
        chain = doc.ancestry(final)
        chain_ins = [i for stage in reversed(chain) for i in stage.instructions]
        # a HEALTHCHECK (or HEALTHCHECK NONE) of its own or inherited is a decision made
        if any(i.keyword == "HEALTHCHECK" for i in chain_ins):
            return
        image = dockerenv.resolved_image(doc, final)
        ref = images.parse_ref(image) if image else None
        info = images.lookup(ref) if ref else None
        serving = self._serving(doc, final, chain_ins, info)
        # not a server, or UDP only: nothing to probe
        if serving is None:
            return
        line = final.from_.line
        if serving.problem:
            yield self.finding(doc, line, "the final stage serves without a HEALTHCHECK", reason=serving.problem)
            return
        port = serving.port
        title = f"the final stage serves on port {port} ({serving.source}) without a HEALTHCHECK"
        if ref is None:
            yield self.finding(doc, line, title, reason=f"its base image comes from a variable without a default ({final.image}); "
                                                        "which HTTP client it has is unknown")
            return
        probe = self._probe(doc, ref, info, chain_ins, serving)
        if probe.startswith("!"):
            yield self.finding(doc, line, title, reason=probe[1:])
            return
        edit = self._insert(doc, final, probe)
        also = f"; it also exposes {', '.join(map(str, serving.others))}, only the first is probed" if serving.others else ""
        yield self.finding(doc, line, f"{title}: added a HEALTHCHECK{also}", [edit])

    def _serving(self, doc, final, chain_ins, info) -> Serving | None:
        entry = next((i for i in reversed(chain_ins) if i.keyword == "ENTRYPOINT"), None)
        cmd = next((i for i in reversed(chain_ins) if i.keyword == "CMD"), None)
        argv = _argv(entry) + _argv(cmd)
        # the web server that answers: named by the command, or the base image's own (nginx, httpd)
        if argv:
            server = posixpath.basename(argv[0]) if posixpath.basename(argv[0]) in _WEB_SERVERS else None
        else:
            server = info.name if info is not None and info.name in _WEB_SERVERS else None
        exposes = [i for i in chain_ins if i.keyword == "EXPOSE"]
        if exposes:
            serving = _from_expose(doc, exposes, info)
            if serving is not None:
                serving.server = server
            return serving
        for ins in reversed([i for i in chain_ins if i.keyword == "ENV"]):
            for pair in dockerenv.pairs(doc, ins) or ():
                if pair.name in _PORT_VARS:
                    value = dockerenv.expand(pair.value, dockerenv.variables_at(doc, ins))
                    port = _int((value or "").split(";")[0])
                    if port:
                        return Serving(port, f"ENV {pair.name} on line {ins.line}", server=server)
        if argv:
            found = _server_command(argv, dockerenv.variables_at(doc, chain_ins[-1]))
            if found:
                port, what = found
                return Serving(port, f"{what} in {(entry or cmd).keyword} on line {(entry or cmd).line}", server=server)
            return None
        if info is not None and info.port:
            # the base image is itself the server (nginx, postgres…)
            return Serving(info.port, f"the {info.name} image's own server", server=server)
        return None

    def _probe(self, doc, ref, info, chain_ins, serving: Serving) -> str:
        """The HEALTHCHECK command (shell form, or an exec-form JSON array), or '!' + why none."""
        port = serving.port
        kind = images.family(ref)
        tag = (ref.tag or "").lower()
        if ref.path == "scratch" or kind in ("scratch", "distroless") or "distroless" in ref.path or "chiseled" in tag:
            return "!" + _NO_SHELL
        if serving.server is None and info is not None and info.health and info.port == port and ports.not_http(port):
            return info.health
        if ports.not_http(port):
            return f"!port {port} is a well-known non-HTTP port ({ports.not_http(port)}); write a health command for it by hand"
        if "fpm" in tag and port == 9000:
            return "!php-fpm on port 9000 speaks FastCGI, not HTTP; probe the web server in front of it"
        path = str(self.opts["web_server_path"] if serving.server else self.opts["path"])
        url = f"http://127.0.0.1:{port}{path if path.startswith('/') else '/' + path}"
        installed = _installed(doc, chain_ins)
        slim = "slim" in tag
        # exec form, as hadolint's DL3025 asks of every CMD: any non-zero exit marks the container unhealthy
        wget = json.dumps(["wget", "-qO", "/dev/null", url])
        curl = json.dumps(["curl", "-fsS", "-o", "/dev/null", url])
        if kind in ("alpine", "busybox"):
            return wget
        if "curl" in installed:
            return curl
        if "wget" in installed:
            return wget
        if info is not None and not slim and "curl" in info.tools:
            return curl
        if info is not None and not slim and "wget" in info.tools:
            return wget
        runtime = info.runtime if info is not None else None
        if runtime == "node":
            script = (f"require('http').get('{url}', function (r) {{ process.exit(r.statusCode >= 200 && r.statusCode < 400 ? 0 : 1); }})"
                      ".on('error', function () { process.exit(1); })")
            return json.dumps(["node", "-e", script])
        if runtime == "python":
            if re.match(r"2(\b|\.)", tag):
                return "!Python 2 has no urllib.request and the image no curl or wget; install one or write the probe by hand"
            script = f"import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('{url}').getcode() < 400 else 1)"
            return json.dumps(["python", "-c", script])
        if info is None:
            return (f"!the base image {ref.raw} is not one orchfix knows, so which HTTP client it has is unknown; "
                    "install curl or wget in the image or add the HEALTHCHECK by hand")
        return (f"!{ref.raw} ships no curl or wget (nor a node/python runtime) to probe {url}; "
                "install one in the image or add the HEALTHCHECK by hand")

    def _insert(self, doc, final, probe: str) -> Edit:
        nl = newline_of(doc.text)
        anchor = next((i for i in final.instructions if i.keyword in ("CMD", "ENTRYPOINT")), None)
        like = anchor or final.from_
        hc_kw = dockerenv.keyword_like("HEALTHCHECK", like.raw_keyword)
        cmd_kw = dockerenv.keyword_like("CMD", like.raw_keyword)
        indent = dockerenv.indent_of(doc, like)
        o = self.opts
        text = (f"{indent}{hc_kw} --interval={o['interval']} --timeout={o['timeout']} "
                f"--start-period={o['start_period']} --retries={o['retries']} {doc.escape}{nl}"
                f"{indent}    {cmd_kw} {probe}{nl}")
        if anchor is not None:
            above = len(doc.comments_before(anchor))
            return Edit.insert(doc.index.start_of(anchor.line - above), text)
        last = final.instructions[-1]
        lead = "" if doc.text.endswith("\n", 0, last.end) else nl
        return Edit.insert(last.end, lead + text)


def _from_expose(doc, exposes, info) -> Serving | None:
    tcp: list[int] = []
    unresolved: list[str] = []
    udp_only = True
    for ins in exposes:
        env = None
        for word in ins.args.split():
            if "$" in word:
                env = env if env is not None else dockerenv.variables_at(doc, ins)
                value = dockerenv.expand(word, env)
                if value is None:
                    unresolved.append(word)
                    udp_only = False
                    continue
                word = value
            spec, _, proto = word.partition("/")
            if proto.lower() == "udp":
                continue
            udp_only = False
            port = _int(spec.split("-")[0])
            if port and port not in tcp:
                tcp.append(port)
    if udp_only:
        return None
    if not tcp:
        return Serving(problem=f"EXPOSE {' '.join(unresolved)} has no value known in the file; set the port's default with ARG/ENV")
    first_line = exposes[0].line
    usable = [p for p in tcp if not ports.not_http(p)]
    if info is not None and info.health and info.port in tcp:
        port = info.port  # a database image exposing its own port: its own health command
    elif usable:
        port = usable[0]
    else:
        port = tcp[0]
    return Serving(port, f"EXPOSE on line {first_line}", [p for p in tcp if p != port])
