"""Dockerfile documents: instructions with exact positions over the untouched source.

Follows BuildKit's reading of a Dockerfile: parser directives (``# escape=`` …) at the top,
line continuations with the escape character, comment and blank lines inside continued
instructions, heredocs (``RUN <<EOF`` … ``EOF``, several per instruction, ``<<-`` tab
stripping), JSON (exec) and shell forms, lowercase keywords, CRLF endings.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from orchfix.documents.base import Document, ParseError

_DIRECTIVE = re.compile(r"#\s*([a-zA-Z][a-zA-Z0-9_-]*)\s*=\s*(\S*)\s*$")
_KEYWORD = re.compile(r"[ \t]*([A-Za-z]+)(?=\s|$)")
_HEREDOC = re.compile(r"<<(-?)(['\"]?)([A-Za-z_][A-Za-z0-9_.-]*)\2")
_FLAG = re.compile(r"--([a-zA-Z][a-zA-Z0-9-]*)(?:=((?:\"[^\"]*\"|'[^']*'|\S)*))?")
HEREDOC_INSTRUCTIONS = {"RUN", "COPY", "ADD"}
KNOWN = {
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
    "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
}


@dataclass
class Heredoc:
    """One heredoc body: ``body`` is the text between its opening line and the delimiter."""

    name: str
    strip_tabs: bool
    quoted: bool
    body: str
    start: int
    end: int


@dataclass
class Instruction:
    """One logical instruction.

    ``start``/``end`` cover every physical line it spans (heredoc bodies included, the final
    newline included); ``keyword_start``/``keyword_end`` the keyword as written; ``value`` is
    the argument text as BuildKit sees it (continuations joined, inner comments dropped,
    heredoc bodies not included); ``flags`` are the leading ``--name=value`` options.
    """

    keyword: str
    raw_keyword: str
    start: int
    end: int
    keyword_start: int
    keyword_end: int
    line: int
    end_line: int
    value: str
    flags: dict[str, str | None] = field(default_factory=dict)
    args: str = ""
    heredocs: list[Heredoc] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    stage: int = 0

    @property
    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form instruction, or None for shell form."""
        text = self.args.strip()
        if not text.startswith("["):
            return None
        try:
            parsed = json.loads(text)
        except ValueError:
            return None
        if isinstance(parsed, list) and all(isinstance(x, str) for x in parsed):
            return parsed
        return None

    @property
    def is_multiline(self) -> bool:
        return self.end_line > self.line


@dataclass
class Stage:
    """A build stage: its FROM and the instructions after it."""

    index: int
    image: str
    name: str | None
    platform: str | None
    instructions: list[Instruction]

    @property
    def from_(self) -> Instruction:
        return self.instructions[0]


class DockerfileDocument(Document):
    """A parsed Dockerfile over its exact text."""


    def parse(self) -> None:
        self.directives: dict[str, str] = {}
        self.escape = "\\"
        self.instructions: list[Instruction] = []
        self.preamble_comments: dict[int, list[str]] = {}
        _Parser(self).run()
        self.stages = _stages(self.instructions)

    def comments_before(self, instruction: Instruction) -> list[str]:
        """The comment lines directly above an instruction (no blank line between)."""
        return self.preamble_comments.get(instruction.line, [])

    def stage_of(self, instruction: Instruction) -> Stage | None:
        for stage in self.stages:
            if instruction in stage.instructions:
                return stage
        return None

    def stage_names(self) -> set[str]:
        return {s.name.lower() for s in self.stages if s.name}

    def ancestry(self, stage: Stage) -> list[Stage]:
        """``stage`` and the stages of this file it builds on (``FROM <stage name>``), nearest first."""
        chain = [stage]
        while True:
            image = chain[-1].image.lower()
            parent = next((s for s in self.stages[:chain[-1].index] if s.name and s.name.lower() == image), None)
            if parent is None:
                return chain
            chain.append(parent)

    def onbuild_trigger(self, ins: Instruction) -> Instruction | None:
        """The instruction an ``ONBUILD`` wraps, with its keyword offsets in this text.

        None for other instructions, or when the wrapped keyword is not on the ONBUILD line.
        """
        if ins.keyword != "ONBUILD":
            return None
        match = _KEYWORD.match(self.text, ins.keyword_end)
        inner = ins.value.split(None, 1)
        if not match or not inner or match.group(1) != inner[0] or inner[0].upper() not in KNOWN:
            return None
        value = inner[1] if len(inner) > 1 else ""
        flags, args = _split_flags(value)
        return Instruction(
            keyword=inner[0].upper(), raw_keyword=inner[0], start=ins.start, end=ins.end,
            keyword_start=match.start(1), keyword_end=match.end(1), line=ins.line, end_line=ins.end_line,
            value=value, flags=flags, args=args, heredocs=ins.heredocs, comments=ins.comments, stage=ins.stage,
        )


class _Parser:
    def __init__(self, doc: DockerfileDocument):
        self.doc = doc
        self.lines = doc.index.lines()

    def run(self) -> None:
        i = self._directives()
        pending: list[str] = []
        while i < len(self.lines):
            offset, line = self.lines[i]
            stripped = line.strip()
            if not stripped:
                pending = []
                i += 1
                continue
            if stripped.startswith("#"):
                pending.append(stripped)
                i += 1
                continue
            if pending:
                self.doc.preamble_comments[i + 1] = pending
                pending = []
            i = self._instruction(i)

    def _directives(self) -> int:
        """Read parser directives; they must come first, before any comment or blank line."""
        for i, (_, line) in enumerate(self.lines):
            match = _DIRECTIVE.match(line.strip())
            if not match or match.group(1).lower() in self.doc.directives:
                return i
            key, value = match.group(1).lower(), match.group(2)
            self.doc.directives[key] = value
            if key == "escape":
                if value not in ("\\", "`"):
                    raise ParseError(f"invalid escape directive {value!r}", i + 1)
                self.doc.escape = value
        return len(self.lines)

    def _continues(self, line: str) -> bool:
        return line.rstrip(" \t\r\n").endswith(self.doc.escape)

    def _instruction(self, first: int) -> int:
        escape = self.doc.escape
        offset, line = self.lines[first]
        keyword = _KEYWORD.match(line)
        if not keyword:
            raise ParseError(f"unknown instruction: {line.strip()[:40]}", first + 1)
        parts: list[str] = []
        comments: list[str] = []
        i = first
        text = line[keyword.end():]
        while True:
            body = text.rstrip("\r\n")
            if self._continues(body) and i + 1 < len(self.lines):
                parts.append(body.rstrip(" \t")[:-1])
                i += 1
                # comment and blank lines inside a continued instruction are dropped
                while i < len(self.lines) and (
                    not self.lines[i][1].strip() or self.lines[i][1].lstrip().startswith("#")
                ):
                    if self.lines[i][1].strip():
                        comments.append(self.lines[i][1].strip())
                    i += 1
                if i >= len(self.lines):
                    break
                text = self.lines[i][1]
                continue
            parts.append(body.rstrip(escape) if self._continues(body) else body)
            break
        value = "".join(parts).strip()
        raw = keyword.group(1)
        name = raw.upper()
        if name not in KNOWN:
            raise ParseError(f"unknown instruction {raw}", first + 1)
        last = i
        heredocs: list[Heredoc] = []
        if name in HEREDOC_INSTRUCTIONS or (name == "ONBUILD" and "<<" in value):
            last = self._heredocs(value, last, heredocs)
        end = self.lines[last][0] + len(self.lines[last][1]) if last < len(self.lines) else len(self.doc.text)
        flags, args = _split_flags(value) if name not in ("ONBUILD",) else ({}, value)
        self.doc.instructions.append(
            Instruction(
                keyword=name, raw_keyword=raw, start=offset, end=end,
                keyword_start=offset + keyword.start(1), keyword_end=offset + keyword.end(1),
                line=first + 1, end_line=min(last, len(self.lines) - 1) + 1, value=value,
                flags=flags, args=args, heredocs=heredocs, comments=comments,
            )
        )
        return last + 1

    def _heredocs(self, value: str, last: int, out: list[Heredoc]) -> int:
        for match in _HEREDOC.finditer(value):
            strip, quote, name = match.groups()
            start_line = last + 1
            j = start_line
            while j < len(self.lines):
                candidate = self.lines[j][1].rstrip("\r\n")
                if (candidate.lstrip("\t") if strip else candidate) == name:
                    break
                j += 1
            if j >= len(self.lines):
                raise ParseError(f"heredoc <<{name} is not terminated", start_line)
            start = self.lines[start_line][0] if start_line < len(self.lines) else len(self.doc.text)
            body = self.doc.text[start:self.lines[j][0]]
            out.append(Heredoc(name, bool(strip), bool(quote), body, start, self.lines[j][0]))
            last = j
        return last


def _split_flags(value: str) -> tuple[dict[str, str | None], str]:
    flags: dict[str, str | None] = {}
    rest = value
    while rest.startswith("--"):
        match = _FLAG.match(rest)
        if not match:
            break
        flags[match.group(1).lower()] = match.group(2)
        rest = rest[match.end():].lstrip()
    return flags, rest


def _stages(instructions: list[Instruction]) -> list[Stage]:
    stages: list[Stage] = []
    for ins in instructions:
        if ins.keyword == "FROM":
            words = ins.args.split()
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            stages.append(Stage(len(stages), words[0] if words else "", name, ins.flags.get("platform"), []))
        if stages:
            ins.stage = stages[-1].index
            stages[-1].instructions.append(ins)
    return stages
