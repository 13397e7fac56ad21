"""compose.owned (values editable in place), compose.swarm (files that are swarm stacks for sure)
and images' ``file_env`` (variables read from ``<VAR>_FILE``)."""
from __future__ import annotations

import pytest

from orchfix import documents
from orchfix import yamledit as ye
from orchfix.transforms._knowledge import compose, images


def model(text: str, path: str = "compose.yaml") -> compose.ComposeFile:
    return compose.load(documents.load(path, "compose", text))


def test_owned_values():
    text = """x-env: &env
  A: 1
services:
  plain:
    environment:
      B: 2
  alias:
    environment: *env
  anchored:
    environment: &mine
      C: 3
  merged:
    environment:
      <<: *env
      D: 4
"""
    m = model(text)
    got = {name: compose.owned(m.doc, *ye.get(s.node, "environment")) for name, s in m.services.items()}
    assert got == {"plain": True, "alias": False, "anchored": False, "merged": False}


@pytest.mark.parametrize("text, path, swarm", [
    ("services:\n  a:\n    image: x\n", "docker-stack.yml", True),
    ("services:\n  a:\n    image: x\n    deploy:\n      replicas: 2\n", "compose.yaml", False),
    ("services:\n  a:\n    image: x\n    deploy:\n      resources: {limits: {cpus: '1'}}\n", "compose.yaml", False),
    ("services:\n  a:\n    image: x\n    deploy:\n      restart_policy: {condition: on-failure}\n", "compose.yaml", False),
    ("services:\n  a:\n    image: x\n    deploy:\n      mode: global\n", "compose.yaml", True),
    ("services:\n  a:\n    image: x\n    deploy:\n      placement: {constraints: [node.role == manager]}\n", "compose.yaml", True),
    ("services:\n  a:\n    image: x\n    deploy:\n      update_config: {parallelism: 1}\n", "compose.yaml", True),
])
def test_swarm_files(text, path, swarm):
    m = model(text, path)
    assert compose.swarm(m) is swarm
    assert m.stack or not swarm  # every swarm file is a stack by the looser test


def test_file_env_of_official_images():
    def file_env(ref: str) -> tuple[str, ...]:
        info = images.lookup(images.parse_ref(ref))
        return info.file_env if info else ()

    assert "POSTGRES_PASSWORD" in file_env("postgres:15-alpine")
    assert "MYSQL_ROOT_PASSWORD" in file_env("mariadb:11") and "MARIADB_ROOT_PASSWORD" in file_env("mariadb")
    assert "MONGO_INITDB_ROOT_PASSWORD" in file_env("mongo:8.0")
    assert file_env("redis:7") == () and file_env("example/app") == ()
