"""The Compose model: services, their ports, volumes, dependencies and environment, both syntaxes.

Every Compose and stack transform reads files through here, so short and long forms, ``x-``
fields, anchors and merge keys, interpolation and multi-file projects are understood once.
Values keep their nodes, so a transform can edit exactly the entry it is about.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.documents.yaml import YamlDocument
from orchfix.workspace import Workspace

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
#: the files ``docker compose`` reads by default from a folder, base and override
DEFAULT_NAMES = frozenset(
    f"{base}{override}.{ext}" for base in ("compose", "docker-compose") for override in ("", ".override") for ext in ("yaml", "yml")
)


def interpolate(text: str, env: dict[str, str] | None = None) -> str:
    """``text`` with ``${VAR:-default}`` / ``$VAR`` replaced by ``env`` values or their defaults
    (empty when neither), as Compose does; ``$$`` stays a literal ``$``."""
    env = env or {}

    def one(match: re.Match) -> str:
        name = match.group(1) or match.group(4)
        op, default = match.group(2), match.group(3) or ""
        if name in env and (env[name] or not (op or "").startswith(":")):
            return env[name] if op not in ("+", ":+") else default
        return default if op in ("-", ":-") else ""

    return _VARIABLE.sub(one, text.replace("$$", "\0")).replace("\0", "$")


def has_variables(text: str) -> bool:
    return bool(_VARIABLE.search(text.replace("$$", "")))


def unset_variables(text: str, env: dict[str, str] | None = None) -> list[str]:
    """The variables of ``text`` that would interpolate to nothing: no value in ``env`` and no
    ``:-``/``-`` default (what is only known when Compose runs)."""
    env = env or {}
    found = []
    for match in _VARIABLE.finditer(text.replace("$$", "")):
        name, op, default = match.group(1) or match.group(4), match.group(2), match.group(3)
        if not env.get(name) and not (op in ("-", ":-") and default):
            found.append(name)
    return found


@dataclass
class Port:
    """One published or exposed port, in either syntax; ``node`` is the list item."""

    node: Node
    target: str
    published: str | None = None
    host_ip: str | None = None
    protocol: str = "tcp"
    long: bool = False


def parse_port(node: Node) -> Port | None:
    """A ``ports`` item: ``"8080:80"``, ``"127.0.0.1:8080:80/udp"``, ``80``, or the long mapping."""
    if isinstance(node, MappingNode):
        get = lambda key: ye.scalar(ye.value(node, key))  # noqa: E731 - a local shorthand
        target = get("target")
        if target is None:
            return None
        return Port(node, target, get("published"), get("host_ip"), get("protocol") or "tcp", long=True)
    text = ye.scalar(node)
    if text is None:
        return None
    text, _, protocol = text.partition("/")
    # an IPv6 host address is bracketed: [::1]:8080:80
    host_ip = None
    if text.startswith("["):
        host_ip, _, text = text[1:].partition("]:")
    parts = text.split(":")
    if len(parts) == 3:
        host_ip, published, target = parts
    elif len(parts) == 2:
        published, target = parts
    else:
        published, target = None, parts[0]
    return Port(node, target, published or None, host_ip or None, protocol or "tcp")


@dataclass
class Volume:
    """A service's ``volumes`` item: ``kind`` is bind, volume (named), anonymous or tmpfs."""

    node: Node
    kind: str
    target: str
    source: str | None = None
    mode: str | None = None
    read_only: bool = False
    long: bool = False


def split_colons(text: str) -> list[str]:
    """``text`` split at its colons, except those inside ``${VAR:-default}`` (a volume's
    ``${CONF:-./conf}:/etc/app:ro`` has three parts)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "{" and text[i - 1:i] == "$":
            depth += 1
        elif char == "}" and depth:
            depth -= 1
        elif char == ":" and not depth:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def parse_volume(node: Node) -> Volume | None:
    if isinstance(node, MappingNode):
        get = lambda key: ye.scalar(ye.value(node, key))  # noqa: E731 - a local shorthand
        target, source, kind = get("target"), get("source"), get("type") or "volume"
        if target is None:
            return None
        if kind == "volume" and not source:
            kind = "anonymous"
        return Volume(node, kind, target, source, None, (get("read_only") or "").lower() == "true", long=True)
    text = ye.scalar(node)
    if not text:
        return None
    parts = split_colons(text)
    # a Windows drive letter (C:\data:/data) is part of the source
    if len(parts) > 2 and len(parts[0]) == 1 and parts[0].isalpha() and parts[1].startswith(("\\", "/")):
        parts = [parts[0] + ":" + parts[1], *parts[2:]]
    if len(parts) == 1:
        return Volume(node, "anonymous", parts[0])
    source, target, mode = parts[0], parts[1], parts[2] if len(parts) > 2 else None
    bind = source.startswith((".", "/", "~", "$")) or "\\" in source
    return Volume(node, "bind" if bind else "volume", target, source, mode, "ro" in (mode or "").split(","))


@dataclass
class EnvVar:
    """An ``environment`` entry: ``value`` None when only the name is given (taken from the shell)."""

    name: str
    value: str | None
    node: Node
    key: ScalarNode | None = None
    listed: bool = False


@dataclass
class Service:
    name: str
    key: ScalarNode
    node: MappingNode
    file: "ComposeFile"

    def get(self, key: str) -> Node | None:
        return ye.value(self.node, key)

    def text(self, key: str) -> str | None:
        return ye.scalar(self.get(key))

    @property
    def image(self) -> str | None:
        return self.text("image")

    @property
    def shared(self) -> bool:
        """Its mapping is an anchor others alias, or it merges keys from one (``<<: *x``), or
        extends another service: keys may live elsewhere, edits may reach other services."""
        inline = self.node.start_mark.index > self.key.start_mark.index
        between = self.file.doc.text[self.key.end_mark.index:self.node.start_mark.index]
        anchored = re.match(r"\s*:[ \t]*&", between) is not None or self.file.doc.text.startswith("&", self.node.start_mark.index)
        return not inline or anchored or ye.get(self.node, "<<") is not None or ye.get(self.node, "extends") is not None

    def items(self, key: str) -> list[Node]:
        value = self.get(key)
        return list(value.value) if isinstance(value, SequenceNode) else []

    def ports(self) -> list[Port]:
        return [p for p in map(parse_port, self.items("ports")) if p]

    def volumes(self) -> list[Volume]:
        return [v for v in map(parse_volume, self.items("volumes")) if v]

    def depends_on(self) -> list[str]:
        value = self.get("depends_on")
        if isinstance(value, SequenceNode):
            return [s for s in map(ye.scalar, value.value) if s]
        if isinstance(value, MappingNode):
            return [k.value for k, _ in value.value if isinstance(k, ScalarNode)]
        return []

    def environment(self) -> list[EnvVar]:
        value = self.get("environment")
        found: list[EnvVar] = []
        if isinstance(value, MappingNode):
            for k, v in value.value:
                if isinstance(k, ScalarNode) and k.value != "<<":
                    found.append(EnvVar(k.value, None if ye.is_null(v) else ye.scalar(v), v, k))
        elif isinstance(value, SequenceNode):
            for item in value.value:
                text = ye.scalar(item)
                if text:
                    name, eq, val = text.partition("=")
                    found.append(EnvVar(name.strip(), val if eq else None, item, listed=True))
        return found

    def networks(self) -> list[str]:
        value = self.get("networks")
        if isinstance(value, SequenceNode):
            return [s for s in map(ye.scalar, value.value) if s]
        if isinstance(value, MappingNode):
            return [k.value for k, _ in value.value if isinstance(k, ScalarNode)]
        return []

    def profiles(self) -> list[str]:
        return [s for s in map(ye.scalar, self.items("profiles")) if s]

    @property
    def deploy(self) -> Node | None:
        return self.get("deploy")


@dataclass
class ComposeFile:
    doc: YamlDocument
    root: MappingNode
    services: dict[str, Service] = field(default_factory=dict)

    @property
    def folder(self) -> str:
        return posixpath.dirname(self.doc.path)

    def top(self, key: str) -> Node | None:
        """A top-level section (``volumes``, ``networks``, ``secrets``…)."""
        return ye.value(self.root, key)

    @property
    def stack(self) -> bool:
        """A swarm stack file: named so, or its services use ``deploy`` sections."""
        name = posixpath.basename(self.doc.path).lower()
        return "stack" in name or any(s.deploy is not None for s in self.services.values())


def load(doc: YamlDocument) -> ComposeFile | None:
    """The Compose model of a document; None when it has no ``services`` mapping."""
    root = doc.nodes[0] if doc.nodes else None
    if not isinstance(root, MappingNode):
        return None
    compose = ComposeFile(doc, root)
    services = ye.value(root, "services")
    if not isinstance(services, MappingNode):
        return None
    for key, node in services.value:
        if isinstance(key, ScalarNode) and isinstance(node, MappingNode) and not key.value.startswith("x-"):
            compose.services[key.value] = Service(key.value, key, node, compose)
    return compose


def project(workspace: Workspace, doc: YamlDocument) -> list[ComposeFile]:
    """The Compose files read together with ``doc``: a default-named file (``compose.yaml``,
    ``docker-compose.yml``…) and the override file beside it; any other name stands alone."""
    own = load(doc)
    files = [own] if own else []
    if posixpath.basename(doc.path) not in DEFAULT_NAMES:
        return files
    for path in _default_files(workspace).get(posixpath.dirname(doc.path), ()):
        if path == doc.path:
            continue
        other = workspace.document(path)
        loaded = load(other) if isinstance(other, YamlDocument) else None
        if loaded:
            files.append(loaded)
    return files


def _default_files(workspace: Workspace) -> dict[str, list[str]]:
    """Folder → its default-named compose files, in workspace order (grouped once per file set)."""
    cached = workspace.__dict__.get("_compose_defaults")
    if cached is None or cached[0] is not workspace.files or cached[1] != len(workspace.files):
        by_folder: dict[str, list[str]] = {}
        for entry in workspace.of_kind("compose"):
            if posixpath.basename(entry.path) in DEFAULT_NAMES:
                by_folder.setdefault(posixpath.dirname(entry.path), []).append(entry.path)
        cached = workspace.__dict__["_compose_defaults"] = (workspace.files, len(workspace.files), by_folder)
    return cached[2]


def dependents(files: list[ComposeFile], name: str) -> list[str]:
    """Services of the project that depend on ``name`` (through depends_on or links)."""
    found = []
    for compose in files:
        for service in compose.services.values():
            links = [ye.scalar(n).split(":")[0] for n in service.items("links") if ye.scalar(n)]
            if name in service.depends_on() or name in links:
                found.append(service.name)
    return found


#: keys through which a service uses another: ``network_mode``/``ipc``/``pid`` ``service:NAME``
_SERVICE_MODES = ("network_mode", "ipc", "pid")


def references(files: list[ComposeFile], name: str) -> list[str]:
    """Services of the project that need ``name`` to run or are built on it: :func:`dependents`
    plus ``network_mode``/``ipc``/``pid: service:NAME``, ``volumes_from`` and ``extends``."""
    found = dependents(files, name)
    for compose in files:
        for service in compose.services.values():
            if service.name == name or service.name in found:
                continue
            modes = [service.text(key) for key in _SERVICE_MODES]
            volumes_from = [ye.scalar(n).split(":")[0] for n in service.items("volumes_from") if ye.scalar(n)]
            extends = service.get("extends")
            # an extends with ``file:`` names a service of another file
            base = ye.scalar(extends) if isinstance(extends, ScalarNode) else (
                ye.scalar(ye.value(extends, "service")) if ye.value(extends, "file") is None else None)
            if f"service:{name}" in modes or name in volumes_from or base == name:
                found.append(service.name)
    return found


def owned(doc: YamlDocument, key: ScalarNode, node: Node) -> bool:
    """Whether ``node``, the value of ``key``, is written right after it and nowhere else shares
    it: not an alias (``*x``, whose node lives at its anchor), not an anchor (``&x``) others may
    alias, not merging keys from one (``<<: *x``). Only such a value can be edited in place."""
    if node.start_mark.index < key.end_mark.index:
        return False
    between = doc.text[key.end_mark.index:node.start_mark.index]
    if "&" in between.split("#", 1)[0] or doc.text.startswith(("&", "*"), node.start_mark.index):
        return False
    return ye.get(node, "<<") is None


#: deploy keys only swarm reads (docker compose reads ``replicas``, ``resources``, ``restart_policy`` too)
SWARM_ONLY = frozenset({"placement", "update_config", "rollback_config", "endpoint_mode"})


def swarm(compose: ComposeFile) -> bool:
    """Whether a file is a swarm stack for sure: named as one (``docker-stack.yml``), or a
    service's ``deploy`` uses what only swarm reads (``placement``, ``update_config``,
    ``rollback_config``, ``endpoint_mode``, ``mode: global`` or a job mode). Stricter than
    :attr:`ComposeFile.stack`, for changes plain docker compose could not run (external secrets)
    or would not use (rolling updates, placement)."""
    if "stack" in posixpath.basename(compose.doc.path).lower():
        return True
    for service in compose.services.values():
        node = service.deploy
        if isinstance(node, MappingNode):
            keys = {k.value for k, _ in node.value if isinstance(k, ScalarNode)}
            if keys & SWARM_ONLY or ye.scalar(ye.value(node, "mode")) in ("global", "replicated-job", "global-job"):
                return True
    return False
