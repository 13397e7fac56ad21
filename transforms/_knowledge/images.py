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
    workdir: str | None = None
    #: the slim suffix goes after the distro codename (``20-bookworm-slim``), not before it
    slim_at_end: bool = False
    #: how the default command runs: "user" (the image sets USER ``user``), "entrypoint" (its
    #: entrypoint starts as root and switches to ``user`` itself), "root-master" (a root master
    #: process with unprivileged workers, e.g. nginx binding port 80)
    runs_as: str | None = None
    #: what it is to a project's other services: "database", "cache", "broker", "admin" (see :func:`role`)
    role: str | None = None
    #: variables its entrypoint also reads from a file named by ``<VAR>_FILE`` (Docker/Swarm secrets)
    file_env: tuple[str, ...] = ()
    #: the paths besides /tmp it writes outside its volumes, which a read-only root filesystem needs
    #: as tmpfs; None: unknown (only images listed run read-only)
    tmp_dirs: tuple[str, ...] | None = None


@lru_cache(maxsize=1)
def _data() -> dict:
    return tomllib.loads((Path(__file__).with_name("images.toml")).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def table() -> tuple[str, dict[str, ImageInfo]]:
    """(date of the table, entries by repository name)."""
    data = _data()
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


#: roles of internal services: reached by a project's other services (or its admins), not the public
INTERNAL_ROLES = frozenset({"database", "cache", "broker", "admin"})
#: roles of services that hold or move data (what network isolation keeps away from the front)
DATA_ROLES = frozenset({"database", "cache", "broker"})
#: images people use through their own UI (admin consoles, mail catchers, log viewers)
HUMAN_ROLES = frozenset({"admin", "devtool"})


def role(ref: ImageRef) -> str | None:
    """What the image is to a project's other services ("database", "cache", "broker", "admin"):
    the table's ``role``, then ``[roles]`` by repository path, then a table entry named like the
    reference's last path part (``bitnami/redis`` is a cache); None when unknown or variable."""
    if ref.variable:
        return None
    info = lookup(ref)
    if info and info.role:
        return info.role
    path = ref.path.lower()
    full = f"{ref.registry}/{path}" if ref.registry else path
    for name, entries in _data().get("roles", {}).items():
        if any(e == path or path.endswith("/" + e) or e == full for e in entries):
            return name
    entry = table()[1].get(ref.name.lower())
    return entry.role if entry else None


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


_VERSION = re.compile(r"(?:\d+(?:\.\d+)*|lts|current)$")
_SLIM_SPLIT = re.compile(r"(?P<version>[^-]+)(?:-(?P<codename>[a-z]+))?$")


def slim_tag(ref: ImageRef) -> str | None:
    """The slim variant of ``ref``'s tag (``20`` → ``20-slim``, python ``3.12-bookworm`` →
    ``3.12-slim-bookworm``, node ``20-bookworm`` → ``20-bookworm-slim``); None when the image has
    no slim variant or the tag is not a plain ``<version>[-<codename>]`` (already slim, alpine …)."""
    info = lookup(ref)
    if info is None or not info.slim or not ref.tag:
        return None
    match = _SLIM_SPLIT.fullmatch(ref.tag)
    if not match:
        return None
    version, codename = match.group("version"), match.group("codename")
    codenames = _DEBIAN + _UBUNTU
    if codename and codename not in codenames:
        return None
    if not (_VERSION.fullmatch(version) or (info.family in ("debian", "ubuntu") and version in codenames and not codename)):
        return None
    if codename is None or info.slim_at_end:
        return ref.tag + info.slim
    return f"{version}{info.slim}-{codename}"


def same_variant_pin(ref: ImageRef, pins: dict[str, str]) -> str | None:
    """Like :func:`pin_for`, but a table pin keeps the variant an untagged/``latest`` reference
    names: ``latest`` is the full image, so a slim table pin loses its slim suffix
    (``22-bookworm-slim`` → ``22-bookworm``). The user's own pins are taken as written."""
    for key in (ref.repository, ref.path, ref.name):
        if key in pins:
            return pins[key]
    info = lookup(ref)
    if info is None or not info.pin:
        return None
    if info.slim and ref.floating:
        return info.pin.replace(info.slim, "", 1)
    return info.pin


def major_version(tag: str | None) -> str | None:
    """The leading major version of a tag (``20-alpine`` → ``20``, ``17.0.2_8-jre`` → ``17``);
    None when the tag does not start with a version (``lts``, ``alpine``)."""
    match = re.match(r"(\d+)(?:\.(\d+))?", tag or "")
    return match.group(1) if match else None


def minor_version(tag: str | None) -> str | None:
    """``major.minor`` from the start of a tag (``3.11-slim`` → ``3.11``); None without both parts."""
    match = re.match(r"(\d+)\.(\d+)", tag or "")
    return f"{match.group(1)}.{match.group(2)}" if match else None


@dataclass(frozen=True)
class Distroless:
    """The distroless image that runs a runtime's artefacts (``images.toml`` ``[distroless.*]``)."""

    runtime: str
    image: str
    #: the versions published (major, or major.minor for python); empty: any
    versions: tuple[str, ...]
    entrypoint: tuple[str, ...]
    #: the official images whose runtime it replaces, and the names that runtime is called by
    replaces: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()

    def image_for(self, version: str | None) -> str | None:
        """The image name for a runtime version; None when that version is not published."""
        if self.versions and version not in self.versions:
            return None
        return self.image.format(major=version)


def distroless_for(runtime: str) -> Distroless | None:
    """The distroless mapping of a runtime: node, java, python, or static (Go/Rust static binaries)."""
    entry = _data().get("distroless", {}).get(runtime)
    if entry is None:
        return None
    return Distroless(runtime, entry["image"], tuple(entry.get("versions", ())), tuple(entry.get("entrypoint", ())),
                      tuple(entry.get("from", ())), tuple(entry.get("commands", ())))


def distroless_of(ref: ImageRef) -> Distroless | None:
    """The distroless mapping whose ``from`` list names ``ref`` (an official image), if any."""
    if not ref.official:
        return None
    for runtime in _data().get("distroless", {}):
        mapping = distroless_for(runtime)
        if mapping and ref.name in mapping.replaces:
            return mapping
    return None


#: the accounts every distroless image has in its /etc/passwd (name → uid)
DISTROLESS_USERS = {"root": 0, "nonroot": 65532, "nobody": 65534}


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def pins_key(name: str) -> str:
    """``name`` as a key of the ``[pins]`` table (quoted unless a bare TOML key)."""
    return name if _BARE_KEY.fullmatch(name) else f'"{name}"'


def pins_hint(ref: ImageRef) -> str:
    """What to configure when no pin is known for ``ref``: the ``[pins]`` line to add."""
    return f'set [pins] {pins_key(ref.repository)} = "..."'
