"""dc-002: named volumes at the data directories of stateful services."""
from __future__ import annotations

import re

import pytest

from tests.corpus import needs_corpus
from tests.transforms.compose_cases import fixed, reasons, unchanged, workspace
from tests.transforms.yaml_corpus import check_corpus

ID = "dc-002"


def test_postgres_gets_a_named_volume_and_a_new_top_level_section():
    before = "services:\n  web:\n    image: nginx:1.27\n\n  db:\n    image: postgres:16\n    restart: always\n"
    after = fixed(ID, before)
    assert after == (
        "services:\n  web:\n    image: nginx:1.27\n\n  db:\n    image: postgres:16\n    restart: always\n"
        "    volumes:\n      - db-data:/var/lib/postgresql/data\nvolumes:\n  db-data:\n"
    )


def test_appends_to_existing_volumes_in_their_style_and_declares_next_to_the_others():
    before = (
        "services:\n"
        "  db:\n"
        "    image: \"mariadb:11.4\"\n"
        "    volumes:\n"
        "      - \"./init:/docker-entrypoint-initdb.d:ro\"\n"
        "    # the database\n"
        "\n"
        "volumes:\n"
        "  app_logs:\n"
        "\n"
        "networks:\n"
        "  default: {}\n"
    )
    after = fixed(ID, before)
    assert after == before.replace(
        '"./init:/docker-entrypoint-initdb.d:ro"\n', '"./init:/docker-entrypoint-initdb.d:ro"\n      - "db_data:/var/lib/mysql"\n'
    ).replace("  app_logs:\n", "  app_logs:\n  db_data:\n")


@pytest.mark.parametrize("mount", [
    "- db:/var/lib/postgresql/data",
    "- ./pgdata:/var/lib/postgresql/data:rw",
    "- /srv/pg:/var/lib/postgresql",
    "- pg:/var/lib/postgresql/data/pgdata",
    "- /var/lib/postgresql/data",
    "- type: bind\n        source: ./data\n        target: /var/lib/postgresql/data",
    "- type: tmpfs\n        target: /var/lib/postgresql/data",
    "- ${DATA:-./data}:/var/lib/postgresql/data",
    "- data:${PG_MOUNT}",
])
def test_any_mount_at_above_or_inside_the_data_dir_is_enough(mount):
    unchanged(ID, f"services:\n  db:\n    image: postgres:16\n    volumes:\n      {mount}\nvolumes:\n  db: {{}}\n  pg: {{}}\n  data: {{}}\n")


def test_tmpfs_key_and_volumes_from_count_as_mounts():
    unchanged(ID, "services:\n  cache:\n    image: redis:7\n    tmpfs:\n      - /data\n")
    unchanged(ID, "services:\n  db:\n    image: mysql:8.4\n    volumes_from:\n      - store\n  store:\n    image: busybox\n")


@pytest.mark.parametrize("image, path", [
    ("postgres:16-alpine", "/var/lib/postgresql/data"),
    ("postgres:18", "/var/lib/postgresql"),
    ("postgres", "/var/lib/postgresql"),
    ("postgres:alpine", "/var/lib/postgresql"),
    ("docker.io/library/postgres:17", "/var/lib/postgresql/data"),
    ("postgis/postgis:16-3.4", "/var/lib/postgresql/data"),
    ("pgvector/pgvector:pg17", "/var/lib/postgresql/data"),
    ("mysql:8.4", "/var/lib/mysql"),
    ("mongo:7", "/data/db"),
    ("redis:7-alpine", "/data"),
    ("rabbitmq:4-management", "/var/lib/rabbitmq"),
    ("docker.elastic.co/elasticsearch/elasticsearch:8.15.0", "/usr/share/elasticsearch/data"),
    ("${DB_IMAGE:-mysql:8.4}", "/var/lib/mysql"),
])
def test_data_directory_per_image(image, path):
    after = fixed(ID, f"services:\n  store:\n    image: {image}\n")
    assert f"      - store-data:{path}\n" in after


def test_data_directory_moved_by_env_and_flags():
    after = fixed(ID, "services:\n  db:\n    image: postgres:17\n    environment:\n      - PGDATA=/pgdata/main\n")
    assert "- db-data:/pgdata/main" in after
    after = fixed(ID, "services:\n  mongo:\n    image: mongo:7\n    command: [\"mongod\", \"--dbpath=/srv/db\"]\n")
    assert "- mongo-data:/srv/db" in after
    after = fixed(ID, "services:\n  db:\n    image: mariadb:11\n    command: --datadir /srv/mysql --skip-name-resolve\n")
    assert "- db-data:/srv/mysql" in after


def test_unknown_data_dirs_are_reported():
    [why] = reasons(ID, "services:\n  db:\n    image: postgres:17\n    environment:\n      PGDATA: ${PGDATA_DIR}\n")
    assert "PGDATA" in why
    [why] = reasons(ID, "services:\n  db:\n    image: timescale/timescaledb:2.14.2\n")
    assert "PostgreSQL major" in why


def test_redis_as_a_pure_cache_and_stateless_images_are_left_alone():
    unchanged(ID, "services:\n  cache:\n    image: redis:7\n    command: redis-server --save '' --appendonly no\n")
    unchanged(ID, "services:\n  web:\n    image: nginx\n  memcached:\n    image: memcached:1.6\n  x:\n    image: ${NOPE}\n")


def test_names_are_unique_and_unused_declarations_are_taken_over():
    before = ("services:\n  db:\n    image: postgres:17\n  other:\n    image: busybox\n    volumes:\n      - db-data:/x\n"
              "volumes:\n  db-data:\n")
    after = fixed(ID, before)
    assert "- db-data-2:/var/lib/postgresql/data" in after and after.endswith("  db-data:\n  db-data-2:\n")
    external = "services:\n  db:\n    image: postgres:17\nvolumes:\n  db-data:\n    external: true\n"
    assert "- db-data-2:/var/lib/postgresql/data" in fixed(ID, external)
    before = "services:\n  db:\n    image: postgres:17\nvolumes:\n  db-data:\n    driver: local\n"
    after = fixed(ID, before)
    assert after == before.replace("postgres:17\n", "postgres:17\n    volumes:\n      - db-data:/var/lib/postgresql/data\n")


@pytest.mark.parametrize("top, declared", [
    ("volumes: {}\n", "volumes: {db-data: {}}\n"),
    ("volumes:\n", "volumes:\n  db-data:\n"),
    ("volumes:  # named volumes\n", "volumes:  # named volumes\n  db-data:\n"),
    ("volumes:\n  other: {}\n", "volumes:\n  other: {}\n  db-data: {}\n"),
])
def test_top_level_section_in_every_shape(top, declared):
    before = "services:\n  db:\n    image: postgres:17\n" + top
    after = fixed(ID, before, removed_ok=lambda line: line.startswith("volumes:"))
    assert after.endswith(declared)


def test_file_style_crlf_four_spaces_flush_sequences_and_no_final_newline():
    before = "services:\r\n    db:\r\n        image: mysql:8.4\r\n        ports:\r\n        - 3306:3306\r\n\r\nnetworks:\r\n    back: {}"
    after = fixed(ID, before)
    assert after == ("services:\r\n    db:\r\n        image: mysql:8.4\r\n        ports:\r\n        - 3306:3306\r\n"
                     "        volumes:\r\n        - db-data:/var/lib/mysql\r\n\r\nnetworks:\r\n    back: {}\r\n\r\nvolumes:\r\n    db-data:\r\n")


def test_flow_service_mapping_and_flow_volume_lists():
    flow = lambda line: line.startswith("  db: {")  # noqa: E731 - the one flow line is edited in place
    after = fixed(ID, "services:\n  db: {image: mongo:7, volumes: [\"./init:/init\"]}\n", removed_ok=flow)
    assert after.startswith('services:\n  db: {image: mongo:7, volumes: ["./init:/init", "db-data:/data/db"]}\n')
    after = fixed(ID, "services:\n  db: {image: mongo:7}\n", removed_ok=flow)
    assert after == "services:\n  db: {image: mongo:7, volumes: [db-data:/data/db]}\nvolumes:\n  db-data:\n"


def test_long_form_lists_get_a_long_form_entry():
    before = "services:\n  db:\n    image: redis:7\n    volumes:\n      - type: bind\n        source: ./redis.conf\n        target: /etc/redis.conf\n"
    after = fixed(ID, before)
    assert "      - type: volume\n        source: db-data\n        target: /data\n" in after


def test_anchors_merge_keys_and_x_fields():
    # a service reused through an alias or a merge key would share the volume: reported
    [why] = reasons(ID, "services:\n  db: &db\n    image: postgres:17\n  replica: *db\n")
    assert "anchor" in why
    # volumes merged from an anchor cover the data dir: nothing to do
    unchanged(ID, "x-db: &db\n  volumes:\n    - pg:/var/lib/postgresql/data\nservices:\n  db:\n    <<: *db\n    image: postgres:17\n"
                  "volumes:\n  pg: {}\n")
    # volumes merged from an anchor without the data dir: a volumes key here would replace them
    [why] = reasons(ID, "x-db: &db\n  volumes:\n    - ./init:/docker-entrypoint-initdb.d\nservices:\n  db:\n    <<: *db\n    image: postgres:17\n")
    assert "merge key" in why
    # the image from a merge key, volumes of its own: fixed where the keys live, x- fields untouched
    before = "x-img: &img\n  image: postgres:17 # pinned\nservices:\n  db:\n    <<: *img\n    restart: always\n"
    after = fixed(ID, before)
    assert after.startswith("x-img: &img\n  image: postgres:17 # pinned\n") and "    volumes:\n      - db-data:/var/lib/postgresql/data\n" in after


def test_override_files_and_extends(tmp_path, monkeypatch):
    layout = {
        "compose.yaml": "services:\n  db:\n    image: postgres:17\n",
        "compose.override.yaml": "services:\n  db:\n    volumes:\n      - pg:/var/lib/postgresql/data\nvolumes:\n  pg: {}\n",
    }
    ws = workspace(tmp_path, monkeypatch, layout)
    unchanged(ID, layout["compose.yaml"], path="compose.yaml", workspace=ws)
    unchanged(ID, layout["compose.override.yaml"], path="compose.override.yaml", workspace=ws)


def test_extends_another_file(tmp_path, monkeypatch):
    layout = {
        "common.yml": "services:\n  pg:\n    image: postgres:16\n",
        "compose.yaml": "services:\n  db:\n    extends:\n      file: common.yml\n      service: pg\n    restart: always\n",
    }
    ws = workspace(tmp_path, monkeypatch, layout)
    after = fixed(ID, layout["compose.yaml"], path="compose.yaml", workspace=ws)
    assert "    volumes:\n      - db-data:/var/lib/postgresql/data\n" in after
    layout["compose.yaml"] = "services:\n  db:\n    extends:\n      file: missing.yml\n      service: pg\n    image: postgres:16\n"
    ws = workspace(tmp_path, monkeypatch, layout)
    [why] = reasons(ID, layout["compose.yaml"], path="compose.yaml", workspace=ws)
    assert "not found" in why


def test_images_from_dotenv_and_from_a_build(tmp_path, monkeypatch):
    layout = {
        ".env": "DB_IMAGE=mongo:7\n",
        "compose.yaml": "services:\n  db:\n    image: ${DB_IMAGE:-postgres:16}\n  pg:\n    build: ./pg\n",
        "pg/Dockerfile": "ARG PG=16\nFROM postgres:${PG}-alpine\nCOPY init.sql /docker-entrypoint-initdb.d/\n",
    }
    ws = workspace(tmp_path, monkeypatch, layout)
    after = fixed(ID, layout["compose.yaml"], path="compose.yaml", workspace=ws)
    assert "- db-data:/data/db" in after and "- pg-data:/var/lib/postgresql/data" in after


def test_stack_files_and_suppression():
    after = fixed(ID, "services:\n  redis:\n    image: redis:7\n    deploy:\n      replicas: 1\n", path="docker-stack.yml")
    assert "- redis-data:/data" in after
    unchanged(ID, "services:\n  db:  # orchfix: ignore[dc-002]\n    image: postgres:17\n")


def _line_ok(old, new):
    if old is not None:
        return False
    return re.fullmatch(r"\s*(?:- .*:/\S*\"?|volumes:.*|[\w.-]+:(?: \{\})?|- type: volume|source: \S+|target: \S+|)", new) is not None


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, "compose", line_ok=_line_ok)
    assert counts["applied"] > 10
