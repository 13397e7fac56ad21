"""Every transform in the catalog: documented, runnable from its own example, listed in the README."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from orchfix.registry import all_transforms
from orchfix.transform import SECTIONS, Safety
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
def test_own_example_before_becomes_after(tid):
    cls = all_transforms()[tid]
    sections = cls.doc_sections()
    kind = sorted(cls.kinds)[0]
    outcome = run(tid, sections["Before"], kind=kind, path=KIND_FILE.get(kind), unsafe=True)
    assert not outcome.errors
    assert outcome.text == sections["After"]
    assert run(tid, sections["After"], kind=kind, path=KIND_FILE.get(kind)).text == sections["After"]


def test_readme_lists_every_transform():
    spec = importlib.util.spec_from_file_location("update_readme", ROOT / "scripts" / "update_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert module.render(text) == text, "run: python scripts/update_readme.py"
