"""kp-004: a PodDisruptionBudget for every workload with 2+ replicas."""
from __future__ import annotations

import pytest
import yaml

from orchfix.transform import Safety
from tests.corpus import needs_corpus
from tests.helpers import k8s_errors, reason_of, run
from tests.transforms.crossfile import project
from tests.transforms.yaml_corpus import added_only, check_corpus, k8s_fixed

ID = "kp-004"


def workload(kind: str = "Deployment", replicas: str = "  replicas: 3\n", name: str = "web", extra: str = "") -> str:
    service = "  serviceName: web\n" if kind == "StatefulSet" else ""
    return (f"apiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: {name}\n{extra}spec:\n{replicas}{service}"
            f"  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n"
            "        version: v1\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n")


def pdb(spec: str, name: str = "web-pdb", namespace: str = "") -> str:
    return (f"---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: {name}\n{namespace}spec:\n{spec}")


def hpa(min_replicas: str, target: str = "web") -> str:
    return ("---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: web\nspec:\n"
            f"  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: {target}\n{min_replicas}"
            "  maxReplicas: 10\n")


def budgets(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d and d["kind"] == "PodDisruptionBudget"]


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "ReplicaSet"])
def test_a_budget_right_after_the_workload(kind):
    before = workload(kind) + "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}}\n"
    after = k8s_fixed(ID, before)
    assert after.startswith(workload(kind) + pdb("  minAvailable: 2\n  selector:\n    matchLabels:\n      app: web\n"))
    assert added_only(before, after) and not k8s_errors(after)


def test_namespace_selector_expressions_and_style():
    extra = "  namespace: shop\n"
    before = workload(extra=extra).replace("    matchLabels:\n      app: web\n",
                                           "    matchLabels: {app: web}\n    matchExpressions:\n"
                                           "    - {key: tier, operator: In, values: [front]}\n")
    before = before.replace("        version: v1\n", "        tier: front\n").replace("\n", "\r\n")
    after = k8s_fixed(ID, before)
    [budget] = budgets(after)
    assert budget["metadata"] == {"name": "web-pdb", "namespace": "shop"}
    assert budget["spec"]["selector"] == {"matchLabels": {"app": "web"},
                                          "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]}
    assert "\n" not in after.replace("\r\n", "")


def test_an_hpa_decides_the_replicas():
    floor_two = workload(replicas="") + hpa("  minReplicas: 2\n")
    [budget] = budgets(k8s_fixed(ID, floor_two))
    assert budget["spec"]["minAvailable"] == 1
    # an HPA that may scale down to one pod: no budget, even with replicas: 3 written
    for text in (workload() + hpa("  minReplicas: 1\n"), workload() + hpa("")):
        outcome = run(ID, text, kind="k8s")
        assert outcome.text == text and not outcome.remaining
    # an HPA of another workload does not count
    other = workload(replicas="") + hpa("  minReplicas: 2\n", target="api")
    assert run(ID, other, kind="k8s").text == other


@pytest.mark.parametrize("text", [
    workload(replicas="  replicas: 1\n"),
    workload(replicas=""),
    workload(replicas="  replicas: ${REPLICAS}\n"),
    workload(kind="DaemonSet", replicas=""),
    workload() + pdb("  maxUnavailable: 1\n  selector:\n    matchLabels:\n      app: web\n", name="other"),
    workload() + pdb("  maxUnavailable: 1\n  selector:\n    matchExpressions:\n"
                     "    - {key: version, operator: Exists}\n", name="by-expression"),
    workload() + pdb("  maxUnavailable: 1\n  selector: {}\n", name="everything"),
])
def test_near_misses(text):
    outcome = run(ID, text, kind="k8s")
    assert outcome.text == text and not outcome.remaining


def test_budgets_elsewhere_in_the_tree(tmp_path, monkeypatch):
    layout = {"deploy.yaml": workload(), "pdb.yaml": pdb("  minAvailable: 1\n  selector:\n    matchLabels:\n      app: web\n")[4:]}
    workspace = project(tmp_path, monkeypatch, layout)
    assert run(ID, layout["deploy.yaml"], kind="k8s", path="deploy.yaml", workspace=workspace).text == layout["deploy.yaml"]
    # a budget in another namespace does not protect these pods, and its name is not taken here
    layout["pdb.yaml"] = layout["pdb.yaml"].replace("  name: web-pdb\n", "  name: web-pdb\n  namespace: other\n")
    workspace = project(tmp_path, monkeypatch, layout)
    assert budgets(k8s_fixed(ID, layout["deploy.yaml"], path="deploy.yaml", workspace=workspace))


@pytest.mark.parametrize(("options", "spec"), [
    ({"min_available": 2}, {"minAvailable": 2}),
    ({"min_available": "50%"}, {"minAvailable": "50%"}),
    ({"max_unavailable": 1}, {"maxUnavailable": 1}),
    ({"max_unavailable": "25%"}, {"maxUnavailable": "25%"}),
])
def test_options(options, spec):
    [budget] = budgets(k8s_fixed(ID, workload(), options=options))
    assert {k: v for k, v in budget["spec"].items() if k != "selector"} == spec


@pytest.mark.parametrize(("text", "options", "reason"), [
    (workload(), {"min_available": 3}, "would block every eviction"),
    (workload() + pdb("  minAvailable: 1\n  selector:\n    matchLabels:\n      app: api\n"), {}, "named web-pdb exists"),
])
def test_reported(text, options, reason):
    outcome = run(ID, text, kind="k8s", options=options)
    assert outcome.text == text and reason in reason_of(outcome)


def test_list_items():
    before = "apiVersion: v1\nkind: List\nitems:\n" + "".join(
        "- " + workload(name=n).replace("\n", "\n  ").rstrip(" ") for n in ("a", "b"))
    after = k8s_fixed(ID, before)
    [listed] = yaml.safe_load_all(after)
    assert [(i["kind"], i["metadata"]["name"]) for i in listed["items"]] == [
        ("Deployment", "a"), ("PodDisruptionBudget", "a-pdb"), ("Deployment", "b"), ("PodDisruptionBudget", "b-pdb")]
    assert added_only(before, after) and "\n- apiVersion: policy/v1\n  kind: PodDisruptionBudget\n" in after


def test_separate_file_in_a_kustomize_folder(tmp_path, monkeypatch):
    layout = {"app/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                                        "resources:\n  - deploy.yaml\n", "app/deploy.yaml": workload()}
    workspace = project(tmp_path, monkeypatch, layout)
    outcome = run(ID, layout["app/deploy.yaml"], kind="k8s", path="app/deploy.yaml", workspace=workspace,
                  options={"separate_file": True})
    assert not outcome.errors and outcome.text == layout["app/deploy.yaml"]
    assert outcome.side["app/kustomization.yaml"] == layout["app/kustomization.yaml"] + "  - web-pdb.yaml\n"
    new = outcome.side["app/web-pdb.yaml"]
    assert budgets(new)[0]["spec"]["minAvailable"] == 2 and not k8s_errors(new)
    # the second run sees the budget in its new file
    (tmp_path / "app/web-pdb.yaml").write_text(new)
    (tmp_path / "app/kustomization.yaml").write_text(outcome.side["app/kustomization.yaml"])
    workspace = project(tmp_path, monkeypatch, {})
    again = run(ID, layout["app/deploy.yaml"], kind="k8s", path="app/deploy.yaml", workspace=workspace,
                options={"separate_file": True})
    assert not again.side and not again.remaining


def test_in_a_kustomize_folder_the_same_file_is_used_and_patches_are_left_alone(tmp_path, monkeypatch):
    patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 5\n"
    layout = {"kustomization.yaml": "resources: [deploy.yaml]\npatches:\n- path: replicas.yaml\n",
              "deploy.yaml": workload(), "replicas.yaml": patch}
    workspace = project(tmp_path, monkeypatch, layout)
    assert run(ID, patch, kind="k8s", path="replicas.yaml", workspace=workspace).text == patch
    outcome = run(ID, workload(), kind="k8s", path="deploy.yaml", workspace=workspace)
    assert budgets(outcome.text) and not outcome.side


def test_findings_are_safe():
    outcome = run(ID, workload(), kind="k8s", unsafe=False)
    assert outcome.applied and outcome.applied[0].safety is Safety.SAFE


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, line_ok=lambda old, new: old is None)
    assert counts["applied"] >= 10
