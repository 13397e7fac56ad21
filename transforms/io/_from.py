"""FROM lines: where the image reference sits in the text, and what it is once the global build
arguments' defaults are filled in. Shared by io-001, io-005, cm-002 and the users knowledge."""
from __future__ import annotations

import re

from orchfix.documents.dockerfile import DockerfileDocument, Instruction, Stage

_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def image_span(doc: DockerfileDocument, ins: Instruction) -> tuple[int, int] | None:
    """Offsets of the image reference of a FROM (after its flags); None when it is not found as written."""
    stage = doc.stage_of(ins)
    if stage is None or not stage.image:
        return None
    for match in re.finditer(r"\S+", doc.text[ins.keyword_end:ins.end]):
        word = match.group()
        if word == doc.escape or word.startswith("--"):
            continue  # a line continuation or a flag (--platform=…)
        if word != stage.image:
            return None
        return ins.keyword_end + match.start(), ins.keyword_end + match.end()
    return None


def global_args(doc: DockerfileDocument) -> dict[str, str | None]:
    """The ARGs declared before the first FROM with their defaults (None: no default)."""
    values: dict[str, str | None] = {}
    for ins in doc.instructions:
        if ins.keyword == "FROM":
            break
        if ins.keyword != "ARG":
            continue
        for word in ins.args.split():
            name, eq, value = word.partition("=")
            values[name] = value.strip("\"'") if eq else None
    return values


def expand(text: str, values: dict[str, str | None]) -> str | None:
    """``text`` with ``$VAR``, ``${VAR}``, ``${VAR:-default}`` filled from ``values``; None when a
    variable has no value."""
    missing = False

    def fill(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1) or match.group(4)
        value, op, word = values.get(name), match.group(2), match.group(3)
        if op in (":-", "-"):
            return value if value else word
        if op in (":+", "+"):
            return word if value else ""
        if value is None:
            missing = True
            return ""
        return value

    out = _VAR.sub(fill, text)
    return None if missing else out


def resolved_image(doc: DockerfileDocument, stage: Stage) -> str | None:
    """The stage's image with the global ARG defaults filled in; None when one has no default."""
    if "$" not in stage.image:
        return stage.image
    return expand(stage.image, global_args(doc))
