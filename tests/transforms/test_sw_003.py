"""sw-003: swarm services update one task at a time and roll back on failure."""
from __future__ import annotations

import pytest

from tests.corpus import needs_corpus
from tests.helpers import compose_errors, fix, run
from tests.transforms.crossfile import tree
from tests.transforms.stack_oracle import needs_docker_stack, stack_config
from tests.transforms.yaml_corpus import check_corpus

ID = "sw-003"
POLICY = "      update_config:\n        parallelism: 1\n        delay: 10s\n        failure_action: rollback\n        order: {order}\n"


def fixed(text: str, path: str = "docker-stack.yml", **kw) -> str:
    out = fix(ID, text, kind="compose", path=path, **kw)
    assert not compose_errors(out), compose_errors(out)
    return out


def test_adds_update_config_after_the_deploy_keys():
    before = "services:\n  web:\n    image: example/web:1.4\n    deploy:\n      replicas: 3\n    ports:\n      - 80:80\n"
    assert fixed(before) == ("services:\n  web:\n    image: example/web:1.4\n    deploy:\n      replicas: 3\n"
                             + POLICY.format(order="start-first") + "    ports:\n      - 80:80\n")


def test_stateful_and_host_port_services_stop_first():
    before = """services:
  db:
    image: postgres:17
    deploy:
      replicas: 1
  queue:
    image: example/queue
    volumes:
      - qdata:/data
    deploy:
      replicas: 1
  edge:
    image: example/edge
    ports:
      - target: 80
        published: 80
        mode: host
    deploy:
      mode: global
volumes:
  qdata:
"""
    out = run(ID, before, kind="compose", path="docker-stack.yml")
    assert out.text.count("order: stop-first") == 3
    messages = " ".join(f.message for f in out.applied)
    assert "postgres keeps its data" in messages and "named volume qdata" in messages and "host mode" in messages


def test_options_style_and_flow_deploy():
    before = "services:\n    web:\n        image: x\n        deploy: {replicas: 2}\n"
    out = fixed(before, options={"delay": "30s", "order": "stop-first"})
    assert out == ("services:\n    web:\n        image: x\n        deploy: {replicas: 2, update_config: {parallelism: 1, "
                   "delay: 30s, failure_action: rollback, order: stop-first}}\n")
    empty = "services:\n  web:\n    image: x\n    deploy:\n"
    assert fixed(empty) == "services:\n  web:\n    image: x\n    deploy:\n" + POLICY.format(order="start-first")


def test_crlf():
    before = "services:\r\n  web:\r\n    image: x\r\n    deploy:\r\n      replicas: 2\r\n"
    assert fixed(before) == before + POLICY.format(order="start-first").replace("\n", "\r\n")


@pytest.mark.parametrize("text, path", [
    # docker compose files: replicas / resources / restart_policy are docker compose settings too
    ("services:\n  web:\n    image: x\n    deploy:\n      replicas: 2\n", "compose.yaml"),
    ("services:\n  gpu:\n    image: x\n    deploy:\n      resources:\n        limits:\n          memory: 1g\n", "compose.yaml"),
    # an existing policy is never changed
    ("services:\n  web:\n    image: x\n    deploy:\n      update_config:\n        parallelism: 2\n", "docker-stack.yml"),
    # no deploy section
    ("services:\n  web:\n    image: x\n", "docker-stack.yml"),
])
def test_near_misses(text, path):
    out = run(ID, text, kind="compose", path=path)
    assert out.text == text and not out.remaining


def test_swarm_only_keys_make_a_compose_file_a_stack():
    before = "services:\n  web:\n    image: x\n    deploy:\n      placement:\n        constraints: [node.role == worker]\n  api:\n    image: y\n    deploy:\n      replicas: 2\n"
    out = fixed(before, path="compose.yaml")
    assert out.count("update_config:") == 2


def test_anchored_deploy_is_reported():
    before = "x-deploy: &deploy\n  replicas: 2\nservices:\n  web:\n    image: x\n    deploy: *deploy\n  api:\n    image: y\n    deploy:\n      <<: *deploy\n"
    out = run(ID, before, kind="compose", path="docker-stack.yml")
    assert out.text == before and len(out.remaining) == 2 and all("anchor" in f.reason for f in out.remaining)


@needs_docker_stack
def test_docker_stack_loads_the_output(tmp_path):
    before = "version: '3.8'\nservices:\n  web:\n    image: nginx\n    deploy:\n      replicas: 2\n"
    tree(tmp_path, {"docker-stack.yml": fixed(before)})
    policy = stack_config(tmp_path)["services"]["web"]["deploy"]["update_config"]
    assert policy == {"parallelism": "1", "delay": "10s", "failure_action": "rollback", "order": "start-first"}


# --- shell scripts ----------------------------------------------------------------------------

FLAGS = " --update-parallelism 1 --update-delay 10s --update-failure-action rollback --update-order {order}"


def shell_fixed(text: str, **kw) -> str:
    return fix(ID, text, kind="shell", path="deploy.sh", **kw)


def test_service_update_gets_update_flags():
    before = '#!/bin/sh\nset -e\ndocker service update --image "example/web:$TAG" web && echo done\n'
    assert shell_fixed(before) == ('#!/bin/sh\nset -e\ndocker service update' + FLAGS.format(order="start-first")
                                   + ' --image "example/web:$TAG" web && echo done\n')


def test_service_update_variants():
    before = ("sudo docker service update \\\n  --image postgres:17 db\n"
              "DOCKER_HOST=ssh://x docker service update --image=example/api:2 api\n")
    assert shell_fixed(before) == (
        "sudo docker service update" + FLAGS.format(order="stop-first") + " \\\n  --image postgres:17 db\n"
        "DOCKER_HOST=ssh://x docker service update" + FLAGS.format(order="start-first") + " --image=example/api:2 api\n")
    loop = "for s in a b; do docker service update --image x:$V $s; done\n"
    assert shell_fixed(loop) == "for s in a b; do docker service update" + FLAGS.format(order="start-first") + " --image x:$V $s; done\n"


@pytest.mark.parametrize("text", [
    "docker service update --update-parallelism 2 --image x web\n",
    "docker service update --replicas 3 web\n",
    "docker service update --rollback web\n",
    "echo 'docker service update --image x web'\n",
    "docker service create --image x web\n",
])
def test_shell_near_misses(text):
    out = run(ID, text, kind="shell", path="deploy.sh")
    assert out.text == text and not out.remaining


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, "compose", line_ok=lambda old, new: old is None and new is not None)
    assert counts["applied"] >= 2
