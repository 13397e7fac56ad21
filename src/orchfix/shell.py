"""Just enough POSIX shell to rewrite command lines safely.

:func:`split` cuts a command line at its top-level operators (``&&``, ``||``, ``;``, ``|``,
``&``, newlines) while respecting quotes, escapes, ``$(…)``, backticks, ``${…}`` and
parentheses; :func:`features` names the shell features a command uses, so a caller can tell
whether it is plain words that need no shell at all.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from functools import lru_cache

_OPERATORS = ("&&", "||", ";;", ";", "|", "&", "\n")
_REDIRECT = re.compile(r"(?<![\w$])\d*(?:>>?|<<?|>&|<&|&>)")
_GLOB = re.compile(r"[*?]|\[[^\]]*\]")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class Segment:
    """One top-level command: ``text`` spans ``start:end`` of the input; ``op`` follows it."""

    text: str
    start: int
    end: int
    op: str | None


class ShellSyntaxError(ValueError):
    """Unbalanced quotes or brackets."""


def _skip_quoted(text: str, i: int) -> int:
    """Index after the quoted string, ``$(…)``, backtick or ``${…}`` that starts at ``i``."""
    ch = text[i]
    if ch == "'":
        end = text.find("'", i + 1)
        if end < 0:
            raise ShellSyntaxError("unterminated single quote")
        return end + 1
    if ch in '"`':
        j = i + 1
        while j < len(text):
            if text[j] == "\\":
                j += 2
                continue
            if text[j] == ch:
                return j + 1
            if ch == '"' and text.startswith(("$(", "${"), j):
                j = _skip_quoted(text, j)
                continue
            j += 1
        raise ShellSyntaxError(f"unterminated {ch}")
    # $( … ) or ${ … } or ( … ): balanced, with quotes inside
    open_, close = ("{", "}") if text.startswith("${", i) else ("(", ")")
    j = text.index(open_, i) + 1
    depth = 1
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c in "'\"`":
            j = _skip_quoted(text, j)
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    raise ShellSyntaxError(f"unbalanced {open_}")


def split(text: str) -> list[Segment]:
    """The top-level commands of ``text`` with the operator after each."""
    return list(_split(text))


@lru_cache(maxsize=8192)
def _split(text: str) -> tuple[Segment, ...]:
    """:func:`split`, once per text (transforms ask about the same RUN again and again)."""
    segments: list[Segment] = []
    start = i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c in "'\"`" or (c == "$" and text.startswith(("$(", "${"), i)) or c == "(":
            i = _skip_quoted(text, i)
            continue
        if c == "#" and (i == 0 or text[i - 1].isspace()):
            nl = text.find("\n", i)
            i = len(text) if nl < 0 else nl
            continue
        op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
        if op and not (op in ("&", "|") and _is_redirect_amp(text, i)):
            segments.append(Segment(text[start:i], start, i, op))
            i += len(op)
            start = i
            continue
        i += 1
    segments.append(Segment(text[start:], start, len(text), None))
    return tuple(s for s in segments if s.text.strip() or s.op)


def _is_redirect_amp(text: str, i: int) -> bool:
    """``>&2``, ``2>&1`` and ``&>`` use ``&`` without being an operator."""
    return (text[i] == "&" and (text[i - 1:i] in (">", "<") or text.startswith("&>", i))) or (
        text[i] == "|" and text[i - 1:i] == ">"
    )


def blank_quotes(text: str, keep_double: bool = False) -> str:
    """``text`` with quoted strings blanked out (double-quoted ones kept when ``keep_double``,
    since they still expand ``$VAR`` and ``$(…)``), for feature scans."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            out.append("  ")
            i += 2
        elif c == "'" or (c == '"' and not keep_double):
            j = _skip_quoted(text, i)
            out.append(c + " " * (j - i - 2) + c)
            i = j
        elif c == '"':  # kept whole: a ' inside double quotes is a plain character
            j = _skip_quoted(text, i)
            out.append(re.sub(r"\\.", "  ", text[i:j], flags=re.S))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def features(text: str) -> set[str]:
    """Shell features ``text`` uses: operator, redirect, glob, variable, substitution, assignment, comment."""
    found: set[str] = set()
    bare = blank_quotes(text)
    expanding = blank_quotes(text, keep_double=True)
    segments = split(text)
    if len(segments) > 1 or (segments and segments[0].op):
        found.add("operator")
    if _REDIRECT.search(bare):
        found.add("redirect")
    if _GLOB.search(bare) or re.search(r"(^|\s)~", bare):
        found.add("glob")
    if "$(" in expanding or "`" in expanding or "(" in bare:
        found.add("substitution")
    if re.search(r"\$[A-Za-z_{0-9@*#?!$-]", expanding):
        found.add("variable")
    if re.search(r"(^|\s)#", bare):
        found.add("comment")
    if _ASSIGNMENT.match(bare.lstrip()):
        found.add("assignment")
    return found


def words(text: str) -> list[str]:
    """The words of a plain command, with quotes removed (POSIX rules)."""
    return list(_words(text))


@lru_cache(maxsize=8192)
def _words(text: str) -> tuple[str, ...]:
    return tuple(shlex.split(text, posix=True))


def option_value(words: list[str], names: tuple[str, ...]) -> str | None:
    """The value of the first option of ``names`` among a command's ``words`` (``-o dir`` or
    ``--out=dir``); None when it is not there."""
    for i, word in enumerate(words):
        for name in names:
            if word == name and i + 1 < len(words):
                return words[i + 1]
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


def positionals(words: list[str], with_value: set[str]) -> list[str]:
    """A command's arguments that are not options (``-x value`` options named in ``with_value``
    skip their value too)."""
    out, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in with_value
        else:
            out.append(word)
    return out


def word_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each word of a simple command, quotes and ``$(…)`` kept inside their word."""
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        start = i
        while i < len(text) and not text[i].isspace():
            c = text[i]
            if c == "\\":
                i += 2
            elif c in "'\"`" or (c == "$" and text.startswith(("$(", "${"), i)) or c == "(":
                i = _skip_quoted(text, i)
            else:
                i += 1
        spans.append((start, min(i, len(text))))
    return spans
