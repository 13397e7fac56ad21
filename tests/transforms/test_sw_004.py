"""sw-004: stateful swarm services are pinned to the nodes that hold their data."""
from __future__ import annotations

import pytest

from tests.corpus import needs_corpus
from tests.helpers import compose_errors, fix, run
from tests.transforms.crossfile import tree
from tests.transforms.stack_oracle import needs_docker_stack, stack_config
from tests.transforms.yaml_corpus import check_corpus

ID = "sw-004"
MANAGER = "      placement:\n        constraints:\n          - node.role == manager\n"


def fixed(text: str, path: str = "docker-stack.yml", **kw) -> str:
    out = fix(ID, text, kind="compose", path=path, **kw)
    assert not compose_errors(out), compose_errors(out)
    return out


def test_database_and_named_volume_services_get_constraints():
    before = """services:
  db:
    image: postgres:15-alpine
    deploy:
      replicas: 1   # one primary
  queue:
    image: example/queue
    volumes:
      - qdata:/data
    deploy:
      restart_policy:
        condition: on-failure
  web:
    image: example/web
    volumes:
      - ./static:/static:ro
    deploy:
      replicas: 3
volumes:
  qdata:
"""
    out = run(ID, before, kind="compose", path="docker-stack.yml")
    assert out.text == """services:
  db:
    image: postgres:15-alpine
    deploy:
      replicas: 1   # one primary
""" + MANAGER + """  queue:
    image: example/queue
    volumes:
      - qdata:/data
    deploy:
      restart_policy:
        condition: on-failure
""" + MANAGER + """  web:
    image: example/web
    volumes:
      - ./static:/static:ro
    deploy:
      replicas: 3
volumes:
  qdata:
"""
    assert [f.message.split(" ", 1)[0] for f in out.applied] == ["db", "queue"]
    assert fixed(before) == out.text


def test_options_constraints_and_spread_in_the_files_style():
    before = "services:\n    db:\n        image: mysql:8.4\n        deploy:\n            replicas: 1\n"
    out = fixed(before, options={"constraints": ["node.labels.db == true"], "spread": ["node.labels.zone"]})
    assert out == ("services:\n    db:\n        image: mysql:8.4\n        deploy:\n            replicas: 1\n"
                   "            placement:\n                constraints:\n                    - node.labels.db == true\n"
                   "                preferences:\n                    - spread: node.labels.zone\n")
    out = run(ID, before, kind="compose", path="docker-stack.yml", options={"constraints": [], "spread": []})
    assert out.text == before and "options are both empty" in out.remaining[0].reason


def test_flow_and_crlf():
    before = "services:\r\n  db:\r\n    image: redis:7\r\n    deploy: {replicas: 1}\r\n"
    assert fixed(before) == "services:\r\n  db:\r\n    image: redis:7\r\n    deploy: {replicas: 1, placement: {constraints: [node.role == manager]}}\r\n"


@pytest.mark.parametrize("text, path", [
    # stateless
    ("services:\n  web:\n    image: nginx\n    deploy:\n      replicas: 2\n", "docker-stack.yml"),
    # placement chosen already
    ("services:\n  db:\n    image: postgres\n    deploy:\n      placement:\n        preferences:\n          - spread: node.id\n", "docker-stack.yml"),
    # no deploy section (the pattern is about services with one)
    ("services:\n  db:\n    image: postgres\n", "docker-stack.yml"),
    # docker compose file: replicas is a compose setting too
    ("services:\n  db:\n    image: postgres\n    deploy:\n      replicas: 1\n", "compose.yaml"),
    # an image orchfix cannot know
    ("services:\n  db:\n    image: ${DB_IMAGE}\n    deploy:\n      replicas: 1\n", "docker-stack.yml"),
])
def test_near_misses(text, path):
    out = run(ID, text, kind="compose", path=path)
    assert out.text == text and not out.remaining


def test_merged_deploy_is_reported():
    before = "x-deploy: &d\n  replicas: 1\nservices:\n  db:\n    image: postgres\n    deploy:\n      <<: *d\n"
    out = run(ID, before, kind="compose", path="docker-stack.yml")
    assert out.text == before and "anchor" in out.remaining[0].reason


@needs_docker_stack
def test_docker_stack_loads_the_output(tmp_path):
    before = "version: '3.8'\nservices:\n  db:\n    image: postgres:17\n    deploy:\n      replicas: 1\n"
    tree(tmp_path, {"docker-stack.yml": fixed(before, options={"spread": ["node.labels.zone"]})})
    placement = stack_config(tmp_path)["services"]["db"]["deploy"]["placement"]
    assert placement == {"constraints": ["node.role == manager"], "preferences": [{"spread": "node.labels.zone"}]}


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, "compose", line_ok=lambda old, new: old is None and new is not None)
    # the corpus's one stack keeps its database without a deploy section: nothing to pin
    assert not counts["files"]
