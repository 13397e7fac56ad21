"""hc-002: distinct liveness and readiness probes (identical ones re-timed, missing ones added)."""
from __future__ import annotations

import pytest
import yaml

from orchfix.transform import Safety
from tests.corpus import needs_corpus
from tests.helpers import k8s_errors, run
from tests.transforms.crossfile import project
from tests.transforms.yaml_corpus import added_only, changed_lines, check_corpus, k8s_fixed

ID = "hc-002"


def deployment(containers: str, kind: str = "Deployment") -> str:
    return f"""\
apiVersion: apps/v1
kind: {kind}
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
{containers}"""


def probes(text: str) -> dict[str, tuple]:
    """Container name → (livenessProbe, readinessProbe)."""
    found = {}
    for data in yaml.safe_load_all(text):
        spec = (data or {}).get("spec", {}).get("template", {}).get("spec") or (data or {}).get("spec", {})
        for c in spec.get("containers") or []:
            found[c["name"]] = (c.get("livenessProbe"), c.get("readinessProbe"))
    return found


LIVE = {"periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 6}
READY = {"periodSeconds": 5, "failureThreshold": 3}


@pytest.mark.parametrize(("port", "handler"), [
    ("- name: http\n          containerPort: 8080", ({"httpGet": {"path": "/healthz", "port": 8080}}, {"httpGet": {"path": "/ready", "port": 8080}})),
    ("- containerPort: 3000", ({"httpGet": {"path": "/healthz", "port": 3000}}, {"httpGet": {"path": "/ready", "port": 3000}})),
    ("- name: web-ui\n          containerPort: 9000", ({"httpGet": {"path": "/healthz", "port": 9000}}, {"httpGet": {"path": "/ready", "port": 9000}})),
    ("- name: grpc\n          containerPort: 9555", ({"grpc": {"port": 9555}}, {"grpc": {"port": 9555}})),
    ("- containerPort: 50051", ({"grpc": {"port": 50051}}, {"grpc": {"port": 50051}})),
    ("- containerPort: 6379", ({"tcpSocket": {"port": 6379}}, {"tcpSocket": {"port": 6379}})),
    ("- containerPort: 9555", ({"tcpSocket": {"port": 9555}}, {"tcpSocket": {"port": 9555}})),
    ("- name: metrics\n          containerPort: 9090", ({"tcpSocket": {"port": 9090}}, {"tcpSocket": {"port": 9090}})),
])
def test_containers_serving_ports_get_both_probes(port, handler):
    before = deployment(f"      containers:\n      - name: app\n        image: acme/app:1\n        ports:\n        {port}\n")
    after = k8s_fixed(ID, before)
    assert probes(after)["app"] == ({**handler[0], **LIVE}, {**handler[1], **READY})
    assert added_only(before, after)


def test_the_first_port_that_tells_the_protocol_wins_and_udp_is_skipped():
    before = deployment("""\
      containers:
      - name: app
        image: acme/app:1
        ports:
        - {containerPort: 53, protocol: UDP}
        - {containerPort: 9102, name: stats}
        - {containerPort: 8080}
      - name: dns
        image: acme/dns:1
        ports:
        - {containerPort: 53, protocol: UDP}
""")
    after = k8s_fixed(ID, before)
    got = probes(after)
    assert got["app"][0]["httpGet"] == {"path": "/healthz", "port": 8080}
    assert got["dns"] == (None, None)


def test_web_server_images_probe_their_own_port():
    before = deployment("      containers:\n      - name: web\n        image: nginx:1.27\n        ports:\n        - containerPort: 80\n")
    after = k8s_fixed(ID, before)
    assert probes(after)["web"] == ({"tcpSocket": {"port": 80}, **LIVE}, {"httpGet": {"path": "/", "port": 80}, **READY})


def test_path_options():
    before = deployment("      containers:\n      - name: app\n        image: acme/app:1\n        ports:\n        - containerPort: 8000\n")
    after = k8s_fixed(ID, before, options={"liveness_path": "/livez", "readiness_path": "/readyz"})
    live, ready = probes(after)["app"]
    assert live["httpGet"]["path"] == "/livez" and ready["httpGet"]["path"] == "/readyz"


def test_identical_probes_are_retimed_and_keep_their_handler():
    before = deployment("""\
      containers:
      - name: server
        image: acme/server:1
        readinessProbe:
          initialDelaySeconds: 20
          periodSeconds: 15
          grpc:
            port: 9555
        livenessProbe:
          initialDelaySeconds: 20
          periodSeconds: 15
          grpc:
            port: 9555
""")
    after = k8s_fixed(ID, before)
    live, ready = probes(after)["server"]
    assert ready == {"initialDelaySeconds": 20, "periodSeconds": 5, "grpc": {"port": 9555}}
    assert live == {"initialDelaySeconds": 20, "periodSeconds": 15, "grpc": {"port": 9555}, "failureThreshold": 6}
    changes = changed_lines(before, after)
    assert changes == [("          periodSeconds: 15", "          periodSeconds: 5"), (None, "          failureThreshold: 6")]


def test_identical_http_probes_with_slow_timings():
    before = deployment("""\
      containers:
      - name: ai
        image: acme/ai:2
        readinessProbe: {httpGet: {path: /health, port: 5001}, initialDelaySeconds: 3, failureThreshold: 10, periodSeconds: 10}
        livenessProbe: {httpGet: {path: /health, port: 5001}, initialDelaySeconds: 3, failureThreshold: 10, periodSeconds: 10}
""")
    after = k8s_fixed(ID, before)
    live, ready = probes(after)["ai"]
    assert ready == {"httpGet": {"path": "/health", "port": 5001}, "initialDelaySeconds": 3, "failureThreshold": 3, "periodSeconds": 5}
    assert live == {"httpGet": {"path": "/health", "port": 5001}, "initialDelaySeconds": 3, "failureThreshold": 10, "periodSeconds": 10}


def test_left_alone():
    before = deployment("""\
      initContainers:
      - name: init
        image: busybox:1.36
        ports:
        - containerPort: 8080
      containers:
      - name: distinct
        image: acme/a:1
        ports:
        - containerPort: 8080
        livenessProbe: {tcpSocket: {port: 8080}}
        readinessProbe: {httpGet: {path: /ready, port: 8080}}
      - name: one-probe
        image: acme/b:1
        ports:
        - containerPort: 8081
        readinessProbe: {httpGet: {path: /ready, port: 8081}}
      - name: worker
        image: acme/worker:1
""")
    outcome = run(ID, before, kind="k8s")
    assert outcome.text == before and not outcome.remaining
    job = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n" \
          "      containers:\n      - name: j\n        image: acme/j:1\n        ports:\n        - containerPort: 8080\n"
    assert run(ID, job, kind="k8s").text == job


def test_aliased_probes_are_reported():
    before = deployment("""\
      containers:
      - name: app
        image: acme/a:1
        livenessProbe: &probe
          tcpSocket: {port: 8080}
        readinessProbe: *probe
""")
    outcome = run(ID, before, kind="k8s")
    assert outcome.text == before
    [finding] = outcome.remaining
    assert finding.fix is None and "anchor" in finding.reason


def test_pods_lists_crlf_four_spaces_and_safety():
    before = ("apiVersion: v1\nkind: List\nitems:\n    -   apiVersion: v1\n        kind: Pod\n        metadata:\n            name: p\n"
              "        spec:\n            containers:\n                -   name: app\n                    image: acme/app:1\n"
              "                    ports:\n                        -   containerPort: 8080\n").replace("\n", "\r\n")
    outcome = run(ID, before, kind="k8s")
    assert not outcome.errors and outcome.applied[0].safety is Safety.UNSAFE
    assert "\r\n                    livenessProbe:\r\n                        httpGet:\r\n" in outcome.text
    assert "\n" not in outcome.text.replace("\r\n", "")
    assert not k8s_errors(outcome.text)
    assert run(ID, before, kind="k8s", unsafe=False).text == before


def test_kustomize_patches_are_left_alone(tmp_path, monkeypatch):
    patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n" \
            "      - name: app\n        ports:\n        - containerPort: 8080\n"
    workspace = project(tmp_path, monkeypatch, {"overlay/kustomization.yaml": "resources:\n- ../base\npatches:\n- path: patch.yaml\n",
                                                "overlay/patch.yaml": patch})
    assert run(ID, patch, kind="k8s", path="overlay/patch.yaml", workspace=workspace).text == patch


_PROBE_LINES = ("livenessProbe:", "readinessProbe:", "httpGet:", "tcpSocket:", "grpc:", "path: /", "port: ",
                "periodSeconds: ", "timeoutSeconds: ", "failureThreshold: ")


def _line_ok(old: str | None, new: str | None) -> bool:
    if old is None:
        return new.strip().startswith(_PROBE_LINES)
    # a timing changed in place (block or flow probe)
    return new is not None and ("periodSeconds" in old or "failureThreshold" in old) and old.split(":")[0] == new.split(":")[0]


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, line_ok=_line_ok)
    assert counts["applied"] > 50
