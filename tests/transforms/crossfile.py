"""Helpers for cross-file Dockerfile transforms (io-002, io-003, cm-005): project trees in a
temporary folder, corpus Dockerfiles copied into them, and a check that only the moved/edited
lines change. The corpus check itself is :func:`tests.transforms.dockerfile_corpus.check_corpus`."""
from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

from orchfix.workspace import Workspace
from tests.helpers import fix, run
from tests.transforms.dockerfile_corpus import corpus_docs


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


def same_lines_kept(before: str, after: str, added: set[str]) -> bool:
    """Whether ``after`` holds every line of ``before`` (moved lines may change place) and only
    the ``added`` lines besides."""
    old, new = Counter(before.splitlines()), Counter(after.splitlines())
    extra = new - old
    return not (old - new) and all(line in added or not line.strip() for line in extra)


def corpus_copies(tmp_path: Path, wanted) -> list[tuple[Path, str]]:
    """Corpus Dockerfiles for which ``wanted(text)`` holds, each copied alone into its own folder
    under ``tmp_path``; returns (folder, text)."""
    out = []
    for n, (path, text, _) in enumerate(corpus_docs()):
        if wanted(text):
            folder = tmp_path / f"{n:04d}"
            folder.mkdir()
            shutil.copyfile(path, folder / "Dockerfile")
            out.append((folder, text))
    return out
