"""kc-001: ConfigMap for plain config."""
from __future__ import annotations

import yaml

from tests.corpus import needs_corpus
from tests.helpers import fix, k8s_errors, run
from tests.transforms.crossfile import project
from tests.transforms.yaml_corpus import changed_lines, check_corpus

ID = "kc-001"

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  namespace: store
spec:
  selector:
    matchLabels:
      app: shop
  template:
    metadata:
      labels:
        app: shop
    spec:
      containers:
        - name: shop
          image: example/shop:1.0.0
          env:
            - name: PORT
              value: "8080"
            - name: LOG_LEVEL   # how chatty
              value: info
            - name: DB_PASSWORD
              value: hunter2-Prod
            - name: WORKERS
              value: '4'
            - name: POD_IP
              valueFrom:
                fieldRef:
                  fieldPath: status.podIP
"""


def configmaps(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d and d.get("kind") == "ConfigMap"]


def containers(text: str, kind: str = "Deployment") -> list[dict]:
    doc = next(d for d in yaml.safe_load_all(text) if d and d.get("kind") == kind)
    spec = doc["spec"]["template"]["spec"] if kind != "Pod" else doc["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def test_moves_plain_values_and_keeps_secrets_and_value_from():
    after = fix(ID, DEPLOY, kind="k8s")
    assert not k8s_errors(after)
    [cm] = configmaps(after)
    assert cm["metadata"] == {"name": "shop-config", "namespace": "store"}
    assert cm["data"] == {"PORT": "8080", "LOG_LEVEL": "info", "WORKERS": "4"}
    [c] = containers(after)
    assert [e["name"] for e in c["env"]] == ["DB_PASSWORD", "POD_IP"]
    assert c["envFrom"] == [{"configMapRef": {"name": "shop-config"}}]
    # values keep their exact text (quotes included); only env lines and the new document change
    assert '  PORT: "8080"\n  LOG_LEVEL: info\n  DB_PASSWORD' not in after
    assert "  PORT: \"8080\"\n  LOG_LEVEL: info\n  WORKERS: '4'\n" in after
    for old, new in changed_lines(DEPLOY, after):
        assert old is None or any(k in old for k in ("PORT", "LOG_LEVEL", "WORKERS", "value: \"8080\"", "value: info", "value: '4'"))


def test_the_example_shape_exactly():
    before = DEPLOY.replace("            - name: DB_PASSWORD\n              value: hunter2-Prod\n", "")
    after = fix(ID, before, kind="k8s")
    assert after.endswith(
        "          env:\n"
        "            - name: POD_IP\n"
        "              valueFrom:\n"
        "                fieldRef:\n"
        "                  fieldPath: status.podIP\n"
        "          envFrom:\n"
        "            - configMapRef:\n"
        "                name: shop-config\n"
        "---\n"
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: shop-config\n"
        "  namespace: store\n"
        "data:\n"
        "  PORT: \"8080\"\n"
        "  LOG_LEVEL: info\n"
        "  WORKERS: '4'\n"
    )


def test_all_entries_moved_replaces_env_in_place():
    before = DEPLOY[:DEPLOY.index("            - name: DB_PASSWORD")] + "            - name: WORKERS\n              value: '4'\n"
    after = fix(ID, before, kind="k8s")
    assert "env:" not in after
    [c] = containers(after)
    assert c["envFrom"] == [{"configMapRef": {"name": "shop-config"}}]
    assert not k8s_errors(after)


def test_existing_envfrom_gets_the_new_source_last():
    before = DEPLOY.replace("          env:\n", "          envFrom:\n            - secretRef:\n                name: shop-creds\n          env:\n")
    after = fix(ID, before, kind="k8s")
    [c] = containers(after)
    assert c["envFrom"] == [{"secretRef": {"name": "shop-creds"}}, {"configMapRef": {"name": "shop-config"}}]
    assert not k8s_errors(after)


def test_unquoted_numbers_are_quoted_as_strings():
    before = DEPLOY.replace('value: "8080"', "value: 8080").replace("value: '4'", "value: 4")
    after = fix(ID, before, kind="k8s")
    assert '  PORT: "8080"\n' in after and '  WORKERS: "4"\n' in after
    assert configmaps(after)[0]["data"]["PORT"] == "8080"


def test_below_min_is_left_alone():
    before = DEPLOY.replace("            - name: WORKERS\n              value: '4'\n", "")
    assert run(ID, before, kind="k8s").text == before
    assert fix(ID, before, kind="k8s", options={"min": 2}) != before


def test_references_and_expansions_stay_inline():
    before = DEPLOY.replace(
        "            - name: WORKERS\n              value: '4'\n",
        "            - name: WORKERS\n              value: '4'\n"
        "            - name: URL\n              value: http://$(POD_IP):$(PORT)/\n"
        "            - name: LATE\n              value: x\n"
        "            - name: EARLY_REF\n              value: $(LATE2)\n"
        "            - name: LATE2\n              value: y\n",
    )
    after = fix(ID, before, kind="k8s")
    [c] = containers(after)
    inline = [e["name"] for e in c["env"]]
    # $(…) values never expand from a ConfigMap; LATE2 is referenced before it is defined (moving
    # it into envFrom would make that reference start expanding)
    assert "URL" in inline and "EARLY_REF" in inline and "LATE2" in inline
    assert set(configmaps(after)[0]["data"]) == {"PORT", "LOG_LEVEL", "WORKERS", "LATE"}


def test_duplicate_names_stay_inline():
    before = DEPLOY.replace("            - name: WORKERS\n              value: '4'\n",
                            "            - name: WORKERS\n              value: '4'\n            - name: PORT\n              value: '9090'\n"
                            "            - name: A\n              value: a\n")
    after = fix(ID, before, kind="k8s")
    [c] = containers(after)
    assert [e["name"] for e in c["env"]].count("PORT") == 2


def test_several_containers_get_one_configmap_each():
    sidecar = ("        - name: proxy\n          image: envoyproxy/envoy:v1.31.0\n          env:\n"
               "            - {name: A, value: '1'}\n            - {name: B, value: two}\n            - {name: C, value: three}\n")
    before = DEPLOY + sidecar
    after = fix(ID, before, kind="k8s")
    names = [cm["metadata"]["name"] for cm in configmaps(after)]
    assert names == ["shop-shop-config", "shop-proxy-config"]
    shop, proxy = containers(after)
    assert proxy["envFrom"] == [{"configMapRef": {"name": "shop-proxy-config"}}]
    assert "env" not in proxy
    assert not k8s_errors(after)


def test_init_containers_cronjob_and_pod():
    cron = """\
apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          initContainers:
          - name: wait
            image: busybox:1.37
            env:
            - name: A
              value: a
            - name: B
              value: b
            - name: C
              value: c
          containers:
          - name: run
            image: example/report:3.1
"""
    after = fix(ID, cron, kind="k8s")
    assert configmaps(after)[0]["metadata"]["name"] == "report-config"
    assert "envFrom:\n            - configMapRef:\n                name: report-config\n" in after
    assert not k8s_errors(after)


def test_flow_env_list():
    before = DEPLOY.replace(
        DEPLOY[DEPLOY.index("          env:"):],
        "          env: [{name: A, value: a}, {name: B, value: b}, {name: API_TOKEN, value: tok3n-Secret-X}, {name: C, value: c}]\n",
    )
    after = fix(ID, before, kind="k8s")
    [c] = containers(after)
    assert c["env"] == [{"name": "API_TOKEN", "value": "tok3n-Secret-X"}]
    assert not k8s_errors(after)


def test_crlf_and_four_space_indent():
    before = DEPLOY.replace("\n", "\r\n")
    after = fix(ID, before, kind="k8s")
    assert "\n" not in after.replace("\r\n", "")
    four = """\
apiVersion: v1
kind: Pod
metadata:
    name: p
spec:
    containers:
    -   name: c
        image: nginx:1.27
        env:
        -   name: A
            value: a
        -   name: B
            value: b
        -   name: C
            value: c
"""
    after = fix(ID, four, kind="k8s")
    assert "        envFrom:\n        - configMapRef:\n              name: p-config\n" in after
    assert "data:\n    A: a\n" in after


def test_anchored_env_is_reported():
    before = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata:
    name: a
  spec:
    containers:
    - name: c
      image: nginx:1.27
      env: &common
      - {name: A, value: a}
      - {name: B, value: b}
      - {name: C, value: c}
    - name: d
      image: nginx:1.27
      env: *common
"""
    result = run(ID, before, kind="k8s")
    assert result.text == before
    assert all(f.fix is None and f.reason for f in result.remaining) and result.remaining


def test_taken_name_uses_the_container_name():
    before = DEPLOY + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop-config\n  namespace: store\ndata:\n  X: y\n"
    after = fix(ID, before, kind="k8s")
    assert [cm["metadata"]["name"] for cm in configmaps(after)] == ["shop-shop-config", "shop-config"]


def test_key_another_envfrom_source_defines_stays_inline(tmp_path, monkeypatch):
    layout = {
        "app.yaml": DEPLOY.replace("          env:\n", "          envFrom:\n            - configMapRef:\n                name: base\n          env:\n")
        + "            - name: X\n              value: x\n",
        "base.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base\n  namespace: store\ndata:\n  LOG_LEVEL: warn\n",
    }
    ws = project(tmp_path, monkeypatch, layout)
    result = run(ID, layout["app.yaml"], kind="k8s", path="app.yaml", workspace=ws)
    [c] = containers(result.text)
    assert "LOG_LEVEL" in [e["name"] for e in c["env"]]
    assert "LOG_LEVEL (envFrom ConfigMap base defines it too)" in result.applied[0].message


KUSTOMIZATION_JSON_PATCH = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- app.yaml
patches:
- target:
    kind: Deployment
    name: shop
  patch: |-
    - op: add
      path: /spec/template/spec/containers/0/env/-
      value: {name: BASE_URL, value: /shop}
"""

KUSTOMIZATION_DELETE_PATCH = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- app.yaml
patches:
- patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: shop
    spec:
      template:
        spec:
          containers:
          - name: shop
            env:
            - name: LOG_LEVEL
              $patch: delete
"""


def test_kustomize_json_patch_on_env_is_reported(tmp_path, monkeypatch):
    ws = project(tmp_path, monkeypatch, {"app.yaml": DEPLOY, "kustomization.yaml": KUSTOMIZATION_JSON_PATCH})
    result = run(ID, DEPLOY, kind="k8s", path="app.yaml", workspace=ws)
    assert result.text == DEPLOY
    [finding] = result.remaining
    assert finding.fix is None and "by position" in finding.reason


def test_kustomize_delete_patch_keeps_that_entry_inline(tmp_path, monkeypatch):
    before = DEPLOY + "            - name: EXTRA\n              value: e\n"
    ws = project(tmp_path, monkeypatch, {"app.yaml": before, "kustomization.yaml": KUSTOMIZATION_DELETE_PATCH})
    after = fix(ID, before, kind="k8s", path="app.yaml", workspace=ws)
    [c] = containers(after)
    assert "LOG_LEVEL" in [e["name"] for e in c["env"]]
    assert set(configmaps(after)[0]["data"]) == {"PORT", "WORKERS", "EXTRA"}


def test_patch_files_are_not_workloads(tmp_path, monkeypatch):
    patch = DEPLOY
    kust = "resources:\n- base.yaml\npatches:\n- path: patch.yaml\n"
    ws = project(tmp_path, monkeypatch, {"patch.yaml": patch, "kustomization.yaml": kust, "base.yaml": DEPLOY})
    assert run(ID, patch, kind="k8s", path="patch.yaml", workspace=ws).text == patch


@needs_corpus
def test_corpus():
    counts = check_corpus(ID)
    assert counts["applied"] >= 10, counts
