"""sc-005: a hardened securityContext (K8s) and cap_drop/no-new-privileges (Compose)."""
from __future__ import annotations

import pytest
import yaml

from orchfix.transform import Safety
from tests.corpus import needs_corpus
from tests.helpers import k8s_errors, run
from tests.transforms.compose_cases import fixed, unchanged
from tests.transforms.crossfile import project
from tests.transforms.yaml_corpus import added_only, check_corpus, k8s_fixed

ID = "sc-005"
HARDENED = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": True}


def pod(containers: str, spec: str = "") -> str:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
{spec}{containers}"""


def contexts(text: str) -> dict[str, dict]:
    """Container name → its securityContext, over every object of a manifest."""
    found = {}
    for data in yaml.safe_load_all(text):
        spec = (data or {}).get("spec", {}).get("template", {}).get("spec") or (data or {}).get("spec", {})
        for key in ("initContainers", "containers"):
            for c in spec.get(key) or []:
                found[c["name"]] = c.get("securityContext")
    return found


# --- Kubernetes -------------------------------------------------------------------------------------

def test_a_container_without_security_context_gets_a_new_one():
    before = pod("      containers:\n        - name: app\n          image: acme/app:1.0\n          ports:\n            - containerPort: 8080\n")
    after = k8s_fixed(ID, before)
    assert after == before + (
        "          securityContext:\n            allowPrivilegeEscalation: false\n            capabilities:\n"
        "              drop:\n                - ALL\n            readOnlyRootFilesystem: true\n")
    assert added_only(before, after)


def test_runasnonroot_needs_a_verifiable_user():
    before = pod("      containers:\n      - name: app\n        image: acme/app:1.0\n")
    outcome = run(ID, before, kind="k8s")
    assert contexts(outcome.text)["app"] == HARDENED
    [left] = outcome.remaining
    assert left.fix is None and left.reason.startswith("runAsNonRoot: whether acme/app:1.0 runs as a numeric non-root user")
    # a pod-level non-root uid lets the kubelet verify it
    after = k8s_fixed(ID, pod("      containers:\n      - name: app\n        image: acme/app:1.0\n",
                             "      securityContext:\n        runAsUser: 10001\n"))
    assert contexts(after)["app"] == {**HARDENED, "runAsNonRoot": True}
    # the option for clusters whose images all declare a numeric USER
    after = k8s_fixed(ID, before, options={"non_root": "always"})
    assert contexts(after)["app"] == {**HARDENED, "runAsNonRoot": True}


def test_distroless_nonroot_is_verifiable_and_root_images_are_reported():
    before = pod("      containers:\n      - name: a\n        image: gcr.io/distroless/static-debian12:nonroot\n"
                 "      - name: b\n        image: node:22\n      - name: c\n        image: elasticsearch:8.15.0\n")
    outcome = run(ID, before, kind="k8s")
    got = contexts(outcome.text)
    assert got["a"] == {**HARDENED, "runAsNonRoot": True}
    assert "runAsNonRoot" not in got["b"] and "runAsNonRoot" not in got["c"]
    reasons_ = {f.reason.split(":")[0] + ":" + f.reason.split(":")[1] for f in outcome.remaining}
    assert any("node:22 runs as root by default" in f.reason for f in outcome.remaining), reasons_
    assert any("user name elasticsearch" in f.reason for f in outcome.remaining)


def test_existing_settings_are_kept_and_completed():
    before = pod("""\
      securityContext:
        runAsNonRoot: true
      containers:
      - name: web
        image: acme/web:2
        securityContext:
          readOnlyRootFilesystem: false   # writes its cache
          capabilities:
            add: ["NET_BIND_SERVICE"]
            drop:
            - NET_RAW
""")
    after = k8s_fixed(ID, before)
    assert contexts(after)["web"] == {"readOnlyRootFilesystem": False, "allowPrivilegeEscalation": False,
                                      "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["NET_RAW", "ALL"]}}
    assert "# writes its cache" in after and added_only(before, after)


def test_conflicting_keys_are_skipped():
    before = pod("""\
      containers:
      - name: priv
        image: acme/agent:1
        securityContext:
          privileged: true
          runAsUser: 0
      - name: admin
        image: acme/tool:1
        securityContext:
          capabilities:
            add: [SYS_ADMIN]
          allowPrivilegeEscalation: true
""")
    after = k8s_fixed(ID, before)
    got = contexts(after)
    # privileged: no allowPrivilegeEscalation (rejected), no drop (ineffective); uid 0: no runAsNonRoot
    assert got["priv"] == {"privileged": True, "runAsUser": 0, "readOnlyRootFilesystem": True}
    assert got["admin"] == {"capabilities": {"add": ["SYS_ADMIN"], "drop": ["ALL"]}, "allowPrivilegeEscalation": True,
                            "readOnlyRootFilesystem": True}
    assert not k8s_errors(after)


def test_images_that_switch_user_or_write_are_reported():
    before = pod("""\
      containers:
      - name: db
        image: postgres:17
        volumeMounts:
        - name: data
          mountPath: /var/lib/postgresql/data
      - name: web
        image: nginx:1.27
""", "      volumes:\n      - name: data\n        emptyDir: {}\n")
    outcome = run(ID, before, kind="k8s")
    got = contexts(outcome.text)
    assert got["db"] == {"allowPrivilegeEscalation": False}
    assert got["web"] == {"allowPrivilegeEscalation": False}
    text = " ".join(f.reason for f in outcome.remaining)
    assert "postgres:17 starts as root and switches to its user postgres" in text
    assert "postgres:17 writes to /var/run/postgresql" in text
    assert "nginx:1.27 writes to /var/cache/nginx, /var/run" in text


def test_a_non_root_uid_lets_switching_images_drop_everything():
    before = pod("""\
      containers:
      - name: db
        image: postgres:17
        securityContext:
          runAsUser: 999
        volumeMounts:
        - {name: data, mountPath: /var/lib/postgresql/data}
        - {name: run, mountPath: /var/run/postgresql}
""", "      volumes:\n      - {name: data, emptyDir: {}}\n      - {name: run, emptyDir: {}}\n")
    after = k8s_fixed(ID, before)
    assert contexts(after)["db"] == {"runAsUser": 999, **HARDENED, "runAsNonRoot": True}


def test_a_low_port_as_root_keeps_its_capabilities():
    before = pod("      containers:\n      - name: web\n        image: acme/php-apache:7\n        ports:\n        - containerPort: 80\n")
    outcome = run(ID, before, kind="k8s")
    assert "capabilities" not in contexts(outcome.text)["web"]
    assert any("listens on port 80 as root" in f.reason for f in outcome.remaining)


def test_init_containers_jobs_lists_and_flow_style():
    before = """\
apiVersion: v1
kind: List
items:
- apiVersion: batch/v1
  kind: CronJob
  metadata: {name: c}
  spec:
    schedule: "@daily"
    jobTemplate:
      spec:
        template:
          spec:
            restartPolicy: OnFailure
            initContainers:
            - {name: init, image: busybox:1.36, securityContext: {}}
            containers:
            - name: job
              image: acme/job:1
              securityContext: {runAsUser: 1000}
"""
    after = k8s_fixed(ID, before)
    assert "securityContext: {runAsUser: 1000, allowPrivilegeEscalation: false" in after
    data = yaml.safe_load(after)["items"][0]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert data["initContainers"][0]["securityContext"] == HARDENED
    assert data["containers"][0]["securityContext"] == {"runAsUser": 1000, **HARDENED, "runAsNonRoot": True}


def test_windows_pods_patches_and_ephemeral_containers_are_left_alone(tmp_path, monkeypatch):
    windows = pod("      containers:\n      - name: app\n        image: acme/app:1\n", "      nodeSelector:\n        kubernetes.io/os: windows\n")
    assert run(ID, windows, kind="k8s").text == windows
    patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: acme/app:2\n"
    workspace = project(tmp_path, monkeypatch, {"overlay/kustomization.yaml": "resources:\n- ../base\npatches:\n- path: patch.yaml\n",
                                                "overlay/patch.yaml": patch})
    assert run(ID, patch, kind="k8s", path="overlay/patch.yaml", workspace=workspace).text == patch


def test_a_shared_anchor_is_reported():
    before = pod("""\
      containers:
      - name: a
        image: acme/a:1
        securityContext: &sc
          runAsUser: 1000
      - name: b
        image: acme/b:1
        securityContext: *sc
""")
    outcome = run(ID, before, kind="k8s")
    assert outcome.text == before
    assert all("anchor or alias" in f.reason for f in outcome.remaining) and len(outcome.remaining) == 2


def test_crlf_and_four_space_indent_and_safety():
    before = pod("      containers:\n          - name: app\n            image: acme/app:1\n").replace("\n", "\r\n")
    outcome = run(ID, before, kind="k8s")
    assert "\r\n            securityContext:\r\n              allowPrivilegeEscalation: false\r\n" in outcome.text
    assert "\n" not in outcome.text.replace("\r\n", "")
    assert outcome.applied[0].safety is Safety.UNSAFE
    assert run(ID, before, kind="k8s", unsafe=False).text == before


# --- Compose ----------------------------------------------------------------------------------------

def test_compose_services_drop_capabilities():
    before = """\
x-logging: &logging
  driver: json-file
services:
  api:
    image: acme/api:1.4
    logging: *logging
  worker:
    build: ./worker
    cap_drop: [NET_RAW]
    security_opt:
      - label:disable
  tool:
    image: acme/tool:1
    cap_add:
      - NET_ADMIN
    security_opt:
      - no-new-privileges
"""
    after = fixed(ID, before, removed_ok=lambda line: "cap_drop: [NET_RAW]" in line)
    data = yaml.safe_load(after)["services"]
    assert data["api"]["cap_drop"] == ["ALL"] and data["api"]["security_opt"] == ["no-new-privileges:true"]
    assert data["worker"]["cap_drop"] == ["NET_RAW", "ALL"]
    assert data["worker"]["security_opt"] == ["label:disable", "no-new-privileges:true"]
    assert data["tool"]["cap_drop"] == ["ALL"] and data["tool"]["cap_add"] == ["NET_ADMIN"]
    assert data["tool"]["security_opt"] == ["no-new-privileges"]
    assert "x-logging: &logging\n  driver: json-file\n" in after and "logging: *logging\n" in after


def test_compose_left_alone():
    unchanged(ID, """\
services:
  hardened:
    image: acme/api:1
    cap_drop: [all]
    security_opt: ["no-new-privileges=true"]
  privileged:
    image: acme/agent:1
    privileged: true
  decided:
    image: acme/app:1
    cap_drop: [ALL]
    security_opt: [no-new-privileges:false]
  provider:
    provider:
      type: model
  child:
    extends: hardened
""")


def test_compose_switching_images_keep_their_capabilities_unless_a_user_is_set():
    before = """\
services:
  db:
    image: postgres:17
  cache:
    image: redis:7.4
    user: "999:999"
  web:
    build: .
    ports:
      - "8080:80"
"""
    outcome = run(ID, before, kind="compose")
    data = yaml.safe_load(outcome.text)["services"]
    assert "cap_drop" not in data["db"] and data["db"]["security_opt"] == ["no-new-privileges:true"]
    assert data["cache"]["cap_drop"] == ["ALL"]
    assert "cap_drop" not in data["web"]
    text = " ".join(f.reason for f in outcome.remaining)
    assert "postgres:17 starts as root and switches to its user postgres" in text
    assert "listens on port 80 as root" in text


def test_compose_anchor_shared_service_is_reported():
    before = """\
services:
  one: &svc
    image: acme/app:1
    cap_drop: [ALL]
  two:
    <<: *svc
    command: two
"""
    outcome = run(ID, before, kind="compose")
    # two's own keys take the option (its drop comes through the merge); one's mapping is shared
    assert outcome.text == before + "    security_opt:\n      - no-new-privileges:true\n"
    [left] = outcome.remaining
    assert "anchor other services share" in left.reason


def test_compose_override_file_is_not_fixed_twice(tmp_path, monkeypatch):
    base = "services:\n  app:\n    image: acme/app:1\n"
    override = "services:\n  app:\n    ports:\n      - \"8080:8080\"\n"
    workspace = project(tmp_path, monkeypatch, {"compose.yaml": base, "compose.override.yaml": override})
    assert run(ID, override, kind="compose", path="compose.override.yaml", workspace=workspace).text == override
    assert "cap_drop" in run(ID, base, kind="compose", path="compose.yaml", workspace=workspace).text


def test_swarm_stacks_get_the_drop_only():
    before = "services:\n  app:\n    image: acme/app:1\n    deploy:\n      placement:\n        constraints: [node.role == worker]\n"
    outcome = run(ID, before, kind="compose")
    assert outcome.text == before + "    cap_drop:\n      - ALL\n"
    assert "docker stack deploy ignores security_opt" in outcome.remaining[0].reason


def test_compose_crlf_flush_sequences():
    before = "services:\r\n  app:\r\n    image: acme/app:1\r\n    ports:\r\n    - \"8080:8080\"\r\n"
    after = fixed(ID, before)
    assert after == before + "    cap_drop:\r\n    - ALL\r\n    security_opt:\r\n    - no-new-privileges:true\r\n"


# --- corpus -----------------------------------------------------------------------------------------

_K8S_LINES = ("securityContext:", "allowPrivilegeEscalation: false", "capabilities:", "drop:", "- ALL",
              "readOnlyRootFilesystem: true", "runAsNonRoot: true")
_COMPOSE_LINES = ("cap_drop:", "- ALL", "security_opt:", "- no-new-privileges:true")


def _line_ok(added: tuple[str, ...]):
    def check(old: str | None, new: str | None) -> bool:
        if old is None:
            return new.strip().startswith(added)
        if new is None:
            return False
        # a flow collection completed in place (only additions), or an empty one made a block
        key = old.split(":")[0]
        return new.startswith(old.rstrip().rstrip("]}")) or (
            old.rstrip().endswith(("{}", "[]", ":")) and new.startswith(key) and new.strip().startswith(added))
    return check


@needs_corpus
@pytest.mark.parametrize("kind", ["k8s", "compose"])
def test_corpus(kind):
    counts = check_corpus(ID, kind, line_ok=_line_ok(_K8S_LINES if kind == "k8s" else _COMPOSE_LINES))
    assert counts["applied"] > 100
