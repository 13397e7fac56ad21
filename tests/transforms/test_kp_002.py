"""kp-002: cpu/memory requests and limits on every container."""
from __future__ import annotations

import re

import pytest

from orchfix.transform import Safety
from tests.corpus import needs_corpus
from tests.helpers import k8s_errors, reason_of, run
from tests.transforms.crossfile import project
from tests.transforms.yaml_corpus import added_only, check_corpus, inserted, k8s_fixed

ID = "kp-002"
FULL = """\
  resources:
    requests:
      cpu: 100m
      memory: 128Mi
    limits:
      cpu: 500m
      memory: 256Mi
"""


def deployment(containers: str, kind: str = "Deployment") -> str:
    return f"""\
apiVersion: apps/v1
kind: {kind}
metadata:
  name: web
spec:
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
{containers}"""


def indent(text: str, by: int) -> str:
    return "".join(" " * by + line if line.strip() else line for line in text.splitlines(keepends=True))


def test_adds_the_whole_block_to_a_container_without_resources():
    before = deployment("      containers:\n      - name: web\n        image: nginx:1.27\n")
    after = k8s_fixed(ID, before)
    assert after == before + indent(FULL, 6)
    assert added_only(before, after)


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"])
def test_every_workload_kind_and_init_containers(kind):
    containers = "      initContainers:\n      - name: init\n        image: busybox:1.36\n" \
                 "      containers:\n      - name: web\n        image: nginx:1.27\n"
    before = deployment(containers, kind)
    if kind == "StatefulSet":
        before = before.replace("spec:\n  selector", "spec:\n  serviceName: web\n  selector")
    after = k8s_fixed(ID, before)
    assert after.count("resources:") == 2 and after.count("memory: 256Mi") == 2
    assert not k8s_errors(after)


def test_pod_job_cronjob_and_list_items():
    before = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: p}
  spec:
    containers:
    - name: a
      image: busybox:1.36
- apiVersion: batch/v1
  kind: CronJob
  metadata: {name: c}
  spec:
    schedule: "0 * * * *"
    jobTemplate:
      spec:
        template:
          spec:
            restartPolicy: OnFailure
            containers:
            - name: run
              image: busybox:1.36
---
apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: run
        image: busybox:1.36
"""
    after = k8s_fixed(ID, before)
    assert after.count("cpu: 100m") == 3
    assert "      image: busybox:1.36\n" + indent(FULL, 4) + "- apiVersion: batch/v1" in after
    assert added_only(before, after)


def test_ephemeral_containers_are_left_alone():
    before = """\
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: a
    image: busybox:1.36
    resources:
      requests: {cpu: 100m, memory: 64Mi}
      limits: {cpu: 200m, memory: 64Mi}
  ephemeralContainers:
  - name: debug
    image: busybox:1.36
"""
    assert run(ID, before, kind="k8s").text == before


@pytest.mark.parametrize(("resources", "expected"), [
    # a limit only: the request Kubernetes already uses (the limit) is written, quoting kept
    ('resources:\n          limits:\n            cpu: "2"\n            memory: 1Gi\n',
     'resources:\n          limits:\n            cpu: "2"\n            memory: 1Gi\n'
     '          requests:\n            cpu: "2"\n            memory: 1Gi\n'),
    # a request above the default limit: the limit follows the request
    ("resources:\n          requests:\n            cpu: 2\n            memory: 1Gi\n",
     "resources:\n          requests:\n            cpu: 2\n            memory: 1Gi\n"
     "          limits:\n            cpu: 2\n            memory: 1Gi\n"),
    # quantities compare by value: 0.25 cores is below 500m, 1e8 bytes below 256Mi
    ("resources:\n          requests:\n            cpu: 0.25\n            memory: 1e8\n",
     "resources:\n          requests:\n            cpu: 0.25\n            memory: 1e8\n"
     "          limits:\n            cpu: 500m\n            memory: 256Mi\n"),
    # an addition to `requests` and a new `limits` after it: one pass, inner keys first
    ("resources:\n          requests:\n            cpu: 250m\n",
     "resources:\n          requests:\n            cpu: 250m\n            memory: 128Mi\n"
     "          limits:\n            cpu: 500m\n            memory: 256Mi\n"),
    # the other way round: limits last, requests missing
    ("resources:\n          limits:\n            memory: 512Mi\n",
     "resources:\n          limits:\n            memory: 512Mi\n            cpu: 500m\n"
     "          requests:\n            cpu: 100m\n            memory: 512Mi\n"),
    # empty and null sections become blocks
    ("resources: {}\n", "resources:\n          requests:\n            cpu: 100m\n            memory: 128Mi\n"
     "          limits:\n            cpu: 500m\n            memory: 256Mi\n"),
    ("resources:\n          requests:\n          limits: {}\n",
     "resources:\n          requests:\n            cpu: 100m\n            memory: 128Mi\n"
     "          limits:\n            cpu: 500m\n            memory: 256Mi\n"),
    # flow style stays flow
    ("resources: {requests: {cpu: 1, memory: 512Mi}}\n",
     "resources: {requests: {cpu: 1, memory: 512Mi}, limits: {cpu: 1, memory: 512Mi}}\n"),
    ("resources: {limits: {cpu: 100m}, requests: {memory: 1Gi}}  # sized\n",
     "resources: {limits: {cpu: 100m, memory: 1Gi}, requests: {memory: 1Gi, cpu: 100m}}  # sized\n"),
])
def test_only_the_missing_keys_are_added(resources, expected):
    head = deployment("      containers:\n      - name: web\n        image: nginx:1.27\n        ")
    after = k8s_fixed(ID, head + resources)
    assert after == head + expected
    run_again = run(ID, after, kind="k8s")
    assert not run_again.applied and not run_again.remaining


def test_limits_never_below_requests_with_any_options():
    before = deployment("      containers:\n      - name: web\n        image: nginx:1.27\n")
    after = k8s_fixed(ID, before, options={"requests_cpu": "1", "limits_cpu": "500m", "requests_memory": "1Gi",
                                           "limits_memory": "2Gi"})
    assert "requests:\n            cpu: 1\n            memory: 1Gi\n          limits:\n            cpu: 1\n" \
           "            memory: 2Gi\n" in after


def test_flow_containers_and_four_space_indent():
    before = """\
apiVersion: v1
kind: Pod
metadata:
    name: p
spec:
    containers:
        -   name: a
            image: busybox:1.36
    initContainers: [{name: i, image: "busybox:1.36"}]
"""
    after = k8s_fixed(ID, before)
    assert "            image: busybox:1.36\n            resources:\n                requests:\n" \
           "                    cpu: 100m\n" in after
    assert ('initContainers: [{name: i, image: "busybox:1.36", resources: {requests: {cpu: 100m, memory: 128Mi}, '
            "limits: {cpu: 500m, memory: 256Mi}}}]\n") in after


def test_crlf_and_comments_are_kept():
    before = deployment("      containers:\n      # the app\n      - name: web  # main\n        image: nginx:1.27\n"
                        "        resources:\n          requests:  # sized by load tests\n            cpu: 250m\n"
                        "# trailing comment\n").replace("\n", "\r\n")
    after = k8s_fixed(ID, before)
    assert "\r\n" in after and "\n" not in after.replace("\r\n", "")
    assert "            cpu: 250m\r\n            memory: 128Mi\r\n          limits:\r\n" in after
    assert after.endswith("memory: 256Mi\r\n# trailing comment\r\n")
    assert added_only(before.replace("\r\n", "\n"), after.replace("\r\n", "\n"))


def test_complete_containers_and_other_kinds_are_near_misses():
    complete = deployment("      containers:\n      - name: web\n        image: nginx:1.27\n"
                          "        resources:\n          requests: {cpu: 100m, memory: 1Gi}\n"
                          "          limits: {cpu: 2, memory: 1Gi}\n")
    config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  containers: |\n    - name: a\n"
    template = "apiVersion: v1\nkind: PodTemplate\nmetadata: {name: t}\ntemplate:\n  spec:\n    containers: [{name: a, image: b}]\n"
    for text in (complete, config, template):
        outcome = run(ID, text, kind="k8s")
        assert outcome.text == text and not outcome.remaining


def test_anchors_merge_keys_and_aliases():
    before = """\
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - &base
    name: a
    image: busybox:1.36
  - <<: *base
    name: b
  - *base
"""
    after = k8s_fixed(ID, before)
    # the anchored container is completed once (its alias is the same container); the merge is left
    assert after.count("resources:") == 1
    assert "  - <<: *base\n    name: b\n  - *base\n" in after


def test_a_request_that_is_not_a_quantity_is_reported():
    before = deployment("      containers:\n      - name: web\n        image: nginx:1.27\n"
                        "        resources:\n          requests:\n            cpu: ${CPU}\n            memory: 64Mi\n"
                        "          limits:\n            memory: 64Mi\n")
    outcome = run(ID, before, kind="k8s")
    assert outcome.text == before
    assert "not a quantity" in reason_of(outcome)


def test_a_limit_range_in_the_namespace_is_reported():
    before = ("apiVersion: v1\nkind: LimitRange\nmetadata: {name: defaults, namespace: shop}\nspec:\n  limits:\n"
              "  - type: Container\n    default: {cpu: 500m, memory: 256Mi}\n---\n"
              "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  containers:\n"
              "  - name: a\n    image: busybox:1.36\n")
    outcome = run(ID, before, kind="k8s")
    assert outcome.text == before and "LimitRange defaults" in reason_of(outcome)
    # another namespace has no such defaults
    other = before.replace("namespace: shop}\nspec:\n  containers", "namespace: web}\nspec:\n  containers")
    assert run(ID, other, kind="k8s").applied


def test_kustomize_patches_are_left_alone(tmp_path, monkeypatch):
    patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n" \
            "      containers:\n      - name: web\n        image: nginx:1.28\n"
    layout = {"kustomization.yaml": "resources: [deploy.yaml]\npatches:\n- path: patch.yaml\n", "patch.yaml": patch,
              "deploy.yaml": deployment("      containers:\n      - name: web\n        image: nginx:1.27\n")}
    workspace = project(tmp_path, monkeypatch, layout)
    assert run(ID, patch, kind="k8s", path="patch.yaml", workspace=workspace).text == patch
    assert run(ID, layout["deploy.yaml"], kind="k8s", path="deploy.yaml", workspace=workspace).applied


def test_findings_are_unsafe():
    outcome = run(ID, deployment("      containers:\n      - name: web\n        image: nginx:1.27\n"), kind="k8s",
                  unsafe=False)
    assert not outcome.applied and outcome.remaining[0].safety is Safety.UNSAFE


KEY = re.compile(r"^\s*(?:-\s+)?(resources|requests|limits|cpu|memory)\s*:")


def belongs_to_the_fix(old: str | None, new: str | None) -> bool:
    """An added resources/requests/limits/cpu/memory line, `resources: {}` opened into a block,
    or a flow line that only gained such entries."""
    if old is None:
        return bool(KEY.match(new))
    if new is None:
        return False
    if KEY.match(old) and KEY.match(new) and old.split(":")[0] == new.split(":")[0]:
        return True
    extra = inserted(old, new)
    return extra is not None and bool(re.search(r"\b(resources|requests|limits|cpu|memory)\b", extra))


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, line_ok=belongs_to_the_fix)
    assert counts["applied"] > 100
