"""dc-001: depends_on waits for health; healthchecks from the image knowledge."""
from __future__ import annotations

import re

import pytest

from tests.corpus import needs_corpus
from tests.helpers import run
from tests.transforms.compose_cases import fixed, reasons, unchanged, workspace
from tests.transforms.yaml_corpus import check_corpus

ID = "dc-001"
HC = ("    healthcheck:\n      test: [\"CMD-SHELL\", \"{cmd}\"]\n      interval: 10s\n      timeout: 5s\n      retries: 5\n"
      "      start_period: 30s\n")
list_item = re.compile(r"\s*- .*").fullmatch


def test_short_list_becomes_long_form_and_the_database_gets_a_healthcheck():
    before = "services:\n  app:\n    build: .\n    depends_on:\n      - db\n  db:\n    image: postgres:17\n"
    after = fixed(ID, before, removed_ok=list_item)
    assert after == ("services:\n  app:\n    build: .\n    depends_on:\n      db:\n        condition: service_healthy\n"
                     "  db:\n    image: postgres:17\n" + HC.format(cmd="pg_isready -U $${POSTGRES_USER:-postgres}"))


@pytest.mark.parametrize("env, user", [
    ("    environment:\n      POSTGRES_USER: app\n", "app"),
    ("    environment:\n      - POSTGRES_USER=my user\n", "'my user'"),
    ("    environment:\n      POSTGRES_USER: pa$$ul\n", "'pa$$ul'"),
    ("    environment:\n      POSTGRES_USER: ${DB_USER:-app}\n", "$${POSTGRES_USER:-postgres}"),
    ("    env_file: db.env\n", "$${POSTGRES_USER:-postgres}"),
])
def test_pg_isready_uses_the_services_own_user(env, user):
    before = "services:\n  app:\n    image: app:1\n    depends_on: [db]\n  db:\n    image: postgres:17\n" + env
    after = fixed(ID, before, removed_ok=lambda line: "depends_on" in line)
    assert f'test: ["CMD-SHELL", "pg_isready -U {user}"]' in after


@pytest.mark.parametrize("image, command", [
    ("mysql:8.4", "mysqladmin ping -h 127.0.0.1 --silent"),
    ("mariadb:11.4", "healthcheck.sh --connect --innodb_initialized"),
    ("mariadb:10.6.4-focal", "mysqladmin ping -h 127.0.0.1 --silent"),
    ("mongo:7", "mongosh --quiet --eval 'db.adminCommand(\\\"ping\\\").ok' | grep 1"),
    ("mongo:4.4", "mongo --quiet --eval 'db.adminCommand(\\\"ping\\\").ok' | grep 1"),
    ("redis:7-alpine", "redis-cli ping | grep PONG"),
    ("rabbitmq:4-management", "rabbitmq-diagnostics -q ping"),
    ("elasticsearch:7.17.0", "curl -fs http://127.0.0.1:9200/_cluster/health || exit 1"),
    ("\"${DB_IMAGE:-postgres:16}\"", "pg_isready -U $${POSTGRES_USER:-postgres}"),
])
def test_health_command_per_image(image, command):
    before = f"services:\n  app:\n    image: app:1\n    depends_on:\n      - dep\n  dep:\n    image: {image}\n"
    after = fixed(ID, before, removed_ok=list_item)
    assert f'      test: ["CMD-SHELL", "{command}"]\n' in after


def test_elasticsearch_8_and_redis_with_a_password_are_reported():
    before = ("services:\n  app:\n    image: app:1\n    depends_on: [es, cache]\n"
              "  es:\n    image: docker.elastic.co/elasticsearch/elasticsearch:8.15.0\n"
              "  cache:\n    image: redis:7\n    command: redis-server --requirepass secret\n")
    found = reasons(ID, before)
    assert len(found) == 2 and "Elasticsearch 8+" in found[0] and "password" in found[1]
    after = fixed(ID, before.replace("8.15.0\n", "8.15.0\n    environment:\n      - xpack.security.enabled=false\n"),
                  removed_ok=lambda line: "depends_on" in line)
    assert "es:\n        condition: service_healthy\n      cache:\n        condition: service_started" in after


def test_long_form_keeps_restart_required_and_other_conditions():
    before = ("services:\n  app:\n    image: app:1\n    depends_on:\n"
              "      db:\n        condition: service_started\n        restart: true\n"
              "      mq:\n        required: false\n"
              "      cache:\n"
              "      migrate:\n        condition: service_completed_successfully\n"
              "      web:\n        condition: 'service_started'\n"
              "  db:\n    image: mysql:8.4\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n"
              "  mq:\n    image: rabbitmq:4\n  cache:\n    image: redis:7\n"
              "  migrate:\n    image: postgres:17\n    command: psql -f /m.sql\n"
              "  web:\n    image: nginx:1.27\n")
    after = fixed(ID, before, removed_ok=lambda line: line.strip() in ("condition: service_started", "cache:"))
    assert "      db:\n        condition: service_healthy\n        restart: true\n" in after
    assert "      mq:\n        required: false\n        condition: service_healthy\n" in after
    assert "      cache:\n        condition: service_healthy\n" in after
    assert "condition: service_completed_successfully" in after and "condition: 'service_started'" in after
    assert after.count("healthcheck:") == 3  # db's own, mq's and cache's new ones; not the migration's


def test_flow_lists_comments_quotes_and_unknown_images():
    before = ("services:\n  app:\n    image: app:1\n    depends_on: [db, api]  # order matters\n"
              "  worker:\n    image: app:1\n    depends_on:\n    - \"db\"  # the db\n    # then the api\n    - api\n"
              "  api:\n    image: registry.example.com/api:2\n  db:\n    image: postgres:17\n")
    after = fixed(ID, before, removed_ok=lambda line: "depends_on" in line or list_item(line))
    assert ("    depends_on:  # order matters\n      db:\n        condition: service_healthy\n"
            "      api:\n        condition: service_started\n") in after
    assert ("    depends_on:\n      \"db\":  # the db\n        condition: service_healthy\n    # then the api\n"
            "      api:\n        condition: service_started\n") in after


def test_only_unknown_or_unprobed_dependencies_change_nothing():
    unchanged(ID, "services:\n  app:\n    image: app:1\n    depends_on:\n      - api\n  api:\n    image: registry.example.com/api:2\n")
    unchanged(ID, "services:\n  app:\n    image: app:1\n    depends_on:\n      - db\n  db:\n    image: postgres:17\n"
                  "    healthcheck:\n      disable: true\n")
    unchanged(ID, "services:\n  app:\n    image: app:1\n    depends_on:\n      - ghost\n")
    unchanged(ID, "services:\n  app:\n    image: app:1\n    depends_on:\n      db:\n        condition: service_healthy\n"
                  "  db:\n    image: postgres:17\n    healthcheck:\n      test: pg_isready\n")


def test_a_healthcheck_without_test_gets_one():
    before = "services:\n  app:\n    image: app:1\n    depends_on: [db]\n  db:\n    image: mysql:8.4\n    healthcheck:\n      interval: 3s\n"
    after = fixed(ID, before, removed_ok=lambda line: "depends_on" in line)
    assert after.endswith("    healthcheck:\n      interval: 3s\n      test: [\"CMD-SHELL\", \"mysqladmin ping -h 127.0.0.1 --silent\"]\n")


def test_a_healthy_condition_without_healthcheck_gets_the_healthcheck():
    before = "services:\n  app:\n    image: app:1\n    depends_on:\n      db:\n        condition: service_healthy\n  db:\n    image: redis:7\n"
    after = fixed(ID, before)
    assert after == before + HC.format(cmd="redis-cli ping | grep PONG")


def test_dockerfile_healthcheck_counts(tmp_path, monkeypatch):
    layout = {
        "compose.yaml": "services:\n  web:\n    build: ./web\n    depends_on: [api]\n  api:\n    build:\n      context: ./api\n      target: prod\n",
        "api/Dockerfile": "FROM node:22 AS base\nHEALTHCHECK CMD curl -f http://localhost/ || exit 1\nFROM base AS prod\nCMD [\"node\", \"x.js\"]\n",
        "web/Dockerfile": "FROM nginx:1.27\n",
    }
    ws = workspace(tmp_path, monkeypatch, layout)
    after = fixed(ID, layout["compose.yaml"], path="compose.yaml", workspace=ws, removed_ok=lambda line: "depends_on" in line)
    assert "api:\n        condition: service_healthy" in after and "healthcheck" not in after
    layout["api/Dockerfile"] = layout["api/Dockerfile"].replace("FROM base AS prod\n", "FROM base AS prod\nHEALTHCHECK NONE\n")
    ws = workspace(tmp_path, monkeypatch, layout)
    unchanged(ID, layout["compose.yaml"], path="compose.yaml", workspace=ws)


def test_dependency_built_from_a_database_image(tmp_path, monkeypatch):
    layout = {
        "compose.yaml": "services:\n  web:\n    image: app:1\n    depends_on: [db]\n  db:\n    build: db\n",
        "db/Dockerfile": "FROM postgres:17-alpine\nENV POSTGRES_USER=shop\n",
    }
    ws = workspace(tmp_path, monkeypatch, layout)
    after = fixed(ID, layout["compose.yaml"], path="compose.yaml", workspace=ws, removed_ok=lambda line: "depends_on" in line)
    assert '"pg_isready -U shop"' in after


def test_dependency_in_the_override_file_gets_its_healthcheck_there(tmp_path, monkeypatch):
    layout = {
        "compose.yaml": "services:\n  db:\n    image: postgres:17\n",
        "compose.override.yaml": "services:\n  web:\n    image: app:1\n    depends_on:\n      - db\n",
    }
    ws = workspace(tmp_path, monkeypatch, layout)
    base = fixed(ID, layout["compose.yaml"], path="compose.yaml", workspace=ws)
    assert base == layout["compose.yaml"] + HC.format(cmd="pg_isready -U $${POSTGRES_USER:-postgres}")
    override = fixed(ID, layout["compose.override.yaml"], path="compose.override.yaml", workspace=ws, removed_ok=list_item)
    assert "db:\n        condition: service_healthy" in override
    # a second run over both files as written changes nothing
    ws = workspace(tmp_path, monkeypatch, {"compose.yaml": base, "compose.override.yaml": override})
    unchanged(ID, base, path="compose.yaml", workspace=ws)
    unchanged(ID, override, path="compose.override.yaml", workspace=ws)
    # the other file's fix suppressed: this one waits for nothing new either
    layout["compose.yaml"] = "services:\n  db:  # orchfix: ignore[dc-001]\n    image: postgres:17\n"
    ws = workspace(tmp_path, monkeypatch, layout)
    unchanged(ID, layout["compose.override.yaml"], path="compose.override.yaml", workspace=ws)


def test_extends_gives_the_image(tmp_path, monkeypatch):
    layout = {
        "base.yml": "services:\n  database:\n    image: mariadb:11.4\n",
        "compose.yaml": "services:\n  app:\n    image: app:1\n    depends_on: [db]\n  db:\n    extends:\n      file: base.yml\n      service: database\n",
    }
    ws = workspace(tmp_path, monkeypatch, layout)
    after = fixed(ID, layout["compose.yaml"], path="compose.yaml", workspace=ws, removed_ok=lambda line: "depends_on" in line)
    assert after.endswith(HC.format(cmd="healthcheck.sh --connect --innodb_initialized"))


def test_anchors_and_merge_keys():
    # depends_on written once in an x- anchor: converted there, for every service that merges it
    before = ("x-app: &app\n  image: app:1\n  depends_on:\n    - db\nservices:\n  a:\n    <<: *app\n  b:\n    <<: *app\n"
              "  db:\n    image: postgres:17\n")
    after = fixed(ID, before, removed_ok=list_item)
    assert after.startswith("x-app: &app\n  image: app:1\n  depends_on:\n    db:\n      condition: service_healthy\nservices:\n")
    # a dependency whose mapping is merged into a service with another image: reported
    before = ("services:\n  app:\n    image: app:1\n    depends_on: [db]\n  db: &db\n    image: postgres:17\n"
              "  other:\n    <<: *db\n    image: mysql:8.4\n")
    [why] = reasons(ID, before)
    assert "merged into other" in why


def test_options_crlf_and_four_spaces():
    before = "services:\r\n    app:\r\n        image: app:1\r\n        depends_on:\r\n        - db\r\n    db:\r\n        image: redis:7\r\n"
    after = fixed(ID, before, options={"interval": "5s", "start_period": ""}, removed_ok=list_item)
    assert after == ("services:\r\n    app:\r\n        image: app:1\r\n        depends_on:\r\n            db:\r\n"
                     "                condition: service_healthy\r\n    db:\r\n        image: redis:7\r\n        healthcheck:\r\n"
                     "            test: [\"CMD-SHELL\", \"redis-cli ping | grep PONG\"]\r\n            interval: 5s\r\n"
                     "            timeout: 5s\r\n            retries: 5\r\n")


def test_suppressed_dependency_keeps_the_dependents_as_they_are():
    before = "services:\n  app:\n    image: app:1\n    depends_on: [db]\n  db:  # orchfix: ignore[dc-001]\n    image: postgres:17\n"
    outcome = run(ID, before, kind="compose")
    assert outcome.text == before


def _line_ok(old, new):
    if old is not None:
        return re.fullmatch(r"\s*-\s+\S+\s*(#.*)?", old) is not None
    return re.fullmatch(r"\s*(?:[\"']?[\w.-]+[\"']?:(?:\s+#.*)?|condition: service_(?:healthy|started)|healthcheck:"
                        r"|test: \[.*\]|interval: \S+|timeout: \S+|retries: \d+|start_period: \S+)", new) is not None


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, "compose", line_ok=_line_ok)
    assert counts["applied"] > 10


def test_flow_mappings_get_flow_text():
    before = ("services:\n  web: {image: app, depends_on: [db, api]}\n"
              "  w2:\n    image: x\n    depends_on: {db: , api: {condition: service_started}}\n"
              "  api:\n    image: api\n  db: {image: postgres}\n")
    after = fixed(ID, before, removed_ok=lambda line: "{" in line)
    assert "  web: {image: app, depends_on: {db: {condition: service_healthy}, api: {condition: service_started}}}\n" in after
    assert "    depends_on: {db: {condition: service_healthy}, api: {condition: service_started}}\n" in after
    assert '  db: {image: postgres, healthcheck: {test: ["CMD-SHELL", "pg_isready -U $${POSTGRES_USER:-postgres}"], interval: 10s' in after
