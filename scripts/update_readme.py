"""Regenerate the README's transforms table from the registry: python scripts/update_readme.py"""
from __future__ import annotations

import re
from pathlib import Path

from orchfix.report import transforms_table

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = re.compile(r"(<!-- transforms:start -->\n).*?(<!-- transforms:end -->)", re.S)


def render(text: str) -> str:
    return SECTION.sub(lambda m: m.group(1) + transforms_table() + m.group(2), text)


if __name__ == "__main__":
    README.write_text(render(README.read_text(encoding="utf-8")), encoding="utf-8")
