"""kc-004: topology spread for workloads with 2+ replicas."""
from __future__ import annotations

import pytest
import yaml

from orchfix.transform import Safety
from tests.corpus import needs_corpus
from tests.helpers import reason_of, run
from tests.transforms.crossfile import project
from tests.transforms.yaml_corpus import added_only, check_corpus, k8s_fixed

ID = "kc-004"


def workload(kind: str = "Deployment", replicas: str = "  replicas: 3\n", pod: str = "", selector: str = "") -> str:
    service = "  serviceName: web\n" if kind == "StatefulSet" else ""
    selector = selector or "  selector:\n    matchLabels:\n      app: web\n"
    return (f"apiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: web\nspec:\n{replicas}{service}{selector}"
            "  template:\n    metadata:\n      labels:\n        app: web\n        version: v1\n    spec:\n"
            f"{pod}      containers:\n      - name: web\n        image: nginx:1.27\n")


SPREAD = ("      topologySpreadConstraints:\n      - maxSkew: 1\n        topologyKey: kubernetes.io/hostname\n"
          "        whenUnsatisfiable: ScheduleAnyway\n        labelSelector:\n          matchLabels:\n            app: web\n")


def constraints(text: str) -> list:
    return [d for d in yaml.safe_load_all(text) if d][0]["spec"]["template"]["spec"]["topologySpreadConstraints"]


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "ReplicaSet"])
def test_a_constraint_on_the_hostname_with_the_workload_selector(kind):
    before = workload(kind)
    after = k8s_fixed(ID, before)
    assert after == before + SPREAD
    assert added_only(before, after)


def test_comments_between_documents_and_selector_expressions():
    selector = ("  selector:\n    matchLabels: {app: web}\n    matchExpressions:\n"
                "    - {key: version, operator: In, values: [v1, v2]}\n")
    before = "# the web tier\n" + workload(selector=selector) + "# end of web\n---\n# nothing here\n"
    after = k8s_fixed(ID, before)
    assert after.endswith("image: nginx:1.27\n      topologySpreadConstraints:\n      - maxSkew: 1\n"
                          "        topologyKey: kubernetes.io/hostname\n        whenUnsatisfiable: ScheduleAnyway\n"
                          "        labelSelector:\n          matchLabels:\n            app: web\n"
                          "          matchExpressions:\n          - key: version\n            operator: In\n"
                          "            values:\n            - v1\n            - v2\n# end of web\n---\n# nothing here\n")


def test_style_flow_pod_spec_and_crlf():
    before = workload().replace("    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n",
                                "    spec: {containers: [{name: web, image: 'nginx:1.27'}]}\n").replace("\n", "\r\n")
    after = k8s_fixed(ID, before)
    assert ("    spec: {containers: [{name: web, image: 'nginx:1.27'}], topologySpreadConstraints: [{maxSkew: 1, "
            "topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: "
            "{matchLabels: {app: web}}}]}\r\n") in after


def test_indented_sequences_are_followed():
    before = workload().replace("      - name: web\n        image", "        - name: web\n          image")
    after = k8s_fixed(ID, before)
    assert after.endswith("      topologySpreadConstraints:\n        - maxSkew: 1\n          topologyKey: kubernetes.io/hostname\n"
                          "          whenUnsatisfiable: ScheduleAnyway\n          labelSelector:\n            matchLabels:\n"
                          "              app: web\n")


def test_options():
    after = k8s_fixed(ID, workload(), options={"topology_key": "topology.kubernetes.io/zone",
                                               "when_unsatisfiable": "DoNotSchedule"})
    [constraint] = constraints(after)
    assert constraint["topologyKey"] == "topology.kubernetes.io/zone" and constraint["whenUnsatisfiable"] == "DoNotSchedule"
    outcome = run(ID, workload(), kind="k8s", options={"when_unsatisfiable": "Sometimes"})
    assert outcome.text == workload() and "must be one of" in reason_of(outcome)


def test_an_hpa_floor_of_two_counts(tmp_path, monkeypatch):
    hpa = ("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web}\nspec:\n"
           "  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  minReplicas: 2\n  maxReplicas: 5\n")
    layout = {"deploy.yaml": workload(replicas=""), "hpa.yaml": hpa}
    workspace = project(tmp_path, monkeypatch, layout)
    assert constraints(k8s_fixed(ID, layout["deploy.yaml"], path="deploy.yaml", workspace=workspace))


@pytest.mark.parametrize("text", [
    workload(replicas="  replicas: 1\n"),
    workload(replicas=""),
    workload(kind="DaemonSet"),
    workload(pod=SPREAD.replace("      topologySpreadConstraints:\n", "      topologySpreadConstraints:\n", 1)),
    workload(pod="      topologySpreadConstraints: []  # decided: none\n"),
    workload(pod="      affinity:\n        podAntiAffinity:\n          preferredDuringSchedulingIgnoredDuringExecution:\n"
                 "          - weight: 100\n            podAffinityTerm:\n              topologyKey: kubernetes.io/hostname\n"
                 "              labelSelector: {matchLabels: {app: web}}\n"),
])
def test_near_misses(text):
    outcome = run(ID, text, kind="k8s")
    assert outcome.text == text and not outcome.remaining


def test_pod_affinity_alone_does_not_spread():
    pod = ("      affinity:\n        podAffinity:\n          preferredDuringSchedulingIgnoredDuringExecution:\n"
           "          - weight: 1\n            podAffinityTerm:\n              topologyKey: kubernetes.io/hostname\n"
           "              labelSelector: {matchLabels: {app: cache}}\n")
    assert constraints(k8s_fixed(ID, workload(pod=pod)))


def test_kustomize_patches_are_left_alone(tmp_path, monkeypatch):
    patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 4\n  template:\n" \
            "    spec:\n      containers: [{name: web, image: nginx:1.28}]\n"
    layout = {"kustomization.yaml": "resources: [deploy.yaml]\npatchesStrategicMerge: [patch.yaml]\n",
              "patch.yaml": patch, "deploy.yaml": workload()}
    workspace = project(tmp_path, monkeypatch, layout)
    assert run(ID, patch, kind="k8s", path="patch.yaml", workspace=workspace).text == patch


def test_findings_are_unsafe():
    outcome = run(ID, workload(), kind="k8s", unsafe=False)
    assert outcome.text == workload() and outcome.remaining[0].safety is Safety.UNSAFE


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, line_ok=lambda old, new: old is None)
    assert counts["applied"] >= 10
