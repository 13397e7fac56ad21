"""FROM lines: where the image reference sits in the text, and what it is once the global build
arguments' defaults are filled in. Shared by io-001, io-005, cm-002 and the users knowledge."""
from __future__ import annotations

import re

from orchfix.documents.dockerfile import DockerfileDocument, Instruction, Stage
from orchfix.transforms._knowledge import dockerenv


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


def resolved_image(doc: DockerfileDocument, stage: Stage) -> str | None:
    """The stage's image with the global ARG defaults filled in; None when one has no default."""
    if "$" not in stage.image:
        return stage.image
    return dockerenv.expand(stage.image, dockerenv.global_args(doc))
