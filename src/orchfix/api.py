"""The Python API for bulk migration scripts: the same run the CLI makes, as data.

    from orchfix import api
    result = api.run(["repos/service-a"], select=["df"], apply=True)
    for outcome in result.changed: print(outcome.path, [f.transform for f in outcome.applied])
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from orchfix import config, engine, registry
from orchfix.engine import Job, RunResult
from orchfix.workspace import Workspace


def settings_for(paths: list[str], config_file: str | Path | None = None) -> config.Settings:
    """The settings of the given config file, else of the nearest one above the first path."""
    found = Path(config_file) if config_file else config.find(Path(paths[0] if paths else "."))
    return config.load(found) if found else config.Settings()


def plan(
    paths: list[str], *, select: list[str] | None = None, ignore: list[str] | None = None,
    unsafe: bool = False, settings: config.Settings | None = None,
    options: dict[str, dict[str, Any]] | None = None, pins: dict[str, str] | None = None,
) -> Job:
    """A job: the workspace under ``paths`` and the transforms chosen by arguments over config.

    ``select`` replaces the configured selection; ``ignore``, ``options`` and ``pins`` add to it.
    Raises ValueError for unknown ids and FileNotFoundError for missing paths.
    """
    settings = settings or settings_for(paths)
    if select:
        settings.select = list(select)
    settings.ignore = settings.ignore + list(ignore or [])
    settings.unsafe = settings.unsafe or unsafe
    settings.pins.update(pins or {})
    for tid, values in (options or {}).items():
        settings.options.setdefault(tid, {}).update(values)
    transforms = registry.select(settings.select, settings.ignore)
    workspace = Workspace.scan(paths or ["."], settings.exclude, settings.base)
    return Job(transforms, settings, workspace)


def run(paths: list[str], *, apply: bool = False, jobs: int = 0,
        progress: Callable[[int, int], None] | None = None, **kwargs: Any) -> RunResult:
    """Plan and run; with ``apply`` the changes are written (failed writes land in ``errors``)."""
    result = engine.run(plan(paths, **kwargs), jobs=jobs, progress=progress)
    if apply:
        result.errors.extend(engine.apply(result))
    return result
