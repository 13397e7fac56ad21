"""Inline suppression: ``# orchfix: ignore`` or ``# orchfix: ignore[df-001,df-004]``.

The comment silences a finding when it stands on the finding's line (a trailing YAML comment)
or in the block of comment lines directly above it.
"""
from __future__ import annotations

import re

_MARK = re.compile(r"#\s*orchfix:\s*ignore(?:\[([^\]]*)\])?")


def _silences(line: str, transform_id: str) -> bool:
    for match in _MARK.finditer(line):
        ids = match.group(1)
        if ids is None or transform_id in {i.strip() for i in ids.split(",")}:
            return True
    return False


def suppressed(text: str, line: int, transform_id: str) -> bool:
    """Whether a finding of ``transform_id`` at 1-based ``line`` is silenced in ``text``."""
    if "orchfix:" not in text:
        return False
    lines = text.split("\n")
    if 0 < line <= len(lines) and _silences(lines[line - 1], transform_id):
        return True
    i = line - 2
    while 0 <= i < len(lines) and lines[i].lstrip().startswith("#"):
        if _silences(lines[i], transform_id):
            return True
        i -= 1
    return False
