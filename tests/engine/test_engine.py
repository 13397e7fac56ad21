"""The engine: fixpoint, write gates, side files, suppression, atomic writes."""
from __future__ import annotations

import os
import stat

import pytest

from orchfix import documents, engine
from orchfix.config import Settings
from orchfix.engine import Job
from orchfix.fixer import fix_document
from orchfix.transform import Context
from orchfix.workspace import Workspace
from tests.engine import fakes


def _fix(text, *classes, unsafe=True, path="Dockerfile"):
    ctx = Context(options={}, workspace=Workspace())
    return fix_document(documents.load(path, "dockerfile", text), [c(ctx) for c in classes], unsafe)


def test_fix_applies_and_reports_nothing_left():
    out = _fix("from alpine\nrun echo hi\n", fakes.UpperKeyword)
    assert out.text == "FROM alpine\nRUN echo hi\n"
    assert len(out.applied) == 2 and not out.remaining and not out.errors


def test_output_that_does_not_parse_is_not_written():
    out = _fix("from alpine\n", fakes.Breaker, fakes.UpperKeyword)
    assert out.text == "FROM alpine\n"
    assert any("zz-002 produced text that does not parse" in e for e in out.errors)


def test_transform_that_never_settles_is_rolled_back():
    out = _fix("FROM alpine\n", fakes.Flapper)
    assert out.text == "FROM alpine\n"
    assert any("still fires" in e for e in out.errors)


def test_crashing_transform_does_not_stop_the_others():
    out = _fix("from alpine\n", fakes.Crasher, fakes.UpperKeyword)
    assert out.text == "FROM alpine\n"
    assert any("zz-004 failed: RuntimeError: boom" in e for e in out.errors)


def test_unsafe_fixes_need_permission():
    text = "FROM alpine:latest\n"
    assert _fix(text, fakes.UnsafeTag, unsafe=False).text == text
    assert _fix(text, fakes.UnsafeTag, unsafe={"zz-006"}).text == "FROM alpine:1\n"
    left = _fix(text, fakes.UnsafeTag, unsafe=False).remaining
    assert [f.transform for f in left] == ["zz-006"] and left[0].fix is not None


@pytest.mark.parametrize("comment", ["# orchfix: ignore[zz-001]\n", "# orchfix: ignore\n", "# orchfix: ignore[df-001, zz-001]\n# why: legacy\n"])
def test_suppression_comment_above(comment):
    text = f"FROM alpine\n{comment}run echo hi\n"
    assert _fix(text, fakes.UpperKeyword).text == text


def test_suppression_names_other_transform_only():
    text = "FROM alpine\n# orchfix: ignore[df-001]\nrun echo hi\n"
    assert _fix(text, fakes.UpperKeyword).text == text.replace("run", "RUN")


def test_crlf_and_bom_survive(tmp_path):
    raw = b"\xef\xbb\xbffrom alpine\r\nrun echo hi\r\n"
    (tmp_path / "Dockerfile").write_bytes(raw)
    os.chdir(tmp_path)
    job = Job([fakes.UpperKeyword], Settings(), Workspace.scan(["."]))
    result = engine.run(job, jobs=1)
    engine.apply(result)
    assert (tmp_path / "Dockerfile").read_bytes() == b"\xef\xbb\xbfFROM alpine\r\nRUN echo hi\r\n"


def test_side_file_created_once_for_two_dockerfiles(tmp_path):
    for name in ("Dockerfile", "Dockerfile.dev"):
        (tmp_path / name).write_text("FROM alpine\n")
    os.chdir(tmp_path)
    job = Job([fakes.IgnoreFile], Settings(), Workspace.scan(["."]))
    result = engine.run(job, jobs=1)
    assert result.side == {".dockerignore": (None, ".git\n")}
    assert not result.changed


def test_side_file_conflict_between_workers_is_settled(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "PARALLEL_THRESHOLD", 1)
    for i in range(6):
        (tmp_path / f"{i}.Dockerfile").write_text("FROM alpine\n")
    os.chdir(tmp_path)
    job = Job([fakes.IgnoreFile], Settings(), Workspace.scan(["."]))
    result = engine.run(job, jobs=2)
    assert result.side == {".dockerignore": (None, ".git\n")}


def test_parallel_run_matches_serial(tmp_path, monkeypatch):
    for i in range(60):
        (tmp_path / f"{i}.Dockerfile").write_text(f"from alpine\nrun echo {i}\n")
    os.chdir(tmp_path)
    serial = engine.run(Job([fakes.UpperKeyword], Settings(), Workspace.scan(["."])), jobs=1)
    parallel = engine.run(Job([fakes.UpperKeyword], Settings(), Workspace.scan(["."])), jobs=2)
    assert sorted((o.path, o.text) for o in serial.changed) == sorted((o.path, o.text) for o in parallel.changed)
    assert len(parallel.changed) == 60


def test_parse_error_is_reported_with_line_and_others_go_on(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM alpine\nNOPE x\n")
    (tmp_path / "ok.Dockerfile").write_text("from alpine\n")
    os.chdir(tmp_path)
    result = engine.run(Job([fakes.UpperKeyword], Settings(), Workspace.scan(["."])), jobs=1)
    assert result.errors == [("Dockerfile:2", "does not parse as dockerfile: unknown instruction NOPE; skipped")]
    assert [o.path for o in result.changed] == ["ok.Dockerfile"]


def test_atomic_write_keeps_mode_and_leaves_no_temp(tmp_path):
    target = tmp_path / "run.sh"
    target.write_text("old\n")
    target.chmod(0o751)
    engine.write(str(target), "new\n", documents.Document("x", "").encoding)
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o751
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.sh"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_side_edit_to_a_file_fixed_in_its_own_right_keeps_both(tmp_path, monkeypatch, jobs):
    monkeypatch.setattr(engine, "PARALLEL_THRESHOLD", 1)
    (tmp_path / "a.Dockerfile").write_text("FROM old\n")
    (tmp_path / "b.Dockerfile").write_text("FROM alpine\nrun echo old\n")
    os.chdir(tmp_path)
    job = Job([fakes.Renamer, fakes.UpperKeyword], Settings(), Workspace.scan(["."]))
    result = engine.run(job, jobs=jobs)
    texts = {o.path: o.text for o in result.changed}
    assert texts == {"a.Dockerfile": "FROM new\n", "b.Dockerfile": "FROM alpine\nRUN echo new\n"}
    assert not result.side
    engine.apply(result)
    again = engine.run(Job([fakes.Renamer, fakes.UpperKeyword], Settings(), Workspace.scan(["."])), jobs=jobs)
    assert not again.has_changes()


def test_a_fix_that_another_file_enables_lands_in_the_same_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.Dockerfile").write_text("from alpine\n")
    (tmp_path / "b.Dockerfile").write_text("FROM alpine\n")
    job = Job([fakes.UpperKeyword, fakes.Follower], Settings(), Workspace.scan(["."]))
    result = engine.run(job, jobs=1)
    assert {o.path: o.text for o in result.changed} == {"a.Dockerfile": "FROM alpine\n", "b.Dockerfile": "FROM alpine\n# follows a\n"}
    assert {o.path: o.original for o in result.changed}["b.Dockerfile"] == "FROM alpine\n"
    engine.apply(result)
    again = engine.run(Job([fakes.UpperKeyword, fakes.Follower], Settings(), Workspace.scan(["."])), jobs=1)
    assert not again.has_changes()
