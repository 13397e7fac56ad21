"""kc-003: Immutable ConfigMaps and Secrets."""
from __future__ import annotations

import yaml

from orchfix import api
from orchfix.text import apply_edits
from tests.corpus import needs_corpus
from tests.helpers import fix, k8s_errors, run
from tests.transforms.crossfile import project
from tests.transforms.yaml_corpus import changed_lines, check_corpus

ID = "kc-003"

CM = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: "web-settings"   # settings of the web app
  namespace: shop
data:
  LOG_LEVEL: info
  app.ini: |
    [server]
    port = 8080
"""

SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: web-tls
  namespace: shop
type: kubernetes.io/tls
data:
  tls.crt: Y2VydA==
  tls.key: a2V5
"""

USERS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      imagePullSecrets:
        - name: web-tls
      initContainers:
        - name: init
          image: busybox:1.37
          envFrom:
            - configMapRef:
                name: web-settings
      containers:
        - name: web
          image: nginx:1.27
          env:
            - name: LOG_LEVEL
              valueFrom:
                configMapKeyRef:
                  name: web-settings
                  key: LOG_LEVEL
          volumeMounts:
            - {name: conf, mountPath: /etc/web}
            - {name: all, mountPath: /etc/all}
      volumes:
        - name: conf
          configMap:
            name: 'web-settings'
        - name: all
          projected:
            sources:
              - configMap: {name: web-settings}
              - secret: {name: web-tls}
        - name: certs
          secret:
            secretName: web-tls
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: shop
spec:
  tls:
    - hosts: [shop.example.org]
      secretName: web-tls
  defaultBackend:
    service: {name: web, port: {number: 80}}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
  namespace: shop
secrets:
  - name: web-tls
"""


def obj(text: str, kind: str) -> dict:
    return next(d for d in yaml.safe_load_all(text) if d and d.get("kind") == kind)


def test_same_file_rename_updates_every_reference_kind():
    before = CM + "---\n" + SECRET + "---\n" + USERS
    after = fix(ID, before, kind="k8s")
    assert not k8s_errors(after)
    cm, secret = obj(after, "ConfigMap"), obj(after, "Secret")
    assert cm["immutable"] is True and secret["immutable"] is True
    cm_name, secret_name = cm["metadata"]["name"], secret["metadata"]["name"]
    assert cm_name.startswith("web-settings-") and len(cm_name) == len("web-settings-") + 10
    assert after.count(cm_name) == 5 and "web-settings\n" not in after and "'web-settings'" not in after
    assert after.count(secret_name) == 6
    # quotes and the comment of the renamed name survive
    assert f'  name: "{cm_name}"   # settings of the web app\n' in after
    assert f"name: '{cm_name}'" in after
    for old, new in changed_lines(before, after):
        assert old is None and new == "immutable: true" or "web-settings" in old or "web-tls" in old


def test_hash_is_the_content_and_stable():
    one = fix(ID, CM, kind="k8s")
    two = fix(ID, CM.replace("LOG_LEVEL: info", "LOG_LEVEL: 'info'"), kind="k8s")
    assert obj(one, "ConfigMap")["metadata"]["name"] == obj(two, "ConfigMap")["metadata"]["name"]
    three = fix(ID, CM.replace("port = 8080", "port = 8081"), kind="k8s")
    assert obj(one, "ConfigMap")["metadata"]["name"] != obj(three, "ConfigMap")["metadata"]["name"]


def test_references_in_other_files_are_side_changes(tmp_path, monkeypatch):
    layout = {"config/cm.yaml": CM, "app/deploy.yaml": USERS, "other/elsewhere.yaml": USERS.replace("namespace: shop", "namespace: other")}
    ws = project(tmp_path, monkeypatch, layout)
    result = run(ID, CM, kind="k8s", path="config/cm.yaml", workspace=ws)
    assert not result.errors
    new = obj(result.text, "ConfigMap")["metadata"]["name"]
    assert set(result.side) == {"app/deploy.yaml"}
    side = result.side["app/deploy.yaml"]
    assert side.count(new) == 4 and not k8s_errors(side)
    assert [line for line in changed_lines(USERS, side) if "web-settings" not in line[0]] == []


def test_whole_run_writes_both_files_once_and_settles(tmp_path, monkeypatch):
    layout = {"cm.yaml": CM + "---\n" + SECRET, "deploy.yaml": USERS}
    project(tmp_path, monkeypatch, layout)
    result = api.run(["."], apply=True, select=[ID, "kc-001"], unsafe=True, jobs=1)
    assert not result.errors
    deploy = (tmp_path / "deploy.yaml").read_text()
    cm = (tmp_path / "cm.yaml").read_text()
    cm_name = obj(cm, "ConfigMap")["metadata"]["name"]
    secret_name = obj(cm, "Secret")["metadata"]["name"]
    assert deploy.count(cm_name) == 4 and deploy.count(secret_name) == 5
    again = api.run(["."], select=[ID, "kc-001"], unsafe=True, jobs=1)
    assert not again.has_changes()


def test_rename_false_only_marks_immutable():
    result = run(ID, CM, kind="k8s", options={"rename": False})
    assert result.text == CM + "immutable: true\n"
    assert "needs a new name" in result.applied[0].message


def test_left_alone():
    explicit = CM + "immutable: false\n"
    empty = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: filled-later\n"
    token = SECRET.replace("kubernetes.io/tls", "kubernetes.io/service-account-token")
    templated = CM.replace('"web-settings"', "${NAME}")
    for text in (explicit, empty, token, templated):
        assert run(ID, text, kind="k8s").text == text


def test_already_hashed_names_only_get_immutable():
    hashed = CM.replace('"web-settings"', "web-settings-5f7b9c2kdm")
    after = fix(ID, hashed, kind="k8s")
    assert after == hashed + "immutable: true\n"


def reason(result) -> str:
    [finding] = [f for f in result.remaining if f.fix is None]
    assert result.text == result.original
    return finding.reason


def test_mentions_block_the_rename(tmp_path, monkeypatch):
    args = USERS.replace("          image: nginx:1.27\n", "          image: nginx:1.27\n          args: [--config=$(NS)/web-settings]\n", 1)
    assert "args of" in reason(run(ID, CM + "---\n" + args, kind="k8s")) or "(args)" in reason(run(ID, CM + "---\n" + args, kind="k8s"))
    cr = "apiVersion: example.io/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: shop\nspec:\n  settingsRef: web-settings\n"
    assert "Widget w" in reason(run(ID, CM + "---\n" + cr, kind="k8s"))
    rbac = ("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r\n  namespace: shop\nrules:\n"
            "- apiGroups: ['']\n  resources: [configmaps]\n  resourceNames: [web-settings]\n  verbs: [get]\n")
    assert "Role r" in reason(run(ID, CM + "---\n" + rbac, kind="k8s"))
    variable = USERS.replace("name: 'web-settings'", "name: $(SETTINGS)")
    assert "from a variable" in reason(run(ID, CM + "---\n" + variable, kind="k8s"))
    # a Helm chart, a script, a kustomization's inline patch
    layout = {
        "cm.yaml": CM,
        "chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.0.0\n",
        "chart/templates/deploy.yaml": "{{- if .Values.on }}\nenvFrom:\n  - configMapRef: {name: web-settings}\n{{- end }}\n",
    }
    ws = project(tmp_path, monkeypatch, layout)
    assert "a Helm chart" in reason(run(ID, CM, kind="k8s", path="cm.yaml", workspace=ws))


def test_script_and_kustomize_mentions(tmp_path, monkeypatch):
    layout = {"cm.yaml": CM, "deploy.sh": "#!/bin/sh\nkubectl -n shop get configmap web-settings\n"}
    ws = project(tmp_path, monkeypatch, layout)
    assert "deploy.sh" in reason(run(ID, CM, kind="k8s", path="cm.yaml", workspace=ws))
    (tmp_path / "deploy.sh").unlink()
    kust = ("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [cm.yaml]\nconfigMapGenerator:\n"
            "- name: web-settings\n  behavior: merge\n  literals: [A=b]\n")
    ws = project(tmp_path, monkeypatch, {"cm.yaml": CM, "kustomization.yaml": kust})
    assert "Kustomization" in reason(run(ID, CM, kind="k8s", path="cm.yaml", workspace=ws))


def test_namespace_mismatch():
    elsewhere = USERS.replace("namespace: shop", "namespace: other")
    after = fix(ID, CM + "---\n" + elsewhere, kind="k8s")
    assert after.count("web-settings-") == 1  # only the object: the refs are another namespace's
    unset = USERS.replace("  namespace: shop\n", "")
    assert "namespace" in reason(run(ID, CM + "---\n" + unset, kind="k8s"))


def test_twins_in_other_folders_keep_their_references(tmp_path, monkeypatch):
    other = CM.replace("port = 8080", "port = 9090")
    layout = {"a/cm.yaml": CM, "a/deploy.yaml": USERS, "b/cm.yaml": other, "b/deploy.yaml": USERS}
    ws = project(tmp_path, monkeypatch, layout)
    result = run(ID, CM, kind="k8s", path="a/cm.yaml", workspace=ws)
    assert set(result.side) == {"a/deploy.yaml"}
    # a reference as near to two definitions with other content cannot be attributed
    layout = {"a/cm.yaml": CM, "b/cm.yaml": other, "deploy.yaml": USERS}
    ws = project(tmp_path, monkeypatch, layout)
    assert "as near to another definition" in reason(run(ID, CM, kind="k8s", path="a/cm.yaml", workspace=ws))


def test_system_namespace_is_reported():
    text = CM.replace("namespace: shop", "namespace: kube-system")
    assert "kube-system" in reason(run(ID, text, kind="k8s"))


def test_crlf_flow_and_list():
    crlf = (CM + "---\n" + USERS).replace("\n", "\r\n")
    after = fix(ID, crlf, kind="k8s")
    assert "\n" not in after.replace("\r\n", "") and "immutable: true\r\n" in after
    flow = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: flat}\ndata: {A: b}\n"
    after = fix(ID, flow, kind="k8s")
    assert obj(after, "ConfigMap")["immutable"] is True and not k8s_errors(after)
    listed = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: l\n  data:\n    A: b\n"
    after = fix(ID, listed, kind="k8s")
    item = yaml.safe_load(after)["items"][0]
    assert item["immutable"] is True and item["metadata"]["name"].startswith("l-")


def test_edits_apply_as_side_texts(tmp_path, monkeypatch):
    # side edits are computed on the text the run sees, so they splice cleanly
    ws = project(tmp_path, monkeypatch, {"cm.yaml": CM, "deploy.yaml": USERS})
    [finding] = [f for f in run(ID, CM, kind="k8s", path="cm.yaml", workspace=ws).applied]
    [side] = finding.fix.side
    assert apply_edits(USERS, side.edits).count("web-settings-") == 4


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, line_ok=lambda old, new: old is None and new.strip() == "immutable: true" or new is not None and old is not None)
    assert counts["applied"] >= 3, counts
