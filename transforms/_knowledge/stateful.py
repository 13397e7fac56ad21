"""Stateful backing services (databases, caches, brokers) in Compose: where they keep data and
how to ask them whether they are ready.

Built on the official-image table (``images.toml``: ``data_dir``, ``health``) with what depends on
the tag or on the service's own settings:

- images that behave like an official one (``postgis/postgis``, ``docker.elastic.co/…/elasticsearch``):
  :data:`DERIVED`;
- PostgreSQL 18+ keeps its data under ``/var/lib/postgresql`` (its VOLUME) instead of ``…/data``;
  ``PGDATA`` moves it; ``--datadir`` / ``--dbpath`` / ``--dir`` in the command move MySQL's,
  MongoDB's and Redis's; Elasticsearch reads ``path.data`` from the environment;
- health commands for ``CMD-SHELL`` in a compose file: ``$`` doubled (``$$``) so the container's
  shell expands it, a literal ``POSTGRES_USER`` of the service written as is; the client each
  version ships (``mongo`` before MongoDB 5, ``healthcheck.sh`` only in MariaDB images built since
  mid-2023); cases with no command that works unattended (Redis with ``requirepass``,
  Elasticsearch 8+ with security on) are explained, not guessed.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from . import images

#: repository (registry/path as written, Docker Hub without registry) → the official image it extends
DERIVED = {
    "postgis/postgis": "postgres",
    "pgvector/pgvector": "postgres",
    "ankane/pgvector": "postgres",
    "timescale/timescaledb": "postgres",
    "mysql/mysql-server": "mysql",
    "container-registry.oracle.com/mysql/community-server": "mysql",
    "docker.elastic.co/elasticsearch/elasticsearch": "elasticsearch",
    "redis/redis-stack-server": "redis",
    "redis/redis-stack": "redis",
    "redislabs/redismod": "redis",
    "mongodb/mongodb-community-server": "mongo",
}
#: command-line options that move an image's data directory
_DATA_FLAGS = {"mysql": ("--datadir",), "mariadb": ("--datadir",), "mongo": ("--dbpath",), "redis": ("--dir",)}
#: environment variables that move an image's data directory
_DATA_ENV = {"postgres": ("PGDATA",), "elasticsearch": ("path.data",)}
_PG_LAYOUT_18 = "/var/lib/postgresql"


@dataclass(frozen=True)
class Stateful:
    """A reference to a stateful image: ``kind`` is the official image it is (or behaves like)."""

    kind: str
    ref: images.ImageRef
    info: images.ImageInfo

    @property
    def tag(self) -> str | None:
        return self.ref.tag


def of(image: str | None) -> Stateful | None:
    """The stateful image ``image`` (an interpolated reference) is; None when unknown or stateless."""
    if not image or "$" in image:
        return None
    ref = images.parse_ref(image)
    info = images.lookup(ref)
    kind = info.name if info else DERIVED.get(ref.repository) or DERIVED.get(ref.path)
    if kind and not info:
        info = images.table()[1].get(kind)
    if info is None or not info.data_dir:
        return None
    return Stateful(kind, ref, info)


def _major(tag: str | None) -> int | None:
    value = images.major_version(tag)
    return int(value) if value else None


def _floating(tag: str | None) -> bool:
    """A tag that follows the newest release (none, ``latest``, or only a variant like ``alpine``)."""
    return tag is None or not re.match(r"\d", tag) and not re.search(r"\d", tag.split("-")[0])


def postgres_major(st: Stateful) -> int | None:
    """The PostgreSQL major a postgres-like image runs; 99 for tags that follow the newest; None
    when the tag does not tell (``timescale/timescaledb:2.14.2``)."""
    tag = st.tag
    match = re.search(r"(?:^|-)pg(\d+)", tag or "")
    if match:
        return int(match.group(1))
    if st.ref.official:
        return 99 if _floating(tag) else _major(tag)
    if st.ref.name == "postgis":
        return _major(tag)  # postgis/postgis:16-3.4; a floating tag does not say which major
    return None


def flag_value(words: list[str], names: tuple[str, ...]) -> str | None:
    """The value of ``--name value`` / ``--name=value`` in a command line (the last one given)."""
    found = None
    for i, word in enumerate(words):
        for name in names:
            if word == name and i + 1 < len(words):
                found = words[i + 1]
            elif word.startswith(name + "="):
                found = word[len(name) + 1:]
    return found


def _literal(value: str | None) -> str | None:
    """A compose value without variables (``$$`` unescaped); None for variables or no value."""
    if value is None or re.search(r"\$(?!\$)", value.replace("$$", "")):
        return None
    return value.replace("$$", "$")


def data_dir(st: Stateful, env: dict[str, str | None], command: list[str]) -> tuple[str | None, str | None]:
    """(the container path the service keeps its data in, None) or (None, why it cannot be told)."""
    for name in _DATA_ENV.get(st.kind, ()):
        if name in env:
            value = _literal(env[name])
            if not value or not value.startswith("/"):
                return None, f"{name} is set to {env[name]!r}, so the data directory is not known"
            return value.rstrip("/") or "/", None
    flags = _DATA_FLAGS.get(st.kind, ())
    value = flag_value(command, flags) if flags else None
    if value is not None:
        if not value.startswith("/") or "$" in value:
            return None, f"the command sets {flags[0]} {value}, so the data directory is not known"
        return value.rstrip("/") or "/", None
    if st.kind == "postgres":
        major = postgres_major(st)
        if major is None:
            return None, (f"the tag of {st.ref.raw} does not tell its PostgreSQL major (18+ keeps data in "
                          f"{_PG_LAYOUT_18}, older ones in {st.info.data_dir}); use a tag with the version")
        if major >= 18:
            return _PG_LAYOUT_18, None
    return st.info.data_dir, None


def persists(st: Stateful, command: list[str]) -> bool:
    """False for a Redis started as a pure cache (``--save ''`` and no ``--appendonly yes``)."""
    if st.kind != "redis":
        return True
    save = flag_value(command, ("--save",))
    appendonly = flag_value(command, ("--appendonly",))
    return not (save is not None and save.strip("'\"") == "" and appendonly != "yes")


def _version(tag: str | None) -> tuple[int, ...] | None:
    match = re.match(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?", tag or "")
    return tuple(int(g) for g in match.groups() if g is not None) if match else None


def _shell_value(value: str) -> str:
    """A literal for a ``CMD-SHELL`` command in a compose file: shell-quoted, ``$`` doubled."""
    return shlex.quote(value).replace("$", "$$")


def health(st: Stateful, env: dict[str, str | None], command: list[str]) -> tuple[str | None, str | None]:
    """(a ``CMD-SHELL`` command for the service, None) or (None, why none is written).

    The command is compose text: ``$`` is doubled, ``${VAR:-x}`` of the table becomes the service's
    literal value of VAR when it sets one, else ``$${VAR:-x}`` (the container's environment)."""
    text = st.info.health
    if not text:
        return None, f"no health command is known for {st.kind}"
    tag, version = st.tag, _version(st.tag)
    if st.kind == "redis":
        if "--requirepass" in command or any(w.startswith("--requirepass") for w in command) or env.get("REDIS_PASSWORD"):
            return None, "Redis requires a password here, so `redis-cli ping` is refused; write a healthcheck that passes it (`redis-cli -a …`)"
        if any(w.endswith(".conf") for w in command):
            return None, "Redis reads a config file here (it may set requirepass or another port); write the healthcheck to match it"
    if st.kind == "mongo" and version and version[0] < 5 and st.ref.official:
        text = text.replace("mongosh", "mongo", 1)
    if st.kind == "mariadb" and version and len(version) == 3:
        # a release pinned to its patch version may predate healthcheck.sh (added in mid-2023)
        text = "mysqladmin ping -h 127.0.0.1 --silent" if version[0] == 10 else "mariadb-admin ping -h 127.0.0.1 --silent"
    if st.kind == "elasticsearch":
        major = _major(tag)
        secured = major is None or major >= 8
        setting = _literal(env.get("xpack.security.enabled")) or ""
        if secured and setting.lower() != "false":
            return None, ("Elasticsearch 8+ serves HTTPS with authentication by default, so a plain HTTP probe fails; "
                          "write a healthcheck with its credentials (or set xpack.security.enabled=false for development)")
    if st.kind in ("mysql", "mariadb", "postgres") and any(w.startswith("--port") or w.startswith("port=") for w in command):
        return None, f"the command moves {st.kind} to another port; write the healthcheck for it"

    def fill(match: re.Match) -> str:
        if match.group(1) is None:
            return "$$"  # a plain `$` of the command: the container's shell sees it
        literal = _literal(env.get(match.group(1)))
        return _shell_value(literal) if literal else "$" + match.group(0)

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-[^}]*)?\}|\$", fill, text), None
