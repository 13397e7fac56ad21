"""cm-001: no `latest` or untagged images in Kubernetes workloads and Compose services."""
from __future__ import annotations

import pytest

from orchfix import documents
from orchfix.fixer import fix_document
from orchfix.registry import all_transforms
from orchfix.transform import Context, Safety
from orchfix.workspace import Workspace
from tests.corpus import needs_corpus
from tests.helpers import compose_errors, k8s_errors, reason_of, run
from tests.transforms.compose_cases import fixed, reasons, unchanged
from tests.transforms.crossfile import project
from tests.transforms.yaml_corpus import changed_lines, check_corpus, k8s_fixed

ID = "cm-001"


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


def only_image_lines(before: str, after: str) -> None:
    for old, new in changed_lines(before, after):
        assert (old is not None and new is not None and "image:" in old and "image:" in new) or (
            new is None and ("imagePullPolicy" in old or "pull_policy" in old)), (old, new)


# --- Kubernetes -------------------------------------------------------------------------------------

def test_untagged_and_latest_images_are_pinned_with_their_quoting():
    before = deployment("""\
      initContainers:
      - name: init
        image: busybox
      containers:
      - name: web
        image: 'nginx:latest'   # the web server
      - name: cache
        image: "docker.io/library/redis"
""")
    after = k8s_fixed(ID, before)
    assert "image: busybox:1.37\n" in after
    assert "image: 'nginx:1.28-alpine'   # the web server\n" in after
    assert 'image: "docker.io/library/redis:7.4-bookworm"\n' in after
    only_image_lines(before, after)


def test_pull_policy_always_goes_with_the_moving_tag():
    before = deployment("""\
      containers:
      - imagePullPolicy: Always
        name: web
        image: nginx
      - name: api
        image: nginx:latest
        imagePullPolicy: Always
        ports:
        - containerPort: 80
      - name: kept
        image: busybox
        imagePullPolicy: IfNotPresent
""")
    after = k8s_fixed(ID, before)
    assert "Always" not in after and "imagePullPolicy: IfNotPresent" in after
    # the policy was the item's first key: the next one moves up to the dash
    assert "      - name: web\n        image: nginx:1.28-alpine\n" in after
    only_image_lines(before.replace("      - imagePullPolicy: Always\n        name: web", "      - name: web"), after)


def test_pinned_images_digests_variables_and_placeholders_stay():
    before = deployment("""\
      containers:
      - name: a
        image: nginx:1.27
      - name: b
        image: nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
      - name: c
        image: nginx:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
      - name: d
        image: $(IMAGE)
      - name: e
        image: <YOUR-CONTAINER>
      - name: f
        imagePullPolicy: Always
        image: registry.example.com/team/app:2.3
""")
    outcome = run(ID, before, kind="k8s")
    assert outcome.text == before and not outcome.remaining


def test_every_workload_shape():
    before = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: p}
  spec:
    containers:
    - {name: a, image: busybox, command: [sleep, "3600"]}
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
            containers:
            - name: job
              image: alpine:latest
---
# a comment-only document
---
apiVersion: v1
kind: ConfigMap
metadata: {name: image}
data:
  image: nginx
"""
    after = k8s_fixed(ID, before)
    assert "{name: a, image: busybox:1.37, command" in after and "image: alpine:3.22\n" in after
    assert "  image: nginx\n" in after  # a ConfigMap value, not a container image
    assert not k8s_errors(after)


def test_no_pin_known_is_reported_with_the_pins_line():
    before = deployment("      containers:\n      - name: app\n        image: ghcr.io/acme/app\n        imagePullPolicy: Always\n")
    outcome = run(ID, before, kind="k8s")
    assert outcome.text == before
    assert reason_of(outcome) == 'set [pins] "ghcr.io/acme/app" = "..."'
    assert "no pin known for ghcr.io/acme/app" in outcome.remaining[0].message


def test_user_pins_win_over_the_table():
    before = deployment("      containers:\n      - name: app\n        image: ghcr.io/acme/app:latest\n      - name: web\n        image: nginx\n")
    cls = all_transforms()[ID]
    ctx = Context(options=dict(cls.options), workspace=Workspace(), pins={"ghcr.io/acme/app": "4.1.0", "nginx": "1.27.3"})
    outcome = fix_document(documents.load("manifest.yaml", "k8s", before), [cls(ctx)], unsafe_ok=True)
    assert "image: ghcr.io/acme/app:4.1.0\n" in outcome.text and "image: nginx:1.27.3\n" in outcome.text


def test_a_kustomization_that_sets_the_tag_is_respected(tmp_path, monkeypatch):
    manifest = deployment("      containers:\n      - name: app\n        image: acme/app\n      - name: web\n        image: nginx\n")
    workspace = project(tmp_path, monkeypatch, {
        "base/deploy.yaml": manifest,
        "base/kustomization.yaml": "resources:\n- deploy.yaml\nimages:\n- name: acme/app\n  newTag: 1.2.3\n- name: nginx\n",
    })
    outcome = run(ID, manifest, kind="k8s", path="base/deploy.yaml", workspace=workspace)
    assert "image: acme/app\n" in outcome.text  # kustomize writes its tag
    assert "image: nginx:1.28-alpine\n" in outcome.text  # listed without newTag: still untagged


def test_crlf_and_safety():
    before = deployment("      containers:\n      - name: web\n        image: nginx\n        imagePullPolicy: Always\n").replace("\n", "\r\n")
    outcome = run(ID, before, kind="k8s")
    assert outcome.text == before.replace("image: nginx\r\n        imagePullPolicy: Always\r\n", "image: nginx:1.28-alpine\r\n")
    assert outcome.applied[0].safety is Safety.UNSAFE
    assert run(ID, before, kind="k8s", unsafe=False).text == before


def test_an_aliased_container_image_is_pinned_once():
    before = deployment("""\
      initContainers:
      - name: init
        image: &img busybox
      containers:
      - name: web
        image: *img
""")
    after = k8s_fixed(ID, before)
    assert "image: &img busybox:1.37\n" in after and "image: *img\n" in after


# --- Compose ----------------------------------------------------------------------------------------

def test_compose_services_are_pinned():
    before = """\
x-note: &note
  owner: team
services:
  web:
    image: nginx
    pull_policy: always
    labels: *note
  db:
    image: 'postgres:latest'  # main database
  cache:
    image: redis:7.4
  app:
    build: .
    image: acme/app
"""
    after = fixed(ID, before, removed_ok=lambda line: "image:" in line or "pull_policy" in line)
    assert after == before.replace("image: nginx\n    pull_policy: always\n", "image: nginx:1.28-alpine\n").replace(
        "'postgres:latest'", "'postgres:17-bookworm'")
    only_image_lines(before, after)


def test_compose_anchor_is_pinned_where_the_image_lives():
    before = """\
x-base: &base
  image: busybox
  restart: unless-stopped
services:
  one:
    <<: *base
    command: ["echo", "one"]
  two:
    <<: *base
    command: ["echo", "two"]
"""
    after = fixed(ID, before, removed_ok=lambda line: "image:" in line)
    assert after == before.replace("image: busybox\n", "image: busybox:1.37\n")


def test_compose_variables():
    before = """\
services:
  web:
    image: ${WEB_IMAGE:-nginx}
  db:
    image: postgres:${PG_TAG:-latest}
  api:
    image: ${REGISTRY}/api
  cache:
    image: redis:${REDIS_TAG:-7.4}
"""
    found = reasons(ID, before)
    assert len(found) == 2 and all("pin the default" in r for r in found)


def test_compose_env_file_values_count(tmp_path, monkeypatch):
    text = "services:\n  web:\n    image: ${WEB_IMAGE}\n"
    workspace = project(tmp_path, monkeypatch, {"compose.yaml": text, ".env": "WEB_IMAGE=nginx:latest\n"})
    outcome = run(ID, text, kind="compose", path="compose.yaml", workspace=workspace)
    assert outcome.text == text and "defaults to `nginx:latest`" in outcome.remaining[0].message
    unchanged(ID, text)  # no .env: set at run time


def test_compose_build_in_the_override_file_counts(tmp_path, monkeypatch):
    base = "services:\n  app:\n    image: acme/app\n"
    workspace = project(tmp_path, monkeypatch, {"compose.yaml": base, "compose.override.yaml": "services:\n  app:\n    build: .\n"})
    assert run(ID, base, kind="compose", path="compose.yaml", workspace=workspace).text == base


def test_compose_crlf_and_no_pin():
    before = "services:\r\n  web:\r\n    image: nginx\r\n  app:\r\n    image: acme/app:latest\r\n"
    outcome = run(ID, before, kind="compose")
    assert outcome.text == before.replace("image: nginx\r\n", "image: nginx:1.28-alpine\r\n")
    assert not compose_errors(outcome.text)
    assert [f.reason for f in outcome.remaining] == ['set [pins] "acme/app" = "..."']


# --- corpus -----------------------------------------------------------------------------------------

def _image_line(old: str | None, new: str | None) -> bool:
    if old is not None and new is not None:
        return "image:" in old and "image:" in new
    return new is None and ("imagePullPolicy" in old or "pull_policy" in old)


@needs_corpus
@pytest.mark.parametrize("kind", ["k8s", "compose"])
def test_corpus(kind):
    counts = check_corpus(ID, kind, line_ok=_image_line)
    assert counts["applied"] > 20
