"""sc-004: Secrets from Secret objects."""
from __future__ import annotations

import yaml

from orchfix import api
from tests.corpus import needs_corpus
from tests.helpers import fix, k8s_errors, run
from tests.transforms.crossfile import project
from tests.transforms.yaml_corpus import changed_lines, check_corpus

ID = "sc-004"

SECRET_VALUES = ("hunter2-Prod", "ghp_Zq81kLm3Nw5Pr7St9Uv2Xy4Ab6Cd8Ef0Gh1Ij", "s3cr3tpw")

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
  namespace: shop
spec:
  selector:
    matchLabels: {app: orders}
  template:
    metadata:
      labels: {app: orders}
    spec:
      initContainers:
      - name: migrate
        image: example/orders:2.3.0
        env:
        - name: DB_PASSWORD
          value: hunter2-Prod
      containers:
      - name: orders
        image: example/orders:2.3.0
        env:
        - name: DB_HOST
          value: postgres
        - name: DB_PASSWORD
          value: "hunter2-Prod"   # rotate me
        - name: GITHUB
          value: ghp_Zq81kLm3Nw5Pr7St9Uv2Xy4Ab6Cd8Ef0Gh1Ij
        - {name: ADMIN_PASS, value: s3cr3tpw}
        - name: API_TOKEN
          value: <your-token>
        - name: PASSWORD_FILE
          value: /run/secrets/db
        - name: AUTH_TOKEN
          valueFrom:
            secretKeyRef: {name: other, key: token}
"""


def env_of(text: str, container: str) -> dict:
    doc = next(d for d in yaml.safe_load_all(text) if d and d.get("kind") == "Deployment")
    spec = doc["spec"]["template"]["spec"]
    c = next(c for c in spec.get("initContainers", []) + spec["containers"] if c["name"] == container)
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c["env"]}


def no_value_anywhere(result) -> None:
    shown = [result.text, *result.side.values(), *(f.message for f in result.applied + result.remaining),
             *(f.reason or "" for f in result.remaining)]
    for value in SECRET_VALUES:
        # the input still has them; the output, side files and messages must not
        assert all(value not in s for s in shown), value


def test_secret_values_become_secret_key_refs():
    result = run(ID, DEPLOY, kind="k8s")
    after = fix(ID, DEPLOY, kind="k8s")
    assert after == result.text
    no_value_anywhere(result)
    assert not k8s_errors(after)
    env = env_of(after, "orders")
    ref = lambda key: {"secretKeyRef": {"name": "orders-secrets", "key": key}}  # noqa: E731
    assert env["DB_PASSWORD"] == ref("db-password")
    assert env["GITHUB"] == ref("github")
    assert env["ADMIN_PASS"] == ref("admin-pass")
    # placeholders, paths and existing references stay
    assert env["API_TOKEN"] == "<your-token>" and env["PASSWORD_FILE"] == "/run/secrets/db" and env["DB_HOST"] == "postgres"
    assert env_of(after, "migrate")["DB_PASSWORD"] == ref("db-password")
    # the trailing comment stays; flow entries stay flow
    assert "          valueFrom:  # rotate me\n            secretKeyRef:\n              name: orders-secrets\n" in after
    assert "- {name: ADMIN_PASS, valueFrom: {secretKeyRef: {name: orders-secrets, key: admin-pass}}}" in after
    [finding] = result.applied
    assert "kubectl create secret generic orders-secrets --namespace shop" in finding.message
    assert "--from-literal=db-password='<DB_PASSWORD>'" in finding.message
    for old, new in changed_lines(DEPLOY, after):
        assert old is None or "value:" in old or "ADMIN_PASS" in old


def test_no_new_secret_manifest_or_side_file(tmp_path, monkeypatch):
    project(tmp_path, monkeypatch, {"deploy.yaml": DEPLOY})
    result = api.run(["."], apply=True, select=[ID], unsafe=True, jobs=1)
    assert not result.side and not result.errors
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deploy.yaml"]
    written = (tmp_path / "deploy.yaml").read_text()
    assert "kind: Secret" not in written
    assert not any(v in written for v in SECRET_VALUES)


def test_options():
    after = fix(ID, DEPLOY, kind="k8s", options={"secret_name": "{workload}-db", "key_naming": "env"})
    assert env_of(after, "orders")["DB_PASSWORD"] == {"secretKeyRef": {"name": "orders-db", "key": "DB_PASSWORD"}}
    bad = run(ID, DEPLOY, kind="k8s", options={"secret_name": "Not_Valid"})
    assert bad.text == DEPLOY and bad.remaining[0].reason


def test_colliding_keys_with_other_values_get_the_container_name():
    before = DEPLOY.replace("        - name: DB_PASSWORD\n          value: hunter2-Prod\n", "        - name: DB_PASSWORD\n          value: other-Secret9\n", 1)
    after = fix(ID, before, kind="k8s")
    assert env_of(after, "migrate")["DB_PASSWORD"]["secretKeyRef"]["key"] == "db-password"
    assert env_of(after, "orders")["DB_PASSWORD"]["secretKeyRef"]["key"] == "orders-db-password"


def test_near_misses():
    text = DEPLOY.split("      initContainers:")[0] + (
        "      containers:\n      - name: c\n        image: x:1\n        env:\n"
        "        - name: DB_PASSWORD\n          value: $(FROM_ELSEWHERE)\n"
        "        - name: TOKEN_URL\n          value: https://auth.example.org/token\n"
        "        - name: SECRET_NAME\n          value: db\n"
        "        - name: GOOGLE_API_KEY\n          value: GOOGLE_API_KEY_VAL\n"
        "        - name: COOKIE_SECRET\n          value: SECRET\n"
    )
    assert run(ID, text, kind="k8s").text == text


def test_kustomize_patch_that_sets_the_value_is_reported(tmp_path, monkeypatch):
    kust = ("resources: [deploy.yaml]\npatches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n"
            "      name: orders\n    spec:\n      template:\n        spec:\n          containers:\n          - name: orders\n"
            "            env:\n            - name: DB_PASSWORD\n              value: from-overlay\n")
    ws = project(tmp_path, monkeypatch, {"deploy.yaml": DEPLOY, "kustomization.yaml": kust})
    result = run(ID, DEPLOY, kind="k8s", path="deploy.yaml", workspace=ws)
    env = env_of(result.text, "orders")
    assert env["DB_PASSWORD"] == "hunter2-Prod" and "secretKeyRef" in env["GITHUB"]
    assert any(f.fix is None and "value and valueFrom" in f.reason for f in result.remaining)


def test_crlf_and_cronjob():
    cron = ("apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: backup\nspec:\n  schedule: '@daily'\n  jobTemplate:\n"
            "    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers:\n"
            "          - name: b\n            image: x:1\n            env:\n            - name: AWS_SECRET_ACCESS_KEY\n"
            "              value: wJalrXUtnFEMIK7MDENGbPxRfiCYzzKEYq93\n").replace("\n", "\r\n")
    after = fix(ID, cron, kind="k8s")
    assert "\n" not in after.replace("\r\n", "") and "wJalrX" not in after
    assert "name: backup-secrets" in after and not k8s_errors(after.replace("\r\n", "\n"))


@needs_corpus
def test_corpus():
    counts = check_corpus(ID)
    assert counts["applied"] >= 10, counts
