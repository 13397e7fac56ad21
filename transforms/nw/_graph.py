"""Who talks to whom in a Compose project (nw-001, nw-002, nw-003, dc-004).

One place reads a project's services as a graph: what each service is (its image's role from
the image knowledge: database, cache, broker, admin), whether it publishes ports, its profiles,
and which other services it reaches: ``depends_on``, ``links``, ``network_mode: service:x``, and
host names in its environment (``environment`` and ``env_file`` values, both syntaxes) and in the
URLs of its ``command``/``entrypoint``. Services of the whole project count: the override file
beside a default-named file, files named by a top-level ``include``, and the bases of
``extends``; keys reached through merge keys (``<<: *defaults``) are read where they live.

Host names are matched against every name a service answers to on a network: its name, its
``container_name`` and ``hostname``, its network ``aliases`` and the aliases other services give
it in ``links``.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.documents.yaml import YamlDocument
from orchfix.text import Edit
from orchfix.transforms._knowledge import compose, images
from orchfix.transforms._knowledge.compose import ComposeFile, Service
from orchfix.workspace import Workspace

#: variable names that hold a host (a bare ``DB_HOST=db`` counts; other values need a URL or host:port)
HOST_NAME = re.compile(r"HOST|ADDR|SERVER|URL|URI|ENDPOINT|DSN|BROKER|NODES?\b|PEERS?|SEEDS?|UPSTREAM|BACKEND|"
                       r"CONNECT|CLUSTER|SERVICE|TARGET|REMOTE", re.I)
_URL_HOST = re.compile(r"\b[a-z][a-z0-9+.-]*://(?:[^@/\s?#]*@)?(\[[^\]\s]*\]|[A-Za-z0-9_.-]+)", re.I)
_HOST_PORT = re.compile(r"(?<![\w.@/:$-])([A-Za-z][A-Za-z0-9_.-]*):\d{1,5}(?![\d.])")
_BARE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
_ANCHOR = re.compile(r"\s*:[ \t]*&([^\s,\[\]{}]+)")


def hosts_in(value: str, name: str | None = None) -> set[str]:
    """Host names in a value: URL hosts, ``host:port`` pairs, and (for a variable whose ``name``
    says it holds a host, not a name, id or credential) bare words of a comma/space separated list."""
    found = {m.group(1) for m in _URL_HOST.finditer(value)} | {m.group(1) for m in _HOST_PORT.finditer(value)}
    if name and HOST_NAME.search(name) and not re.search(r"NAME$|_ID$|USER$|PASSWORD$", name, re.I):
        found |= {w for w in re.split(r"[\s,;]+", value.strip()) if _BARE.fullmatch(w)}
    return found


def lookup(node: Node | None, key: str, depth: int = 0) -> Node | None:
    """``key`` of a mapping, its own entry first, then the mappings it merges (``<<``)."""
    own = ye.value(node, key)
    if own is not None or depth > 8:
        return own
    merged = ye.value(node, "<<")
    for source in (merged.value if isinstance(merged, SequenceNode) else [merged]):
        if isinstance(source, MappingNode):
            found = lookup(source, key, depth + 1)
            if found is not None:
                return found
    return None


def merged_pairs(node: MappingNode, depth: int = 0) -> list[tuple[Node, Node]]:
    """The entries of a mapping with those it merges (``<<: *x``) first, own keys winning."""
    merged = ye.value(node, "<<")
    pairs: list[tuple[Node, Node]] = []
    if depth < 8:
        for source in (merged.value if isinstance(merged, SequenceNode) else [merged]):
            if isinstance(source, MappingNode):
                pairs += merged_pairs(source, depth + 1)
    own = [(k, v) for k, v in node.value if not (isinstance(k, ScalarNode) and k.value == "<<")]
    names = {k.value for k, _ in own if isinstance(k, ScalarNode)}
    return [(k, v) for k, v in pairs if not (isinstance(k, ScalarNode) and k.value in names)] + own


def strings(node: Node | None) -> list[str]:
    """A scalar or a sequence of scalars as strings."""
    if isinstance(node, ScalarNode):
        return [node.value]
    if isinstance(node, SequenceNode):
        return [s for s in map(ye.scalar, node.value) if s is not None]
    return []


def keys(node: Node | None) -> list[str]:
    """A sequence of names, or the keys of a mapping (``depends_on``, ``networks``)."""
    if isinstance(node, MappingNode):
        return [k.value for k, _ in node.value if isinstance(k, ScalarNode) and k.value != "<<"]
    return strings(node)


def reused(service: Service) -> bool:
    """The service's mapping is shared with another service: it is an alias (``b: *a``) or an
    anchor an alias names (``a: &a …`` with ``*a`` elsewhere), so an edit would reach both."""
    text = service.file.doc.text
    if service.node.start_mark.index < service.key.start_mark.index:
        return True
    anchor = _ANCHOR.match(text, service.key.end_mark.index)
    return anchor is not None and re.search(r"\*" + re.escape(anchor.group(1)) + r"(?![^\s,\]}])", text) is not None


def parse_env_file(text: str) -> list[tuple[str, str]]:
    """``KEY=VALUE`` lines of an env file (``export``, quotes and comments as Compose reads them)."""
    found = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) > 1 and value[0] in "'\"" and value.endswith(value[0]):
            value = value[1:-1]
        else:
            value = re.sub(r"\s+#.*$", "", value)
        found.append((name.strip(), value))
    return found


@dataclass
class Member:
    """A service of the project, its definitions across the project's files merged."""

    name: str
    defs: list[Service] = field(default_factory=list)
    image: str | None = None
    role: str | None = None
    published: bool = False
    profiles: frozenset[str] = frozenset()
    #: names of the services it reaches
    talks: set[str] = field(default_factory=set)
    #: (variable name, value) of its environment, and ("", its command line)
    values: list[tuple[str, str]] = field(default_factory=list)
    network_mode: str | None = None
    networks: set[str] = field(default_factory=set)
    extends: str | None = None
    #: a service it extends (in the project or another file) publishes ports it inherits
    inherits_ports: bool = False
    #: other names it answers to (container_name, hostname, network aliases)
    aliases: set[str] = field(default_factory=set)
    #: names it gives other services in ``links`` (alias → service)
    links: dict[str, str] = field(default_factory=dict)

    @property
    def data(self) -> bool:
        return self.role in images.DATA_ROLES


@dataclass
class Graph:
    """The services of the project ``doc`` belongs to, by name."""

    doc: YamlDocument
    own: ComposeFile | None
    files: list[ComposeFile]
    services: dict[str, Member]

    def users(self, name: str, active: bool = False) -> set[str]:
        """Services that reach ``name``; with ``active``, only those running whenever it runs."""
        target = self.services[name]
        return {n for n, s in self.services.items()
                if n != name and name in s.talks and (not active or together(s, target))}

    def extended_by(self, name: str) -> set[str]:
        return {n for n, s in self.services.items() if s.extends == name}

    def elsewhere(self) -> set[str]:
        """Services of the project that ``doc`` does not define (other files only)."""
        own = set(self.own.services) if self.own else set()
        return set(self.services) - own


def together(user: Member, target: Member) -> bool:
    """Whether ``user`` runs whenever ``target`` does: it has no profile, or shares one with it."""
    return not user.profiles or bool(user.profiles & target.profiles)


def _included(workspace: Workspace | None, compose_file: ComposeFile, seen: set[str]) -> list[ComposeFile]:
    """The files a top-level ``include`` names (relative to the file's folder), recursively."""
    found = []
    for item in _items(compose_file.top("include")):
        paths = strings(item) if isinstance(item, ScalarNode) else strings(ye.value(item, "path"))
        for rel in paths:
            path = rel if rel.startswith("/") else posixpath.normpath(posixpath.join(compose_file.folder, rel))
            if path in seen or workspace is None:
                continue
            seen.add(path)
            other = workspace.document(path)
            loaded = compose.load(other) if isinstance(other, YamlDocument) else None
            if loaded:
                found += [loaded, *_included(workspace, loaded, seen)]
    return found


def project_files(workspace: Workspace | None, doc: YamlDocument) -> list[ComposeFile]:
    """The Compose files of ``doc``'s project: itself, its override/base, and what they include."""
    files = compose.project(workspace, doc) if workspace is not None else [f for f in [compose.load(doc)] if f]
    seen = {f.doc.path for f in files}
    for compose_file in list(files):
        files += _included(workspace, compose_file, seen)
    return files


def _env_of(service: Service, workspace: Workspace | None) -> list[tuple[str, str]]:
    """(name, value) of every environment value of a definition: its own and merged
    ``environment`` (defaults of ``${VAR:-x}`` filled in) and its ``env_file`` files."""
    found = []
    node = lookup(service.node, "environment")
    if isinstance(node, MappingNode):
        node = MappingNode(node.tag, merged_pairs(node))
    if node is not None:
        holder = MappingNode("tag:yaml.org,2002:map", [(ScalarNode("tag:yaml.org,2002:str", "environment"), node)])
        found += [(e.name, compose.interpolate(e.value)) for e in Service(service.name, service.key, holder, service.file).environment()
                  if e.value is not None]
    env_files = lookup(service.node, "env_file")
    entries = _items(env_files) if isinstance(env_files, SequenceNode) else [env_files] if env_files is not None else []
    for entry in entries:
        rel = ye.scalar(entry) if isinstance(entry, ScalarNode) else ye.scalar(ye.value(entry, "path"))
        if not rel or workspace is None:
            continue
        path = posixpath.normpath(posixpath.join(service.file.folder, compose.interpolate(rel)))
        found += parse_env_file(workspace.read(path) or "")
    return found


def _read(member: Member, service: Service, workspace: Workspace | None, depth: int = 0) -> None:
    """Add one definition's facts to ``member`` (later files override single values); a base in
    another file (``extends: {file: …}``) is read first, as Compose merges it under the service."""
    get = lambda key: lookup(service.node, key)  # noqa: E731 - a local shorthand
    extends = get("extends")
    base = ye.scalar(extends) or ye.scalar(ye.value(extends, "service"))
    file = ye.scalar(ye.value(extends, "file"))
    if base and file is None and depth == 0:
        member.extends = base
    elif base and file and workspace is not None and depth < 4:
        other = workspace.document(posixpath.normpath(posixpath.join(service.file.folder, file)))
        loaded = compose.load(other) if isinstance(other, YamlDocument) else None
        parent = loaded.services.get(base) if loaded else None
        if parent is not None:
            _read(member, parent, workspace, depth + 1)
            member.inherits_ports = member.inherits_ports or member.published
    image = ye.scalar(get("image"))
    member.image = compose.interpolate(image) if image else member.image
    member.published = member.published or bool(_items(get("ports")))
    member.profiles = frozenset(strings(get("profiles"))) or member.profiles
    member.network_mode = ye.scalar(get("network_mode")) or member.network_mode
    networks = get("networks")
    member.networks |= set(keys(networks))
    if isinstance(networks, MappingNode):
        for _, settings in networks.value:
            member.aliases |= set(strings(ye.value(settings, "aliases")))
    member.aliases |= {v for v in (ye.scalar(get(k)) for k in ("container_name", "hostname")) if v}
    member.talks |= set(keys(get("depends_on")))
    for link in strings(get("links")):
        target, _, alias = link.partition(":")
        member.talks.add(target)
        member.links[alias or target] = target
    mode = member.network_mode or ""
    if mode.startswith(("service:", "container:")):
        member.talks.add(mode.split(":", 1)[1])
    member.values += _env_of(service, workspace) + [("", " ".join(strings(get("command")) + strings(get("entrypoint"))))]


def build(workspace: Workspace | None, doc: YamlDocument) -> Graph | None:
    """The project graph of a Compose document; None when it has no services. Built once per
    document and state of the staged files (the transforms that read it only read it)."""
    if workspace is None:
        return _build(workspace, doc)
    version = workspace.staged.version
    cached = workspace.__dict__.get("_nw_graph")
    if cached is None or cached[0] is not doc or cached[1] is not version:
        cached = workspace.__dict__["_nw_graph"] = (doc, version, _build(workspace, doc))
    return cached[2]


def _build(workspace: Workspace | None, doc: YamlDocument) -> Graph | None:
    own = compose.load(doc)
    if own is None:
        return None
    files = project_files(workspace, doc)
    members: dict[str, Member] = {}
    for compose_file in files:
        for name, service in compose_file.services.items():
            member = members.setdefault(name, Member(name))
            member.defs.append(service)
            _read(member, service, workspace)
    for member in members.values():
        plain = member.image and not compose.has_variables(member.image)
        member.role = images.role(images.parse_ref(member.image)) if plain else None
    # a base service's image, ports, relations and environment carry over to those extending it
    for member in members.values():
        base, seen = member.extends, {member.name}
        while base in members and base not in seen:
            seen.add(base)
            parent = members[base]
            member.image, member.role = member.image or parent.image, member.role or parent.role
            member.inherits_ports = member.inherits_ports or parent.published
            member.published = member.published or parent.published
            member.talks |= parent.talks
            member.values += parent.values
            base = parent.extends
    answers = {alias: n for n, m in members.items() for alias in m.aliases} | {n: n for n in members}
    for member in members.values():
        for name, value in member.values:
            for host in hosts_in(value, name or None):
                target = member.links.get(host) or answers.get(host)
                if target:
                    member.talks.add(target)
        member.talks = {t for t in member.talks if t in members and t != member.name}
    return Graph(doc, own, files, members)


def _items(node: Node | None) -> list[Node]:
    return list(node.value) if isinstance(node, SequenceNode) else []


def merge_inserts(edits: list[Edit]) -> list[Edit]:
    """Insertions at one offset joined into one edit in list order (the engine would otherwise
    order them by text); other edits unchanged."""
    out: list[Edit] = []
    at: dict[int, int] = {}
    for edit in edits:
        if edit.start == edit.end and edit.start in at:
            first = out[at[edit.start]]
            out[at[edit.start]] = Edit(first.start, first.end, first.new + edit.new)
            continue
        if edit.start == edit.end:
            at[edit.start] = len(out)
        out.append(edit)
    return out


@dataclass(frozen=True)
class PortSpec:
    """A short-syntax port (Compose ``ports`` item or ``docker run -p``): ``[host:][published:]target[/protocol]``."""

    host: str | None
    published: str | None
    target: str
    #: the ``/protocol`` suffix as written ('' when none)
    protocol: str = ""


_MASK = re.compile(r"\$\{[^}]*\}")


def split_port(spec: str) -> PortSpec | None:
    """The parts of a short-syntax port, ``${VAR:-x}`` kept whole; None when it is not one
    (four or more parts, an unclosed bracket)."""
    masked = _MASK.sub(lambda m: "$" + "_" * (len(m.group()) - 1), spec)
    slash = masked.rfind("/")
    body, protocol = (spec[:slash], spec[slash:]) if slash >= 0 else (spec, "")
    masked = masked[:len(body)]
    host = None
    if masked.startswith("["):
        close = masked.find("]:")
        if close < 0:
            return None
        host, body, masked = body[1:close], body[close + 2:], masked[close + 2:]
    cuts = [i for i, c in enumerate(masked) if c == ":"]
    parts = [body[a + 1:b] for a, b in zip([-1, *cuts], [*cuts, len(body)])]
    if len(parts) > 3 or (host is not None and len(parts) > 2) or not parts[-1]:
        return None
    if len(parts) == 3:
        host = parts.pop(0)
    published = parts[0] if len(parts) == 2 else None
    return PortSpec(host or None, published or None, parts[-1], protocol)


def all_interfaces(host: str | None) -> bool:
    """A host address that means every interface (``0.0.0.0``, ``::``)."""
    return host is not None and host.strip("[]") in ("0.0.0.0", "::")


def with_host(spec: PortSpec, host: str) -> str:
    """``spec`` written with ``host`` as its host address (``127.0.0.1::5432`` for a target-only port)."""
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{spec.published or ''}:{spec.target}{spec.protocol}"
