"""hc-003: a long liveness initialDelaySeconds becomes a startupProbe."""
from __future__ import annotations

import yaml

from orchfix.transform import Safety
from tests.corpus import needs_corpus
from tests.helpers import run
from tests.transforms.yaml_corpus import changed_lines, check_corpus, k8s_fixed

ID = "hc-003"


def deployment(container: str, kind: str = "Deployment") -> str:
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
      containers:
{container}"""


def container_of(text: str) -> dict:
    return yaml.safe_load(text)["spec"]["template"]["spec"]["containers"][0]


def test_the_delay_moves_into_a_startup_probe():
    before = deployment("""\
      - name: es
        image: acme/search:2
        livenessProbe:
          tcpSocket:
            port: 9200
          initialDelaySeconds: 90
          timeoutSeconds: 5
        readinessProbe:
          httpGet: {path: /_cluster/health, port: 9200}
          initialDelaySeconds: 90
""")
    after = k8s_fixed(ID, before)
    c = container_of(after)
    assert c["livenessProbe"] == {"tcpSocket": {"port": 9200}, "timeoutSeconds": 5}
    # ceil(90 / 10) + the 3 failures liveness allowed after the delay
    assert c["startupProbe"] == {"tcpSocket": {"port": 9200}, "timeoutSeconds": 5, "periodSeconds": 10, "failureThreshold": 12}
    assert c["readinessProbe"]["initialDelaySeconds"] == 90
    assert list(c) == ["name", "image", "livenessProbe", "startupProbe", "readinessProbe"]
    removed = [old for old, new in changed_lines(before, after) if new is None]
    assert removed == ["          initialDelaySeconds: 90"]


def test_budget_uses_the_liveness_period_and_failures():
    before = deployment("""\
      - name: app
        image: acme/app:1
        livenessProbe:
          exec:
            command: ["sh", "-c", "test -f /tmp/healthy"]
          initialDelaySeconds: 100
          periodSeconds: 15
          failureThreshold: 5
""")
    c = container_of(k8s_fixed(ID, before))
    assert c["startupProbe"] == {"exec": {"command": ["sh", "-c", "test -f /tmp/healthy"]}, "periodSeconds": 15,
                                 "failureThreshold": 7 + 5}
    assert c["startupProbe"]["periodSeconds"] * c["startupProbe"]["failureThreshold"] >= 100 + 15 * 5


def test_flow_style_probe_and_container():
    before = """\
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - {name: a, image: acme/a:1, livenessProbe: {grpc: {port: 9000}, initialDelaySeconds: 60}}
"""
    after = k8s_fixed(ID, before)
    assert "livenessProbe: {grpc: {port: 9000}}, startupProbe: {grpc: {port: 9000}, periodSeconds: 10, failureThreshold: 9}}" in after


def test_threshold_option_and_near_misses():
    short = deployment("      - name: a\n        image: acme/a:1\n        livenessProbe:\n          tcpSocket: {port: 80}\n"
                       "          initialDelaySeconds: 59\n")
    assert run(ID, short, kind="k8s").text == short
    assert "startupProbe" in k8s_fixed(ID, short, options={"threshold": 30})
    guarded = deployment("      - name: a\n        image: acme/a:1\n        startupProbe:\n          tcpSocket: {port: 80}\n"
                         "        livenessProbe:\n          tcpSocket: {port: 80}\n          initialDelaySeconds: 300\n")
    assert run(ID, guarded, kind="k8s").text == guarded
    init = ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  initContainers:\n  - name: i\n    image: acme/i:1\n"
            "    livenessProbe: {tcpSocket: {port: 80}, initialDelaySeconds: 120}\n  containers:\n  - {name: a, image: acme/a:1}\n")
    assert run(ID, init, kind="k8s").text == init


def test_cronjob_crlf_and_safety():
    before = """\
apiVersion: batch/v1
kind: CronJob
metadata:
  name: c
spec:
  schedule: "@hourly"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: job
              image: acme/job:1
              livenessProbe:
                exec:
                  command: [cat, /tmp/alive]
                initialDelaySeconds: 600
""".replace("\n", "\r\n")
    outcome = run(ID, before, kind="k8s")
    assert outcome.applied and outcome.applied[0].safety is Safety.SAFE
    assert "\r\n              startupProbe:\r\n                exec:\r\n" in outcome.text
    assert "\n" not in outcome.text.replace("\r\n", "") and "initialDelaySeconds" not in outcome.text


def test_shared_probe_is_reported():
    before = deployment("""\
      - name: a
        image: acme/a:1
        livenessProbe: &live
          tcpSocket: {port: 80}
          initialDelaySeconds: 120
      - name: b
        image: acme/b:1
        livenessProbe: *live
""")
    outcome = run(ID, before, kind="k8s")
    assert outcome.text == before
    assert len(outcome.remaining) == 2 and all("anchor" in f.reason for f in outcome.remaining)


_ADDED = ("startupProbe:", "httpGet:", "tcpSocket:", "exec:", "grpc:", "command:", "- ", "path:", "port:",
          "periodSeconds:", "timeoutSeconds:", "failureThreshold:", "scheme:", "host:", "httpHeaders:", "name:", "value:")


def _line_ok(old: str | None, new: str | None) -> bool:
    if new is None:
        return "initialDelaySeconds" in old
    return old is None and new.strip().startswith(_ADDED)


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, line_ok=_line_ok)
    assert counts["applied"] >= 1
