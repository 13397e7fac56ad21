"""Helpers for cross-file Dockerfile transforms (io-002, io-003, cm-005): project trees in a
temporary folder, a workspace over the corpus, and a check that only the moved/edited lines change."""
from __future__ import annotations

import json
import shutil
from collections import Counter
from functools import lru_cache
from pathlib import Path

from orchfix import documents
from orchfix.documents import ParseError
from orchfix.text import decode
from orchfix.workspace import Workspace
from tests.corpus import CORPUS, files
from tests.helpers import fix, hadolint_parses, run


def tree(root: Path, layout: dict[str, str | dict]) -> None:
    """Write ``layout`` (path → text, or a dict dumped as JSON) under ``root``."""
    for rel, content in layout.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content) if isinstance(content, dict) else content, encoding="utf-8")


def project(tmp_path: Path, monkeypatch, layout: dict[str, str | dict]) -> Workspace:
    """A project tree in ``tmp_path`` as the current directory, scanned into a workspace."""
    tree(tmp_path, layout)
    monkeypatch.chdir(tmp_path)
    return Workspace.scan(["."])


def fixed(transform_id: str, tmp_path: Path, monkeypatch, layout: dict[str, str | dict], path: str = "Dockerfile",
          **kw) -> str:
    """The Dockerfile at ``path`` of ``layout`` after ``transform_id`` (idempotence asserted)."""
    workspace = project(tmp_path, monkeypatch, layout)
    return fix(transform_id, layout[path], path=path, workspace=workspace, **kw)


def outcome(transform_id: str, tmp_path: Path, monkeypatch, layout: dict[str, str | dict], path: str = "Dockerfile", **kw):
    workspace = project(tmp_path, monkeypatch, layout)
    return run(transform_id, layout[path], path=path, workspace=workspace, **kw)


def reason_of(result) -> str:
    """The reason of the single report-only finding of an outcome (asserting there is one)."""
    [finding] = result.remaining
    assert finding.fix is None and finding.reason, finding
    return finding.reason


@lru_cache(maxsize=1)
def corpus_workspace() -> Workspace:
    return Workspace.scan([str(CORPUS)])


def same_lines_kept(before: str, after: str, added: set[str]) -> bool:
    """Whether ``after`` holds every line of ``before`` (moved lines may change place) and only
    the ``added`` lines besides."""
    old, new = Counter(before.splitlines()), Counter(after.splitlines())
    extra = new - old
    return not (old - new) and all(line in added or not line.strip() for line in extra)


def check_corpus(transform_id: str) -> Counter:
    """Run over every corpus Dockerfile with a workspace over the corpus: no errors, report-only
    findings carry a reason, changed outputs parse in hadolint and are idempotent. Returns counts
    of applied findings and of report-only ones by reason (its first words)."""
    workspace = corpus_workspace()
    counts: Counter = Counter()
    for path in files("dockerfile"):
        text, _ = decode(path.read_bytes())
        try:
            documents.load(str(path), "dockerfile", text)
        except ParseError:
            continue
        result = run(transform_id, text, path=str(path), workspace=workspace)
        assert not result.errors, (path, result.errors)
        counts["applied"] += len(result.applied)
        for finding in result.remaining:
            assert finding.fix is not None or finding.reason, path
            if finding.fix is None:
                counts["report: " + " ".join(finding.reason.split()[:6])] += 1
        if result.changed:
            assert run(transform_id, result.text, path=str(path), workspace=workspace).text == result.text, path
            assert hadolint_parses(result.text) or not hadolint_parses(text), path
    return counts


def corpus_copies(tmp_path: Path, wanted) -> list[tuple[Path, str]]:
    """Corpus Dockerfiles for which ``wanted(text)`` holds, each copied alone into its own folder
    under ``tmp_path``; returns (folder, text)."""
    out = []
    for n, path in enumerate(files("dockerfile")):
        text, _ = decode(path.read_bytes())
        try:
            documents.load(str(path), "dockerfile", text)
        except ParseError:
            continue
        if wanted(text):
            folder = tmp_path / f"{n:04d}"
            folder.mkdir()
            shutil.copyfile(path, folder / "Dockerfile")
            out.append((folder, text))
    return out
