"""Build contexts of Dockerfiles and where files of the context end up in an image.

- :func:`build_context`: the folder a Dockerfile is built from: its own folder, unless a compose
  file in the tree names another context for it (``build: ./dir`` or ``build: {context,
  dockerfile}``). io-003, io-004, cm-004 and cm-005 read and write files there.
- :func:`dockerignore_file` / :func:`dockerignored`: the ``.dockerignore`` that applies and whether
  it leaves a context path out (BuildKit's pattern rules: anchored at the context root, ``**``,
  ``!`` exceptions, a pattern also excludes everything under a matching folder).
- :func:`workdir_at`, :func:`container_path`, :func:`context_file`: the working directory before an
  instruction, a path as the container sees it, and which context file a COPY put at a container
  path (following ``COPY --from=<stage>`` back to the stage that copied it from the context).

Paths are workspace paths (POSIX, relative to the current directory or absolute, as
``doc.path``); a context at the current directory is ``""`` so ``posixpath.join(context, name)``
gives the workspace's own spelling of a path.
"""
from __future__ import annotations

import fnmatch
import json
import posixpath
import re
from functools import lru_cache

import yaml

from orchfix import shell
from orchfix.documents.dockerfile import DockerfileDocument, Instruction, Stage
from orchfix.workspace import Workspace

from . import dockerenv, images

_CACHE_ATTR = "_orchfix_build_contexts"


def _norm(path: str) -> str:
    """A workspace path in one spelling: normalized, ``""`` for the current directory."""
    path = posixpath.normpath(path) if path else "."
    return "" if path == "." else path


def _join(*parts: str) -> str:
    return _norm(posixpath.join(*[p for p in parts if p]))


# --- build contexts ------------------------------------------------------------------------------

def _mapping_items(node) -> list[tuple[str, object]]:
    if not isinstance(node, yaml.MappingNode):
        return []
    return [(k.value, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)]


def _scalar(node) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":str") else None


def _compose_builds(workspace: Workspace) -> dict[str, list[str]]:
    """Dockerfile path → the contexts compose files in the workspace build it from."""
    found: dict[str, list[str]] = {}
    for entry in workspace.of_kind("compose"):
        doc = workspace.document(entry.path)
        base = posixpath.dirname(entry.path)
        for root in getattr(doc, "nodes", None) or []:
            services = dict(_mapping_items(root)).get("services")
            for _, service in _mapping_items(services):
                build = dict(_mapping_items(service)).get("build")
                if build is None:
                    continue
                context, dockerfile = _scalar(build), "Dockerfile"
                if context is None:
                    fields = dict(_mapping_items(build))
                    if "dockerfile_inline" in fields:
                        continue  # no Dockerfile on disk
                    context = _scalar(fields["context"]) if "context" in fields else "."
                    dockerfile = _scalar(fields["dockerfile"]) if "dockerfile" in fields else "Dockerfile"
                # remote contexts and interpolated paths name nothing in the tree
                if not context or not dockerfile or "$" in context + dockerfile or re.match(r"^[a-z]+://|^git@", context):
                    continue
                ctx = _join(base, context)
                path = _norm(dockerfile) if posixpath.isabs(dockerfile) else _join(ctx, dockerfile)
                found.setdefault(path, [])
                if ctx not in found[path]:
                    found[path].append(ctx)
    return found


def _builds(workspace: Workspace) -> dict[str, list[str]]:
    """The compose build table, computed once per workspace (again when a compose file is staged)."""
    version = workspace.staged.version  # a new object whenever something is staged
    cached = getattr(workspace, _CACHE_ATTR, None)
    if cached is not None and cached[0] is version:
        return cached[2]
    # something was staged: the table changes only with the compose files' texts (held, not hashed)
    staged = workspace.staged
    key = tuple((e.path, staged[e.path]) for e in workspace.of_kind("compose") if e.path in staged)
    table = cached[2] if cached is not None and cached[1] == key else _compose_builds(workspace)
    setattr(workspace, _CACHE_ATTR, (version, key, table))
    return table


def build_contexts(workspace: Workspace | None, dockerfile_path: str) -> list[str]:
    """Every context compose files in the workspace build ``dockerfile_path`` from (may be empty)."""
    if workspace is None:
        return []
    return list(_builds(workspace).get(_norm(dockerfile_path), []))


def build_context(workspace: Workspace | None, dockerfile_path: str) -> str:
    """The build context folder of a Dockerfile.

    The Dockerfile's own folder, unless compose files name another context for it; when several
    compose services build it from different contexts, its own folder wins if among them, else
    the first in path order.
    """
    own = _norm(posixpath.dirname(dockerfile_path))
    named = build_contexts(workspace, dockerfile_path)
    if not named or own in named:
        return own
    return sorted(named)[0]


# --- .dockerignore -------------------------------------------------------------------------------

def dockerignore_file(workspace: Workspace, context: str, dockerfile_path: str) -> str:
    """The ignore file BuildKit reads: ``<Dockerfile>.dockerignore`` beside it, else the context's
    ``.dockerignore`` (returned even when it does not exist yet)."""
    own = _norm(dockerfile_path) + ".dockerignore"
    return own if workspace.exists(own) else _join(context, ".dockerignore")


@lru_cache(maxsize=4096)
def _pattern(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                out.append("(?:.*/)?")
                i += 1
            else:
                out.append(".*")
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:end]
                out.append("[" + ("^" + body[1:] if body.startswith(("!", "^")) else body).replace("\\", "\\\\") + "]")
                i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def ignore_patterns(text: str) -> list[tuple[bool, str]]:
    """``(exception, pattern)`` for each rule of a .dockerignore text, cleaned as BuildKit does."""
    rules = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        line = line[1:].strip() if exception else line
        cleaned = posixpath.normpath(line).lstrip("/")
        if cleaned and cleaned != ".":
            rules.append((exception, cleaned))
    return rules


def ignored_by(rules: list[tuple[bool, str]], rel: str) -> bool:
    """Whether context-relative path ``rel`` is left out of the context by ``rules``."""
    rel = _norm(rel)
    parts = rel.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    excluded = False
    for exception, pattern in rules:
        regex = _pattern(pattern)
        if any(regex.match(p) for p in prefixes):
            excluded = not exception
    return excluded


def dockerignored(workspace: Workspace, context: str, dockerfile_path: str, rel: str) -> bool:
    """Whether the build leaves context-relative path ``rel`` out (its .dockerignore excludes it)."""
    text = workspace.read(dockerignore_file(workspace, context, dockerfile_path))
    return bool(text) and ignored_by(ignore_patterns(text), rel)


# --- paths inside the image ----------------------------------------------------------------------

def chain(doc: DockerfileDocument, ins: Instruction) -> list[Instruction]:
    """The instructions that run before ``ins`` in its stage and the stages it builds on, in order."""
    stage = stage_at(doc, ins)
    return _chain(doc, stage, ins.start) if stage is not None else []


def stage_at(doc: DockerfileDocument, ins: Instruction) -> Stage | None:
    """The stage ``ins`` belongs to (None before the first FROM)."""
    if not doc.stages or ins.start < doc.stages[0].from_.start:
        return None
    return doc.stages[ins.stage]


def _chain(doc: DockerfileDocument, stage: Stage, before: int) -> list[Instruction]:
    out: list[Instruction] = []
    for parent in reversed(doc.ancestry(stage)[1:]):
        out.extend(parent.instructions)
    return out + [i for i in stage.instructions if i.start < before]


def base_workdir(image: str) -> str | None:
    """The working directory an external image starts in: from the image table, else unknown."""
    if image.lower() == "scratch":
        return "/"
    info = images.lookup(images.parse_ref(image))
    return getattr(info, "workdir", None) if info else None


def workdir_at(doc: DockerfileDocument, ins: Instruction) -> str | None:
    """The absolute working directory ``ins`` runs in, or None when it cannot be known."""
    stage = stage_at(doc, ins)
    return _workdir(doc, stage, ins.start) if stage is not None else None


def workdir_after(doc: DockerfileDocument, stage: Stage) -> str | None:
    """The working directory a stage ends with (what its CMD runs in)."""
    return _workdir(doc, stage, len(doc.text) + 1)


def _workdir(doc: DockerfileDocument, stage: Stage, before: int) -> str | None:
    current = base_workdir(dockerenv.resolved_image(doc, stage) or doc.ancestry(stage)[-1].image)
    for i in _chain(doc, stage, before):
        if i.keyword != "WORKDIR":
            continue
        path = dockerenv.expand(i.args.strip(), dockerenv.variables_at(doc, i))
        if path is None:
            current = None
        elif posixpath.isabs(path):
            current = posixpath.normpath(path)
        elif current is not None:
            current = posixpath.normpath(posixpath.join(current, path))
    return current


def container_path(workdir: str | None, path: str) -> str | None:
    """``path`` made absolute against ``workdir`` (None when it is relative and workdir unknown)."""
    if posixpath.isabs(path):
        return posixpath.normpath(path)
    if workdir is None:
        return None
    return posixpath.normpath(posixpath.join(workdir, path))


def copy_parts(ins: Instruction) -> tuple[list[str], str] | None:
    """Sources and destination of a COPY/ADD (shell or JSON form); None for heredocs or no args."""
    if ins.keyword not in ("COPY", "ADD") or ins.heredocs:
        return None
    text = ins.args.strip()
    words: list[str] | None = None
    if text.startswith("["):
        try:
            parsed = json.loads(text)
            words = parsed if isinstance(parsed, list) and all(isinstance(w, str) for w in parsed) else None
        except ValueError:
            words = None
    if words is None:
        words = text.split()
    if len(words) < 2:
        return None
    return words[:-1], words[-1]


def is_whole_context(source: str) -> bool:
    return posixpath.normpath(source.strip()) == "."


def _into(dest: str, sources: list[str]) -> bool:
    """Whether COPY puts its sources *into* ``dest`` (a folder) rather than *at* it."""
    return dest.endswith("/") or len(sources) > 1 or any(any(c in s for c in "*?[") for s in sources)


def context_file(workspace: Workspace | None, context: str, doc: DockerfileDocument, ins: Instruction,
                 path: str) -> str | None:
    """The workspace path of the context file (or folder) that sits at absolute container ``path``
    when ``ins`` runs, as the last COPY/ADD putting something there says; None when it cannot be
    told (unknown working directory, copied from an external image, not in the workspace)."""
    return _context_file(workspace, context, doc, chain(doc, ins), path, 0)


def _context_file(workspace: Workspace | None, context: str, doc: DockerfileDocument,
                  before: list[Instruction], path: str, _depth: int) -> str | None:
    if workspace is None or _depth > 8:
        return None
    for i in reversed(before):
        parts = copy_parts(i)
        if parts is None:
            continue
        sources, dest = parts
        scope = dockerenv.variables_at(doc, i)
        workdir = workdir_at(doc, i)
        dest = dockerenv.expand(dest, scope)
        dest_abs = container_path(workdir, dest) if dest else None
        if dest_abs is None:
            continue
        # `COPY a .` copies into the folder; `COPY a /x` copies into /x only when it exists
        into = _into(dest, sources) or dest_abs == workdir or posixpath.basename(dest) in (".", "..")
        source_stage = i.flags.get("from")
        for source in reversed(sources):
            source = dockerenv.expand(source, scope)
            if source is None or re.match(r"^[a-z]+://", source):
                continue
            for candidate in _sources_for(path, source, dest_abs, into):
                if source_stage:
                    stage = _stage_named(doc, source_stage)
                    if stage is None:
                        if posixpath.normpath(source) == "/":
                            break  # a tools image copied over the root: it brings no project files
                        return None  # copied out of an external image
                    origin = "/" + candidate.lstrip("/")
                    found = _context_file(workspace, context, doc, _chain(doc, stage, len(doc.text) + 1), origin, _depth + 1)
                    if found:
                        return found
                    continue
                if candidate.startswith("../"):
                    continue
                found = _join(context, candidate)
                if workspace.exists(found) or workspace.is_dir(found):
                    return found
    return None


def _stage_named(doc: DockerfileDocument, name: str) -> Stage | None:
    if name.isdigit():
        return doc.stages[int(name)] if int(name) < len(doc.stages) else None
    return next((s for s in doc.stages if s.name and s.name.lower() == name.lower()), None)


def _sources_for(path: str, source: str, dest_abs: str, into: bool) -> list[str]:
    """The source-relative paths a COPY of ``source`` to ``dest_abs`` may place at ``path``."""
    source = source.strip()
    inside = path.startswith(dest_abs.rstrip("/") + "/")
    rel = posixpath.relpath(path, dest_abs) if inside else None
    if is_whole_context(source) or source.endswith("/"):
        return [_norm(posixpath.join(source, rel))] if rel else []  # a folder: its contents land in dest
    glob = any(c in source for c in "*?[")
    found = []
    if into and posixpath.dirname(path) == dest_abs and fnmatch.fnmatchcase(posixpath.basename(path), posixpath.basename(source)):
        found.append(_norm(posixpath.join(posixpath.dirname(source), posixpath.basename(path))))
    if not glob and path == dest_abs and not into:
        found.append(_norm(source))
    if not glob and rel:
        found.append(_norm(posixpath.join(source, rel)))  # a folder named without a trailing slash
    return found


def command_words(ins: Instruction) -> list[str] | None:
    """The words a CMD/ENTRYPOINT (or RUN) runs: its JSON array, or a shell-form command that is
    plain words (a leading ``exec`` dropped); None when the shell form uses shell features."""
    if ins.exec_form is not None:
        return ins.exec_form
    text = ins.value
    if not text or text.lstrip().startswith("[") or ins.heredocs:
        return None
    try:
        if shell.features(text):
            return None
        words = shell.words(text)
    except (ValueError, shell.ShellSyntaxError):
        return None
    return words[1:] if words[:1] == ["exec"] else words
