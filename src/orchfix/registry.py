"""Finds transforms: the built-in catalog and third-party ones from entry points."""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from importlib.metadata import entry_points

from orchfix.transform import Transform, is_transform

ENTRY_POINT_GROUP = "orchfix.transforms"


class RegistryError(Exception):
    """Two transforms claim one id, or a plugin does not load."""


def _from_module(module) -> list[type[Transform]]:
    return [obj for obj in vars(module).values() if is_transform(obj) and obj.__module__ == module.__name__]


def _builtin() -> list[type[Transform]]:
    import orchfix.transforms as catalog

    found = []
    for info in pkgutil.walk_packages(catalog.__path__, catalog.__name__ + "."):
        if info.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        found.extend(_from_module(importlib.import_module(info.name)))
    return found


def _plugins() -> list[type[Transform]]:
    found = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must name itself, not crash the run
            raise RegistryError(f"transform plugin {ep.name!r} ({ep.value}) does not load: {exc}") from exc
        found.extend([obj] if is_transform(obj) else _from_module(obj))
    return found


@lru_cache(maxsize=1)
def all_transforms() -> dict[str, type[Transform]]:
    """Every known transform by id, in id order."""
    by_id: dict[str, type[Transform]] = {}
    for cls in _builtin() + _plugins():
        if cls.id in by_id and by_id[cls.id] is not cls:
            raise RegistryError(f"transform id {cls.id} is defined twice: {by_id[cls.id].__module__} and {cls.__module__}")
        by_id[cls.id] = cls
    return dict(sorted(by_id.items()))


def select(selectors: list[str], ignores: list[str]) -> list[type[Transform]]:
    """Transforms matching any selector (an id or a prefix such as ``df`` or ``io-00``) and no ignore.

    Unknown selectors raise ValueError naming them.
    """
    known = all_transforms()
    for word in selectors + ignores:
        if not any(tid.startswith(word) for tid in known):
            raise ValueError(f"unknown transform id or prefix: {word!r} (see orchfix --list)")
    chosen = [cls for tid, cls in known.items() if not selectors or any(tid.startswith(s) for s in selectors)]
    return [cls for cls in chosen if not any(cls.id.startswith(i) for i in ignores)]
