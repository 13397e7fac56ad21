"""nw-002: publish the ports of internal services on 127.0.0.1 (Compose and docker run)."""
from __future__ import annotations

import difflib

import pytest
import yaml

from tests.corpus import needs_corpus
from tests.helpers import compose_errors, fix, reason_of, run
from tests.transforms.yaml_corpus import check_corpus

ID = "nw-002"


def service(image: str, ports: str) -> str:
    return f"services:\n  db:\n    image: {image}\n    ports:\n{ports}"


def fixed(text: str, **kw) -> str:
    out = fix(ID, text, kind="compose", **kw)
    assert not compose_errors(out)
    return out


@pytest.mark.parametrize(("item", "after"), [
    ('      - "5432:5432"\n', '      - "127.0.0.1:5432:5432"\n'),
    ("      - '5432:5432'\n", "      - '127.0.0.1:5432:5432'\n"),
    ("      - 5432:5432\n", "      - 127.0.0.1:5432:5432\n"),
    ("      - 5432\n", "      - 127.0.0.1::5432\n"),  # a random host port, now on loopback only
    ('      - "5432-5433:5432-5433"\n', '      - "127.0.0.1:5432-5433:5432-5433"\n'),
    ('      - "5432:5432/tcp"  # psql\n', '      - "127.0.0.1:5432:5432/tcp"  # psql\n'),
    ('      - "${PG_PORT:-5432}:5432"\n', '      - "127.0.0.1:${PG_PORT:-5432}:5432"\n'),
    ("      - target: 5432\n        published: 5432\n", "      - target: 5432\n        published: 5432\n        host_ip: 127.0.0.1\n"),
    ("      - target: 5432\n", "      - target: 5432\n        host_ip: 127.0.0.1\n"),
    ("      - {target: 5432, published: '5432'}\n", "      - {target: 5432, published: '5432', host_ip: 127.0.0.1}\n"),
])
def test_binds_short_and_long_syntax(item, after):
    assert fixed(service("postgres:17", item)) == service("postgres:17", after)


def test_flow_sequence_and_flush_items():
    before = "services:\n  cache:\n    image: redis:7-alpine\n    ports: [6379, \"16379:6379\"]\n"
    assert fixed(before) == "services:\n  cache:\n    image: redis:7-alpine\n    ports: [127.0.0.1::6379, \"127.0.0.1:16379:6379\"]\n"
    flush = "services:\n  mq:\n    image: rabbitmq:4-management\n    ports:\n    - 5672:5672\n    - 15672:15672\n"
    assert fixed(flush) == "services:\n  mq:\n    image: rabbitmq:4-management\n    ports:\n    - 127.0.0.1:5672:5672\n    - 127.0.0.1:15672:15672\n"


@pytest.mark.parametrize("image", ["bitnami/postgresql:16", "mysql", "mariadb:11", "mongo:8", "redis", "valkey/valkey:8",
                                   "confluentinc/cp-kafka:7.6.0", "dpage/pgadmin4", "adminer", "${DB_IMAGE:-postgres:16}",
                                   "docker.io/library/postgres:16", "mcr.microsoft.com/mssql/server:2022-latest"])
def test_internal_images(image):
    assert '"127.0.0.1:1:1"' in fixed(service(image, '      - "1:1"\n'))


@pytest.mark.parametrize(("text", "why"), [
    (service("nginx:1.27", '      - "80:80"\n'), "a public service"),
    (service("example/app", '      - "5432:5432"\n'), "unknown image"),
    (service("postgres", '      - "127.0.0.1:5432:5432"\n'), "bound already"),
    (service("postgres", '      - "10.0.0.3:5432:5432"\n'), "bound to one address"),
    (service("postgres", '      - "${BIND:-127.0.0.1}:5432:5432"\n'), "bound through a variable"),
    (service("postgres", "      - target: 5432\n        host_ip: 192.168.1.2\n"), "long syntax bound"),
    ("services:\n  db:\n    image: postgres\n    expose:\n      - 5432\n", "expose is not a publication"),
    ("services:\n  db:\n    build: .\n    ports:\n      - 5432:5432\n", "built image"),
])
def test_near_misses_do_not_change(text, why):
    result = run(ID, text, kind="compose")
    assert result.text == text and not result.remaining, why


@pytest.mark.parametrize(("text", "reason"), [
    (service("postgres", '      - "0.0.0.0:5432:5432"\n'), "on purpose"),
    (service("postgres", '      - "[::]:5432:5432"\n'), "on purpose"),
    (service("postgres", "      - target: 5432\n        host_ip: 0.0.0.0\n"), "on purpose"),
    (service("postgres", '      - "${DB_PORTS}"\n'), "variable"),
])
def test_reports_what_it_leaves(text, reason):
    result = run(ID, text, kind="compose")
    assert result.text == text and reason in reason_of(result)


def test_host_network_is_reported():
    text = service("redis", '      - "6379:6379"\n') + "    network_mode: host\n"
    result = run(ID, text, kind="compose")
    assert result.text == text and "listen on 127.0.0.1" in reason_of(result)


def test_swarm_stack_is_reported():
    text = service("postgres", '      - "5432:5432"\n')
    result = run(ID, text, kind="compose", path="docker-stack.yml")
    assert result.text == text and "ingress" in reason_of(result)


def test_anchors_and_extension_fields_survive():
    before = (
        "x-db: &db\n  image: postgres:16\n  restart: always\n"
        "services:\n  db:\n    <<: *db\n    ports:\n      - \"5432:5432\"\n"
        "  app:\n    image: example/app\n    x-note: keep\n"
    )
    after = fixed(before)
    assert after == before.replace('"5432:5432"', '"127.0.0.1:5432:5432"')


def test_a_shared_service_definition_is_reported():
    before = "services:\n  db: &db\n    image: postgres\n    ports:\n      - \"5432:5432\"\n  replica: *db\n"
    result = run(ID, before, kind="compose")
    assert result.text == before and "anchor" in reason_of(result)


def test_ports_merged_from_an_anchor_are_reported():
    before = "x-db: &db\n  ports:\n    - \"5432:5432\"\nservices:\n  db:\n    <<: *db\n    image: postgres\n"
    result = run(ID, before, kind="compose")
    assert result.text == before and "merge key" in reason_of(result)


def test_crlf_and_four_space_indent():
    before = 'services:\r\n    db:\r\n        image: mysql:8\r\n        ports:\r\n            - target: 3306\r\n'
    assert fixed(before) == before + "              host_ip: 127.0.0.1\r\n"


def test_option_host_ip():
    before = service("postgres", '      - "5432:5432"\n      - target: 5432\n')
    after = fixed(before, options={"host_ip": "::1"})
    assert '"[::1]:5432:5432"' in after and "host_ip: ::1" in after and yaml.safe_load(after)


def test_only_port_lines_change():
    before = ("# db for dev\nservices:\n  web:\n    image: nginx\n    ports: ['80:80']\n\n  db:\n    image: postgres:16  # pinned\n"
              "    environment:\n      POSTGRES_PASSWORD: x\n    ports:\n      - \"5432:5432\"\n      - 6000\n\n"
              "volumes:\n  data: {}\n")
    after = fixed(before)
    changed = sorted(line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-")
    assert changed == sorted(['-       - "5432:5432"', "-       - 6000", '+       - "127.0.0.1:5432:5432"', "+       - 127.0.0.1::6000"])


# docker run in shell scripts ----------------------------------------------------------------

SCRIPT = """#!/bin/sh
set -e
docker run -d --name db -e POSTGRES_PASSWORD=x -p 5432:5432 postgres:16
docker run -d -p=6379:6379 --rm redis
docker run -dp "5672:5672" -p15672:15672 rabbitmq:3-management
sudo docker container run --publish 3306 \\
   --publish=13306:3306 \\
   mysql:8 mysqld --port 1
podman run --publish '27017:27017' docker.io/library/mongo:8 && echo ok
docker run -p 8080:80 nginx
docker run -v "$PWD:/data" -p 5432:5432 example/app:1
# docker run -p 5432:5432 postgres
cat <<EOF
docker run -p 5432:5432 postgres
EOF
"""

SCRIPT_AFTER = """#!/bin/sh
set -e
docker run -d --name db -e POSTGRES_PASSWORD=x -p 127.0.0.1:5432:5432 postgres:16
docker run -d -p=127.0.0.1:6379:6379 --rm redis
docker run -dp "127.0.0.1:5672:5672" -p127.0.0.1:15672:15672 rabbitmq:3-management
sudo docker container run --publish 127.0.0.1::3306 \\
   --publish=127.0.0.1:13306:3306 \\
   mysql:8 mysqld --port 1
podman run --publish '127.0.0.1:27017:27017' docker.io/library/mongo:8 && echo ok
docker run -p 8080:80 nginx
docker run -v "$PWD:/data" -p 5432:5432 example/app:1
# docker run -p 5432:5432 postgres
cat <<EOF
docker run -p 5432:5432 postgres
EOF
"""


def test_docker_run_in_shell_scripts():
    assert fix(ID, SCRIPT, kind="shell", path="run.sh") == SCRIPT_AFTER


@pytest.mark.parametrize(("line", "reason"), [
    ("docker run -P postgres\n", "-P"),
    ("docker run -p 0.0.0.0:5432:5432 postgres\n", "on purpose"),
    ("docker run -p $DB_PORTS postgres\n", "variable"),
])
def test_docker_run_reports(line, reason):
    result = run(ID, line, kind="shell", path="run.sh")
    assert result.text == line and reason in reason_of(result)


@pytest.mark.parametrize("line", [
    "docker run -p 127.0.0.1:5432:5432 postgres\n",
    "docker run --name postgres -p 8000:8000 example/api\n",  # --name's value is not the image
    "docker run -e POSTGRES=1 -p 80:80 nginx\n",
    "docker ps -p 5432\n",
    "docker run -p 5432:5432 $IMAGE\n",
    "echo docker run -p 5432:5432 postgres\n",
    "docker run --network host postgres\n",
])
def test_docker_run_near_misses(line):
    result = run(ID, line, kind="shell", path="run.sh")
    assert result.text == line and not result.remaining


def test_shell_crlf():
    before = "set -e\r\ndocker run -p 6379:6379 redis:7\r\necho done\r\n"
    assert fix(ID, before, kind="shell", path="run.sh") == before.replace("6379:6379", "127.0.0.1:6379:6379")


# the corpus -----------------------------------------------------------------------------------

def _port_line(old, new) -> bool:
    """A changed line is a port item gaining its host address, or a host_ip line added to a long one."""
    if old is None:
        return new.strip() == "host_ip: 127.0.0.1"
    return new is not None and old in (new.replace("127.0.0.1::", "", 1), new.replace("127.0.0.1:", "", 1))


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, "compose", line_ok=_port_line)
    assert counts["applied"] > 10


@needs_corpus
def test_corpus_shell_scripts():
    counts = check_corpus(ID, "shell", line_ok=lambda old, new: old is not None and new is not None and "-p" in new)
    assert not counts["files"]  # no corpus script publishes an internal service's port
