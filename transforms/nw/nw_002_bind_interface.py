from __future__ import annotations

import posixpath
import re

import yaml
from yaml.nodes import MappingNode, ScalarNode

from orchfix import shell
from orchfix import yamledit as ye
from orchfix.text import Edit
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import compose, images

from . import _graph
from ._graph import all_interfaces, split_port, with_host

# docker run / create options that take a value (the word after them is not the image)
_VALUE_FLAGS = {
    "--add-host", "--annotation", "--attach", "--blkio-weight", "--blkio-weight-device", "--cap-add", "--cap-drop",
    "--cgroup-parent", "--cgroupns", "--cidfile", "--cpu-count", "--cpu-percent", "--cpu-period", "--cpu-quota",
    "--cpu-rt-period", "--cpu-rt-runtime", "--cpu-shares", "--cpus", "--cpuset-cpus", "--cpuset-mems", "--detach-keys",
    "--device", "--device-cgroup-rule", "--device-read-bps", "--device-read-iops", "--device-write-bps",
    "--device-write-iops", "--dns", "--dns-opt", "--dns-option", "--dns-search", "--domainname", "--entrypoint", "--env",
    "--env-file", "--expose", "--gpus", "--group-add", "--health-cmd", "--health-interval", "--health-retries",
    "--health-start-interval", "--health-start-period", "--health-timeout", "--hostname", "--ip", "--ip6", "--ipc",
    "--isolation", "--kernel-memory", "--label", "--label-file", "--link", "--link-local-ip", "--log-driver", "--log-opt",
    "--mac-address", "--memory", "--memory-reservation", "--memory-swap", "--memory-swappiness", "--mount", "--name",
    "--net", "--net-alias", "--network", "--network-alias", "--oom-score-adj", "--pid", "--pids-limit", "--platform",
    "--publish", "--pull", "--restart", "--runtime", "--security-opt", "--shm-size", "--stop-signal", "--stop-timeout",
    "--storage-opt", "--sysctl", "--tmpfs", "--ulimit", "--user", "--userns", "--uts", "--volume", "--volume-driver",
    "--volumes-from", "--workdir", "--arch", "--os", "--variant", "--pod", "--secret", "--uidmap", "--gidmap",
}
_SHORT_VALUE = set("aceghlmpuvw")
_PREFIXES = {"sudo", "exec", "command", "nohup", "time", "env"}
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_CONTINUATION = re.compile(r"\\\r?\n?")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")


class BindInterface(Transform):
    r"""Publish the ports of internal services on the loopback interface only.

    What it finds:
        Published ports of internal services on all interfaces: services whose image is a
        database, cache, message broker or database admin tool (the ``role`` of the image
        knowledge: postgres, mysql, mongo, redis, rabbitmq, kafka, pgadmin, adminer …), in Compose
        ``ports`` (short and long syntax, ranges, ``${VAR:-x}`` parts) and in ``docker run`` /
        ``docker create`` command lines of shell scripts (``-p``, ``-p=``, ``-pSPEC``, ``--publish``,
        ``--publish=``; the image is the first word after the options).

    Why it matters:
        A port published without a host address listens on every interface of the host, and
        Docker's iptables rules bypass host firewalls such as ufw: the database is reachable from
        the network. Binding it to 127.0.0.1 keeps it usable from the host (tools, tunnels) and
        out of reach of everyone else.

    Before:
        services:
          web:
            image: nginx:1.27
            ports:
              - "80:80"
          db:
            image: postgres:17
            ports:
              - "5432:5432"
          cache:
            image: redis:7
            ports:
              - target: 6379
                published: 6379

    After:
        services:
          web:
            image: nginx:1.27
            ports:
              - "80:80"
          db:
            image: postgres:17
            ports:
              - "127.0.0.1:5432:5432"
          cache:
            image: redis:7
            ports:
              - target: 6379
                published: 6379
                host_ip: 127.0.0.1

    Options:
        ``host_ip`` (default ``"127.0.0.1"``): the address to bind to (an IPv6 address is written
        in brackets in the short syntax).

    Safety:
        Unsafe: clients on other hosts (or in containers reaching the service through the host's
        address) lose access. A port with only a container port (``- 5432``, a random host port)
        becomes ``127.0.0.1::5432``. Ports the file binds to an address already are left alone;
        an explicit ``0.0.0.0``/``::`` is the user's choice and is reported, not changed. Swarm
        stack files (ingress publishing ignores host addresses), a whole port mapping held in a
        variable, and ports shared through anchors or merge keys are reported. Each item keeps
        its quoting (a plain item is quoted only when the result needs it). When nw-003 applies
        to the same service it takes precedence: it removes the ports (bound or not), so the two
        converge on ``expose``.
    """

    id = "nw-002"
    category = "nw"
    title = "Bind to a specific interface"
    safety = Safety.UNSAFE
    kinds = frozenset({"compose", "shell"})
    options = {"host_ip": "127.0.0.1"}
    precheck = re.compile(r"ports|-p|--publish|-P")

    def check(self, doc):
        if doc.kind == "shell":
            yield from self._shell(doc)
        else:
            yield from self._compose(doc)

    # Compose -------------------------------------------------------------------------------

    def _compose(self, doc):
        graph = _graph.build(self.ctx.workspace, doc)
        if graph is None or graph.own is None:
            return
        host = str(self.opts["host_ip"])
        stack = "stack" in posixpath.basename(doc.path).lower()
        for service in graph.own.services.values():
            member = graph.services[service.name]
            if member.role not in images.INTERNAL_ROLES:
                continue
            if service.node.start_mark.index < service.key.start_mark.index:
                continue  # an alias of another service: reported there
            ports = service.get("ports")
            if ports is None:
                merged = _graph.lookup(service.node, "ports")
                if _graph._items(merged):
                    yield self.finding(doc, doc.line_of(service.key.start_mark.index),
                                       f"{service.name} ({member.role}) publishes ports from a merged anchor",
                                       reason="its ports come from a merge key (<<): bind them to "
                                              f"{host} where the anchor defines them")
                continue
            if member.network_mode == "host" and _graph._items(ports):
                yield self.finding(doc, doc.line_of(ports.start_mark.index), f"{service.name} ({member.role}) runs on the "
                                   "host network", reason="with network_mode: host its ports are not published but "
                                   f"opened on every host interface: configure it to listen on {host}")
                continue
            for item in _graph._items(ports):
                yield from self._port(doc, service, member.role, item, host, stack, _graph.reused(service))

    def _port(self, doc, service, role, item, host, stack, reused):
        line = doc.line_of(item.start_mark.index)
        if isinstance(item, MappingNode):
            bound = ye.get(item, "host_ip")
            shown = ye.scalar(ye.value(item, "target")) or "?"
            if bound is not None:
                if all_interfaces(ye.scalar(bound[1])):
                    yield self._explicit(doc, line, service, role, shown, host)
                return  # bound to an address already
            edit = ye.set_key(doc, item, "host_ip", host)
        elif isinstance(item, ScalarNode):
            spec = split_port(item.value)
            if spec is None:
                return  # not a port mapping this model reads
            if spec.host is not None:
                if all_interfaces(spec.host):
                    yield self._explicit(doc, line, service, role, item.value, host)
                return  # bound to an address (or to a variable's) already
            shown = item.value
            if spec.published is None and compose.has_variables(spec.target):
                yield self.finding(doc, line, f"{service.name} ({role}) publishes {shown} on all interfaces",
                                   reason="the whole port mapping comes from a variable: bind it to "
                                          f"{host} in the variable's value")
                return
            edit = Edit(item.start_mark.index, item.end_mark.index, _render(doc, item, with_host(spec, host)))
        else:
            return
        message = f"{service.name} ({role}) publishes {shown} on all interfaces"
        if stack:
            yield self.finding(doc, line, message, reason="a swarm stack publishes through the ingress routing mesh, "
                               "which ignores host addresses: publish in `mode: host` with a host_ip, or keep the port "
                               "on an internal network")
        elif reused:
            yield self.finding(doc, line, message, reason="the service is defined through an anchor other services "
                               "share: an edit here changes them too; bind the port where each is defined")
        else:
            yield self.finding(doc, line, message + f": bind it to {host}", [edit])

    def _explicit(self, doc, line, service, role, shown, host):
        return self.finding(doc, line, f"{service.name} ({role}) publishes {shown} on all interfaces",
                            reason=f"bound to all interfaces on purpose (0.0.0.0 / ::): use {host} if only this host "
                                   "should reach it")

    # shell scripts -------------------------------------------------------------------------

    def _shell(self, doc):
        text = doc.text
        heredocs = _heredoc_bodies(text)
        try:
            segments = shell.split(text)
        except shell.ShellSyntaxError:
            return  # a script this splitter cannot read is left alone
        host = str(self.opts["host_ip"])
        for segment in segments:
            if any(a <= segment.start < b for a, b in heredocs):
                continue  # text of a here-document, not a command
            try:
                run = _docker_run(segment)
            except shell.ShellSyntaxError:
                continue
            if run is None:
                continue
            image, publishes, publish_all = run
            role = images.role(images.parse_ref(image)) if "$" not in image else None
            if role not in images.INTERNAL_ROLES:
                continue
            if publish_all is not None:
                yield self.finding(doc, doc.line_of(publish_all), f"{image} ({role}) publishes every exposed port on all "
                                   "interfaces (-P)", reason=f"-P cannot take a host address: publish the needed ports "
                                   f"with -p {host}:HOST:CONTAINER instead")
            for start, end in publishes:
                spec_text = text[start:end]
                spec = split_port(spec_text)
                line = doc.line_of(start)
                if spec is None or "=" in spec_text:
                    continue  # not a short-syntax port
                message = f"{image} ({role}) publishes {spec_text} on all interfaces"
                if spec.host is not None:
                    if all_interfaces(spec.host):
                        yield self.finding(doc, line, message, reason="bound to all interfaces on purpose (0.0.0.0 / ::): "
                                           f"use {host} if only this host should reach it")
                    continue
                if spec.published is None and "$" in spec.target:
                    yield self.finding(doc, line, message, reason="the whole port mapping comes from a variable: bind "
                                       f"it to {host} in the variable's value")
                    continue
                yield self.finding(doc, line, message + f": bind it to {host}", [Edit(start, end, with_host(spec, host))])


def _render(doc, item: ScalarNode, value: str) -> str:
    """``value`` as a scalar in the style of ``item``: same quotes, plain when it stays a string."""
    if item.style in ("'", '"'):
        return f"{item.style}{value}{item.style}"
    sample = f"[{value}]" if _in_flow(doc, item) else f"- {value}"
    try:
        if yaml.safe_load(sample) == [value]:
            return value
    except yaml.YAMLError:
        pass
    return f'"{value}"'


def _in_flow(doc, item: ScalarNode) -> bool:
    """Whether the item sits in a flow sequence (``[...]``): the last non-blank before it is ``[`` or ``,``."""
    before = doc.text[:item.start_mark.index].rstrip()
    return before.endswith(("[", ","))


def _heredoc_bodies(text: str) -> list[tuple[int, int]]:
    """Offsets of here-document bodies (the lines between ``<<WORD`` and ``WORD``)."""
    bodies = []
    for match in _HEREDOC.finditer(text):
        start = text.find("\n", match.end())
        if start < 0:
            continue
        end = re.compile(rf"^[ \t]*{match.group(2)}[ \t]*\r?$", re.M).search(text, start + 1)
        bodies.append((start + 1, end.start() if end else len(text)))
    return bodies


def _words(segment) -> list[tuple[int, int, str]]:
    """(start, end, unquoted text) of the words of a command, up to a comment, without line continuations."""
    found = []
    for a, b in shell.word_spans(segment.text):
        raw = segment.text[a:b]
        if _CONTINUATION.fullmatch(raw):
            continue
        if raw.startswith("#"):
            break
        try:
            unquoted = "".join(shell.words(raw)) if any(c in raw for c in "'\"\\") else raw
        except ValueError:
            unquoted = raw
        found.append((segment.start + a, segment.start + b, unquoted))
    return found


def _docker_run(segment):
    """(image, spans of the port specs of -p/--publish, offset of a -P) of a ``docker run``/
    ``docker create`` command; None for any other command."""
    words = _words(segment)
    i = 0
    while i < len(words) and (words[i][2] in _PREFIXES or _ASSIGNMENT.match(words[i][2])):
        i += 1
    if i >= len(words) or posixpath.basename(words[i][2]) not in ("docker", "podman"):
        return None
    i += 1
    while i < len(words) and words[i][2].startswith("-"):
        # global options (-H host, --context x, --log-level x): the value of the ones that take one
        flag = words[i][2]
        i += 2 if flag in ("-H", "--host", "--context", "-c", "--config", "-l", "--log-level") else 1
    if i < len(words) and words[i][2] == "container":
        i += 1
    if i >= len(words) or words[i][2] not in ("run", "create"):
        return None
    i += 1
    publishes: list[tuple[int, int]] = []
    publish_all = None
    while i < len(words):
        start, end, word = words[i]
        raw = segment.text[start - segment.start:end - segment.start]
        if word == "--":
            i += 1
            break
        if not word.startswith("-") or word == "-":
            break
        if word.startswith("--"):
            name, eq, _ = word.partition("=")
            if name == "--publish-all":
                publish_all = start
            if name == "--publish":
                publishes.append(_value_span(raw, start, len(name) + 1) if eq else _whole(words, i + 1, segment))
            i += 1 if eq or name not in _VALUE_FLAGS else 2
            continue
        # a cluster of short flags (-it, -dp 80:80, -p80:80, -p=80:80)
        j, step = 1, 1
        while j < len(word):
            flag = word[j]
            if flag == "P":
                publish_all = start
            if flag in _SHORT_VALUE:
                rest = word[j + 1:]
                if flag == "p":
                    skip = 1 + j + (1 if rest.startswith("=") else 0)
                    publishes.append(_value_span(raw, start, skip) if rest else _whole(words, i + 1, segment))
                step = 1 if rest else 2
                break
            j += 1
        i += step
    if i >= len(words):
        return None
    return words[i][2], [p for p in publishes if p], publish_all


def _value_span(raw: str, start: int, skip: int) -> tuple[int, int] | None:
    """The span of a flag's attached value (after ``skip`` characters of the word), inside its quotes."""
    value = raw[skip:]
    if not value:
        return None
    if value[0] in "'\"" and value.endswith(value[0]) and len(value) > 1:
        return start + skip + 1, start + len(raw) - 1
    if any(c in value for c in "'\"\\"):
        return None  # partly quoted: not a span to edit safely
    return start + skip, start + len(raw)


def _whole(words, i: int, segment) -> tuple[int, int] | None:
    """The span of the word at ``i`` (the value of a flag), inside its quotes."""
    if i >= len(words):
        return None
    start, end, _ = words[i]
    return _value_span(segment.text[start - segment.start:end - segment.start], start, 0)
