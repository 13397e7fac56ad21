"""Settings from ``.orchfix.toml`` or ``[tool.orchfix]`` in ``pyproject.toml``.

Keys: ``select``, ``ignore`` (ids or prefixes), ``unsafe`` (bool), ``exclude`` (gitignore-style
patterns relative to the config file), ``[pins]`` (image → tag) and ``[transforms.<id>]``
option tables. Unknown keys, ids, options and mistyped values are errors that name the file.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from orchfix.registry import all_transforms

CONFIG_NAME = ".orchfix.toml"
_KEYS = {"select", "ignore", "unsafe", "exclude", "pins", "transforms"}


class ConfigError(Exception):
    """A configuration file that cannot be used, with the reason."""


@dataclass
class Settings:
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    unsafe: bool = False
    exclude: list[str] = field(default_factory=list)
    pins: dict[str, str] = field(default_factory=dict)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: Path | None = None
    #: transform ids the config selects by their full id: their unsafe fixes apply without --unsafe
    chosen: set[str] = field(default_factory=set)

    @property
    def base(self) -> Path:
        return self.source.parent if self.source else Path.cwd()

    def options_for(self, cls: type) -> dict[str, Any]:
        """A transform's option defaults overlaid with the configured values."""
        return {**cls.options, **self.options.get(cls.id, {})}


def find(start: Path) -> Path | None:
    """The nearest ``.orchfix.toml``, or ``pyproject.toml`` with ``[tool.orchfix]``, at or above ``start``."""
    start = start.absolute()
    for folder in (start if start.is_dir() else start.parent, *start.parents):
        own = folder / CONFIG_NAME
        if own.is_file():
            return own
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "[tool.orchfix" in pyproject.read_text(encoding="utf-8", errors="replace"):
            return pyproject
    return None


def load(path: Path) -> Settings:
    """Read and validate a configuration file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("orchfix", {})
    return _validate(data, path)


def _expect(value: Any, kind: type | tuple[type, ...], where: str, path: Path) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise ConfigError(f"{path}: {where} must be {names}, not {type(value).__name__}")
    return value


def _string_list(data: dict, key: str, path: Path) -> list[str]:
    value = _expect(data.get(key, []), list, f"'{key}'", path)
    for item in value:
        _expect(item, str, f"every entry of '{key}'", path)
    return value


def _validate(data: dict[str, Any], path: Path) -> Settings:
    unknown = set(data) - _KEYS
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(_KEYS))})")
    known = all_transforms()
    settings = Settings(source=path)
    settings.select = _string_list(data, "select", path)
    settings.ignore = _string_list(data, "ignore", path)
    for word in settings.select + settings.ignore:
        if not any(tid.startswith(word) for tid in known):
            raise ConfigError(f"{path}: unknown transform id or prefix {word!r} (see orchfix --list)")
    settings.chosen = {word for word in settings.select if word in known}
    settings.unsafe = _expect(data.get("unsafe", False), bool, "'unsafe'", path)
    settings.exclude = _string_list(data, "exclude", path)
    pins = _expect(data.get("pins", {}), dict, "[pins]", path)
    for image, tag in pins.items():
        _expect(tag, str, f"pin for {image!r}", path)
    settings.pins = dict(pins)
    for tid, table in _expect(data.get("transforms", {}), dict, "[transforms]", path).items():
        if tid not in known:
            raise ConfigError(f"{path}: [transforms.{tid}]: unknown transform id (see orchfix --list)")
        _expect(table, dict, f"[transforms.{tid}]", path)
        defaults = known[tid].options
        for name, value in table.items():
            if name not in defaults:
                choices = ", ".join(sorted(defaults)) or "none"
                raise ConfigError(f"{path}: [transforms.{tid}]: unknown option {name!r} (options: {choices})")
            default = defaults[name]
            if default is not None:
                kind = (int, float) if isinstance(default, float) else type(default)
                _expect(value, kind, f"[transforms.{tid}] {name}", path)
        settings.options[tid] = dict(table)
    return settings
