"""The shared corpus of real files (../shared/corpus beside the checkout); tests skip without it."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"

needs_corpus = pytest.mark.skipif(not (CORPUS / "MANIFEST.tsv").is_file(), reason="../shared/corpus is absent")


def manifest() -> list[dict[str, str]]:
    """MANIFEST.tsv rows, each with ``file``: the path under the corpus folder."""
    with open(CORPUS / "MANIFEST.tsv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    for row in rows:
        row["file"] = row["repo"].replace("/", "__", 1) + "/" + row["path"]
    return rows


def files(kind: str) -> list[Path]:
    return [CORPUS / row["file"] for row in manifest() if row["kind"] == kind]
