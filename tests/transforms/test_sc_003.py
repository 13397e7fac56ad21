"""sc-003: read-only root filesystem with tmpfs for /tmp and the image's temporary paths."""
from __future__ import annotations

import pytest
import yaml

from tests.corpus import needs_corpus
from tests.transforms.compose_cases import fixed, reasons, unchanged, workspace
from tests.transforms.stack_oracle import needs_docker_stack, stack_config
from tests.transforms.yaml_corpus import check_corpus

ID = "sc-003"
_ADDED = ("read_only: true", "tmpfs:", "volumes:", "- /", "- type: tmpfs", "target: /", "size: ")


def _line_ok(old: str | None, new: str | None) -> bool:
    """Only added lines: read_only, tmpfs entries (or tmpfs volumes in stack files)."""
    return old is None and new is not None and new.strip().startswith(_ADDED)


def ro(before: str, **kw) -> str:
    return fixed(ID, before, removed_ok=lambda line: line.strip().startswith(("tmpfs:", "volumes:")), **kw)


def test_nginx_gets_its_cache_and_run_dirs():
    before = "services:\n  web:\n    image: nginx:1.27-alpine\n    ports:\n      - \"80:80\"\n"
    assert ro(before) == before + (
        "    read_only: true\n    tmpfs:\n      - /tmp:size=64m\n      - /var/cache/nginx:size=64m\n      - /var/run:size=64m\n")


@pytest.mark.parametrize(("image", "volumes", "tmpfs"), [
    ("postgres:17", "      - db:/var/lib/postgresql/data\n", ["/tmp:size=64m", "/var/run/postgresql:size=64m"]),
    ("postgres:18", "      - db:/var/lib/postgresql\n", ["/tmp:size=64m", "/var/run/postgresql:size=64m"]),
    ("mysql:8.4", "      - db:/var/lib/mysql\n", ["/tmp:size=64m", "/var/run/mysqld:size=64m"]),
    ("mariadb:11.4", "      - db:/var/lib/mysql\n", ["/tmp:size=64m", "/run/mysqld:size=64m"]),
    ("redis:7.4", "      - db:/data\n", ["/tmp:size=64m"]),
    ("mongo:8.0", "      - db:/data/db\n", ["/tmp:size=64m"]),
    ("python:3.13-slim", "      - .:/app\n", ["/tmp:size=64m"]),
    ("node:22-alpine", "      - .:/app\n", ["/tmp:size=64m"]),
    ("${IMAGE:-golang:1.25}", "      - .:/src\n", ["/tmp:size=64m"]),
])
def test_known_images(image, volumes, tmpfs):
    before = f"services:\n  svc:\n    image: {image}\n    volumes:\n{volumes}volumes:\n  db:\n"
    after = yaml.safe_load(ro(before))["services"]["svc"]
    assert after["read_only"] is True and after["tmpfs"] == tmpfs


def test_covered_paths_are_not_added_again():
    before = "services:\n  web:\n    image: nginx:1.27\n    tmpfs: /run\n    volumes:\n      - cache:/var/cache/nginx\nvolumes:\n  cache:\n"
    after = ro(before)
    assert after == before.replace("    tmpfs: /run\n", "    tmpfs:\n      - /run\n      - /tmp:size=64m\n").replace(
        "/var/cache/nginx\n", "/var/cache/nginx\n    read_only: true\n")


def test_nothing_to_add_but_read_only():
    before = "services:\n  cache:\n    image: redis:7\n    command: redis-server --save '' --appendonly no\n    tmpfs:\n      - /tmp\n"
    assert ro(before) == before + "    read_only: true\n"


def test_build_uses_the_dockerfile_base(tmp_path, monkeypatch):
    text = "services:\n  api:\n    build:\n      context: ./api\n      target: run\n  web:\n    build: ./web\n  other:\n    build: ./other\n"
    ws = workspace(tmp_path, monkeypatch, {
        "compose.yaml": text,
        "api/Dockerfile": "FROM golang:1.25 AS build\nRUN go build -o /app .\nFROM gcr.io/distroless/static-debian12 AS run\nCOPY --from=build /app /app\n",
        "web/Dockerfile": "ARG NGINX=nginx:1.27-alpine\nFROM $NGINX\nCOPY dist /usr/share/nginx/html\n",
        "other/Dockerfile": "FROM php:8.3-apache\n",
    })
    after = yaml.safe_load(ro(text, workspace=ws))["services"]
    assert after["api"]["tmpfs"] == ["/tmp:size=64m"]
    assert after["web"]["tmpfs"] == ["/tmp:size=64m", "/var/cache/nginx:size=64m", "/var/run:size=64m"]
    assert "read_only" not in after["other"]


@pytest.mark.parametrize(("text", "why"), [
    ("services:\n  app:\n    image: example/app:1.4\n", "not known"),
    ("services:\n  app:\n    image: rabbitmq:4\n", "not known"),
    ("services:\n  app:\n    image: ${APP_IMAGE}\n", "unknown"),
    ("services:\n  app:\n    build: ./missing\n", "unknown"),
    ("services:\n  db:\n    image: postgres:17\n", "without a volume"),
    ("services:\n  db:\n    image: postgres:17\n    environment:\n      PGDATA: /pg\n    volumes:\n      - db:/var/lib/postgresql/data\n", "/pg without a volume"),
    ("services:\n  app:\n    image: node:22\n    command: sh -c \"npm install && npm run dev\"\n", "installs or builds"),
    ("services:\n  app:\n    image: python:3.13\n    command: [\"sh\", \"-c\", \"pip install -r requirements.txt && python app.py\"]\n", "installs or builds"),
    ("services:\n  app:\n    image: golang:1.25\n    working_dir: /src\n    command: go run .\n", "installs or builds"),
    ("services:\n  web:\n    image: nginx:1.27\n    volumes:\n      - ./templates:/etc/nginx/templates:ro\n", "renders /etc/nginx/templates"),
    ("services:\n  a: &a\n    image: nginx:1.27\n  b: *a\n", "anchor"),
    ("x-t: &t\n  tmpfs: [/run]\nservices:\n  web:\n    <<: *t\n    image: nginx:1.27\n", "merged anchor"),
])
def test_reported_without_a_fix(text, why):
    found = reasons(ID, text, path="compose.yaml")
    assert found and all(why in r for r in found), found


@pytest.mark.parametrize("text", [
    "services:\n  web:\n    image: nginx:1.27\n    read_only: false\n",
    "services:\n  web:\n    image: nginx:1.27\n    read_only: true\n",  # vs-004's to complete
    "services:\n  dind:\n    image: docker:27-dind\n    privileged: true\n",
    "services:\n  web:\n    ports: ['80:80']\n",  # its image is set in another file
    "services:\n  base:\n    image: nginx:1.27\n    read_only: false\n  web:\n    extends: base\n",
    "x-ro: &ro\n  read_only: false\nservices:\n  web:\n    <<: *ro\n    image: nginx:1.27\n",
    "services:\n  model:\n    provider:\n      type: model\n",
])
def test_near_misses(text):
    unchanged(ID, text)


def test_stack_files_write_tmpfs_volumes():
    before = "services:\n  web:\n    image: nginx:1.27\n    deploy:\n      replicas: 2\n"
    after = ro(before, path="docker-stack.yml")
    assert after == before + (
        "    read_only: true\n"
        "    volumes:\n"
        "      - type: tmpfs\n        target: /tmp\n        tmpfs:\n          size: 67108864\n"
        "      - type: tmpfs\n        target: /var/cache/nginx\n        tmpfs:\n          size: 67108864\n"
        "      - type: tmpfs\n        target: /var/run\n        tmpfs:\n          size: 67108864\n"
    )


def test_style_crlf_flow_mapping_no_final_newline_and_comments():
    before = "services:\r\n    web:   # front\r\n        image: nginx:1.27\r\n        # ports next\r\n        ports: ['80:80']"
    after = ro(before)
    assert after == before + (
        "\r\n        read_only: true\r\n        tmpfs:\r\n            - /tmp:size=64m\r\n"
        "            - /var/cache/nginx:size=64m\r\n            - /var/run:size=64m\r\n")
    flow = "services:\n  web: {image: 'nginx:1.27'}\n"
    assert fixed(ID, flow, removed_ok=lambda line: line.startswith("  web: {")) == "services:\n  web: {image: 'nginx:1.27', read_only: true, tmpfs: [/tmp:size=64m, /var/cache/nginx:size=64m, /var/run:size=64m]}\n"


def test_merge_keys_and_aliases_after_the_service_survive():
    before = (
        "x-logging: &logging\n"
        "  driver: json-file\n"
        "x-defaults: &defaults\n"
        "  restart: always\n"
        "services:\n"
        "  web:\n"
        "    <<: *defaults\n"
        "    image: nginx:1.27\n"
        "    logging: *logging\n"
    )
    after = ro(before)
    assert after == before + "    read_only: true\n    tmpfs:\n      - /tmp:size=64m\n      - /var/cache/nginx:size=64m\n      - /var/run:size=64m\n"


def test_size_option():
    before = "services:\n  cache:\n    image: redis:7\n    volumes:\n      - d:/data\nvolumes:\n  d:\n"
    assert yaml.safe_load(ro(before, options={"size": ""}))["services"]["cache"]["tmpfs"] == ["/tmp"]


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, "compose", line_ok=_line_ok)
    assert counts["applied"] > 100, counts


@needs_docker_stack
def test_docker_stack_reads_the_stack_output(tmp_path):
    before = "services:\n  web:\n    image: nginx:1.27\n    volumes:\n      - ./site:/usr/share/nginx/html:ro\n    deploy:\n      replicas: 2\n"
    (tmp_path / "docker-stack.yml").write_text(ro(before, path="docker-stack.yml"))
    web = stack_config(tmp_path)["services"]["web"]
    assert web["read_only"] == "true"
    assert [(v["type"], v["target"], v.get("tmpfs", {}).get("size")) for v in web["volumes"] if v["type"] == "tmpfs"] == [
        ("tmpfs", "/tmp", "67108864"), ("tmpfs", "/var/cache/nginx", "67108864"), ("tmpfs", "/var/run", "67108864")]


@pytest.mark.parametrize(("tmpfs", "after"), [
    ("    tmpfs:\n      - /run", "    tmpfs:\n      - /run\n      - /tmp:size=64m\n      - /var/cache/nginx:size=64m\n    read_only: true\n"),
    ("    tmpfs: [/run]", "    tmpfs: [/run, /tmp:size=64m, /var/cache/nginx:size=64m]\n    read_only: true\n"),
])
def test_tmpfs_as_the_last_key_of_a_file_without_final_newline(tmpfs, after):
    head = "services:\n  web:\n    image: nginx:1.27\n"
    assert ro(head + tmpfs) == head + after
