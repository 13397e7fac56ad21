"""Language stacks of a build context: their manifests, lockfiles, install commands and dirs.

Transforms that order COPYs (io-003), split builds (io-002), write ``.dockerignore`` files
(io-004, cm-004) or read package scripts (cm-005) ask here which stack a context holds; io-003
and df-004 ask which commands install a stack's dependencies and which only set up or clean up
around an install (reading nothing of the project).
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from orchfix import shell
from orchfix.workspace import Workspace


@dataclass(frozen=True)
class Stack:
    name: str
    #: files that declare the stack (any one present means the stack is there)
    markers: tuple[str, ...]
    #: dependency manifests and lockfiles to copy before installing (those present are used)
    manifests: tuple[str, ...]
    #: a regex matching its dependency-install commands in a RUN: commands that read only the
    #: manifests (not `npm install -g x`, `yarn add x`, `bundle exec …`, `go mod tidy`)
    install: re.Pattern[str]
    #: .dockerignore entries: dependency, build and cache dirs of the stack
    ignore: tuple[str, ...]


STACKS = (
    Stack("node", ("package.json",),
          ("package.json", "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", ".npmrc", ".yarnrc.yml", "bun.lockb"),
          re.compile(r"\b(?:(?:npm (?:ci|install|i)|pnpm (?:i|install))\b(?![^;&|\n]*\s(?:-g|--global)\b)"
                     r"|yarn(?: install)?(?=\s*(?:$|[;&|)])|\s+-)|bun install\b)", re.M),
          ("node_modules", "npm-debug.log*", "yarn-error.log", ".npm", ".yarn/cache", "coverage", ".next", "dist", "build")),
    Stack("python", ("requirements.txt", "pyproject.toml", "Pipfile", "setup.py", "poetry.lock"),
          ("requirements.txt", "requirements-prod.txt", "requirements/", "pyproject.toml", "poetry.lock", "Pipfile", "Pipfile.lock", "uv.lock"),
          re.compile(r"\b(?:pip3? install\b[^;&|\n]*\s(?:-r|--requirement)(?:\b|=)|poetry install\b|pipenv (?:install|sync)\b|uv sync\b)"),
          ("__pycache__", "*.pyc", ".venv", "venv", ".pytest_cache", ".mypy_cache", ".tox", "*.egg-info", "dist", "build")),
    Stack("go", ("go.mod",), ("go.mod", "go.sum"), re.compile(r"\bgo mod download\b"), ("bin", "vendor")),
    Stack("ruby", ("Gemfile",), ("Gemfile", "Gemfile.lock"), re.compile(r"\bbundle(?: install)?(?=\s*(?:$|[;&|)])|\s+-)", re.M), (".bundle", "vendor/bundle", "log", "tmp")),
    Stack("php", ("composer.json",), ("composer.json", "composer.lock"), re.compile(r"\bcomposer install\b"), ("vendor",)),
    Stack("java-maven", ("pom.xml",), ("pom.xml",), re.compile(r"\bmvnw? .*dependency:(go-offline|resolve)\b"), ("target",)),
    Stack("java-gradle", ("build.gradle", "build.gradle.kts"), ("build.gradle", "build.gradle.kts", "settings.gradle", "settings.gradle.kts", "gradle.properties"),
          re.compile(r"\bgradlew? .*dependencies\b"), (".gradle", "build")),
    Stack("rust", ("Cargo.toml",), ("Cargo.toml", "Cargo.lock"), re.compile(r"\bcargo fetch\b"), ("target",)),
)

#: entries every build context should ignore, whatever its stack
COMMON_IGNORE = (".git", ".gitignore", ".env", ".env.*", "*.pem", "*.key", "id_rsa*", ".DS_Store", ".idea", ".vscode", "*.log", "Dockerfile*", "*.Dockerfile", ".dockerignore", "docker-compose*.yml", "compose*.yaml")


def detect(workspace: Workspace, context: str) -> list[Stack]:
    """The stacks whose marker files exist in the build context folder ``context``."""
    return [s for s in STACKS if any(workspace.exists(posixpath.join(context, m)) for m in s.markers)]


def present(workspace: Workspace, context: str, names: tuple[str, ...]) -> list[str]:
    """The entries of ``names`` that exist in ``context`` (folders end with ``/``)."""
    found = []
    for name in names:
        path = posixpath.join(context, name.rstrip("/"))
        if workspace.exists(path) or (name.endswith("/") and workspace.is_dir(path)):
            found.append(name)
    return found


# --- the commands around a dependency install -------------------------------------------------------

_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
#: paths a cleanup may remove without touching the project (caches, package lists, temp files)
CACHE_PATHS = ("/tmp", "/var/cache", "/var/lib/apt", "/var/tmp", "/root/.", "~/.", "$HOME/.", "${HOME}/.",
               "/usr/local/share/.cache", "/home/")
#: commands that set up the system and read nothing of the project
_SETUP_FIRST = {"apt-get", "apt", "apk", "yum", "dnf", "microdnf", "mkdir", "useradd", "adduser", "addgroup",
                "groupadd", "echo", "true", ":", "corepack", "export", "set", "update-ca-certificates"}
#: what makes an npm/pnpm/yarn command global (a tool, not the project's dependencies)
GLOBAL = {"-g", "--global", "global"}


def installing(command: str) -> list[Stack]:
    """The stacks whose dependency install ``command`` (a shell command or a whole RUN) runs."""
    return [s for s in STACKS if s.install.search(command)]


def tool_words(words: list[str]) -> list[str]:
    """A command's words without ``NAME=value`` prefixes, ``sudo``, and with ``python -m pip`` /
    ``uv pip`` read as ``pip``."""
    while words and (_ASSIGNMENT.match(words[0]) or words[0] in ("sudo", "command", "exec")):
        words = words[1:]
    if len(words) >= 3 and re.fullmatch(r"python[0-9.]*|py", words[0]) and words[1] == "-m" and words[2].startswith("pip"):
        return ["pip", *words[3:]]
    if words[:2] == ["uv", "pip"]:
        return ["pip", *words[2:]]
    return words


def local_path(spec: str) -> bool:
    """Whether a package spec names a path of the project rather than a registry package."""
    spec = spec.strip("'\"")
    return spec.startswith((".", "/", "file:", "~")) or " @ file:" in spec or spec.startswith("$")


def cleanup(words: list[str]) -> bool:
    """Whether a command (its :func:`tool_words`) only removes caches, package lists or temporary
    files: ``rm -rf /root/.npm``, ``npm cache clean --force``, ``pip cache purge``…"""
    if not words:
        return False
    first, rest = posixpath.basename(words[0]), words[1:]
    if first == "rm":
        paths = [w for w in rest if not w.startswith("-")]
        return bool(paths) and all(p.startswith(CACHE_PATHS) for p in paths)
    if first in ("npm", "pnpm", "yarn"):
        return rest[:2] in (["cache", "clean"], ["cache", "clear"], ["store", "prune"])
    if re.fullmatch(r"pip[0-9.]*", first):
        return rest[:2] in (["cache", "purge"], ["cache", "remove"])
    if first == "go":
        return rest[:1] == ["clean"] and bool({"-cache", "-modcache"} & set(rest))
    return (first, *rest[:1]) in {("composer", "clear-cache"), ("composer", "clearcache")}


def harmless(words: list[str]) -> bool:
    """Whether a command (its :func:`tool_words`) is setup or cleanup that reads nothing of the
    project: package installs from the distro, global tools, caches, users, virtualenvs."""
    if not words:
        return True
    first, rest = posixpath.basename(words[0]), words[1:]
    if first in _SETUP_FIRST or cleanup(words):
        return True
    if first == "rm":
        return False
    if first in ("npm", "pnpm", "yarn"):
        return bool(GLOBAL & set(rest)) or rest[:1] in (["config"], ["set"], ["cache"], ["store"])
    if re.fullmatch(r"pip[0-9.]*", first):
        if rest[:1] in (["cache"], ["config"]):
            return True
        args = shell.positionals(rest[1:], {"-i", "--index-url", "--extra-index-url", "-f", "--find-links"}) if rest[:1] == ["install"] else None
        return args is not None and not any(o in rest for o in ("-r", "--requirement", "-e", "--editable", "-c", "--constraint")) \
            and all(not local_path(a) for a in args)
    return (first, *rest[:1]) in {("poetry", "config"), ("poetry", "self"), ("bundle", "config"), ("gem", "install"),
                                  ("composer", "config"), ("go", "env"), ("git", "config")}
