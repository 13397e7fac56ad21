"""Every transform in the catalog: documented, runnable from its own example, listed in the README."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from orchfix.registry import all_transforms
from click.testing import CliRunner

from orchfix.cli import cli
from orchfix.transform import SECTIONS, Safety
from orchfix.workspace import Workspace
from tests.helpers import KIND_FILE, run

ROOT = Path(__file__).resolve().parents[1]
TRANSFORMS = sorted(all_transforms())


def test_catalog_is_not_empty():
    assert TRANSFORMS


@pytest.mark.parametrize("tid", TRANSFORMS)
def test_declares_what_the_protocol_needs(tid):
    cls = all_transforms()[tid]
    assert cls.id.startswith(cls.category + "-") and cls.title and isinstance(cls.safety, Safety) and cls.kinds
    assert list(cls.doc_sections())[1:] == list(SECTIONS), "docstring sections in the documented order"
    assert Path(cls.__module__.replace(".", "/")).name.startswith(tid.replace("-", "_"))


@pytest.mark.parametrize("tid", TRANSFORMS)
def test_own_example_before_becomes_after(tid, tmp_path, monkeypatch):
    cls = all_transforms()[tid]
    sections = cls.doc_sections()
    kind = sorted(cls.kinds)[0]
    path = KIND_FILE.get(kind)
    # the example alone in a folder (with the files declared beside it) as the current directory
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, {**cls.example_files, path: sections["Before"]})
    outcome = run(tid, sections["Before"], kind=kind, path=path, unsafe=True, workspace=Workspace.scan(["."]))
    assert not outcome.errors
    assert outcome.text == sections["After"]
    assert outcome.side == cls.example_side
    # a second run, over the files as the first one wrote them, changes nothing
    _write(tmp_path, {**cls.example_side, path: sections["After"]})
    again = run(tid, sections["After"], kind=kind, path=path, workspace=Workspace.scan(["."]))
    assert again.text == sections["After"] and not again.side


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(content, encoding="utf-8")


@pytest.mark.parametrize("tid", [t for t in TRANSFORMS if all_transforms()[t].example_files or all_transforms()[t].example_side])
def test_example_files_are_shown_by_explain(tid):
    cls = all_transforms()[tid]
    shown = CliRunner().invoke(cli, ["--explain", tid]).output
    for rel in {**cls.example_files, **cls.example_side}:
        assert f"\n    {rel}:\n" in shown
    if cls.example_files:
        assert shown.index("Files beside it:") < shown.index("Before:")


def test_readme_lists_every_transform():
    spec = importlib.util.spec_from_file_location("update_readme", ROOT / "scripts" / "update_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert module.render(text) == text, "run: python scripts/update_readme.py"
