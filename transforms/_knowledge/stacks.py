"""Language stacks of a build context: their manifests, lockfiles, install commands and dirs.

Transforms that order COPYs (io-003), split builds (io-002), write ``.dockerignore`` files
(io-004, cm-004) or read package scripts (cm-005) ask here which stack a context holds.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

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
