"""Moving whole instructions (with the comment lines right above them) around a Dockerfile, and
writing new ones in the file's style. Shared by io-002 and io-003."""
from __future__ import annotations

import json
from dataclasses import dataclass

from orchfix.documents.dockerfile import DockerfileDocument, Instruction
from orchfix.text import Edit, newline_of
from orchfix.transforms._knowledge.dockerenv import keyword_like


@dataclass(frozen=True)
class Block:
    """An instruction with the comment lines directly above it.

    ``start``/``end`` span its lines (final line ending included); ``apart`` says whether a
    blank line (or the file's edge) separates it from both neighbours, i.e. it is its own
    paragraph; ``text`` is the block as written (always ending in a line ending).
    """

    start: int
    end: int
    text: str
    apart: bool
    #: the blank line after it, removed together with an ``apart`` block
    trailing_blank: int
    #: whether a blank line (or the start of the file) comes right before it
    after_blank: bool = False


def _blank(line: str) -> bool:
    return not line.strip()


def block(doc: DockerfileDocument, ins: Instruction) -> Block:
    lines = doc.index.lines()
    first = ins.line - len(doc.comments_before(ins))
    start = doc.index.start_of(first)
    before_blank = first == 1 or _blank(lines[first - 2][1])
    after = ins.end_line  # 0-based index of the line after the block
    after_blank = after >= len(lines) or _blank(lines[after][1])
    trailing = lines[after][0] + len(lines[after][1]) if after < len(lines) and _blank(lines[after][1]) else ins.end
    text = doc.text[start:ins.end]
    if not text.endswith("\n"):
        text += newline_of(doc.text)
    return Block(start, ins.end, text, before_blank and after_blank, trailing, before_blank)


def removal(doc: DockerfileDocument, ins: Instruction) -> Edit:
    """Delete an instruction with its comments; for a paragraph of its own, the blank line after
    it too, so no double blank line is left behind."""
    found = block(doc, ins)
    return Edit.delete(found.start, found.trailing_blank if found.apart else found.end)


def line_after(doc: DockerfileDocument, ins: Instruction) -> str | None:
    """The physical line after an instruction (None at the end of the file)."""
    lines = doc.index.lines()
    return lines[ins.end_line][1] if ins.end_line < len(lines) else None


def insertion_after(doc: DockerfileDocument, ins: Instruction, text: str, apart: bool = False) -> Edit:
    """Insert ``text`` (whole lines) after ``ins``; ``apart`` sets it off with blank lines."""
    nl = newline_of(doc.text)
    prefix = "" if doc.text[:ins.end].endswith("\n") else nl
    if apart:
        prefix += nl
        following = line_after(doc, ins)
        if following is not None and following.strip():
            text += nl
    return Edit.insert(ins.end, prefix + text)


def keyword(doc: DockerfileDocument, name: str) -> str:
    """An instruction keyword in the letter case the file writes its FROM (or first) keyword in."""
    written = next((i.raw_keyword for i in doc.instructions if i.keyword == "FROM"), None)
    written = written or (doc.instructions[0].raw_keyword if doc.instructions else name)
    return keyword_like(name, written)


def copy_line(doc: DockerfileDocument, flags: list[str], sources: list[str], dest: str, written: str = "COPY") -> str:
    """A COPY instruction (no line ending): shell form, or JSON when a path has blanks."""
    word = keyword_like("COPY", written) if written.upper() in ("COPY", "ADD") else keyword(doc, "COPY")
    paths = [*sources, dest]
    if any(any(c.isspace() for c in p) for p in paths):
        return " ".join([word, *flags, json.dumps(paths)])
    return " ".join([word, *flags, *paths])


def flag_text(name: str, value: str | None) -> str:
    return f"--{name}" if value is None else f"--{name}={value}"
