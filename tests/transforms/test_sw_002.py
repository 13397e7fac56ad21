"""sw-002: plain-text credentials in stack files become external swarm secrets."""
from __future__ import annotations

import pytest

from orchfix.workspace import Workspace
from tests.corpus import needs_corpus
from tests.helpers import compose_errors, fix, run
from tests.transforms.crossfile import tree
from tests.transforms.stack_oracle import needs_docker_stack, stack_config
from tests.transforms.yaml_corpus import check_corpus

ID = "sw-002"
PW = "Zq8-unusual-Pw"  # the credential: it must appear nowhere after the fix
STACK = "docker-stack.yml"


def fixed(text: str, path: str = STACK) -> str:
    out = fix(ID, text, kind="compose", path=path)
    assert not compose_errors(out), compose_errors(out)
    return out


def leaks(outcome, text: bool = True) -> list[str]:
    """Where the credential still is: the text (when it was changed), a side file, a finding's
    message or reason."""
    places = ([("text", outcome.text)] if text else []) + [(p, t) for p, t in outcome.side.items()]
    places += [(f.transform, f.message + " " + (f.reason or "")) for f in outcome.applied + outcome.remaining]
    return [where for where, text in places if PW in text]


def test_postgres_password_becomes_a_secret():
    before = f"""version: "3.9"
services:
  db:
    image: postgres:15-alpine
    environment:
      POSTGRES_USER: "postgres"
      POSTGRES_PASSWORD: "{PW}"  # change me
    volumes:
      - db-data:/var/lib/postgresql/data

volumes:
  db-data:
"""
    out = run(ID, before, kind="compose", path=STACK)
    assert out.text == """version: "3.9"
services:
  db:
    image: postgres:15-alpine
    environment:
      POSTGRES_USER: "postgres"
      POSTGRES_PASSWORD_FILE: /run/secrets/db_postgres_password  # change me
    volumes:
      - db-data:/var/lib/postgresql/data
    secrets:
      - db_postgres_password

volumes:
  db-data:
secrets:
  db_postgres_password:
    external: true
"""
    assert not leaks(out) and not out.side
    [finding] = out.applied
    assert "printf '%s' '<value>' | docker secret create db_postgres_password -" in finding.message
    assert fixed(before) == out.text


def test_list_syntax_several_services_and_existing_secrets():
    before = f"""services:
  db:
    image: mysql:8.4
    environment:
    - MYSQL_ROOT_PASSWORD={PW}
    - MYSQL_PASSWORD={PW}
    - MYSQL_USER=app
    secrets:
    - tls_cert
    deploy:
      placement:
        constraints: [node.role == manager]
  search:
    image: elasticsearch:8.15.0
    environment:
      ELASTIC_PASSWORD: {PW}
secrets:
  tls_cert:
    file: ./cert.pem
"""
    out = run(ID, before, kind="compose", path="compose.yaml")
    assert out.text == """services:
  db:
    image: mysql:8.4
    environment:
    - MYSQL_ROOT_PASSWORD_FILE=/run/secrets/db_mysql_root_password
    - MYSQL_PASSWORD_FILE=/run/secrets/db_mysql_password
    - MYSQL_USER=app
    secrets:
    - tls_cert
    - db_mysql_root_password
    - db_mysql_password
    deploy:
      placement:
        constraints: [node.role == manager]
  search:
    image: elasticsearch:8.15.0
    environment:
      ELASTIC_PASSWORD_FILE: /run/secrets/search_elastic_password
    secrets:
    - search_elastic_password
secrets:
  tls_cert:
    file: ./cert.pem
  db_mysql_root_password:
    external: true
  db_mysql_password:
    external: true
  search_elastic_password:
    external: true
"""
    assert not leaks(out)
    assert fixed(before, "compose.yaml") == out.text


def test_last_service_and_top_level_inserted_at_one_point():
    before = f"services:\n  db:\n    image: mongo:8.0\n    environment:\n      MONGO_INITDB_ROOT_PASSWORD: {PW}\n"
    assert fixed(before) == (
        "services:\n  db:\n    image: mongo:8.0\n    environment:\n"
        "      MONGO_INITDB_ROOT_PASSWORD_FILE: /run/secrets/db_mongo_initdb_root_password\n"
        "    secrets:\n      - db_mongo_initdb_root_password\n"
        "secrets:\n  db_mongo_initdb_root_password:\n    external: true\n")


def test_images_that_cannot_read_files_are_reported():
    before = f"""services:
  app:
    image: example/app:1.0
    environment:
      API_TOKEN: {PW}
      DATABASE_URL: postgres://app:{PW}@db/app
  cache:
    image: ${{CACHE_IMAGE}}
    environment:
      REDIS_PASSWORD: {PW}
"""
    out = run(ID, before, kind="compose", path=STACK)
    assert out.text == before and not leaks(out, text=False)
    reasons = [f.reason for f in out.remaining]
    assert len(reasons) == 2 and "reads API_TOKEN only from its environment" in reasons[0]
    assert "/run/secrets/app_api_token" in reasons[0]


@pytest.mark.parametrize("text, why", [
    # docker compose runs this file: external secrets cannot be mounted there
    ("services:\n  db:\n    image: postgres\n    environment:\n      POSTGRES_PASSWORD: {pw}\n    deploy:\n      replicas: 1\n", None),
    ("version: '3'\nservices:\n  db:\n    image: postgres\n    environment:\n      POSTGRES_PASSWORD: {pw}\n", "format 3"),
    ("services:\n  db: &db\n    image: postgres\n    environment:\n      POSTGRES_PASSWORD: {pw}\n  db2: *db\n", "anchor"),
    ("services:\n  db:\n    image: postgres\n    environment:\n      POSTGRES_PASSWORD: {pw}\n      POSTGRES_PASSWORD_FILE: /x\n", "set as well"),
    ("services:\n  db:\n    image: postgres\n    environment:\n      POSTGRES_PASSWORD: {pw}\n"
     "secrets:\n  db_postgres_password:\n    file: ./pw\n", "declared already"),
])
def test_near_misses(text, why):
    text = text.format(pw=PW)
    path = "compose.yaml" if why is None else STACK
    out = run(ID, text, kind="compose", path=path)
    assert out.text == text and not leaks(out, text=False)
    if why is None:
        assert not out.remaining
    else:
        assert why in out.remaining[0].reason


def test_placeholders_and_references_are_no_credentials():
    text = "services:\n  db:\n    image: postgres\n    environment:\n      POSTGRES_PASSWORD: ${PG_PW}\n      POSTGRES_PASSWORD_FILE_X: x\n"
    out = run(ID, text, kind="compose", path=STACK)
    assert out.text == text and not out.remaining


def test_crlf_and_flow_environment():
    before = f"services:\r\n  db:\r\n    image: postgres\r\n    environment: {{POSTGRES_PASSWORD: {PW}, POSTGRES_DB: app}}\r\n"
    out = fixed(before)
    assert out == ("services:\r\n  db:\r\n    image: postgres\r\n"
                   "    environment: {POSTGRES_PASSWORD_FILE: /run/secrets/db_postgres_password, POSTGRES_DB: app}\r\n"
                   "    secrets:\r\n      - db_postgres_password\r\n"
                   "secrets:\r\n  db_postgres_password:\r\n    external: true\r\n")


@needs_docker_stack
def test_docker_stack_loads_the_output(tmp_path):
    before = (f"version: '3.8'\nservices:\n  db:\n    image: postgres:17\n    environment:\n      POSTGRES_PASSWORD: {PW}\n"
              "    deploy:\n      replicas: 1\n")
    tree(tmp_path, {STACK: fixed(before)})
    loaded = stack_config(tmp_path)
    assert loaded["services"]["db"]["secrets"] == [{"source": "db_postgres_password"}]
    assert loaded["secrets"]["db_postgres_password"]["external"] == "true"


def test_ec_001_leaves_secret_for_sw_002_in_stacks(tmp_path, monkeypatch):
    before = f"services:\n  db:\n    image: postgres:17\n    environment:\n      POSTGRES_PASSWORD: {PW}\n"
    tree(tmp_path, {STACK: before})
    monkeypatch.chdir(tmp_path)
    out = run("ec-001", before, kind="compose", path=STACK, workspace=Workspace.scan(["."]))
    assert out.text == before and "sw-002" in out.remaining[0].reason


@needs_corpus
def test_corpus():
    # a changed line becomes a *_FILE entry; every other change is an added line (secrets lists)
    counts = check_corpus(ID, "compose", line_ok=lambda old, new: old is None or "_FILE" in (new or ""))
    assert counts["applied"] >= 1
