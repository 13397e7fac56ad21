"""Source text that round-trips byte for byte, and edits spliced into it.

Every document keeps the exact decoded text of its file; a transform never re-prints a
file, it returns :class:`Edit` ranges over that text (as ruff does), so lines no fix is
about stay identical by construction.
"""
from __future__ import annotations

import bisect
import codecs
import re
from dataclasses import dataclass

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")


class DecodeError(ValueError):
    """The file is not text orchfix can read and write back unchanged."""


@dataclass(frozen=True)
class Encoding:
    """How a file's bytes map to text: codec plus the BOM to put back."""

    codec: str = "utf-8"
    bom: bytes = b""

    def encode(self, text: str) -> bytes:
        return self.bom + text.encode(self.codec, errors="surrogateescape")


def decode(data: bytes) -> tuple[str, Encoding]:
    """Decode file bytes; undecodable UTF-8 bytes survive through surrogateescape."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(codec), Encoding(codec, bom)
            except UnicodeDecodeError as exc:
                raise DecodeError(f"invalid {codec}: {exc}") from exc
    return data.decode("utf-8", errors="surrogateescape"), Encoding()


def newline_of(text: str) -> str:
    """The file's line ending: CRLF when its first line ends so, else LF."""
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


class LineIndex:
    """Maps character offsets to 1-based line numbers and back."""

    def __init__(self, text: str):
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        if self.starts[-1] == len(text) and len(self.starts) > 1:
            self.starts.pop()

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)

    def start_of(self, line: int) -> int:
        return self.starts[line - 1] if line <= len(self.starts) else len(self.text)

    def lines(self) -> list[tuple[int, str]]:
        """(start offset, line text with its ending) for every physical line."""
        return [(m.start(), m.group()) for m in _LINE.finditer(self.text)]


@dataclass(frozen=True, order=True)
class Edit:
    """Replace ``text[start:end]`` with ``new``; an insertion has ``start == end``."""

    start: int
    end: int
    new: str = ""

    @classmethod
    def insert(cls, at: int, new: str) -> "Edit":
        return cls(at, at, new)

    @classmethod
    def delete(cls, start: int, end: int) -> "Edit":
        return cls(start, end, "")


def overlaps(a: Edit, b: Edit) -> bool:
    """Whether two edits touch the same text (two insertions at one point count too)."""
    if a.start == a.end == b.start == b.end:
        return True
    return a.start < b.end and b.start < a.end


def apply_edits(text: str, edits: list[Edit]) -> str:
    """Splice non-overlapping edits into text."""
    out, pos = [], 0
    for edit in sorted(edits):
        if edit.start < pos:
            raise ValueError(f"overlapping edits at offset {edit.start}")
        out.append(text[pos:edit.start])
        out.append(edit.new)
        pos = edit.end
    out.append(text[pos:])
    return "".join(out)
