from __future__ import annotations

import json
import posixpath
import re

from orchfix.text import Edit
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import images, users
from orchfix.transforms.df._exec_form import arg_span, array_items, is_windows

from ._from import image_span, resolved_image

#: what a final stage may hold and still only copy artefacts and run them
_ALLOWED = {"FROM", "COPY", "ADD", "ENV", "ARG", "LABEL", "EXPOSE", "WORKDIR", "VOLUME", "STOPSIGNAL",
            "USER", "CMD", "ENTRYPOINT", "HEALTHCHECK", "MAINTAINER"}
#: folders a bare command name is looked up in (the distroless PATH)
_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
#: build evidence that a binary is statically linked
_STATIC = re.compile(
    r"CGO_ENABLED[= ]+['\"]?0\b|-extldflags[= ]+['\"]?[^'\"]*-static\b|--target[= ]+\S*-musl\b"
    r"|\bRUSTFLAGS=\S*crt-static")
_COMPILES = re.compile(r"\bgo\s+(build|install)\b|\bcargo\s+(build|install)\b")
#: copies of installed Python packages: distroless python (Debian's, under /usr) reads other folders
_PY_PACKAGES = re.compile(r"site-packages|dist-packages|venv|/\.local\b|^/usr/local\b")
_NUMERIC = re.compile(r"\d+")


class Problem(Exception):
    """Why this final stage cannot move to distroless as it is (reported)."""


class DistrolessRuntime(Transform):
    r"""Run the final stage on a distroless image.

    What it finds:
        A final stage on a full, slim or alpine runtime image that only copies artefacts and runs
        them: no RUN (but one that only creates a user, which goes: distroless has ``nonroot``),
        no SHELL or ONBUILD, exec-form CMD/ENTRYPOINT, no shell-form HEALTHCHECK.
        It moves to the matching ``gcr.io/distroless`` image (the mapping is in ``images.toml``):
        node ``<major>`` → ``nodejs<major>-debian12`` with ``node`` dropped from CMD (the image's
        entrypoint is node); eclipse-temurin/openjdk/amazoncorretto ``<major>`` →
        ``java<major>-debian12`` with ``java -jar`` dropped from CMD (its entrypoint is
        ``java -jar``); python 3.11 → ``python3-debian12`` with ``python`` dropped from CMD; an OS
        or toolchain image (alpine, debian, ubuntu, busybox, golang, rust) that runs a binary
        built statically in an earlier stage (Go with ``CGO_ENABLED=0``, ``-extldflags -static``,
        Go 1.20+ on golang's alpine images with no C compiler installed (cgo is then off), a Rust
        musl target) → ``static-debian12``. An ENTRYPOINT that names the runtime gets the
        distroless path of it (``/nodejs/bin/node``). The image's own user (``USER node``,
        ``--chown=node:node``) becomes distroless ``nonroot``; the stage name (``AS runtime``) and
        ``--platform`` stay. The tag is ``nonroot`` when the stage runs as a non-root user, else
        ``latest`` (distroless tags do not version; pin a digest with io-001's ``[pins]``).
        Reported without a fix: a runtime version distroless does not publish (or that the tag
        does not name: ``node:lts``), commands the distroless image lacks (``npm start``,
        ``gunicorn``, a HEALTHCHECK with curl), JVM options before ``-jar``, users the image lacks,
        copied Python packages, an image from a build argument, a binary not shown to be static.

    Why it matters:
        Distroless images hold the runtime and its libraries only: no shell, no package manager,
        no coreutils. They are a fraction of the size, have far fewer CVEs to patch, and give an
        attacker who gets code execution no tools to work with.

    Before:
        FROM node:20-alpine AS build
        WORKDIR /app
        COPY package*.json ./
        RUN npm ci --omit=dev
        COPY . .

        FROM node:20-alpine AS runtime
        WORKDIR /app
        COPY --from=build /app /app
        EXPOSE 3000
        CMD ["node", "server.js"]

    After:
        FROM node:20-alpine AS build
        WORKDIR /app
        COPY package*.json ./
        RUN npm ci --omit=dev
        COPY . .

        FROM gcr.io/distroless/nodejs20-debian12:latest AS runtime
        WORKDIR /app
        COPY --from=build /app /app
        EXPOSE 3000
        CMD ["server.js"]

    Options:
        None.

    Safety:
        Unsafe: the runtime image changes (Debian 12 glibc instead of alpine's musl, another patch
        release of the runtime), nothing in the container can run a shell any more (``docker exec
        … sh`` and shell-based debugging stop working), and native modules built against musl in
        an alpine build stage will not load on the glibc image: build them on a Debian image.
    """

    id = "io-005"
    category = "io"
    title = "Distroless runtime images"
    safety = Safety.UNSAFE
    kinds = frozenset({"dockerfile"})
    options: dict = {}
    precheck = re.compile(r"^\s*(cmd|entrypoint)\s", re.I | re.M)

    def check(self, doc):
        if not doc.stages:
            return
        stage = doc.stages[-1]
        # built on an earlier stage: it inherits that stage's instructions and may need its shell
        if len(doc.ancestry(stage)) > 1:
            return
        # Windows images have no distroless counterpart
        if is_windows(doc, stage):
            return
        # a stage that runs anything at build time (or changes the shell) needs a shell; a RUN
        # that only creates a user is the exception: distroless has its own (nonroot)
        creating = {id(i): users.creates_only(i) for i in stage.instructions if i.keyword == "RUN"}
        if any(i.keyword not in _ALLOWED and not creating.get(id(i)) for i in stage.instructions):
            return
        created = set().union(*[n for n in creating.values() if n])
        last = {k: _last(stage, k) for k in ("CMD", "ENTRYPOINT", "HEALTHCHECK", "USER")}
        entry, cmd, health = last["ENTRYPOINT"], last["CMD"], last["HEALTHCHECK"]
        # shell-form commands need /bin/sh; with neither, the stage runs the image's default
        if any(i is not None and i.exec_form is None for i in (entry, cmd)) or (entry or cmd) is None:
            return
        # a shell-form health check needs /bin/sh
        if health is not None and _health_argv(health) is None and not _health_none(health):
            return
        resolved = resolved_image(doc, stage)
        ref = images.parse_ref(resolved or stage.image)
        mapping = images.distroless_of(ref)
        # not a runtime image distroless replaces (already distroless or scratch, unknown images)
        if mapping is None:
            return
        where = f"the final stage only copies artefacts and runs them on {stage.image}"
        try:
            if ref.variable or stage.image != (resolved or stage.image):
                raise Problem(f"the image comes from a build argument ({stage.image}); write the distroless image by hand")
            image = self._image(doc, stage, ref, mapping)
            # an OS image running something not shown to be a static build: not this pattern
            if image is None:
                return
            edits = self._commands(doc, stage, mapping, entry, cmd)
            edits += self._health(doc, stage, health)
            user_edits, non_root = self._users(doc, stage, ref, last["USER"], created)
            edits += user_edits
            edits += [Edit.delete(i.start, i.end) for i in stage.instructions if creating.get(id(i))]
        except Problem as exc:
            yield self.finding(doc, stage.from_.line, f"{where}; it could run on distroless", reason=str(exc))
            return
        span = image_span(doc, stage.from_)
        # the image word could not be found as written (unusual layout): leave the file alone
        if span is None:
            return
        target = f"{image}:{'nonroot' if non_root else 'latest'}"
        edits.append(Edit(span[0], span[1], target))
        yield self.finding(doc, stage.from_.line, f"{where}: use {target}", edits)

    # -- the image -------------------------------------------------------------------------
    def _image(self, doc, stage, ref, mapping) -> str | None:
        if mapping.runtime == "static":
            if not self._static_binary(doc, stage):
                return None
            self._keeps_accounts(stage)
            return mapping.image_for(None)
        if mapping.runtime == "python":
            version = images.minor_version(ref.tag)
            if version is None:
                raise Problem(f"the tag `{ref.tag or 'latest'}` does not say which Python 3.x runs; "
                              f"{mapping.image_for(mapping.versions[0])} ships Python {mapping.versions[0]}")
        else:
            version = images.major_version(ref.tag)
            if version is None:
                raise Problem(f"the tag `{ref.tag or 'latest'}` does not name the {mapping.runtime} major version; "
                              "pin it (io-001) first")
        image = mapping.image_for(version)
        self._keeps_accounts(stage)
        if image is None:
            raise Problem(f"distroless publishes {mapping.runtime} {', '.join(mapping.versions)} (debian12), "
                          f"not {version}")
        if mapping.runtime == "python":
            for ins in stage.instructions:
                if ins.keyword in ("COPY", "ADD") and any(_PY_PACKAGES.search(w) for w in _copy_words(ins)):
                    raise Problem(f"line {ins.line} copies installed Python packages; distroless python (Debian's, "
                                  "under /usr) reads other folders: install them with `pip install --target` into "
                                  "the app folder and set PYTHONPATH")
        return image

    @staticmethod
    def _keeps_accounts(stage) -> None:
        """Raise when the stage replaces the account files the distroless users live in."""
        for ins in stage.instructions:
            words = _copy_words(ins) if ins.keyword in ("COPY", "ADD") else []
            if words and posixpath.normpath(words[-1]) in ("/etc/passwd", "/etc/group", "/etc"):
                raise Problem(f"line {ins.line} replaces {words[-1]}, where the distroless image keeps its users")

    def _static_binary(self, doc, stage) -> bool:
        entry, cmd = _last(stage, "ENTRYPOINT"), _last(stage, "CMD")
        argv = (entry or cmd).exec_form
        if not argv:
            return False
        source = _provider(doc, stage, argv[0])
        # the executable does not come from a build stage of this file: its linking is unknown
        if source is None:
            return False
        text = "\n".join(i.value for s in doc.ancestry(source) for i in s.instructions if i.keyword in ("RUN", "ENV", "ARG"))
        if _STATIC.search(text) or _cgo_off(doc, source, text):
            return True
        if _COMPILES.search(text):
            raise Problem(f"nothing shows that `{argv[0]}` (built in stage {source.name or source.index}) is "
                          "statically linked: build it with CGO_ENABLED=0 (Go) or for a musl target (Rust) for "
                          "static-debian12, or use gcr.io/distroless/base-debian12 for a glibc binary")
        return False

    # -- CMD / ENTRYPOINT ------------------------------------------------------------------
    def _commands(self, doc, stage, mapping, entry, cmd) -> list[Edit]:
        if mapping.runtime == "static":
            return []
        if entry is not None:
            argv = entry.exec_form
            if argv and argv[0] in mapping.commands:
                return _replace_item(doc, entry, 0, mapping.entrypoint[0])
            raise Problem(f"ENTRYPOINT runs `{argv[0] if argv else ''}`, which the distroless image does not have")
        argv = cmd.exec_form
        first = argv[0] if argv else ""
        if mapping.runtime == "node":
            if first in mapping.commands and len(argv) > 1:
                return _drop_items(doc, cmd, 1)
            if first.endswith((".js", ".mjs", ".cjs")) or first.startswith("-"):
                return []  # node's entrypoint script already ran these with node, as distroless does
        elif mapping.runtime == "java":
            if first in mapping.commands and len(argv) > 2 and argv[1] == "-jar":
                return _drop_items(doc, cmd, 2)
            if first in mapping.commands:
                raise Problem("CMD passes JVM options or a class path to java; distroless java's entrypoint is "
                              "`java -jar`: move the options to JAVA_TOOL_OPTIONS or write an ENTRYPOINT")
        elif mapping.runtime == "python":
            if first in mapping.commands and len(argv) > 1:
                return _drop_items(doc, cmd, 1)
        raise Problem(f"CMD runs `{first}`, which the distroless image does not have (its entrypoint is "
                      f"{' '.join(mapping.entrypoint)})")

    def _health(self, doc, stage, health) -> list[Edit]:
        if health is None or _health_none(health):
            return []
        argv = _health_argv(health)
        if argv and _provider(doc, stage, argv[0], any_source=True) is not None:
            return []
        raise Problem(f"HEALTHCHECK runs `{argv[0] if argv else ''}`, which the distroless image does not have")

    # -- users -----------------------------------------------------------------------------
    def _users(self, doc, stage, ref, user, created: set[str]) -> tuple[list[Edit], bool]:
        """Edits mapping the image's own user (and users the stage creates) to distroless ``nonroot``;
        whether the stage runs as non-root."""
        own = set(created) | {(images.lookup(ref) or images.ImageInfo(name=ref.name)).user} - {None}
        edits: list[Edit] = []
        for ins in stage.instructions:
            chown = ins.flags.get("chown") if ins.keyword in ("COPY", "ADD") else None
            if ins.keyword == "USER":
                text = ins.args.split()[0] if ins.args.split() else ""
                edits += _map_owner(doc, ins, text, own, arg_span(doc, ins)[0])
            elif chown:
                at = doc.text.find(chown, ins.keyword_end, ins.end)
                edits += _map_owner(doc, ins, chown.strip("\"'"), own, at + (chown[0] in "\"'"))
        value = user.args.split()[0] if user is not None and user.args.split() else "root"
        return edits, not re.match(r"(root|0)(:|$)", value)


def _cgo_off(doc, source, text: str) -> bool:
    """Go 1.20+ turns cgo off where there is no C compiler: golang's alpine images, unless the
    stage installs one."""
    ref = images.parse_ref(doc.ancestry(source)[-1].image)
    if ref.variable or ref.name != "golang" or not ref.official or "alpine" not in (ref.tag or ""):
        return False
    version = re.match(r"(\d+)\.(\d+)", ref.tag or "")
    if version and (int(version.group(1)), int(version.group(2))) < (1, 20):
        return False
    return "go build" in text and not re.search(r"\b(gcc|clang|build-base|musl-dev)\b|CGO_ENABLED[= ]+['\"]?1", text)


def _last(stage, keyword):
    return next((i for i in reversed(stage.instructions) if i.keyword == keyword), None)


def _health_none(ins) -> bool:
    return ins.args.strip().upper() == "NONE"


def _health_argv(ins) -> list[str] | None:
    """The exec-form command of ``HEALTHCHECK [options] CMD [...]``; None for the shell form."""
    match = re.search(r"(?i)(?:^|\s)CMD\s+(\[.*\])\s*$", ins.args, re.S)
    if not match:
        return None
    try:
        argv = json.loads(match.group(1))
    except ValueError:
        return None
    return argv if isinstance(argv, list) and all(isinstance(a, str) for a in argv) else None


def _copy_words(ins) -> list[str]:
    return ins.exec_form if ins.exec_form is not None else ins.args.split()


def _provider(doc, stage, executable: str, any_source: bool = False):
    """The build stage a COPY --from of ``stage`` takes ``executable`` from (or, with
    ``any_source``, True for any COPY/ADD that provides it); None when no COPY provides it."""
    workdir = "/"
    found = None
    paths = _candidates(executable)
    for ins in stage.instructions:
        if ins.keyword == "WORKDIR":
            workdir = posixpath.normpath(posixpath.join(workdir, ins.args.strip()))
            continue
        if ins.keyword not in ("COPY", "ADD"):
            continue
        words = _copy_words(ins)
        if len(words) < 2:
            continue
        sources, dest = words[:-1], words[-1]
        base = posixpath.normpath(posixpath.join(workdir, dest))
        targets = {base} if len(sources) == 1 and not dest.endswith("/") else set()
        targets |= {posixpath.join(base, posixpath.basename(s.rstrip("/"))) for s in sources}
        # a copy into / (``COPY . /``) would "provide" every path: only its named sources count
        inside = base != "/"
        hit = any(p in targets or (inside and p.startswith(base + "/")) for p in _resolve(paths, workdir))
        if hit:
            found = ins
    if found is None:
        return None
    if any_source:
        return True
    origin = found.flags.get("from")
    for s in doc.stages:
        if origin and ((s.name and s.name.lower() == origin.lower()) or str(s.index) == origin):
            return s
    return None


def _candidates(executable: str) -> list[str]:
    if "/" in executable:
        return [executable]
    return [posixpath.join(d, executable) for d in _PATH]


def _resolve(paths: list[str], workdir: str) -> list[str]:
    return [posixpath.normpath(posixpath.join(workdir, p)) for p in paths]


def _replace_item(doc, ins, index: int, value: str) -> list[Edit]:
    items = array_items(doc, ins)
    if items is None:
        raise Problem(f"line {ins.line}'s JSON array could not be edited in place")
    start, end = items[index]
    return [Edit(start, end, json.dumps(value))]


def _drop_items(doc, ins, count: int) -> list[Edit]:
    """Remove the first ``count`` strings of an exec-form array (with their separators)."""
    items = array_items(doc, ins)
    if items is None or len(items) <= count:
        raise Problem(f"line {ins.line}'s JSON array could not be edited in place")
    return [Edit(items[0][0], items[count][0], "")]


def _map_owner(doc, ins, value: str, own: set[str], at: int) -> list[Edit]:
    """Edits for one ``user[:group]``: the image's own user (and the stage's created ones) become
    ``nonroot``; names distroless lacks raise Problem."""
    if "$" in value:
        raise Problem(f"line {ins.line} names its user through a variable ({value})")
    edits, pos = [], at
    for part in value.split(":"):
        if part in own:
            edits.append(Edit(pos, pos + len(part), "nonroot"))
        elif part and not _NUMERIC.fullmatch(part) and part not in images.DISTROLESS_USERS:
            raise Problem(f"line {ins.line} names the user or group `{part}`, which the distroless image does not have "
                          f"(it has {', '.join(images.DISTROLESS_USERS)} and numeric ids)")
        pos += len(part) + 1
    return edits
