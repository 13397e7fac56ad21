"""File kinds: what a file is, from its path and, where names are not enough, its first bytes."""
from __future__ import annotations

import fnmatch
import re
from pathlib import PurePosixPath

DOCKERFILE = "dockerfile"
COMPOSE = "compose"
K8S = "k8s"
HELM = "helm"
WORKFLOW = "workflow"
SHELL = "shell"
MAKEFILE = "makefile"
ANT = "ant"
GRADLE = "gradle"
PACKAGE_JSON = "package.json"
DOCKERIGNORE = "dockerignore"
YAML = "yaml"
OTHER = "other"

#: every kind a transform may name
KINDS = (DOCKERFILE, COMPOSE, K8S, HELM, WORKFLOW, SHELL, MAKEFILE, ANT, GRADLE, PACKAGE_JSON, DOCKERIGNORE, YAML)

_DOCKERFILE_NAMES = ("dockerfile", "dockerfile.*", "*.dockerfile", "containerfile", "containerfile.*", "*.containerfile")
_COMPOSE_NAMES = ("compose*.yaml", "compose*.yml", "docker-compose*.yaml", "docker-compose*.yml", "*stack*.yml", "*stack*.yaml")
_TOP_KEY = re.compile(rb"^(apiVersion|kind|services|version)\s*:", re.M)
_SHEBANG = re.compile(rb"#!\s*/\S*(?:/env\s+)?(?:ba|da|k|z)?sh\b")


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def classify(path: PurePosixPath, head: bytes, chart_root: bool) -> str:
    """The kind of the file at ``path`` (relative, POSIX) whose first bytes are ``head``.

    ``chart_root`` says whether a folder above it holds a Helm ``Chart.yaml``.
    """
    name = path.name.lower()
    if name == ".dockerignore" or name.endswith(".dockerignore"):
        return DOCKERIGNORE
    if _matches(name, _DOCKERFILE_NAMES):
        return DOCKERFILE
    if name in ("makefile", "gnumakefile") or name.endswith(".mk"):
        return MAKEFILE
    is_yaml = name.endswith((".yaml", ".yml"))
    keys = {m.group(1) for m in _TOP_KEY.finditer(head)}
    manifest = {b"apiVersion", b"kind"} <= keys
    if chart_root:
        # plain manifests a chart ships (crds/, files/) are manifests; the rest is the chart
        plain = is_yaml and manifest and b"{{" not in head and "templates" not in path.parts
        return K8S if plain else HELM
    if is_yaml and len(path.parts) >= 3 and path.parts[-3:-1] == (".github", "workflows"):
        return WORKFLOW
    if name == "build.xml":
        return ANT
    if name in ("build.gradle", "build.gradle.kts"):
        return GRADLE
    if name == "package.json":
        return PACKAGE_JSON
    if name.endswith((".sh", ".bash")) or _SHEBANG.match(head):
        return SHELL
    if not is_yaml:
        return OTHER
    if (_matches(name, _COMPOSE_NAMES) and not manifest) or (b"services" in keys and not manifest):
        return COMPOSE
    return K8S if manifest else YAML
