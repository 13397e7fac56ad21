"""Shared by the df transforms that write CMD/ENTRYPOINT/COPY: exec-form arrays, keyword case,
argument spans, and what a stage's base image offers (a shell, an OS)."""
from __future__ import annotations

import json
import re

from orchfix.documents.dockerfile import DockerfileDocument, Instruction, Stage
from orchfix.transforms._knowledge import images

#: why an instruction with comment lines inside its continuation is reported rather than rewritten
COMMENTS_INSIDE = "comment lines inside the continued instruction would be lost; edit it by hand"
_WINDOWS = re.compile(r"windows|nanoserver|servercore", re.I)
_JSON_STRING = re.compile(r'"(?:[^"\\\r\n]|\\.)*"')


def render(words: list[str]) -> str:
    """An exec-form JSON array, as Docker's docs write it: ``["a", "b"]``."""
    return json.dumps(words, ensure_ascii=False)


def arg_span(doc: DockerfileDocument, ins: Instruction) -> tuple[int, int]:
    """Offsets of an instruction's argument text: after the keyword's blanks, before the final newline."""
    start, end = ins.keyword_end, ins.end
    while start < end and doc.text[start] in " \t":
        start += 1
    end -= doc.text.endswith("\n", 0, end)
    end -= doc.text.endswith("\r", 0, end)
    return start, max(start, end)


def newline_after(doc: DockerfileDocument, ins: Instruction) -> str:
    """The line ending of the instruction's last line ('' at an unterminated end of file)."""
    return doc.text[arg_span(doc, ins)[1]:ins.end]


def array_items(doc: DockerfileDocument, ins: Instruction) -> list[tuple[int, int]] | None:
    """Source offsets of each string of an exec-form array, or None when they cannot be told apart
    (e.g. a comment line with quotes inside a continued array)."""
    words = ins.exec_form
    start, end = arg_span(doc, ins)
    spans = [m.span() for m in _JSON_STRING.finditer(doc.text, start, end)]
    if words is None or len(spans) != len(words):
        return None
    if any(json.loads(doc.text[a:b]) != w for (a, b), w in zip(spans, words)):
        return None
    return spans


def stage_has(doc: DockerfileDocument, ins: Instruction, keyword: str) -> bool:
    """Whether the stage of ``ins`` has an instruction ``keyword`` of its own."""
    stage = doc.stage_of(ins)
    return stage is not None and any(i.keyword == keyword for i in stage.instructions)


def root_image(doc: DockerfileDocument, stage: Stage | None) -> str:
    """The external image a stage finally builds on ('' when there is no FROM)."""
    return doc.ancestry(stage)[-1].image if stage else ""


def has_no_shell(doc: DockerfileDocument, stage: Stage | None) -> bool:
    """Whether the stage's base image is known to lack /bin/sh (scratch, distroless)."""
    image = root_image(doc, stage)
    if not image:
        return False  # no FROM: nothing is known
    return images.has_shell(images.parse_ref(image)) is False


def is_windows(doc: DockerfileDocument, stage: Stage | None) -> bool:
    """Whether the stage builds a Windows image (its shell form runs through cmd, not sh)."""
    if stage is None:
        return False
    root = doc.ancestry(stage)[-1]
    return bool(_WINDOWS.search(root.image) or (root.platform or "").lower().startswith("windows"))


def sets_shell(doc: DockerfileDocument, stage: Stage | None) -> bool:
    """Whether a SHELL instruction in the stage or a stage it builds on changes the shell form's shell."""
    return stage is not None and any(i.keyword == "SHELL" for s in doc.ancestry(stage) for i in s.instructions)
