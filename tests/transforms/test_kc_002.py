"""kc-002: ResourceQuota per namespace."""
from __future__ import annotations

import yaml

from tests.corpus import needs_corpus
from tests.helpers import fix, k8s_errors, run
from tests.transforms.crossfile import project
from tests.transforms.yaml_corpus import changed_lines, check_corpus

ID = "kc-002"

NS = """\
# the shop's namespace
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    team: web
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: api
        image: example/api:1.0
"""


def quotas(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d and d.get("kind") == "ResourceQuota"]


def test_adds_a_quota_after_the_namespace():
    result = run(ID, NS, kind="k8s")
    after = fix(ID, NS, kind="k8s")
    [q] = quotas(after)
    assert q["metadata"] == {"name": "shop-quota", "namespace": "shop"}
    assert q["spec"]["hard"] == {"requests.cpu": "4", "requests.memory": "8Gi", "limits.cpu": "8",
                                 "limits.memory": "16Gi", "pods": "50"}
    assert after.index("kind: ResourceQuota") < after.index("kind: Deployment")
    assert all(old is None for old, _ in changed_lines(NS, after))
    assert not k8s_errors(after)
    # the workload without requests/limits is named: the quota would reject its pods
    assert "Deployment api" in result.applied[0].message


def test_options_set_and_drop_limits():
    after = fix(ID, NS, kind="k8s", options={"pods": 20, "limits_cpu": "", "limits_memory": None, "requests_cpu": "500m"})
    assert quotas(after)[0]["spec"]["hard"] == {"requests.cpu": "500m", "requests.memory": "8Gi", "pods": "20"}
    assert '    pods: "20"\n' in after
    assert not k8s_errors(after)


def test_existing_quota_anywhere_in_the_tree(tmp_path, monkeypatch):
    layout = {"ns.yaml": NS, "quota.yaml": "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: q\n  namespace: shop\nspec:\n  hard:\n    pods: '10'\n"}
    ws = project(tmp_path, monkeypatch, layout)
    assert run(ID, NS, kind="k8s", path="ns.yaml", workspace=ws).text == NS
    # a quota in another namespace does not count
    layout["quota.yaml"] = layout["quota.yaml"].replace("namespace: shop", "namespace: other")
    ws = project(tmp_path, monkeypatch, layout)
    assert quotas(fix(ID, NS, kind="k8s", path="ns.yaml", workspace=ws))


def test_system_and_templated_namespaces_are_left_alone():
    for name in ("kube-system", "default", "${NAMESPACE}"):
        text = f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n"
        assert run(ID, text, kind="k8s").text == text


def test_crlf_list_and_no_final_newline():
    crlf = NS.replace("\n", "\r\n")
    after = fix(ID, crlf, kind="k8s")
    assert "\n" not in after.replace("\r\n", "")
    bare = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a"
    after = fix(ID, bare, kind="k8s")
    assert after.startswith(bare + "\n---\n") and not k8s_errors(after)
    listed = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: b\n"
    after = fix(ID, listed, kind="k8s")
    assert quotas(after)[0]["metadata"]["namespace"] == "b"


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, line_ok=lambda old, new: old is None)
    assert counts["applied"] >= 5, counts
