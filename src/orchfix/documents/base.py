"""The document interface every file kind implements: exact text in, positions out."""
from __future__ import annotations

from orchfix.text import Encoding, LineIndex


class ParseError(ValueError):
    """A file of a known kind that does not parse; ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class Document:
    """A file's exact text, parsed on construction.

    ``kind`` is the file kind (``dockerfile``, ``compose``, ``k8s`` …). Subclasses implement
    :meth:`parse`, raising :class:`ParseError` on input they cannot read. Writing back is never
    a re-print: callers splice edits into ``text``.
    """

    def __init__(self, path: str, text: str, encoding: Encoding | None = None, kind: str = "text"):
        self.path = path
        self.kind = kind
        self.text = text
        self.encoding = encoding or Encoding()
        self.index = LineIndex(text)
        self.parse()

    def parse(self) -> None:
        """Plain text has no structure to read."""

    def line_of(self, offset: int) -> int:
        return self.index.line_of(offset)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path}>"
