"""dc-004: frontend/backend networks between public and data services."""
from __future__ import annotations

import pytest
import yaml

from tests.corpus import needs_corpus
from tests.helpers import compose_errors, fix, reason_of, run
from tests.transforms.crossfile import project
from tests.transforms.yaml_corpus import check_corpus

ID = "dc-004"

THREE = """services:
  proxy:
    image: nginx:1.27
    ports:
      - "80:80"
    depends_on:
      - api

  api:
    build: ./api
    environment:
      - DATABASE_URL=postgres://app:secret@db:5432/app
      - REDIS_HOST=cache

  db:
    image: postgres:17
  cache:
    image: redis:7
"""


def networks_of(text: str) -> dict:
    data = yaml.safe_load(text)
    return {name: s.get("networks") for name, s in data["services"].items()} | {"<top>": data.get("networks")}


def fixed(text: str, **kw) -> str:
    out = fix(ID, text, kind="compose", **kw)
    assert not compose_errors(out)
    return out


def test_front_api_and_data_services():
    out = fixed(THREE)
    assert networks_of(out) == {"proxy": ["frontend"], "api": ["frontend", "backend"], "db": ["backend"],
                                "cache": ["backend"], "<top>": {"frontend": {}, "backend": {}}}
    # new keys only: every original line is still there, in order, byte for byte
    lines = iter(out.splitlines())
    assert all(any(old == new for new in lines) for old in THREE.splitlines())
    assert "    networks:\n      - frontend\n\n  api:" in out  # the blank line between services stays after the new key


def test_a_front_that_uses_the_database_itself_joins_both():
    text = THREE.replace("    depends_on:\n      - api\n", "    depends_on:\n      - api\n      - cache\n")
    assert run(ID, text, kind="compose").text == text  # the only front reaches the data itself: nothing to gain
    text += "  status:\n    image: nginx\n    ports: ['8080:80']\n"
    nets = networks_of(fixed(text))
    assert nets["proxy"] == ["frontend", "backend"] and nets["db"] == ["backend"] and nets["status"] == ["frontend"]


def test_services_nothing_is_known_of_join_both_and_chains_are_followed():
    text = ("services:\n  web:\n    image: nginx\n    ports: ['80:80']\n    depends_on: [app]\n"
            "  app:\n    build: .\n    depends_on: [worker]\n  worker:\n    build: .\n    environment:\n"
            "      MONGO_URL: mongodb://mongo:27017/x\n  mongo:\n    image: mongo:8\n  mailer:\n    build: ./mailer\n"
            "  admin:\n    image: adminer\n    ports: ['8080:8080']\n    depends_on: [mongo]\n")
    nets = networks_of(fixed(text))
    assert nets["web"] == ["frontend"] and nets["mongo"] == ["backend"]
    # app talks to web (front) and worker (back): both; worker only to the database
    assert nets["app"] == ["frontend", "backend"] and nets["worker"] == ["backend"]
    assert nets["mailer"] == ["frontend", "backend"]
    assert nets["admin"] == ["frontend", "backend"]


def test_flow_style_four_spaces_crlf_and_anchors():
    before = ("x-common: &common\r\n    restart: always\r\nservices:\r\n    web: {image: nginx, ports: ['80:80'], depends_on: [api]}\r\n"
              "    api:\r\n        <<: *common\r\n        build: .\r\n        environment:\r\n            DB_HOST: db\r\n"
              "    db:\r\n        <<: *common\r\n        image: mysql:8\r\n        x-note: data\r\n")
    out = fixed(before)
    assert "web: {image: nginx, ports: ['80:80'], depends_on: [api], networks: [frontend]}\r\n" in out
    assert "        DB_HOST: db\r\n        networks:\r\n            - frontend\r\n            - backend\r\n" in out
    assert out.endswith("        x-note: data\r\n        networks:\r\n            - backend\r\nnetworks:\r\n"
                        "    frontend: {}\r\n    backend: {}\r\n")


def test_existing_top_level_networks_section_gains_the_two():
    text = THREE + "networks:\n  monitoring:\n    external: true\n"
    out = fixed(text)
    assert out.endswith("networks:\n  monitoring:\n    external: true\n  frontend: {}\n  backend: {}\n")


def test_options_name_the_networks():
    nets = networks_of(fixed(THREE, options={"frontend": "public", "backend": "private"}))
    assert nets["api"] == ["public", "private"] and set(nets["<top>"]) == {"public", "private"}


@pytest.mark.parametrize(("text", "why"), [
    (THREE.replace("  cache:\n    image: redis:7\n", "").replace("      - REDIS_HOST=cache\n", "").replace(
        "  api:", "  api:\n    networks: [default]").replace("    build: ./api", "    build: ./api"), "networks chosen"),
    ("services:\n  web:\n    image: nginx\n    ports: ['80:80']\n  db:\n    image: postgres\n", "two services"),
    ("services:\n  web:\n    build: .\n    ports: ['80:80']\n  a:\n    build: ./a\n  b:\n    build: ./b\n", "no data service"),
    ("services:\n  app:\n    build: .\n    depends_on: [db]\n  db:\n    image: postgres\n  c:\n    image: redis\n"
     "    depends_on: [db]\n", "nothing published"),
    ("services:\n  web:\n    build: .\n    ports: ['80:80']\n    depends_on: [db]\n  db:\n    image: postgres\n"
     "  worker:\n    build: .\n    depends_on: [db]\n", "the only front uses the database"),
    ("services:\n  web:\n    image: nginx\n    ports: ['80:80']\n  db:\n    image: postgres\n  app:\n"
     "    build: .\n    network_mode: host\n    depends_on: [db]\n", "network_mode"),
])
def test_near_misses(text, why):
    result = run(ID, text, kind="compose")
    assert result.text == text and not result.remaining, why


@pytest.mark.parametrize(("text", "reason"), [
    (THREE.replace("      - REDIS_HOST=cache\n", ""), "nothing in the project is known to reach cache"),
    (THREE + "networks:\n  default:\n    name: shared\n", "default network"),
    (THREE + "networks:\n  backend:\n    external: true\n", "defined already"),
    (THREE.replace("  db:\n    image: postgres:17\n", "  db: &db\n    image: postgres:17\n  replica: *db\n").replace(
        "      - REDIS_HOST=cache\n", "      - REDIS_HOST=cache\n      - REPLICA=replica:5432\n"), "anchor"),
])
def test_reports(text, reason):
    result = run(ID, text, kind="compose")
    assert result.text == text and reason in reason_of(result)


def test_services_in_other_project_files_are_reported(tmp_path, monkeypatch):
    layout = {"compose.yaml": THREE, "compose.override.yaml": "services:\n  debug:\n    image: busybox\n"}
    ws = project(tmp_path, monkeypatch, layout)
    result = run(ID, THREE, kind="compose", path="compose.yaml", workspace=ws)
    assert result.text == THREE and "debug are defined in other files" in reason_of(result)
    # an override that only changes services of the file is fine, and its relations count
    layout["compose.override.yaml"] = "services:\n  api:\n    environment:\n      - EXTRA=1\n"
    ws = project(tmp_path, monkeypatch, layout)
    assert networks_of(fix(ID, THREE, kind="compose", path="compose.yaml", workspace=ws))["api"] == ["frontend", "backend"]


def test_networks_declared_in_the_override_leave_the_file(tmp_path, monkeypatch):
    layout = {"compose.yaml": THREE, "compose.override.yaml": "services:\n  db:\n    networks: [internal]\n"}
    ws = project(tmp_path, monkeypatch, layout)
    result = run(ID, THREE, kind="compose", path="compose.yaml", workspace=ws)
    assert result.text == THREE and not result.remaining


@needs_corpus
def test_corpus():
    def line_ok(old, new):
        # only new lines: a networks key, its items, the top-level section
        return old is None and new.strip() in ("networks:", "- frontend", "- backend", "frontend: {}", "backend: {}")

    counts = check_corpus(ID, "compose", line_ok=line_ok)
    assert counts["applied"] >= 4
