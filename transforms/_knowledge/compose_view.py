"""A Compose service as ``docker compose`` sees it: through merge keys, ``extends`` and the
project's other files, and what its image or build brings.

:mod:`compose` models one file; the transforms that add keys to a service (a healthcheck, a
volume) must know what the service already gets from elsewhere, and where its keys live:

- :func:`lookup`: a key of a mapping, own entries first, then ``<<: *anchor`` merges (YAML order).
- :func:`owners`: which services reach each node of a file (an anchor aliased or merged into several
  services is shared: an edit there changes all of them).
- :func:`views`: every service of a document's project (``compose.yaml`` + ``compose.override.yaml``
  in merge order) as a :class:`View`: its definitions in each file, its ``extends`` bases (same
  file or ``file:``), effective keys, environment and volumes.
- :func:`build_of` / :func:`dockerfile`: the Dockerfile a service builds and the stage it targets.
- :func:`dotenv`: the ``.env`` values Compose interpolates with.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from orchfix import documents, shell, yamledit as ye
from orchfix.documents.dockerfile import DockerfileDocument, Stage
from orchfix.documents.yaml import YamlDocument
from orchfix.workspace import Workspace

from . import compose, dockerenv

#: how deep ``extends`` chains are followed (they may loop through files)
_MAX_DEPTH = 6


def lookup(mapping: Node | None, key: str, _depth: int = 0) -> tuple[ScalarNode, Node, MappingNode] | None:
    """(key node, value node, the mapping holding them) of ``key``: the mapping's own entry, else
    the first merged mapping (``<<: *a`` or ``<<: [*a, *b]``) that has it."""
    if not isinstance(mapping, MappingNode) or _depth > 10:
        return None
    found = ye.get(mapping, key)
    if found:
        return found[0], found[1], mapping
    merge = ye.value(mapping, "<<")
    sources = merge.value if isinstance(merge, SequenceNode) else [merge]
    for source in sources:
        hit = lookup(source, key, _depth + 1)
        if hit:
            return hit
    return None


def owners(file: compose.ComposeFile) -> dict[int, set[str]]:
    """id(node) → the services of ``file`` whose definition reaches that node (aliases and merge
    keys make a node reachable from several services)."""
    cache = getattr(file, "_owners", None)
    if cache is not None:
        return cache
    found: dict[int, set[str]] = {}
    for name, service in file.services.items():
        stack, seen = [service.node], set()
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            found.setdefault(id(node), set()).add(name)
            if isinstance(node, MappingNode):
                stack.extend(n for pair in node.value for n in pair)
            elif isinstance(node, SequenceNode):
                stack.extend(node.value)
    file._owners = found  # type: ignore[attr-defined]
    return found


def shared(service: compose.Service, node: Node) -> set[str]:
    """The other services of the file that ``node`` (part of ``service``) belongs to as well."""
    return owners(service.file).get(id(node), set()) - {service.name}


def anchor_used(service: compose.Service) -> bool:
    """The service's mapping is reused elsewhere: aliased (``other: *svc``) or merged (``<<: *svc``)."""
    return bool(shared(service, service.node))


def alias_of(service: compose.Service) -> str | None:
    """The service ``service`` is a plain alias of (``replica: *db`` → ``db``), or None."""
    for name, other in service.file.services.items():
        if other is service:
            return None
        if other.node is service.node:
            return name
    return None


def env_of(node: Node | None) -> dict[str, str | None]:
    """An ``environment`` value (map or ``KEY=value`` list) as a dict; None for a name without value."""
    found: dict[str, str | None] = {}
    if isinstance(node, MappingNode):
        for k, v in node.value:
            if isinstance(k, ScalarNode) and k.value != "<<":
                found[k.value] = None if ye.is_null(v) else ye.scalar(v)
        merge = ye.value(node, "<<")
        for source in (merge.value if isinstance(merge, SequenceNode) else [merge]):
            for name, value in env_of(source).items():
                found.setdefault(name, value)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            text = ye.scalar(item)
            if text:
                name, eq, value = text.partition("=")
                found[name.strip()] = value if eq else None
    return found


def dotenv(workspace: Workspace | None, folder: str) -> dict[str, str]:
    """The ``.env`` of a project folder (what Compose interpolates ``${VAR}`` with); simple
    ``KEY=value`` lines, quotes removed. Empty when there is none."""
    if workspace is None:
        return {}
    text = workspace.read(posixpath.join(folder, ".env")) if folder else workspace.read(".env")
    found: dict[str, str] = {}
    for line in (text or "").splitlines():
        match = re.match(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$", line)
        if not match:
            continue
        value = match.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = re.sub(r"\s+#.*$", "", value)
        found[match.group(1)] = value
    return found


@dataclass
class View:
    """One service of a project: its definitions (base file first, override last) and the
    services it ``extends``; ``problem`` says what could not be resolved (an extends target)."""

    name: str
    defs: list[compose.Service]
    bases: list["View"] = field(default_factory=list)
    problem: str | None = None
    env_defaults: dict[str, str] = field(default_factory=dict)

    def lookup(self, key: str) -> tuple[ScalarNode, Node, MappingNode, compose.Service] | None:
        """The effective entry of ``key``: the last definition that has it (merges included),
        else the extends bases."""
        for service in reversed(self.defs):
            hit = lookup(service.node, key)
            if hit:
                return (*hit, service)
        for base in self.bases:
            hit = base.lookup(key)
            if hit:
                return hit
        return None

    def get(self, key: str) -> Node | None:
        hit = self.lookup(key)
        return hit[1] if hit else None

    def text(self, key: str) -> str | None:
        return ye.scalar(self.get(key))

    def all(self, key: str) -> list[tuple[Node, compose.Service]]:
        """Every value of ``key`` Compose merges (bases first, then each file's definition)."""
        found = [hit for base in self.bases for hit in base.all(key)]
        for service in self.defs:
            hit = lookup(service.node, key)
            if hit:
                found.append((hit[1], service))
        return found

    def environment(self) -> dict[str, str | None]:
        env: dict[str, str | None] = {}
        for node, _ in self.all("environment"):
            env.update(env_of(node))
        return env

    def volumes(self) -> list[compose.Volume]:
        return [v for node, _ in self.all("volumes") if isinstance(node, SequenceNode)
                for v in map(compose.parse_volume, node.value) if v]

    def image(self) -> str | None:
        """The ``image:`` value with ``${VAR:-default}`` interpolated (``.env`` values first);
        None when missing or a variable has no value."""
        raw = self.text("image")
        if not raw:
            return None
        value = compose.interpolate(raw, self.env_defaults) if compose.has_variables(raw) else raw.replace("$$", "$")
        return value.strip() or None if "$" not in value else None

    def command(self) -> list[str]:
        """The ``command`` words (list or string form); empty when unknown."""
        node = self.get("command")
        if isinstance(node, SequenceNode):
            return [s for s in map(ye.scalar, node.value) if s is not None]
        text = ye.scalar(node)
        if not text:
            return []
        try:
            return shell.words(text)
        except ValueError:
            return text.split()

    @property
    def primary(self) -> compose.Service:
        """The definition a new key belongs in: the last one that names the image or build (where
        Compose takes it from), else the first."""
        for service in reversed(self.defs):
            if lookup(service.node, "image") or lookup(service.node, "build"):
                return service
        return self.defs[0]


def _order(path: str) -> tuple[int, str]:
    """Compose's merge order in a folder: the base file, then the override file."""
    return (1 if ".override." in posixpath.basename(path) else 0, path)


_BASES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def project_files(workspace: Workspace | None, doc: YamlDocument) -> list[compose.ComposeFile]:
    """The files Compose reads together with ``doc``, base first: the folder's first default base
    file (``compose.yaml`` before ``docker-compose.yml``) and its own override; ``doc`` alone when
    it is not one of them."""
    files = compose.project(workspace or Workspace(), doc)
    names = {posixpath.basename(f.doc.path): f for f in files}
    base = next((n for n in _BASES if n in names), None)
    if base is None:
        return files[:1]
    stem, ext = base.rsplit(".", 1)
    pair = [names[base]] + [names[n] for n in (f"{stem}.override.yaml", f"{stem}.override.yml") if n in names][:1]
    if not any(f.doc is doc for f in pair):
        return [f for f in files if f.doc is doc]
    return sorted(pair, key=lambda f: _order(f.doc.path))


def _load_file(workspace: Workspace | None, path: str) -> compose.ComposeFile | None:
    text = workspace.read(path) if workspace else None
    if text is None:
        return None
    try:
        doc = workspace.parse(path, "compose", text)
    except documents.ParseError:
        return None
    return compose.load(doc) if isinstance(doc, YamlDocument) else None


def _extends(service: compose.Service) -> tuple[str | None, str] | None:
    """(file or None, service name) of an ``extends``; None without one or when unreadable."""
    node = ye.value(service.node, "extends")
    if node is None:
        return None
    if isinstance(node, ScalarNode):
        return None, node.value
    name, file = ye.scalar(ye.value(node, "service")), ye.scalar(ye.value(node, "file"))
    return (file, name) if name else None


def _view(workspace: Workspace | None, name: str, defs: list[compose.Service], env: dict[str, str], depth: int) -> View:
    view = View(name, defs, env_defaults=env)
    for service in defs:
        ext = _extends(service)
        if ext is None:
            continue
        file, base_name = ext
        if depth >= _MAX_DEPTH or (file and "$" in file):
            view.problem = f"{name} extends {base_name}{' in ' + file if file else ''}, which is not followed"
            continue
        if file:
            path = posixpath.normpath(posixpath.join(service.file.folder, file))
            base_file = _load_file(workspace, path)
        else:
            base_file = service.file
        base = base_file.services.get(base_name) if base_file else None
        if base is None or base is service:
            view.problem = f"{name} extends {base_name}{' in ' + file if file else ''}, which is not found"
            continue
        view.bases.append(_view(workspace, base_name, [base], env, depth + 1))
        if view.bases[-1].problem:
            view.problem = view.bases[-1].problem
    return view


def views(workspace: Workspace | None, doc: YamlDocument) -> dict[str, View]:
    """Every service of ``doc``'s project by name (a service written in several project files has
    one view with each definition). Cached on the document."""
    cached = getattr(doc, "_compose_views", None)
    if cached is not None and cached[0] is workspace:
        return cached[1]
    files = project_files(workspace, doc)
    env = dotenv(workspace, posixpath.dirname(doc.path))
    by_name: dict[str, list[compose.Service]] = {}
    for file in files:
        for name, service in file.services.items():
            by_name.setdefault(name, []).append(service)
    found = {name: _view(workspace, name, defs, env, 0) for name, defs in by_name.items()}
    doc._compose_views = (workspace, found)  # type: ignore[attr-defined]
    return found


def own_file(workspace: Workspace | None, doc: YamlDocument) -> compose.ComposeFile | None:
    """The :class:`compose.ComposeFile` of ``doc`` the project views hold (the same service objects)."""
    for view in views(workspace, doc).values():
        for service in view.defs:
            if service.file.doc is doc:
                return service.file
    return None


# --- builds -----------------------------------------------------------------------------------------

@dataclass
class Build:
    """What a service builds: the context folder, the Dockerfile path (workspace spelling) or its
    inline text, and the target stage."""

    context: str
    dockerfile: str | None
    inline: str | None
    target: str | None


def build_of(view: View) -> Build | None:
    """The build of a service; None without one, or for remote contexts and variable paths."""
    hit = view.lookup("build")
    if hit is None:
        return None
    node, service = hit[1], hit[3]
    folder = service.file.folder
    if isinstance(node, ScalarNode):
        context, dockerfile, inline, target = node.value, "Dockerfile", None, None
    elif isinstance(node, MappingNode):
        get = lambda key: ye.scalar(ye.value(node, key))  # noqa: E731 - a local shorthand
        context = get("context") or "."
        dockerfile, inline, target = get("dockerfile") or "Dockerfile", get("dockerfile_inline"), get("target")
    else:
        return None
    if "$" in context + (dockerfile or "") or re.match(r"^[a-z]+://|^git@|^github\.com/", context):
        return None
    ctx = posixpath.normpath(posixpath.join(folder, context)) if folder or context not in (".", "") else "."
    ctx = "" if ctx == "." else ctx
    path = None if inline else posixpath.normpath(dockerfile if posixpath.isabs(dockerfile) else posixpath.join(ctx, dockerfile))
    return Build(ctx, path, inline, target)


def dockerfile(workspace: Workspace | None, build: Build) -> tuple[DockerfileDocument, Stage] | None:
    """The parsed Dockerfile of a build and the stage it produces (its target, else the last)."""
    text = build.inline if build.inline is not None else (workspace.read(build.dockerfile) if workspace and build.dockerfile else None)
    if text is None:
        return None
    try:
        if workspace is not None:
            doc = workspace.parse(build.dockerfile or "Dockerfile", "dockerfile", text)
        else:
            doc = documents.load(build.dockerfile or "Dockerfile", "dockerfile", text)
    except documents.ParseError:
        return None
    if not isinstance(doc, DockerfileDocument) or not doc.stages:
        return None
    if build.target:
        stage = next((s for s in doc.stages if s.name and s.name.lower() == build.target.lower()), None)
        if stage is None:
            return None
        return doc, stage
    return doc, doc.stages[-1]


def chain(doc: DockerfileDocument, stage: Stage) -> list:
    """The instructions that make up ``stage``'s image in this file, oldest first (the stages it
    builds on included, their FROM lines left out)."""
    return [ins for st in reversed(doc.ancestry(stage)) for ins in st.instructions[1:]]


def stage_env(doc: DockerfileDocument, stage: Stage) -> dict[str, str]:
    """ENV values the stage's image carries (those that can be known)."""
    env: dict[str, str] = {}
    for ins in chain(doc, stage):
        if ins.keyword != "ENV":
            continue
        known = {**dockerenv.global_args(doc), **env}
        for pair in dockerenv.pairs(doc, ins) or ():
            value = dockerenv.expand(pair.value, known)
            if value is not None:
                env[pair.name] = value
    return env


@dataclass
class Image:
    """What a service runs: the image reference (``image:``, or the FROM of the stage its build
    produces) and, for builds, the Dockerfile and stage; ``problem`` when it cannot be known."""

    ref: str | None
    built: tuple[DockerfileDocument, Stage] | None = None
    problem: str | None = None

    @property
    def env(self) -> dict[str, str]:
        return stage_env(*self.built) if self.built else {}


def image_of(workspace: Workspace | None, view: View) -> Image:
    build = build_of(view)
    if view.get("build") is None:
        return Image(view.image())
    if build is None:
        return Image(None, problem="its build context is remote or uses variables")
    parsed = dockerfile(workspace, build)
    if parsed is None:
        return Image(None, problem=f"its Dockerfile ({build.dockerfile or 'inline'}) is not in the workspace or does not parse")
    doc, stage = parsed
    return Image(dockerenv.resolved_image(doc, stage), parsed)
