"""ks-004: Headless service for StatefulSets."""
from __future__ import annotations

import pytest
import yaml

from orchfix.transform import Safety
from orchfix.workspace import Workspace
from tests.corpus import needs_corpus
from tests.helpers import fix, k8s_errors, run
from tests.transforms.yaml_corpus import check_corpus

ID = "ks-004"

STS = """apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  replicas: 3
  selector:
    matchLabels:
      app: db
  template:
    metadata:
      labels:
        app: db
        version: "17"
    spec:
      containers:
      - name: postgres
        image: postgres:17
        ports:
        - containerPort: 5432
          name: postgres
"""

SVC = """---
apiVersion: v1
kind: Service
metadata:
  name: db
spec:
  selector:
    app: db
  ports:
  - port: 5432
"""


def fixed(before: str, **kw) -> str:
    after = fix(ID, before, kind="k8s", **kw)
    assert not k8s_errors(after), k8s_errors(after)
    return after


def test_the_governing_service_becomes_headless():
    before = STS + SVC
    after = fixed(before, unsafe=False)
    assert after == before.replace("  ports:\n  - port: 5432\n", "  ports:\n  - port: 5432\n  clusterIP: None\n")
    [finding] = run(ID, before, kind="k8s").applied
    assert finding.safety is Safety.SAFE and "re-create" in finding.message


@pytest.mark.parametrize(("spec_line", "expected"), [
    ("  clusterIP: 10.96.0.15\n", "  clusterIP: None\n"),
    ('  clusterIP: ""\n', '  clusterIP: "None"\n'),
    ("  clusterIP: 10.96.0.15\n  clusterIPs: [10.96.0.15]\n", "  clusterIP: None\n"),
    ("  type: ClusterIP\n", "  type: ClusterIP\n  clusterIP: None\n"),
])
def test_an_existing_cluster_ip_is_replaced(spec_line, expected):
    before = STS + SVC.replace("spec:\n", "spec:\n" + spec_line)
    after = fixed(before)
    if "type" in spec_line:
        assert after == before.replace("  - port: 5432\n", "  - port: 5432\n  clusterIP: None\n")
    else:
        assert after == STS + SVC.replace("spec:\n", "spec:\n" + expected)


def test_flow_service_and_crlf():
    before = (STS + "---\napiVersion: v1\nkind: Service\nmetadata: {name: db}\n"
              "spec: {selector: {app: db}, ports: [{port: 5432}]}\n")
    after = fixed(before)
    assert after.endswith("spec: {selector: {app: db}, ports: [{port: 5432}], clusterIP: None}\n")
    assert fixed(before.replace("\n", "\r\n")) == after.replace("\n", "\r\n")


def test_service_in_another_file_of_the_folder(tmp_path, monkeypatch):
    (tmp_path / "sts.yaml").write_text(STS)
    (tmp_path / "svc.yaml").write_text(SVC)
    monkeypatch.chdir(tmp_path)
    workspace = Workspace.scan(["."])
    assert run(ID, STS, kind="k8s", path="sts.yaml", workspace=workspace).text == STS
    after = fixed(SVC, path="svc.yaml", workspace=workspace)
    assert after.endswith("  - port: 5432\n  clusterIP: None\n")


NEW = """---
apiVersion: v1
kind: Service
metadata:
  name: db-headless
  labels:
    app: db
spec:
  clusterIP: None
  selector:
    app: db
  ports:
  - name: postgres
    port: 5432
"""


@pytest.mark.parametrize(("service", "why"), [
    (SVC.replace("spec:\n", "spec:\n  type: LoadBalancer\n"), "LoadBalancer"),
    (SVC.replace("spec:\n", "spec:\n  type: NodePort\n"), "NodePort"),
    (SVC.replace("spec:\n", "spec:\n  externalIPs: [192.0.2.1]\n"), "externalIPs"),
    (SVC + "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: db-proxy}\nspec:\n"
     "  selector: {matchLabels: {app: db, role: proxy}}\n  template:\n    metadata: {labels: {app: db, role: proxy}}\n"
     "    spec: {containers: [{name: p, image: 'pgbouncer:1'}]}\n", "Deployment db-proxy"),
    (SVC + "---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: admin}\n"
     "spec: {defaultBackend: {service: {name: db, port: {number: 5432}}}}\n", "Ingress admin"),
])
def test_a_service_used_for_load_balancing_gets_a_headless_twin(service, why):
    before = STS + service
    after = fixed(before)
    assert after == STS.replace("  serviceName: db\n", "  serviceName: db-headless\n") + NEW + service
    [finding] = run(ID, before, kind="k8s").applied
    assert finding.safety is Safety.UNSAFE and why in finding.message and "DNS names change" in finding.message
    # re-pointing a set serviceName is unsafe: not applied without --unsafe
    assert run(ID, before, kind="k8s", unsafe=False).text == before


def test_missing_service_name_gets_a_new_headless_service():
    before = STS.replace("  serviceName: db\n", "")
    after = fixed(before, unsafe=False)
    assert after == STS.replace("  serviceName: db\n", "").replace(
        "      app: db\n  template:", "      app: db\n  serviceName: db-headless\n  template:") + NEW


def test_missing_service_name_points_at_an_existing_headless_service():
    headless = SVC.replace("  name: db\n", "  name: db-peers\n").replace("spec:\n", "spec:\n  clusterIP: None\n")
    before = STS.replace("  serviceName: db\n", "") + headless
    after = fixed(before, unsafe=False)
    assert after == STS.replace("  serviceName: db\n", "").replace(
        "      app: db\n  template:", "      app: db\n  serviceName: db-peers\n  template:") + headless


def test_ports_names_protocols_and_namespace():
    before = """apiVersion: apps/v1
kind: StatefulSet
metadata: {name: dns, namespace: infra}
spec:
  selector: {matchLabels: {app: dns}}
  template:
    metadata: {labels: {app: dns}}
    spec:
      containers:
      - name: a
        image: coredns/coredns:1.11.1
        ports: [{containerPort: 53, protocol: UDP}, {containerPort: 53}, {containerPort: 9153, name: metrics}]
      - name: b
        image: busybox:1.36
        ports: [{containerPort: 9153, name: metrics}]
"""
    after = fixed(before)
    new = list(yaml.safe_load_all(after))[1]
    assert new["metadata"] == {"name": "dns-headless", "namespace": "infra", "labels": {"app": "dns"}}
    assert new["spec"]["ports"] == [{"name": "udp-53", "port": 53, "protocol": "UDP"}, {"name": "tcp-53", "port": 53},
                                    {"name": "metrics", "port": 9153}]
    assert "  serviceName: dns-headless\n" in after


def test_statefulset_in_a_list():
    before = "apiVersion: v1\nkind: List\nitems:\n- " + STS.replace("\n", "\n  ").rstrip(" ").replace("  serviceName: db\n  ", "")
    after = fixed(before)
    docs = list(yaml.safe_load_all(after))
    assert docs[0]["items"][0]["spec"]["serviceName"] == "db-headless" and docs[1]["metadata"]["name"] == "db-headless"


@pytest.mark.parametrize(("before", "reason"), [
    (STS, "not applied with it"),
    (STS.replace("  serviceName: db\n", "") + SVC.replace("  name: db\n", "  name: db-headless\n"), "exists and is not"),
    ("apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: x}\nspec:\n  selector: {matchExpressions: []}\n"
     "  template:\n    spec: {containers: [{name: c, image: 'busybox:1.36'}]}\n", "carry no labels"),
])
def test_reported_not_rewritten(before, reason):
    outcome = run(ID, before, kind="k8s")
    assert outcome.text == before
    [finding] = outcome.remaining
    assert finding.fix is None and reason in finding.reason


@pytest.mark.parametrize("before", [
    STS + SVC.replace("spec:\n", "spec:\n  clusterIP: None\n"),
    STS.replace("StatefulSet", "Deployment").replace("  serviceName: db\n", "") + SVC,
    SVC,
])
def test_near_misses_do_not_change(before):
    outcome = run(ID, before, kind="k8s")
    assert outcome.text == before and not outcome.remaining


def test_patches_are_left_alone(tmp_path, monkeypatch):
    (tmp_path / "kustomization.yaml").write_text("resources: []\npatches:\n- path: sts-patch.yaml\n")
    patch = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec:\n  replicas: 5\n"
    (tmp_path / "sts-patch.yaml").write_text(patch)
    monkeypatch.chdir(tmp_path)
    outcome = run(ID, patch, kind="k8s", path="sts-patch.yaml", workspace=Workspace.scan(["."]))
    assert outcome.text == patch and not outcome.remaining


@needs_corpus
def test_corpus():
    counts = check_corpus(ID)
    assert counts["applied"] >= 4
