"""Edits to YAML documents that change only the keys they are about.

Works on the node graph of :class:`~orchfix.documents.yaml.YamlDocument` (PyYAML nodes with
character offsets) and returns :class:`~orchfix.text.Edit` ranges over the exact text. New
content follows the file's own style: its indentation width, whether sequences are indented
under their key or flush with it, its line endings; flow collections get flow additions.
Comments, quoting, blank lines and key order elsewhere stay byte for byte.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterator

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from orchfix.documents.yaml import YamlDocument
from orchfix.text import Edit, newline_of

_PLAIN_UNSAFE = re.compile(r"^[\s,\[\]{}#&*!|>'\"%@`]|^[-?:](\s|$)|:\s|\s#|:$|\s$|^$")


@dataclass(frozen=True)
class Style:
    """How a file writes block collections."""

    indent: int = 2
    #: columns between a key and the dashes of its block sequence value (0: flush, 2: indented)
    seq_indent: int = 2
    newline: str = "\n"


def style_of(doc: YamlDocument) -> Style:
    """The indentation habits of ``doc``: the most common nesting width and sequence offset
    (worked out once per document)."""
    memo = getattr(doc, "__dict__", None)
    cached = memo.get("_yaml_style") if memo is not None else None
    if cached is not None and cached[0] is doc.text and cached[1] is doc.nodes:
        return cached[2]
    style = _style_of(doc)
    if memo is not None:
        memo["_yaml_style"] = (doc.text, doc.nodes, style)
    return style


def _style_of(doc: YamlDocument) -> Style:
    widths: Counter = Counter()
    offsets: Counter = Counter()
    for root in doc.nodes:
        for key, value in _pairs(root):
            if isinstance(value, MappingNode) and not value.flow_style and value.value:
                if value.start_mark.line > key.start_mark.line:
                    widths[value.start_mark.column - key.start_mark.column] += 1
            elif isinstance(value, SequenceNode) and not value.flow_style and value.value:
                if value.start_mark.line > key.start_mark.line:
                    offsets[value.start_mark.column - key.start_mark.column] += 1
    indent = widths.most_common(1)[0][0] if widths else 2
    indent = indent if indent > 0 else 2
    seq = offsets.most_common(1)[0][0] if offsets else indent
    return Style(indent, seq, newline_of(doc.text))


def _pairs(node: Node | None) -> Iterator[tuple[Node, Node]]:
    """Every (key, value) pair below ``node``, depth first."""
    if isinstance(node, MappingNode):
        for key, value in node.value:
            yield key, value
            yield from _pairs(value)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            yield from _pairs(item)


def get(mapping: Node | None, key: str) -> tuple[ScalarNode, Node] | None:
    """The (key node, value node) of ``key`` in a mapping node, or None (of a key written twice,
    the last, which is the one loaders keep)."""
    if isinstance(mapping, MappingNode):
        # looked up again and again (every transform reads the same keys): the mapping's keys are
        # indexed once, and again if its entries are ever replaced or added to
        pairs = mapping.value
        memo = mapping.__dict__.get("_ye_keys")
        if memo is None or memo[0] is not pairs or memo[1] != len(pairs):
            index = {k.value: (k, v) for k, v in pairs if isinstance(k, ScalarNode)}  # the last one wins
            memo = mapping.__dict__["_ye_keys"] = (pairs, len(pairs), index)
        return memo[2].get(key)
    return None


def value(mapping: Node | None, key: str) -> Node | None:
    found = get(mapping, key)
    return found[1] if found else None


def scalar(node: Node | None) -> str | None:
    """A scalar node's string value; None for anything else."""
    return node.value if isinstance(node, ScalarNode) else None


def is_null(node: Node | None) -> bool:
    return node is None or (isinstance(node, ScalarNode) and node.tag.endswith(":null"))


def _line_end(text: str, i: int) -> int:
    """Offset after the newline of the line holding ``i`` (or the end of text)."""
    nl = text.find("\n", i)
    return len(text) if nl < 0 else nl + 1


def _line_start(text: str, i: int) -> int:
    return text.rfind("\n", 0, i) + 1


_ALIAS = re.compile(r"[\s:?-]*\*[^\s,\[\]{}]+")


def content_end(doc: YamlDocument, node: Node) -> int:
    """Offset after the newline of the last line that holds ``node``'s content.

    Block collections' own end marks reach over trailing blank and comment lines; this stops
    at the last scalar (block scalars without their trailing blank lines).
    """
    text = doc.text
    if isinstance(node, (MappingNode, SequenceNode)) and node.value and not node.flow_style:
        last = node.value[-1]
        if isinstance(node, MappingNode):
            after, last = last[0].end_mark.index, last[1]
        else:
            after = node.value[-2].end_mark.index if len(node.value) > 1 else node.start_mark.index
        if last.start_mark.index < after:
            # an alias (``develop: *dev``): its node lies at the anchor; its content here is ``*name``
            alias = _ALIAS.match(text, after)
            return _line_end(text, alias.end() - 1 if alias else after)
        return content_end(doc, last)
    start, end = node.start_mark.index, node.end_mark.index
    if isinstance(node, ScalarNode) and node.style in ("|", ">"):
        end = start + len(text[start:end].rstrip(" \t\r\n"))
    return _line_end(text, max(start, end - 1))


class Raw(str):
    """YAML text already rendered (a scalar copied from the source with its quoting): emitted as is."""


def render_scalar(data: Any) -> str:
    """A scalar as YAML text that loads back as the same value (a :class:`Raw` as it is)."""
    if isinstance(data, Raw):
        return str(data)
    if data is None:
        return "null"
    if isinstance(data, bool):
        return "true" if data else "false"
    if isinstance(data, (int, float)):
        return repr(data)
    text = str(data)
    if "\n" not in text and not _PLAIN_UNSAFE.search(text) and _loads_as_itself(text):
        return text
    if "'" not in text and "\n" not in text and text.isprintable():
        return f"'{text}'"
    return json.dumps(text, ensure_ascii=False)


@lru_cache(maxsize=16384)
def _loads_as_itself(text: str) -> bool:
    """Whether plain ``text`` loads back as the same string (not a number, a boolean, null…)."""
    return yaml.safe_load(text) == text


def render_flow(data: Any) -> str:
    """``data`` as a one-line flow collection or scalar."""
    if isinstance(data, dict):
        return "{" + ", ".join(f"{render_scalar(k)}: {render_flow(v)}" for k, v in data.items()) + "}"
    if isinstance(data, (list, tuple)):
        return "[" + ", ".join(render_flow(v) for v in data) + "]"
    return render_scalar(data)


def render_block(data: Any, column: int, style: Style) -> str:
    """``data`` (a dict or list) as block YAML lines starting at ``column``; ends with a newline."""
    pad, nl = " " * column, style.newline
    lines: list[str] = []
    if isinstance(data, dict):
        for key, item in data.items():
            lines.append(pad + render_scalar(key) + ":" + _block_value(item, column, style, style.seq_indent))
    else:
        for item in data:
            if isinstance(item, dict) and item:
                lines.append(pad + "- " + render_block(item, column + 2, style)[column + 2:])
            else:
                lines.append(pad + "- " + _inline(item, column + 2, style))
    return "".join(line if line.endswith(nl) else line + nl for line in lines)


def _inline(data: Any, column: int, style: Style) -> str:
    if isinstance(data, str) and "\n" in data and not isinstance(data, Raw):
        return _literal(data, column, style)
    if isinstance(data, (dict, list, tuple)):
        return render_flow(data)
    return render_scalar(data)


class Flow(list):
    """A list written as a one-line flow sequence (``[a, b]``) where a block one would go."""


def _block_value(data: Any, column: int, style: Style, seq_offset: int) -> str:
    """The text after ``key:`` for ``data``: inline for scalars, empty collections and
    :class:`Flow` lists, else a block."""
    if isinstance(data, Flow):
        return " " + render_flow(list(data))
    if isinstance(data, dict) and data:
        return style.newline + render_block(data, column + style.indent, style)
    if isinstance(data, (list, tuple)) and data:
        return style.newline + render_block(list(data), column + seq_offset, style)
    return " " + _inline(data, column + style.indent, style)


def _literal(text: str, column: int, style: Style) -> str:
    chomp = "" if text.endswith("\n") else "-"
    pad = " " * column
    body = "".join(pad + line + style.newline if line else style.newline for line in text.rstrip("\n").split("\n"))
    return f"|{chomp}{style.newline}{body}".rstrip(style.newline)


def _key_column(mapping: MappingNode) -> int:
    return mapping.value[0][0].start_mark.column if mapping.value else mapping.start_mark.column


def _trailing_comment(doc: YamlDocument, node: Node) -> str:
    """`` # comment`` after a node on its last line ('' when none)."""
    end = node.end_mark.index
    rest = doc.text[end:_line_end(doc.text, end)].rstrip("\r\n")
    match = re.match(r"\s*(#.*)$", rest)
    return "  " + match.group(1) if match else ""


def set_key(doc: YamlDocument, mapping: MappingNode, key: str, data: Any, style: Style | None = None) -> Edit:
    """Set ``key`` to ``data`` in ``mapping``: its value replaced when present, else a new entry
    appended after the mapping's last entry (flow mappings get a flow entry)."""
    style = style or style_of(doc)
    found = get(mapping, key)
    if found:
        return replace_value(doc, found[0], found[1], data, style)
    if mapping.flow_style:
        close = mapping.end_mark.index - 1
        sep = ", " if mapping.value else ""
        return Edit.insert(close, f"{sep}{render_scalar(key)}: {render_flow(data)}")
    if not mapping.value:
        raise ValueError("cannot add to an empty block mapping")
    column = _key_column(mapping)
    entry = " " * column + render_scalar(key) + ":" + _block_value(data, column, style, style.seq_indent)
    return _append_after(doc, mapping, entry if entry.endswith(style.newline) else entry + style.newline, style)


def _last_scalar(node: Node) -> Node:
    while isinstance(node, (MappingNode, SequenceNode)) and node.value and not node.flow_style:
        node = node.value[-1][1] if isinstance(node, MappingNode) else node.value[-1]
    return node


def _append_after(doc: YamlDocument, node: Node, lines: str, style: Style) -> Edit:
    """Insert ``lines`` after the last content line of ``node``.

    At the end of a file without a final newline, a clipped block scalar (``|``) ending there
    would gain a line break: its indicator becomes ``|-`` so its value stays the same.
    """
    at = content_end(doc, node)
    if doc.text[at - 1:at] == "\n":
        return Edit.insert(at, lines)
    last = _last_scalar(node)
    indicator = doc.text[last.start_mark.index:last.start_mark.index + 2]
    here = content_end(doc, last) == at  # not an alias of a scalar written elsewhere
    if isinstance(last, ScalarNode) and last.style in ("|", ">") and indicator[1:] not in ("-", "+") and here:
        start = last.start_mark.index + 1
        return Edit(start, at, "-" + doc.text[start:at] + style.newline + lines)
    return Edit.insert(at, style.newline + lines)


def replace_value(doc: YamlDocument, key: ScalarNode, old: Node, data: Any, style: Style | None = None) -> Edit:
    """Replace the value of an entry, keeping a comment that followed it on the key's line."""
    style = style or style_of(doc)
    column = key.start_mark.column
    collection = isinstance(data, (dict, list, tuple)) and data and not isinstance(data, Flow)
    if not collection and (isinstance(old, ScalarNode) and old.style not in ("|", ">")) and not is_null(old):
        return Edit(old.start_mark.index, old.end_mark.index, _inline(data, column + style.indent, style))
    colon = doc.text.index(":", key.end_mark.index)
    on_key_line = is_null(old) or old.start_mark.line == key.start_mark.line
    comment = _trailing_comment(doc, old) if on_key_line and (old.flow_style if not isinstance(old, ScalarNode) else True) else ""
    end = content_end(doc, old) if not is_null(old) else _line_end(doc.text, colon)
    body = _block_value(data, column, style, style.seq_indent)
    if collection and comment:
        body = comment + body
    elif comment:
        body += comment
    if not body.endswith(style.newline):
        body += style.newline if doc.text[end - 1:end] == "\n" else ""
    return Edit(colon + 1, end, body)


def delete_key(doc: YamlDocument, mapping: MappingNode, key: str) -> Edit:
    """Remove an entry (its key line through its value's last line; a flow entry and its comma)."""
    found = get(mapping, key)
    if found is None:
        raise KeyError(key)
    k, v = found
    if mapping.flow_style:
        index = next(i for i, (kk, _) in enumerate(mapping.value) if kk is k)
        start, end = k.start_mark.index, v.end_mark.index
        if index + 1 < len(mapping.value):
            end = mapping.value[index + 1][0].start_mark.index
        elif index > 0:
            start = mapping.value[index - 1][1].end_mark.index
        return Edit(start, end, "")
    line_start = _line_start(doc.text, k.start_mark.index)
    if doc.text[line_start:k.start_mark.index].strip() and mapping.value[0][0] is k:
        # the first entry of a sequence item (``- key: v``): the next entry moves up to the dash
        if len(mapping.value) == 1:
            end = v.end_mark.index if isinstance(v, ScalarNode) else content_end(doc, v)
            return Edit(k.start_mark.index, len(doc.text[:end].rstrip("\r\n")), "{}")
        return Edit(k.start_mark.index, mapping.value[1][0].start_mark.index, "")
    return Edit(line_start, content_end(doc, v) if not is_null(v) else _line_end(doc.text, k.end_mark.index), "")


def append_item(doc: YamlDocument, seq: SequenceNode, data: Any, style: Style | None = None) -> Edit:
    """Append ``data`` to a sequence (a new ``- item`` line, or ``, item`` in a flow sequence)."""
    style = style or style_of(doc)
    if seq.flow_style or not seq.value:
        close = seq.end_mark.index - 1
        if doc.text[close] != "]":
            raise ValueError("cannot append to an empty block sequence")
        return Edit.insert(close, (", " if seq.value else "") + render_flow(data))
    return _append_after(doc, seq, render_block([data], seq.start_mark.column, style), style)


def append_items(doc: YamlDocument, seq: SequenceNode, items: list, style: Style | None = None) -> Edit:
    """Append several items to a sequence in one edit, in order (see :func:`append_item`)."""
    style = style or style_of(doc)
    if seq.flow_style or not seq.value:
        close = seq.end_mark.index - 1
        if doc.text[close] != "]":
            raise ValueError("cannot append to an empty block sequence")
        return Edit.insert(close, (", " if seq.value else "") + ", ".join(render_flow(d) for d in items))
    return _append_after(doc, seq, render_block(list(items), seq.start_mark.column, style), style)


def replace_item(doc: YamlDocument, seq: SequenceNode, index: int, data: Any, style: Style | None = None) -> Edit:
    """Replace one item of a sequence with ``data`` (block items in the file's style, a flow
    item in place); the item's own lines are rewritten, the others keep their bytes."""
    style = style or style_of(doc)
    item = seq.value[index]
    if seq.flow_style:
        return Edit(item.start_mark.index, item.end_mark.index, render_flow(data))
    start = _line_start(doc.text, item.start_mark.index)
    end = content_end(doc, item)
    dash = doc.text.rfind("-", start, item.start_mark.index)
    lines = render_block([data], dash - start, style)
    return Edit(start, end, lines if doc.text[end - 1:end] == "\n" else lines.rstrip("\r\n"))


def remove_item(doc: YamlDocument, seq: SequenceNode, index: int) -> Edit:
    """Remove one item of a sequence."""
    item = seq.value[index]
    if seq.flow_style:
        start, end = item.start_mark.index, item.end_mark.index
        if index + 1 < len(seq.value):
            end = seq.value[index + 1].start_mark.index
        elif index > 0:
            start = seq.value[index - 1].end_mark.index
        return Edit(start, end, "")
    return Edit(_line_start(doc.text, item.start_mark.index), content_end(doc, item), "")


def add_keys(doc: YamlDocument, mapping: MappingNode, data: dict, style: Style | None = None) -> Edit:
    """Append several new entries (keys ``mapping`` does not have) in one edit, in order."""
    style = style or style_of(doc)
    if mapping.flow_style:
        close = mapping.end_mark.index - 1
        sep = ", " if mapping.value else ""
        return Edit.insert(close, sep + ", ".join(f"{render_scalar(k)}: {render_flow(v)}" for k, v in data.items()))
    if not mapping.value:
        raise ValueError("cannot add to an empty block mapping")
    return _append_after(doc, mapping, render_block(data, _key_column(mapping), style), style)


def insert_key(doc: YamlDocument, mapping: MappingNode, key: str, data: Any, after: str, style: Style | None = None) -> Edit:
    """A new entry right after the entry ``after`` (the next line, at its column; in a flow
    mapping, after its value), for keys that read best beside another (``pathType`` after ``path``)."""
    style = style or style_of(doc)
    found = get(mapping, after)
    if found is None:
        raise KeyError(after)
    k, v = found
    if mapping.flow_style:
        return Edit.insert(v.end_mark.index, f", {render_scalar(key)}: {render_flow(data)}")
    column = k.start_mark.column
    entry = " " * column + render_scalar(key) + ":" + _block_value(data, column, style, style.seq_indent)
    entry = entry if entry.endswith(style.newline) else entry + style.newline
    return _append_after(doc, v if not is_null(v) else k, entry, style)
