"""ENV and ARG in Dockerfiles: each ``NAME=value`` pair with its exact span, where a variable is
used (RUN, other build steps, run time), and what a variable resolves to at a point of the file.

Shared by hc-001 (``EXPOSE $PORT``), sc-002 and ec-003 (removing one pair of an ENV/ARG without
touching the others), and later by any transform that reads or edits ENV/ARG.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from orchfix.documents.dockerfile import DockerfileDocument, Instruction, Stage
from orchfix.text import Edit, newline_of

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_REF = re.compile(r"(?<!\\)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+?=])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")
#: why a pair sharing its instruction with comment lines is reported rather than removed
COMMENTS_BETWEEN = "comment lines sit between it and the pair next to it; remove it by hand"


@dataclass(frozen=True)
class Word:
    """One whitespace-separated word of an instruction: ``text`` as BuildKit reads it (quotes and
    escapes processed, line continuations joined), ``start``/``end`` its span in the document."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Pair:
    """``NAME=value`` (or legacy ``ENV NAME value``, or ``ARG NAME``) with its spans.

    ``start``/``end`` cover the whole pair; ``eq`` is the offset of ``=`` (None for a legacy ENV
    or an ARG without default); ``value`` is the processed value ('' when there is none).
    """

    name: str
    value: str
    start: int
    end: int
    eq: int | None
    legacy: bool = False

    @property
    def has_value(self) -> bool:
        return self.eq is not None or self.legacy


def arg_end(doc: DockerfileDocument, ins: Instruction) -> int:
    """Offset of the end of the instruction's text, before its final line ending."""
    end = ins.end
    if doc.text.endswith("\n", 0, end):
        end -= 1
        if doc.text.endswith("\r", 0, end):
            end -= 1
    return end


def _continuation(doc: DockerfileDocument, i: int, end: int) -> int | None:
    """When an escape at ``i`` ends a physical line, the offset where the instruction goes on
    (blank and comment lines skipped, as BuildKit does); else None."""
    j = i + 1
    while j < end and doc.text[j] in " \t":
        j += 1
    if j < len(doc.text) and doc.text[j] == "\r":
        j += 1
    if j >= len(doc.text) or doc.text[j] != "\n":
        return None if j < end else end
    j += 1
    while j < end:
        line_end = doc.text.find("\n", j)
        line_end = len(doc.text) if line_end < 0 else line_end
        line = doc.text[j:line_end].strip()
        if line and not line.startswith("#"):
            break
        j = line_end + 1
    return min(j, end)


def words(doc: DockerfileDocument, ins: Instruction) -> list[Word] | None:
    """The instruction's argument words with their spans; None on an unterminated quote."""
    text, esc = doc.text, doc.escape
    i, end = ins.keyword_end, arg_end(doc, ins)
    out: list[Word] = []
    while i < end:
        c = text[i]
        if c in " \t\r\n":
            i += 1
            continue
        if c == esc and (nxt := _continuation(doc, i, end)) is not None:
            i = nxt
            continue
        start, buf, quote = i, [], None
        while i < end:
            c = text[i]
            if c == esc and quote != "'":
                nxt = _continuation(doc, i, end)
                if nxt is not None:
                    i = nxt
                    continue
                if i + 1 < end:
                    buf.append(text[i + 1] if text[i + 1] != "$" else "\\$")
                    i += 2
                    continue
            if quote:
                if c == quote:
                    quote = None
                else:
                    buf.append(c)
                i += 1
                continue
            if c in "\"'":
                quote = c
                i += 1
                continue
            if c in " \t\r\n":
                break
            buf.append(c)
            i += 1
        if quote:
            return None
        out.append(Word("".join(buf), start, i))
    return out


def pairs(doc: DockerfileDocument, ins: Instruction) -> list[Pair] | None:
    """The pairs of an ENV or ARG instruction; None when it does not read as BuildKit reads it."""
    found = words(doc, ins)
    if not found:
        return None
    if ins.keyword == "ENV" and "=" not in found[0].text:
        # legacy form: ENV NAME the rest of the line
        first = found[0]
        if not _NAME.fullmatch(first.text):
            return None
        value = " ".join(w.text for w in found[1:])
        return [Pair(first.text, value, first.start, found[-1].end, None, legacy=True)]
    result = []
    for word in found:
        name, eq, value = word.text.partition("=")
        if not _NAME.fullmatch(name) or (ins.keyword == "ENV" and not eq):
            return None
        at = doc.text.index("=", word.start) if eq else None
        result.append(Pair(name, value, word.start, word.end, at))
    return result


def removal(doc: DockerfileDocument, ins: Instruction, found: list[Pair], index: int) -> Edit | str | None:
    """The edit that deletes ``found[index]`` with the blanks that separate it from its neighbours;
    None when it is the only pair (the caller removes the instruction), or why it cannot."""
    if len(found) == 1:
        return None
    pair, text = found[index], doc.text
    if index + 1 < len(found):
        nxt = found[index + 1]
        if "#" not in text[pair.end:nxt.start]:
            return Edit.delete(pair.start, nxt.start)
        line_start = text.rfind("\n", 0, pair.start) + 1
        line_end = text.find("\n", pair.end)
        tail = text[pair.end:line_end].strip(" \t\r")
        if text[line_start:pair.start].strip(" \t") or tail != doc.escape:
            return COMMENTS_BETWEEN
        return Edit.delete(line_start, line_end + 1)  # the pair's own continuation line
    prev = found[index - 1]
    if "#" in text[prev.end:pair.start]:
        return COMMENTS_BETWEEN
    return Edit.delete(prev.end, pair.end)


def line_start(doc: DockerfileDocument, ins: Instruction) -> int:
    """Offset of the start of the instruction's first physical line."""
    return doc.text.rfind("\n", 0, ins.start) + 1


def indent_of(doc: DockerfileDocument, ins: Instruction) -> str:
    """The blanks before the instruction's keyword."""
    return doc.text[line_start(doc, ins):ins.keyword_start]


def comment_line(doc: DockerfileDocument, ins: Instruction, text: str) -> str:
    """A comment line (indented like ``ins``, in the file's line ending) to put above ``ins``."""
    return f"{indent_of(doc, ins)}# {text}{newline_of(doc.text)}"


def replace_instruction(doc: DockerfileDocument, ins: Instruction, new: str) -> Edit:
    """Replace the whole instruction (all its lines) with ``new`` (no final newline: the
    instruction's own line ending is kept)."""
    return Edit(ins.start, ins.end, new + doc.text[arg_end(doc, ins):ins.end])


def keyword_like(keyword: str, written: str) -> str:
    """``keyword`` in the letter case of ``written``."""
    if written.islower():
        return keyword.lower()
    if written.isupper():
        return keyword.upper()
    return keyword.capitalize()


# --- references and uses ---------------------------------------------------------------------

def references(text: str) -> set[str]:
    """Names of the variables ``text`` expands (``$X``, ``${X}``, ``${X:-d}``)."""
    return {m.group(1) or m.group(4) for m in _REF.finditer(text)}


def command_text(ins: Instruction) -> str:
    """What an instruction runs or reads: its arguments (without flags such as ``RUN --mount=…``)
    plus any heredoc bodies."""
    return "\n".join([ins.args, *(h.body for h in ins.heredocs)])


def descendants(doc: DockerfileDocument, stage: Stage) -> list[Stage]:
    """Later stages of this file that build on ``stage`` (FROM its name, directly or not)."""
    return [s for s in doc.stages[stage.index + 1:] if stage in doc.ancestry(s)[1:]]


@dataclass(frozen=True)
class Use:
    """An instruction that reads a variable: ``kind`` is "run" (a RUN), "runtime" (CMD,
    ENTRYPOINT, HEALTHCHECK, ONBUILD) or "build" (any other instruction, expanded at build time);
    ``implicit`` when a tool reads it from the environment without the text naming it."""

    ins: Instruction
    kind: str
    implicit: bool = False


_RUNTIME = {"CMD", "ENTRYPOINT", "HEALTHCHECK", "ONBUILD"}


def uses(doc: DockerfileDocument, ins: Instruction, name: str, tools: re.Pattern[str] | None = None) -> list[Use]:
    """Where the variable ``name`` that ``ins`` sets is read: later in its stage and in the stages
    built on it, until an ENV sets it anew. ``tools`` matches commands that read it implicitly."""
    stage = doc.stages[ins.stage]
    scopes = [[i for i in stage.instructions if i.start > ins.start]] + [s.instructions[1:] for s in descendants(doc, stage)]
    found: list[Use] = []
    for scope in scopes:
        for other in scope:
            body = command_text(other)
            named = name in references(body)
            implicit = not named and tools is not None and other.keyword in (_RUNTIME | {"RUN"}) and bool(tools.search(body))
            if named or implicit:
                kind = "run" if other.keyword == "RUN" else "runtime" if other.keyword in _RUNTIME else "build"
                found.append(Use(other, kind, implicit))
            if other.keyword == "ENV" and any(p.name == name for p in pairs(doc, other) or ()):
                break  # set anew: later reads see the new value
    return found


# --- values at a point of the file -----------------------------------------------------------

def expand(text: str, env: dict[str, str]) -> str | None:
    """``text`` with variables replaced from ``env`` (``${X:-d}`` defaults and ``${X:+w}``
    alternatives used); None when a variable has no known value."""
    missing = False

    def sub(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1) or match.group(4)
        op, word = match.group(2), match.group(3)
        value = env.get(name)
        if op in (":-", "-", ":=", "=") and (value is None or (op.startswith(":") and value == "")):
            return word or ""
        if op in (":+", "+"):
            return (word or "") if value is not None and (op == "+" or value != "") else ""
        if value is None:
            missing = True
            return ""
        return value

    result = _REF.sub(sub, text)
    return None if missing else result


def global_args(doc: DockerfileDocument) -> dict[str, str]:
    """Defaults of the ARGs declared before the first FROM."""
    env: dict[str, str] = {}
    for ins in doc.instructions:
        if ins.keyword == "FROM":
            break
        if ins.keyword == "ARG":
            for pair in pairs(doc, ins) or ():
                if pair.eq is not None:
                    value = expand(pair.value, env)
                    if value is not None:
                        env[pair.name] = value
    return env


def variables_at(doc: DockerfileDocument, ins: Instruction) -> dict[str, str]:
    """Known values of ENV/ARG variables where ``ins`` stands (stages it builds on included)."""
    stage = doc.stages[ins.stage]
    meta = global_args(doc)
    env: dict[str, str] = {}
    for st in reversed(doc.ancestry(stage)):
        for other in st.instructions[1:]:
            if other.start >= ins.start:
                break
            if other.keyword not in ("ENV", "ARG"):
                continue
            for pair in pairs(doc, other) or ():
                if other.keyword == "ARG" and pair.eq is None:
                    if pair.name in meta and pair.name not in env:
                        env[pair.name] = meta[pair.name]
                    continue
                value = expand(pair.value, env)
                if value is None:
                    env.pop(pair.name, None)
                elif other.keyword == "ENV" or pair.name not in env:
                    env[pair.name] = value
    return env


def resolved_image(doc: DockerfileDocument, stage: Stage) -> str | None:
    """The external image a stage finally builds on, with global ARG defaults filled in; None
    when a variable in it has no default."""
    image = doc.ancestry(stage)[-1].image
    if "$" not in image:
        return image
    return expand(image, global_args(doc)) or None


def expanded_references(command: str) -> set[str]:
    """Names of the variables a shell command expands: ``$X`` outside single quotes (inside
    single quotes the text is written as is, e.g. an ``.npmrc`` line that names ``${NPM_TOKEN}``)."""
    out, i, double = [], 0, False
    while i < len(command):
        c = command[i]
        if c == "\\" and not double:
            out.append("  ")
            i += 2
            continue
        if c == '"':
            double = not double
        elif c == "'" and not double:
            end = command.find("'", i + 1)
            end = len(command) if end < 0 else end
            out.append(" " * (end + 1 - i))
            i = end + 1
            continue
        out.append(c)
        i += 1
    return references("".join(out))


def copies(doc: DockerfileDocument, pair: Pair) -> tuple[list[Edit], Instruction | None]:
    """Other copies of a value being removed: edits that redact those on comment lines (as
    ``<NAME>``), and the first instruction besides the pair's own that still holds it.

    Values of 6 characters or more are matched as whole words anywhere; shorter ones (``root``,
    ``admin``) only right after ``NAME=``/``NAME:``/``NAME `` on comment lines, so unrelated words
    stay."""
    value = pair.value.strip()
    if not value:
        return [], None
    long = len(value) >= 6
    pattern = (rf"(?<![\w]){re.escape(value)}(?![\w])" if long
               else rf"(?<=\b{re.escape(pair.name)}[=: ]){re.escape(value)}(?![\w])")
    edits: list[Edit] = []
    holder: Instruction | None = None
    for match in re.finditer(pattern, doc.text):
        if pair.start <= match.start() < pair.end:
            continue
        start = doc.text.rfind("\n", 0, match.start()) + 1
        if doc.text[start:match.start()].lstrip().startswith("#"):
            edits.append(Edit(match.start(), match.end(), f"<{pair.name}>"))
        elif long and holder is None:
            holder = next((i for i in doc.instructions if i.start <= match.start() < i.end), None)
    return edits, holder


def without_overlaps(edits: list[Edit], extra: list[Edit]) -> list[Edit]:
    """``edits`` plus those of ``extra`` that touch none of them (a redaction inside text that
    ``edits`` already delete is not needed)."""
    return edits + [e for e in extra if not any(e.start < o.end and o.start < e.end for o in edits)]
