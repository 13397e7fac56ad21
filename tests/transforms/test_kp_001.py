"""kp-001: long-running bare Pods become Deployments."""
from __future__ import annotations

from collections import Counter

import pytest
import yaml

from orchfix.transform import Safety
from tests.corpus import needs_corpus
from tests.helpers import k8s_errors, reason_of, run
from tests.transforms.crossfile import project
from tests.transforms.yaml_corpus import check_corpus, k8s_fixed

ID = "kp-001"


def load(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]


def test_a_pod_with_labels_and_annotations():
    before = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  labels:
    app: web
    tier: "front"
  annotations:
    prometheus.io/scrape: "true"
spec:
  containers:
  - name: web
    image: nginx:1.27
"""
    after = k8s_fixed(ID, before)
    assert after == """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels:
    app: web
    tier: "front"
  annotations:
    prometheus.io/scrape: "true"
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
      tier: "front"
  template:
    metadata:
      labels:
        app: web
        tier: "front"
      annotations:
        prometheus.io/scrape: "true"
    spec:
      containers:
      - name: web
        image: nginx:1.27
"""
    assert not k8s_errors(after)


def test_the_pod_spec_moves_with_its_comments_quoting_and_block_scalars():
    before = """\
# a pod
apiVersion: v1
kind: Pod
metadata: {name: job-runner}
spec:   # the spec
    # containers first
    containers:
    -   name: run
        image: 'busybox:1.36'
        command:
        - sh
        - -c
        - |
          echo start

          sleep 3600
        env: [{name: A, value: "1"}]   # flow
    # trailing comment in the spec
    dnsPolicy: ClusterFirst
"""
    after = k8s_fixed(ID, before)
    lines = before.splitlines()
    moved = lines[lines.index("    # containers first"):]
    # every line of the spec is there, shifted two levels (4 spaces each here) or blank
    assert "\n".join((" " * 8 + line) if line.strip() else line for line in moved) in after
    assert "metadata: {name: job-runner, labels: {app: job-runner}}\nspec:   # the spec\n    replicas: 3\n" in after
    command = load(after)[0]["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command == ["sh", "-c", "echo start\n\nsleep 3600\n"]


def test_flow_spec_and_list_items():
    before = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: a, labels: {run: a}}
  spec: {containers: [{name: a, image: "busybox:1.36"}],
    dnsPolicy: ClusterFirst}  # compact
- apiVersion: v1
  kind: Service
  metadata: {name: a}
  spec: {selector: {run: a}, ports: [{port: 80}]}
"""
    after = k8s_fixed(ID, before)
    items = load(after)[0]["items"]
    assert items[0]["kind"] == "Deployment" and items[0]["spec"]["template"]["spec"]["dnsPolicy"] == "ClusterFirst"
    assert items[0]["spec"]["selector"] == {"matchLabels": {"run": "a"}} and items[1]["kind"] == "Service"
    assert "      spec: {containers: [{name: a, image: \"busybox:1.36\"}],\n        dnsPolicy: ClusterFirst}  # compact\n" in after


@pytest.mark.parametrize(("volume", "why"), [
    ("  - name: data\n    persistentVolumeClaim: {claimName: data}\n", "claim data (ReadWriteOnce)"),
    ("  - name: data\n    persistentVolumeClaim: {claimName: other}\n", "not in the tree"),
    ("  - name: data\n    hostPath: {path: /srv}\n", "hostPath"),
    ("  - name: data\n    awsElasticBlockStore: {volumeID: vol-1}\n", "an awsElasticBlockStore disk"),
])
def test_a_pod_with_storage_one_writer_owns_stays_a_single_pod(volume, why):
    pvc = ("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec:\n  accessModes: [ReadWriteOnce]\n"
           "  resources: {requests: {storage: 1Gi}}\n---\n")
    before = pvc + "apiVersion: v1\nkind: Pod\nmetadata: {name: db}\nspec:\n  containers:\n  - name: db\n" \
                   "    image: postgres:16\n  volumes:\n" + volume
    outcome = run(ID, before, kind="k8s")
    [finding] = outcome.applied
    assert why in finding.message
    deployment = load(outcome.text)[1]
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert not k8s_errors(outcome.text)


def test_shared_storage_and_node_pinning():
    shared = ("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec:\n  accessModes: [ReadWriteMany]\n"
              "  resources: {requests: {storage: 1Gi}}\n---\n"
              "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - name: web\n    image: nginx:1.27\n"
              "  volumes:\n  - name: data\n    persistentVolumeClaim: {claimName: data}\n  - name: tmp\n    emptyDir: {}\n")
    assert load(k8s_fixed(ID, shared))[1]["spec"]["replicas"] == 3
    assert load(k8s_fixed(ID, shared, options={"replicas": 2}))[1]["spec"]["replicas"] == 2
    pinned = shared.replace("spec:\n  containers", "spec:\n  nodeName: node-1\n  containers")
    assert load(k8s_fixed(ID, pinned))[1]["spec"]["replicas"] == 1
    ports = shared.replace("image: nginx:1.27\n", "image: nginx:1.27\n    ports: [{containerPort: 80, hostPort: 80}]\n")
    assert load(k8s_fixed(ID, ports))[1]["spec"]["replicas"] == 1


@pytest.mark.parametrize("text", [
    "apiVersion: v1\nkind: Pod\nmetadata: {name: once}\nspec:\n  restartPolicy: Never\n  containers: [{name: a, image: b}]\n",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: once}\nspec:\n  restartPolicy: OnFailure\n  containers: [{name: a, image: b}]\n",
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: owned\n  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, "
    "name: rs, uid: x}]\nspec:\n  containers: [{name: a, image: b}]\n",
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: test\n  annotations: {helm.sh/hook: test}\nspec:\n"
    "  containers: [{name: a, image: b}]\n",
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: Pod}\nspec: {}\n",
])
def test_near_misses(text):
    outcome = run(ID, text, kind="k8s")
    assert outcome.text == text and not outcome.remaining


@pytest.mark.parametrize(("text", "reason"), [
    ("apiVersion: v1\nkind: Pod\nmetadata: {generateName: w-}\nspec:\n  containers: [{name: a, image: b}]\n",
     "generateName"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: web.example.com.and.a.name.that.is.longer.than.sixty.three.characters.x}\n"
     "spec:\n  containers: [{name: a, image: b}]\n", "no valid label value"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec:\n  containers: [{name: a, image: b}]\n"
     "status: {phase: Running}\n", "status"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec:\n  containers: [{name: a, image: b}]\n"
     "  ephemeralContainers: [{name: d, image: b}]\n", "ephemeral"),
    ("{apiVersion: v1, kind: Pod, metadata: {name: w}, spec: {containers: [{name: a, image: b}]}}\n", "flow"),
])
def test_pods_it_cannot_convert_are_reported(text, reason):
    outcome = run(ID, text, kind="k8s")
    assert outcome.text == text and reason in reason_of(outcome)


def test_a_pod_a_kustomize_patch_targets_is_reported(tmp_path, monkeypatch):
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: a, image: b}]\n"
    layout = {"base/kustomization.yaml": "resources: [pod.yaml]\n", "base/pod.yaml": pod,
              "overlay/kustomization.yaml": "resources: [../base]\npatches:\n- path: image.yaml\n",
              "overlay/image.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: a, image: c}]\n"}
    workspace = project(tmp_path, monkeypatch, layout)
    outcome = run(ID, pod, kind="k8s", path="base/pod.yaml", workspace=workspace)
    assert outcome.text == pod and "patches this Pod" in reason_of(outcome)
    # the patch file itself is a partial object: left alone
    patch = layout["overlay/image.yaml"]
    assert run(ID, patch, kind="k8s", path="overlay/image.yaml", workspace=workspace).text == patch


def test_crlf_and_multi_document_files():
    before = ("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n"
              "---\n# the pod\napiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels: {app: web}\nspec:\n"
              "  containers:\n  - name: web\n    image: nginx:1.27\n---\n").replace("\n", "\r\n")
    after = k8s_fixed(ID, before)
    assert "\n" not in after.replace("\r\n", "")
    assert after.startswith(before.split("---")[0]) and after.endswith("image: nginx:1.27\r\n---\r\n")
    assert [d["kind"] for d in load(after)] == ["Service", "Deployment"]


def test_findings_are_unsafe():
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec:\n  containers: [{name: a, image: b}]\n"
    outcome = run(ID, text, kind="k8s", unsafe=False)
    assert outcome.text == text and outcome.remaining[0].safety is Safety.UNSAFE


def lines_kept(before: str, after: str) -> bool:
    """Every line of the input is in the output (the spec's shifted), but apiVersion and kind."""
    lost = Counter(line.strip() for line in before.splitlines()) - Counter(line.strip() for line in after.splitlines())
    return set(lost) <= {"apiVersion: v1", "kind: Pod"}


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, file_ok=lines_kept)
    assert counts["applied"] > 40


def test_labels_another_controller_selects_are_reported(tmp_path, monkeypatch):
    pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: redis-0\n  labels: {app: redis, role: primary}\nspec:\n" \
          "  containers: [{name: redis, image: 'redis:7'}]\n"
    rc = "apiVersion: v1\nkind: ReplicationController\nmetadata: {name: redis}\nspec:\n  selector: {app: redis}\n" \
         "  template:\n    metadata: {labels: {app: redis}}\n    spec: {containers: [{name: r, image: 'redis:7'}]}\n"
    workspace = project(tmp_path, monkeypatch, {"pod.yaml": pod, "rc.yaml": rc})
    outcome = run(ID, pod, kind="k8s", path="pod.yaml", workspace=workspace)
    assert outcome.text == pod and "ReplicationController redis selects" in reason_of(outcome)
    # in another namespace it is no rival
    workspace = project(tmp_path, monkeypatch, {"rc.yaml": rc.replace("{name: redis}", "{name: redis, namespace: b}")})
    assert run(ID, pod, kind="k8s", path="pod.yaml", workspace=workspace).applied
