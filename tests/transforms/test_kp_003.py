"""kp-003: Recreate → RollingUpdate, unless the pods' storage has one writer."""
from __future__ import annotations

import pytest

from orchfix.transform import Safety
from tests.corpus import needs_corpus
from tests.helpers import reason_of, run
from tests.transforms.crossfile import project
from tests.transforms.yaml_corpus import changed_lines, check_corpus, k8s_fixed

ID = "kp-003"


def deployment(strategy: str = "  strategy:\n    type: Recreate\n", volumes: str = "", pod: str = "") -> str:
    return (f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n{strategy}"
            "  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n"
            f"    spec:\n{pod}      containers:\n      - name: web\n        image: nginx:1.27\n{volumes}")


def pvc(name: str, modes: str) -> str:
    return (f"---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {name}\nspec:\n  accessModes: {modes}\n"
            "  resources:\n    requests:\n      storage: 1Gi\n")


CLAIM = "      volumes:\n      - name: data\n        persistentVolumeClaim:\n          claimName: data\n"


def test_recreate_becomes_a_rolling_update():
    before = deployment()
    after = k8s_fixed(ID, before)
    assert after == before.replace("type: Recreate\n", "type: RollingUpdate\n    rollingUpdate:\n      maxSurge: 1\n"
                                   "      maxUnavailable: 0\n")
    assert [(old, new) for old, new in changed_lines(before, after) if old] == [
        ("    type: Recreate", "    type: RollingUpdate")]


@pytest.mark.parametrize(("strategy", "expected"), [
    ("  strategy: {type: Recreate}  # for now\n",
     "  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}  # for now\n"),
    ("  strategy:\n    type: 'Recreate'  # quoted\n",
     "  strategy:\n    type: RollingUpdate  # quoted\n    rollingUpdate:\n      maxSurge: 1\n      maxUnavailable: 0\n"),
    # a rollingUpdate written beside Recreate (rejected by the API) now takes effect as written
    ("  strategy:\n    rollingUpdate: {maxSurge: 2}\n    type: Recreate\n",
     "  strategy:\n    rollingUpdate: {maxSurge: 2}\n    type: RollingUpdate\n"),
])
def test_styles(strategy, expected):
    assert run(ID, deployment(strategy), kind="k8s").text == deployment(expected)


def test_options_and_crlf():
    before = deployment().replace("\n", "\r\n")
    after = k8s_fixed(ID, before, options={"max_surge": "25%", "max_unavailable": 1})
    assert "    type: RollingUpdate\r\n    rollingUpdate:\r\n      maxSurge: 25%\r\n      maxUnavailable: 1\r\n" in after


@pytest.mark.parametrize("modes", ["[ReadWriteOnce]", "[ReadWriteOncePod]", "\n  - ReadOnlyMany\n  - ReadWriteOnce"])
def test_a_read_write_once_claim_keeps_recreate(modes):
    text = deployment(volumes=CLAIM) + pvc("data", modes)
    outcome = run(ID, text, kind="k8s")
    assert outcome.text == text and not outcome.remaining


def test_a_shared_claim_rolls(tmp_path, monkeypatch):
    # the claim lives in another file of the tree
    layout = {"deploy.yaml": deployment(volumes=CLAIM), "pvc.yaml": pvc("data", "[ReadWriteMany]")[4:]}
    workspace = project(tmp_path, monkeypatch, layout)
    after = k8s_fixed(ID, layout["deploy.yaml"], path="deploy.yaml", workspace=workspace)
    assert "type: RollingUpdate" in after
    # a claim of that name in another namespace is not this one
    layout["pvc.yaml"] = layout["pvc.yaml"].replace("  name: data\n", "  name: data\n  namespace: other\n")
    workspace = project(tmp_path, monkeypatch, layout)
    outcome = run(ID, layout["deploy.yaml"], kind="k8s", path="deploy.yaml", workspace=workspace)
    assert "not in the tree" in reason_of(outcome)


@pytest.mark.parametrize(("volumes", "pod"), [
    ("      volumes:\n      - name: data\n        hostPath: {path: /srv/data}\n", ""),
    ("      volumes:\n      - name: data\n        azureDisk: {diskName: d, diskURI: u}\n", ""),
])
def test_node_local_storage_keeps_recreate(volumes, pod):
    text = deployment(volumes=volumes, pod=pod)
    outcome = run(ID, text, kind="k8s")
    assert outcome.text == text and not outcome.remaining


@pytest.mark.parametrize(("volumes", "pod", "reason"), [
    (CLAIM, "", "claim data (not in the tree"),
    ("      volumes:\n      - name: data\n        flexVolume: {driver: x/y}\n", "", "flexVolume"),
    ("", "      hostNetwork: true\n", "hostPort"),
])
def test_what_it_cannot_know_is_reported(volumes, pod, reason):
    text = deployment(volumes=volumes, pod=pod)
    if pod:
        text = text.replace("image: nginx:1.27\n", "image: nginx:1.27\n        ports: [{containerPort: 80}]\n")
    outcome = run(ID, text, kind="k8s")
    assert outcome.text == text and reason in reason_of(outcome)


@pytest.mark.parametrize("text", [
    deployment("  strategy:\n    type: RollingUpdate\n"),
    deployment(""),
    "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: s}\nspec:\n  updateStrategy: {type: OnDelete}\n"
    "  # Recreate is not a StatefulSet strategy\n",
    "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d}\nspec:\n  strategy: {type: Recreate}\n",
])
def test_near_misses(text):
    outcome = run(ID, text, kind="k8s")
    assert outcome.text == text and not outcome.remaining


def test_kustomize_patches_are_left_alone(tmp_path, monkeypatch):
    patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  strategy: {type: Recreate}\n"
    layout = {"kustomization.yaml": "resources: [deploy.yaml]\npatches:\n- path: patch.yaml\n", "patch.yaml": patch,
              "deploy.yaml": deployment("")}
    workspace = project(tmp_path, monkeypatch, layout)
    assert run(ID, patch, kind="k8s", path="patch.yaml", workspace=workspace).text == patch


def test_findings_are_unsafe():
    outcome = run(ID, deployment(), kind="k8s", unsafe=False)
    assert outcome.text == deployment() and outcome.remaining[0].safety is Safety.UNSAFE


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, line_ok=lambda old, new: (old or "").strip() in ("", "type: Recreate")
                          and (new or "").strip().split(":")[0] in ("type", "rollingUpdate", "maxSurge", "maxUnavailable"))
    assert counts["applied"] >= 3
