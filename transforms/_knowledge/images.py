"""Image references and what orchfix knows of the official images (``images.toml``).

Every transform that reasons about an image (pinning, slim variants, distroless, health
commands, non-root users, data directories) asks here, so the knowledge lives once.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_DOCKER_HUB = {None, "docker.io", "index.docker.io", "registry-1.docker.io"}
_DEBIAN = ("bookworm", "bullseye", "buster", "stretch", "trixie")
_UBUNTU = ("noble", "jammy", "focal", "bionic")
PACKAGE_MANAGERS = {"debian": "apt", "ubuntu": "apt", "alpine": "apk", "oracle": "microdnf", "amazonlinux": "dnf"}


@dataclass(frozen=True)
class ImageRef:
    """``[registry/]path[:tag][@digest]`` as written; ``name`` is the path's last part."""

    raw: str
    registry: str | None
    path: str
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def variable(self) -> bool:
        """Built from ARG/ENV values: nothing can be known about it."""
        return "$" in self.raw or "{{" in self.raw

    @property
    def official(self) -> bool:
        return self.registry in _DOCKER_HUB and (self.path.startswith("library/") or "/" not in self.path)

    @property
    def repository(self) -> str:
        """The reference without tag and digest, as written."""
        return f"{self.registry}/{self.path}" if self.registry else self.path

    @property
    def floating(self) -> bool:
        """No tag (or ``latest``) and no digest: the image changes under you."""
        return self.digest is None and self.tag in (None, "latest")

    def with_tag(self, tag: str) -> str:
        return f"{self.repository}:{tag}" + (f"@{self.digest}" if self.digest else "")


def parse_ref(text: str) -> ImageRef:
    raw = text.strip()
    rest, _, digest = raw.partition("@")
    registry = None
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, rest = first, remainder
    path, colon, tag = rest.rpartition(":") if ":" in rest.rsplit("/", 1)[-1] else (rest, "", "")
    return ImageRef(raw, registry, path, tag or None, digest or None)


@dataclass(frozen=True)
class ImageInfo:
    """One entry of ``images.toml`` (see its header for the fields)."""

    name: str
    family: str = "debian"
    runtime: str | None = None
    user: str | None = None
    pin: str | None = None
    slim: str | None = None
    data_dir: str | None = None
    port: int | None = None
    health: str | None = None
    tools: tuple[str, ...] = ()
    deprecated: str | None = None


@lru_cache(maxsize=1)
def table() -> tuple[str, dict[str, ImageInfo]]:
    """(date of the table, entries by repository name)."""
    data = tomllib.loads((Path(__file__).with_name("images.toml")).read_text(encoding="utf-8"))
    entries = {
        name: ImageInfo(name=name, **{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
        for name, fields in data["images"].items()
    }
    return data["date"], entries


def lookup(ref: ImageRef) -> ImageInfo | None:
    """What the table knows of ``ref``: official images by name, distroless by its registry path."""
    entries = table()[1]
    if ref.registry == "gcr.io" and ref.path.startswith("distroless/"):
        return entries["distroless"]
    if ref.official:
        return entries.get(ref.name)
    return None


def family(ref: ImageRef) -> str | None:
    """The distro under ``ref``: from its tag's variant when it names one, else the table's."""
    if ref.path == "scratch":
        return "scratch"
    tag = (ref.tag or "").lower()
    if "alpine" in tag:
        return "alpine"
    if any(code in tag for code in _UBUNTU):
        return "ubuntu"
    if any(code in tag for code in _DEBIAN):
        return "debian"
    info = lookup(ref)
    return info.family if info else None


def has_shell(ref: ImageRef) -> bool | None:
    """Whether ``/bin/sh`` exists in the image; None when unknown."""
    kind = family(ref)
    if kind == "distroless" and "debug" in (ref.tag or ""):
        return True  # the :debug tags ship a busybox shell
    if kind in ("scratch", "distroless"):
        return False
    return True if kind else None


def pin_for(ref: ImageRef, pins: dict[str, str]) -> str | None:
    """The tag to pin ``ref`` to: the user's ``[pins]`` (full repository or name), then the table."""
    for key in (ref.repository, ref.path, ref.name):
        if key in pins:
            return pins[key]
    info = lookup(ref)
    return info.pin if info else None
