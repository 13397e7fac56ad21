"""ec-002: ConfigMap from a file."""
from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from orchfix import api
from tests.corpus import needs_corpus
from tests.helpers import fix, k8s_errors, run
from tests.transforms.crossfile import project
from tests.transforms.yaml_corpus import check_corpus

ID = "ec-002"

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
      volumes:
      - name: conf
        configMap:
          name: web-conf
"""

CM = """\
# nginx configuration
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-conf
  namespace: shop
  labels:
    app: web
  annotations:
    owner: team-web
data:
  nginx.conf: |
    events {}
    http {
      server { listen 8080; }
    }
  upstream.conf: |-
    upstream app { server app:8080; }
    # no newline at the end
  mime.types: |+
    types { text/html html; }

  log-level: warn
  motd: "  padded  "
immutable: true
"""

KUST = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- app.yaml\n"


def data_of(text: str) -> dict:
    return next(d for d in yaml.safe_load_all(text) if d and d.get("kind") == "ConfigMap")


def test_files_generator_and_removal(tmp_path, monkeypatch):
    app = DEPLOY + "---\n" + CM
    ws = project(tmp_path, monkeypatch, {"app.yaml": app, "kustomization.yaml": KUST})
    result = run(ID, app, kind="k8s", path="app.yaml", workspace=ws)
    assert not result.errors
    assert result.text == DEPLOY
    original = data_of(CM)["data"]
    side = result.side
    assert side["web-conf/nginx.conf"] == original["nginx.conf"] and side["web-conf/nginx.conf"].endswith("}\n")
    assert side["web-conf/upstream.conf"] == original["upstream.conf"] and not side["web-conf/upstream.conf"].endswith("\n")
    assert side["web-conf/mime.types"] == original["mime.types"] and side["web-conf/mime.types"].endswith("}\n\n")
    # a value kustomize's literals would strip is a file too
    assert side["web-conf/motd"] == "  padded  "
    gen = yaml.safe_load(side["kustomization.yaml"])["configMapGenerator"]
    assert gen == [{
        "name": "web-conf", "namespace": "shop",
        "files": ["web-conf/nginx.conf", "web-conf/upstream.conf", "web-conf/mime.types", "web-conf/motd"],
        "literals": ["log-level=warn"],
        "options": {"disableNameSuffixHash": True, "labels": {"app": "web"}, "annotations": {"owner": "team-web"}, "immutable": True},
    }]
    assert side["kustomization.yaml"].startswith(KUST)


@pytest.mark.skipif(not shutil.which("kubectl"), reason="kubectl (with kustomize) is not installed")
def test_kustomize_builds_the_same_configmap(tmp_path, monkeypatch):
    app = DEPLOY + "---\n" + CM
    project(tmp_path, monkeypatch, {"app.yaml": app, "kustomization.yaml": KUST})
    before = yaml.safe_load_all(subprocess.run(["kubectl", "kustomize", "."], capture_output=True, text=True, check=True).stdout)
    result = api.run(["."], apply=True, select=[ID], unsafe=True, jobs=1)
    assert not result.errors
    after = yaml.safe_load_all(subprocess.run(["kubectl", "kustomize", "."], capture_output=True, text=True, check=True).stdout)
    assert sorted(map(str, before)) == sorted(map(str, after))
    assert not api.run(["."], select=[ID], unsafe=True, jobs=1).has_changes()


def test_first_middle_and_only_document(tmp_path, monkeypatch):
    simple = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  app.yaml: |\n    a: 1\n    b: 2\n"
    svc = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports: [{port: 80}]\n"
    cases = {
        "# header\n" + simple + "---\n" + svc: "# header\n" + svc,
        svc + "---\n" + simple + "---\n" + DEPLOY: svc + "---\n" + DEPLOY,
        "---\n" + simple + "---\n" + svc: "---\n" + svc,
        "# only\n" + simple: "# only\n",
    }
    for before, expected in cases.items():
        ws = project(tmp_path, monkeypatch, {"app.yaml": before, "kustomization.yaml": KUST})
        after = fix(ID, before, kind="k8s", path="app.yaml", workspace=ws)
        assert after == expected
        assert not k8s_errors(after)


def test_crlf_manifest(tmp_path, monkeypatch):
    app = (DEPLOY + "---\n" + CM).replace("\n", "\r\n")
    ws = project(tmp_path, monkeypatch, {"app.yaml": app, "kustomization.yaml": KUST})
    result = run(ID, app, kind="k8s", path="app.yaml", workspace=ws)
    assert result.text == DEPLOY.replace("\n", "\r\n")
    # the file holds the value: YAML line breaks are newlines
    assert result.side["web-conf/nginx.conf"] == data_of(CM)["data"]["nginx.conf"]


def reason(result) -> str:
    [finding] = result.remaining
    assert finding.fix is None and finding.reason and result.text == result.original
    return finding.reason


def test_without_kustomization_reported_or_created(tmp_path, monkeypatch):
    app = DEPLOY + "---\n" + CM
    ws = project(tmp_path, monkeypatch, {"app.yaml": app, "other.yaml": DEPLOY.replace("name: web\n", "name: w2\n", 1)})
    assert "no kustomization.yaml" in reason(run(ID, app, kind="k8s", path="app.yaml", workspace=ws))
    result = run(ID, app, kind="k8s", path="app.yaml", workspace=ws, options={"create_kustomization": True})
    kust = yaml.safe_load(result.side["kustomization.yaml"])
    assert kust["resources"] == ["app.yaml", "other.yaml"] and kust["configMapGenerator"][0]["name"] == "web-conf"


def test_reported_cases(tmp_path, monkeypatch):
    app = DEPLOY + "---\n" + CM
    ws = project(tmp_path, monkeypatch, {"app.yaml": app, "kustomization.yaml": KUST.replace("app.yaml", "other.yaml")})
    assert "does not list app.yaml" in reason(run(ID, app, kind="k8s", path="app.yaml", workspace=ws))
    ws = project(tmp_path, monkeypatch, {"app.yaml": app, "kustomization.yaml": KUST, "web-conf/nginx.conf": "other\n"})
    assert "exists with other content" in reason(run(ID, app, kind="k8s", path="app.yaml", workspace=ws))
    binary = app.replace("immutable: true\n", "binaryData:\n  logo.png: iVBORw0KGgo=\n")
    ws = project(tmp_path, monkeypatch, {"app.yaml": binary, "kustomization.yaml": KUST})
    assert "binaryData" in reason(run(ID, binary, kind="k8s", path="app.yaml", workspace=ws))
    owned = app.replace("  namespace: shop\n", "  namespace: shop\n  finalizers: [x/y]\n")
    ws = project(tmp_path, monkeypatch, {"app.yaml": owned, "kustomization.yaml": KUST})
    assert "finalizers" in reason(run(ID, owned, kind="k8s", path="app.yaml", workspace=ws))


def test_near_misses(tmp_path, monkeypatch):
    plain = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\ndata:\n  LOG_LEVEL: info\n  banner: |\n    two\n    lines\n"
    one_line = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\ndata:\n  app.yaml: 'a: 1'\n"
    for text in (plain, one_line):
        ws = project(tmp_path, monkeypatch, {"app.yaml": text, "kustomization.yaml": KUST})
        result = run(ID, text, kind="k8s", path="app.yaml", workspace=ws)
        assert result.text == text and not result.remaining


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, line_ok=lambda old, new: new is None)
    assert counts["applied"] >= 1, counts
