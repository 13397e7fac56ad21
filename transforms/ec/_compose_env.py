"""Compose edits shared by ec-001 and ec-004: env_file references, entry removal, ignore files.

Paths are workspace paths (as ``doc.path``); a compose file's ``env_file`` entries are relative to
its folder.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.text import Edit
from orchfix.transform import SideChange

from .._knowledge import compose, envfile
from .._knowledge.contexts import ignore_patterns, ignored_by


def norm(path: str) -> str:
    path = posixpath.normpath(path) if path else "."
    return "" if path == "." else path


def env_files(service: compose.Service) -> list[str]:
    """The env files a service reads, in order (workspace paths; variables left as written)."""
    node = service.get("env_file")
    items = node.value if isinstance(node, SequenceNode) else [node] if node is not None else []
    found = []
    for item in items:
        text = ye.scalar(item) if isinstance(item, ScalarNode) else ye.scalar(ye.value(item, "path"))
        if text:
            found.append(norm(posixpath.join(service.file.folder, text)))
    return found


def add_env_file(doc, service: compose.Service, name: str, style) -> Edit:
    """The edit that makes ``service`` read ``name`` last among its env files."""
    found = ye.get(service.node, "env_file")
    if found is None:
        return ye.set_key(doc, service.node, "env_file", name, style)
    key, node = found
    if isinstance(node, SequenceNode):
        return ye.append_item(doc, node, name, style)
    # a single file: a list of the old entry (as written, with its comment) and the new one
    colon = doc.text.index(":", key.end_mark.index)
    pad = " " * (key.start_mark.column + style.seq_indent)
    end = doc.text.find("\n", node.end_mark.index)
    end = len(doc.text) if end < 0 else end
    rest = doc.text[node.end_mark.index:end].rstrip("\r")
    comment = rest if rest.lstrip().startswith("#") else ""
    end = node.end_mark.index + len(comment)
    old = doc.text[node.start_mark.index:node.end_mark.index] + comment
    nl = style.newline
    return Edit(colon + 1, end, f"{nl}{pad}- {old}{nl}{pad}- {ye.render_scalar(name)}")


def readers(workspace, model: compose.ComposeFile, path: str) -> list[tuple[str, str]]:
    """(compose file, service) of every service that reads the env file at ``path``: in
    ``model`` (as it is now) and in the other compose files of the env file's folder."""
    found = [(model.doc.path, s.name) for s in model.services.values() if path in env_files(s)]
    folder = posixpath.dirname(path)
    for entry in workspace.of_kind("compose") if workspace else ():
        if entry.path == model.doc.path or norm(posixpath.dirname(entry.path)) != folder:
            continue
        other = workspace.document(entry.path)
        loaded = compose.load(other) if other is not None and hasattr(other, "nodes") else None
        if loaded:
            found += [(entry.path, s.name) for s in loaded.services.values() if path in env_files(s)]
    return found


@dataclass
class Removal:
    """Edits that take environment entries out of a service, and the comment lines that went with
    each (to be carried into the env file above the entry)."""

    edits: list[Edit]
    comments: dict[int, list[str]]


_COMMENT_LINE = re.compile(r"[ \t]*#")


def _line_start(text: str, i: int) -> int:
    return text.rfind("\n", 0, i) + 1


def _trailing_comment(text: str, end: int) -> str | None:
    nl = text.find("\n", end)
    rest = text[end:len(text) if nl < 0 else nl].rstrip("\r")
    m = re.match(r"\s+(#.*)$", rest)
    return m.group(1).rstrip() if m else None


def _ends(item) -> tuple[Node, Node]:
    """First and last node of a mapping entry (key, value) or a sequence item."""
    return (item[0], item[1]) if isinstance(item, tuple) else (item, item)


def _comment_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if _COMMENT_LINE.match(line)]


def remove_entries(doc, service: compose.Service, env_key: ScalarNode, env: Node, gone: list[Node]) -> Removal | None:
    """Remove the environment entries whose value/item nodes are ``gone`` (the whole key when none
    is left), with the comment lines right above each and its trailing comment, which
    :attr:`Removal.comments` hands back by ``id`` of the entry's node. None when that cannot be done
    without losing something (a comment inside a flow collection)."""
    text = doc.text
    items = list(env.value)
    left = [it for it in items if _ends(it)[1] not in gone]
    comments: dict[int, list[str]] = {}
    if env.flow_style:
        inner = text[env.start_mark.index:env.end_mark.index]
        if "#" in re.sub(r"'[^']*'|\"(?:[^\"\\]|\\.)*\"", "", inner):
            return None  # a comment inside a flow collection has no place to go
        if not left:
            return Removal([ye.delete_key(doc, service.node, env_key.value)], comments)
        parts = [text[_ends(it)[0].start_mark.index:_ends(it)[1].end_mark.index] for it in left]
        open_, close = ("{", "}") if isinstance(env, MappingNode) else ("[", "]")
        return Removal([Edit(env.start_mark.index, env.end_mark.index, open_ + ", ".join(parts) + close)], comments)
    key_line_end = text.index("\n", env_key.end_mark.index) + 1
    edits: list[Edit] = []
    if not left:
        # the whole key goes: every comment inside it goes with the entry below it
        edits.append(Edit(_line_start(text, env_key.start_mark.index), ye.content_end(doc, env), ""))
        head = _trailing_comment(text, text.index(":", env_key.end_mark.index) + 1)
        pending = [head] if head else []
        prev_end = key_line_end
        for it in items:
            first, last = _ends(it)
            pending += _comment_lines(text[prev_end:_line_start(text, first.start_mark.index)])
            tail = _trailing_comment(text, last.end_mark.index)
            comments[id(last)] = pending + ([tail] if tail else [])
            pending, prev_end = [], ye.content_end(doc, last)
        return Removal(edits, comments)
    prev_end = key_line_end
    for it in items:
        first, last = _ends(it)
        end = ye.content_end(doc, last)
        if last in gone:
            # the comment lines right above an entry belong to it
            begin = _line_start(text, first.start_mark.index)
            while begin > prev_end and _COMMENT_LINE.match(text[_line_start(text, begin - 1):begin]):
                begin = _line_start(text, begin - 1)
            tail = _trailing_comment(text, last.end_mark.index)
            comments[id(last)] = _comment_lines(text[begin:_line_start(text, first.start_mark.index)]) + ([tail] if tail else [])
            edits.append(Edit(begin, end, ""))
        prev_end = end
    return Removal(edits, comments)


def ignore_changes(workspace, files: list[compose.ComposeFile], env_path: str, newline: str) -> list[SideChange]:
    """Side changes that keep the env file at ``env_path`` out of git (the ``.gitignore`` of its
    folder, unless a .gitignore there or above already ignores it) and out of the build contexts
    that hold it (the context's ``.dockerignore``, when a service builds that context or the file
    exists)."""
    folder, name = posixpath.split(env_path)
    changes = []
    if not envfile.git_ignored(workspace, folder, name):
        change = envfile.ignore_entry(workspace, posixpath.join(folder, ".gitignore"), name, newline)
        if change:
            changes.append(change)
    contexts = {folder: None}
    for f in files:
        for service in f.services.values():
            context = build_context(service)
            if context is not None and (context == "" or env_path.startswith(context + "/") or context == folder):
                dockerfile = build_dockerfile(service, context)
                contexts[context] = dockerfile
    for context, dockerfile in contexts.items():
        own = dockerfile + ".dockerignore" if dockerfile else None
        path = own if own and workspace.exists(own) else posixpath.join(context, ".dockerignore")
        if dockerfile is None and not workspace.exists(path):
            continue  # nothing builds from the env file's folder: no context to keep it out of
        rel = posixpath.relpath(env_path, context or ".")
        text = workspace.read(path)
        if text and ignored_by(ignore_patterns(text), rel):
            continue
        changes.append(SideChange(path, [envfile.append(text, [rel], newline)]))
    return changes


def build_context(service: compose.Service) -> str | None:
    """The workspace folder a service builds from; None without a local, literal build context."""
    build = service.get("build")
    if isinstance(build, MappingNode):
        raw = ye.scalar(ye.value(build, "context")) or "."
    else:
        raw = ye.scalar(build) if isinstance(build, ScalarNode) else None
    if raw is None or "$" in raw or re.match(r"[a-z][a-z0-9+.-]*://|git@", raw, re.I):
        return None
    return norm(posixpath.join(service.file.folder, raw))


def build_dockerfile(service: compose.Service, context: str) -> str:
    build = service.get("build")
    name = ye.scalar(ye.value(build, "dockerfile")) if isinstance(build, MappingNode) else None
    return norm(posixpath.join(context, name or "Dockerfile"))
