"""Before/after helpers for Compose transforms: every output must pass the compose-spec schema,
a second run must change nothing, and lines the fix is not about must stay byte for byte."""
from __future__ import annotations

from pathlib import Path

from orchfix import documents
from orchfix.fixer import fix_document
from orchfix.registry import all_transforms
from orchfix.transform import Context
from orchfix.workspace import Workspace
from tests.helpers import compose_errors, fix, run
from tests.transforms.crossfile import project
from tests.transforms.yaml_corpus import changed_lines


def fixed(tid: str, text: str, *, removed_ok=None, **kw) -> str:
    """``text`` after ``tid`` (idempotence asserted): valid Compose, nothing removed from the
    input except lines ``removed_ok(line)`` accepts (changed lines count as removed + added)."""
    kw.setdefault("kind", "compose")
    out = fix(tid, text, **kw)
    assert out != text, "expected a change"
    assert not compose_errors(out), compose_errors(out)
    for old, _ in changed_lines(text, out):
        if old is not None:
            assert removed_ok and removed_ok(old), f"line changed or removed: {old!r}"
    return out


def unchanged(tid: str, text: str, **kw) -> None:
    kw.setdefault("kind", "compose")
    outcome = run(tid, text, **kw)
    assert not outcome.errors, outcome.errors
    assert outcome.text == text, outcome.text


def reasons(tid: str, text: str, **kw) -> list[str]:
    """The reasons of the report-only findings (the text must stay unchanged)."""
    kw.setdefault("kind", "compose")
    outcome = run(tid, text, **kw)
    assert not outcome.errors, outcome.errors
    assert outcome.text == text, outcome.text
    found = [f for f in outcome.remaining if f.fix is None]
    assert all(f.reason for f in found)
    return [f.reason for f in found]


def workspace(tmp_path: Path, monkeypatch, layout: dict[str, str]) -> Workspace:
    return project(tmp_path, monkeypatch, layout)


def run_all(ids: list[str], text: str, path: str = "compose.yaml", ws: Workspace | None = None, unsafe=True) -> str:
    """``text`` after several transforms in one run, in the given order (as the engine runs them)."""
    ws = ws or Workspace()
    instances = [all_transforms()[i](Context({**all_transforms()[i].options}, ws)) for i in ids]
    outcome = fix_document(documents.load(path, "compose", text), instances, unsafe_ok=unsafe)
    assert not outcome.errors, outcome.errors
    return outcome.text
