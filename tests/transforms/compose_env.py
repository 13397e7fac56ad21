"""Helpers for the Compose env-file transforms (ec-001, ec-004) and swarm ones (sw-*): a project in a
temporary folder, a run that writes its results and checks a second run changes nothing, and the
environment a service ends up with (env files, then inline entries)."""
from __future__ import annotations

from pathlib import Path

from orchfix import documents
from orchfix.fixer import FileOutcome
from orchfix.transforms._knowledge import compose, envfile
from orchfix.transforms.ec import _compose_env as ce
from orchfix.workspace import Workspace
from tests.helpers import compose_errors, run
from tests.transforms.crossfile import tree


def apply(transform_id: str, tmp_path: Path, monkeypatch, layout: dict[str, str], path: str = "compose.yaml",
          **kw) -> FileOutcome:
    """Run ``transform_id`` on ``layout[path]`` in a project made of ``layout``; write what it
    changed; assert no errors, a schema-valid output (when the input was), and that a second run
    over the written tree changes nothing."""
    tree(tmp_path, layout)
    monkeypatch.chdir(tmp_path)
    out = run(transform_id, layout[path], kind="compose", path=path, workspace=Workspace.scan(["."]), **kw)
    assert not out.errors, out.errors
    if not compose_errors(layout[path]):
        assert not compose_errors(out.text), compose_errors(out.text)
    written = {path: out.text, **out.side}
    tree(tmp_path, written)
    again = run(transform_id, out.text, kind="compose", path=path, workspace=Workspace.scan(["."]), **kw)
    assert again.text == out.text and not again.side, "a second run changes something"
    assert not [f for f in again.remaining if f.fix], "still fires after its own fix"
    return out


def environment(text: str, files: dict[str, str], service: str, path: str = "compose.yaml") -> dict[str, str | None]:
    """The environment ``service`` gets: its env files in order (``files``: path → text; a missing
    one counts as empty), then its inline entries (literal values as the container sees them,
    others as written)."""
    model = compose.load(documents.load(path, "compose", text))
    svc = model.services[service]
    env: dict[str, str | None] = {}
    for name in ce.env_files(svc):
        for entry in envfile.parse(files.get(name, "")):
            env[entry.name] = entry.value
    for var in svc.environment():
        value, _ = envfile.container_value(var)
        env[var.name] = value if value is not None else var.value
    return env


def same_environment(before: str, out: FileOutcome, service: str, existing: dict[str, str] | None = None) -> None:
    """Nothing lost, nothing added: the service's environment after the fix equals the one before."""
    files = {**(existing or {}), **out.side}
    old = environment(before, existing or {}, service, out.path)
    new = environment(out.text, files, service, out.path)
    assert new == old, (old, new)
