"""The Kubernetes model: objects, pod templates, containers, selection across files."""
from __future__ import annotations

from orchfix.documents import YamlDocument
from orchfix.transforms._knowledge import k8s
from orchfix.workspace import Workspace

TEXT = """# comment-only document
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: front}}
    spec:
      initContainers: [{name: init, image: busybox}]
      containers: [{name: app, image: "web:1"}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: job}
spec:
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: job}}
        spec:
          containers: [{name: run, image: job}]
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: web}
  spec: {selector: {app: web}}
"""


def test_objects_workloads_and_containers():
    doc = YamlDocument("m.yaml", TEXT, kind="k8s")
    objs = k8s.objects(doc)
    assert [(o.kind, o.name, o.index) for o in objs] == [("Deployment", "web", 0), ("CronJob", "job", 1), ("Service", "web", 2)]
    web, job, svc = objs
    assert [(c.name, c.init) for c in web.containers()] == [("init", True), ("app", False)]
    assert job.pod_labels == {"app": "job"} and [c.image for c in job.containers()] == ["job"]
    assert web.replicas == 3 and job.replicas is None and svc.in_list


def test_index_selects_across_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deploy.yaml").write_text(TEXT.split("---\napiVersion: v1\nkind: List")[0])
    (tmp_path / "svc.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {selector: {app: web}}\n")
    ws = Workspace.scan(["."])
    current = ws.document("deploy.yaml")
    ix = k8s.index(ws, current)
    web = next(o for o in ix.objects if o.kind == "Deployment")
    assert [o.name for o in ix.selecting(web, "Service")] == ["s"]


def test_insert_document_follows_style():
    doc = YamlDocument("m.yaml", "kind: A\napiVersion: v1\nspec:\n    x:\n    - 1\n", kind="k8s")
    obj = k8s.objects(doc)[0]
    edit = k8s.insert_document(doc, obj, {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "spec": {"l": [1]}})
    assert edit.new == "---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nspec:\n    l:\n    - 1\n"


def test_insert_after_a_list_item_is_the_next_item():
    from orchfix.text import apply_edits

    text = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: A\n    metadata: {name: a}\n  - apiVersion: v1\n    kind: B\n"
    doc = YamlDocument("m.yaml", text, kind="k8s")
    edit = k8s.insert_after(doc, k8s.objects(doc)[0], {"apiVersion": "v1", "kind": "C"})
    assert apply_edits(text, [edit]) == text.replace("{name: a}\n", "{name: a}\n  - apiVersion: v1\n    kind: C\n")
    flow = YamlDocument("f.yaml", "apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: A}]\n", kind="k8s")
    assert k8s.insert_after(flow, k8s.objects(flow)[0], {"kind": "C"}).new == "---\nkind: C\n"


def test_index_sees_manifests_a_fix_creates(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deploy.yaml").write_text(TEXT.split("---\napiVersion: v1\nkind: List")[0])
    ws = Workspace.scan(["."])
    ws.staged["new-pdb.yaml"] = "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p}\n" \
                                "spec: {selector: {matchLabels: {app: web}}}\n"
    ws.staged["notes.txt"] = "kind: nothing"
    ix = k8s.index(ws, ws.document("deploy.yaml"))
    assert [o.name for o in ix.of_kind("PodDisruptionBudget")] == ["p"]
