"""Volumes in Compose files, shared by dc-002, vs-001 and cm-003 (and vs-002's shields).

- :func:`covered`: whether a container path is already under a mount of the service (bind,
  named, anonymous or tmpfs, short or long syntax, in any file of the project or an ``extends``
  base), so no two transforms write a volume for the same path;
- :func:`Names`: readable, unique volume names in the file's own spelling (``db-data`` or
  ``db_data``), reusing a top-level declaration no service mounts yet;
- :func:`add_mounts`: new items in a service's ``volumes`` list, in the list's own style (short or
  long syntax, quoting), or a new ``volumes:`` key;
- :func:`declare`: entries in the top-level ``volumes:`` section, which is created at the end of
  the file when missing;
- :func:`findings`: one finding per item, the top-level declarations riding on one of them, so
  all of a pass's fixes land together without overlapping edits.
"""
from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass, field
from typing import Iterator

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.documents.yaml import YamlDocument
from orchfix.suppress import suppressed
from orchfix.text import Edit
from orchfix.transform import Finding, Transform
from orchfix.transforms._knowledge import compose, compose_view as cv

_BAD_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def norm(path: str) -> str:
    """A container path in one spelling (no trailing slash, no ``.``/``..`` parts)."""
    path = posixpath.normpath(path.strip())
    return "/" if path in ("/", "//") else path.rstrip("/")


def at_or_above(mount: str, path: str) -> bool:
    """Whether a mount at ``mount`` holds ``path`` (the same path or one of its parents)."""
    mount, path = norm(mount), norm(path)
    return mount == path or mount == "/" or path.startswith(mount + "/")


def _tmpfs(view: cv.View) -> list[str]:
    paths = []
    for node, _ in view.all("tmpfs"):
        items = node.value if isinstance(node, SequenceNode) else [node]
        paths.extend(s.split(":", 1)[0] for s in map(ye.scalar, items) if s)
    return paths


def mount_targets(view: cv.View) -> list[str] | None:
    """Container paths with a mount (volumes of every kind, tmpfs); None when a mount is not
    knowable (a variable target, ``volumes_from``)."""
    if view.get("volumes_from") is not None:
        return None
    targets = [v.target for v in view.volumes()] + _tmpfs(view)
    if any("$" in t for t in targets):
        return None
    return [t for t in targets if t.startswith("/")]


def covered(view: cv.View, path: str, below: bool = False) -> bool:
    """Whether ``path`` already has a mount at or above it (with ``below``, also a mount inside
    it: the service's owner chose what to keep there). Unknowable mounts count as covering."""
    targets = mount_targets(view)
    if targets is None:
        return True
    return any(at_or_above(t, path) or (below and at_or_above(path, t)) for t in targets)


#: dependency folders an anonymous volume deliberately keeps from the host (vs-002's shields)
SHIELDS = frozenset({"node_modules", ".venv", "venv", "vendor", "bower_components", ".pnpm-store"})


def is_shield(volume: compose.Volume, volumes: list[compose.Volume]) -> bool:
    """An anonymous volume that keeps the image's own files visible under a bind mount: a
    dependency folder (``node_modules``, ``.venv``, ``vendor``…) or any path inside a bind mount
    of the same service."""
    if posixpath.basename(norm(volume.target)) in SHIELDS:
        return True
    return any(v.kind == "bind" and at_or_above(v.target, volume.target) and norm(v.target) != norm(volume.target)
               for v in volumes)


# --- names ------------------------------------------------------------------------------------------

def _declared(file: compose.ComposeFile) -> dict[str, bool]:
    """Top-level volume names → whether the declaration is a plain local one (not ``external``,
    not renamed with ``name:``: those stand for a volume that exists elsewhere)."""
    top = file.top("volumes")
    if not isinstance(top, MappingNode):
        return {}
    return {k.value: not (isinstance(v, MappingNode) and (ye.get(v, "external") or ye.get(v, "name")))
            for k, v in top.value if isinstance(k, ScalarNode)}


class Names:
    """Volume names for one check of a document: readable, unique across the project."""

    def __init__(self, doc: YamlDocument, views: dict[str, cv.View]):
        files = {id(s.file): s.file for v in views.values() for s in v.defs}
        declared = [item for f in files.values() for item in _declared(f).items()]
        self.declared = {n for n, _ in declared}
        # names that stand for another volume cannot be taken over, nor can mounted ones
        self.used = {v.source for view in views.values() for v in view.volumes() if v.kind == "volume" and v.source}
        self.used |= {n for n, plain in declared if not plain}
        spelled = [n for n in self.declared | self.used if "-" in n or "_" in n]
        self.sep = "_" if sum("_" in n for n in spelled) > sum("-" in n for n in spelled) else "-"
        self.chosen: set[str] = set()

    def base(self, service: str, path: str | None = None) -> str:
        """``<service>-<last part of path>`` (``<service>-data`` without a path, or when the last
        part only repeats the service's name)."""
        last = posixpath.basename(norm(path)) if path else "data"
        last = last.lstrip(".") or "data"
        if last.lower() == service.lower():
            last = "data"
        name = _BAD_NAME.sub(self.sep, f"{service}{self.sep}{last}").strip(".-_")
        return name if name and name[0].isalnum() else "v" + self.sep + name

    def pick(self, base: str) -> tuple[str, bool]:
        """(a name for a new volume, whether it still needs a top-level declaration): ``base``, or
        ``base-2``…; a name declared at the top level but mounted by no service is taken over."""
        n = 1
        while True:
            name = base if n == 1 else f"{base}{self.sep}{n}"
            n += 1
            if name in self.chosen or name in self.used:
                continue
            self.chosen.add(name)
            return name, name not in self.declared


# --- edits ------------------------------------------------------------------------------------------

def combine(doc: YamlDocument, edits: list[Edit]) -> list[Edit]:
    """Edits of one finding with insertions at the same point joined in the given order (the
    engine sorts edits, and two insertions at one point would otherwise land in text order)."""
    out: list[Edit] = []
    for edit in edits:
        same = next((i for i, e in enumerate(out) if e.start == e.end == edit.start == edit.end), None)
        if same is None:
            out.append(edit)
            continue
        first, new = out[same].new, edit.new
        nl = "\r\n" if new.startswith("\r\n") else "\n"
        if edit.start == len(doc.text) and not doc.text.endswith("\n") and first.endswith("\n") and new.startswith(nl):
            new = new[len(nl):]  # the line break the first insertion added at the end of the file
        out[same] = Edit.insert(edit.start, first + new)
    return out


def _quote_style(items: list[Node]) -> str:
    """The quoting most short items of a list use: '"', "'" or '' (plain)."""
    styles = [n.style or "" for n in items if isinstance(n, ScalarNode)]
    if not styles:
        return ""
    best = max(set(styles), key=styles.count)
    return best if best in ('"', "'") else ""


def _short(text: str, quote: str) -> object:
    if quote == '"':
        return ye.Raw(json.dumps(text))
    if quote == "'" and "'" not in text:
        return ye.Raw(f"'{text}'")
    return text


def entry_like(items: list[Node], source: str | None, target: str) -> object:
    """A volumes item for ``source:target`` (anonymous without source) in the style of ``items``."""
    if items and all(isinstance(n, MappingNode) for n in items):
        return {"type": "volume", "source": source, "target": target} if source else {"type": "volume", "target": target}
    return _short(f"{source}:{target}" if source else target, _quote_style(items))


def add_mounts(doc: YamlDocument, service: compose.Service, mounts: list[tuple[str | None, str]]) -> list[Edit] | str:
    """Edits that add ``(source, target)`` mounts to ``service``'s volumes; a reason when its
    ``volumes`` cannot be extended where it is written."""
    odd = [t for _, t in mounts if not re.fullmatch(r"/[\w./@+~-]*", t)]
    if odd:
        return f"the path {odd[0]!r} is not one a volume can be written for here; add it by hand"
    style = ye.style_of(doc)
    hit = cv.lookup(service.node, "volumes")
    if hit is None:
        if service.node.flow_style or service.node.value:
            return [ye.set_key(doc, service.node, "volumes", [entry_like([], s, t) for s, t in mounts], style)]
        return "the service is an empty mapping"
    key, value, holder = hit
    if holder is not service.node:
        return "its volumes come from a merge key (<<: *anchor) and a volumes key here would replace them: add the volume where the anchor is defined"
    others = cv.shared(service, value)
    if others:
        return f"its volumes list is shared with {', '.join(sorted(others))} through an anchor"
    if ye.is_null(value):
        if holder.flow_style:
            return "its volumes key is empty inside a flow mapping"
        return [ye.replace_value(doc, key, value, [entry_like([], s, t) for s, t in mounts], style)]
    if not isinstance(value, SequenceNode):
        return "its volumes value is not a list"
    if not value.flow_style and not value.value:
        return "its volumes list is empty in block style"
    edits = [ye.append_item(doc, value, entry_like(value.value, s, t), style) for s, t in mounts]
    return combine(doc, edits)


def _top_level_gap(doc: YamlDocument, root: MappingNode) -> bool:
    """Whether the file separates its top-level sections with blank lines."""
    lines = doc.text.splitlines()
    keys = [k for k, _ in root.value if isinstance(k, ScalarNode)][1:]
    gaps = [k.start_mark.line > 0 and not lines[k.start_mark.line - 1].strip() for k in keys if k.start_mark.column == 0]
    return bool(gaps) and sum(gaps) * 2 >= len(gaps)


def _bare(edit: Edit) -> Edit:
    """``name: `` lines of a declaration written as ``name:`` (an empty value, the usual spelling)."""
    return Edit(edit.start, edit.end, re.sub(r": (\r?\n)", r":\1", edit.new))


def declare(doc: YamlDocument, file: compose.ComposeFile, names: list[str]) -> Edit:
    """One edit declaring ``names`` in the top-level ``volumes:`` section (created when missing)."""
    style = ye.style_of(doc)
    found = ye.get(file.root, "volumes")
    if found and isinstance(found[1], MappingNode) and (found[1].value or found[1].flow_style):
        mapping = found[1]
        if mapping.flow_style:
            return ye.add_keys(doc, mapping, {n: ye.Raw("{}") for n in names}, style)
        values = [v for _, v in mapping.value]
        braces = sum(isinstance(v, MappingNode) and v.flow_style and not v.value for v in values)
        if braces * 2 > len(values):
            return ye.add_keys(doc, mapping, {n: ye.Raw("{}") for n in names}, style)
        return _bare(ye.add_keys(doc, mapping, {n: ye.Raw("") for n in names}, style))
    if found and ye.is_null(found[1]):
        return _bare(ye.replace_value(doc, found[0], found[1], {n: ye.Raw("") for n in names}, style))
    if found:
        raise ValueError("the top-level volumes value is not a mapping")
    if file.root.flow_style:
        return ye.add_keys(doc, file.root, {"volumes": {n: ye.Raw("{}") for n in names}}, style)
    nl, text = style.newline, doc.text
    end = ye.content_end(doc, file.root)
    if len(doc.nodes) == 1 and all(not line.strip() or line.lstrip().startswith("#") for line in text[end:].splitlines()):
        end = len(text)  # after trailing comments and blank lines: they belong to what is above them
    lead = "" if text[:end].endswith("\n") or not text[:end] else nl
    if _top_level_gap(doc, file.root) and text[:end].strip():
        lead += "" if text[:end].endswith(nl + nl) else nl
    body = "volumes:" + nl + "".join(f"{' ' * style.indent}{n}:{nl}" for n in names)
    return Edit.insert(end, lead + body)


@dataclass
class Item:
    """One finding of a volume transform: mount edits and the new names they need declared."""

    line: int
    message: str
    edits: list[Edit] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    reason: str | None = None
    safety: object = None


def findings(transform: Transform, doc: YamlDocument, file: compose.ComposeFile, items: list[Item]) -> Iterator[Finding]:
    """The findings of ``items``: the declarations of every name the applied items need ride on
    one item (the one whose edit touches the same point, if any)."""
    live = [i for i in items if i.edits and not suppressed(doc.text, i.line, transform.id)]
    names = list(dict.fromkeys(n for i in live for n in i.names))
    if names:
        decl = declare(doc, file, names)
        carrier = next((i for i in live if any(e.start == e.end == decl.start for e in i.edits)), live[0])
        carrier.edits = combine(doc, carrier.edits + [decl])
    for item in items:
        if item.edits:
            yield transform.finding(doc, item.line, item.message, item.edits, safety=item.safety)
        else:
            yield transform.finding(doc, item.line, item.message, reason=item.reason, safety=item.safety)


def line_of(node: Node) -> int:
    return node.start_mark.line + 1
