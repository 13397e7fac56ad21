"""The project graph nw-001, nw-003 and dc-004 share: who talks to whom, ports as written."""
from __future__ import annotations

import pytest

from orchfix.documents import YamlDocument
from orchfix.transforms.nw import _graph
from orchfix.transforms.nw._graph import PortSpec, split_port
from tests.transforms.crossfile import project


@pytest.mark.parametrize(("value", "name", "hosts"), [
    ("postgres://u:p@db:5432/app", "X", {"db"}),
    ("mongodb://a:27017,b:27017/x?replicaSet=rs", "MONGO", {"a", "b"}),
    ("http://api/v1", "URL", {"api"}),
    ("redis:6379", "OPTS", {"redis"}),
    ("db", "DB_HOST", {"db"}),
    ("kafka-1, kafka-2", "KAFKA_BROKERS", {"kafka-1", "kafka-2"}),
    ("db", "MODE", set()),  # a bare word counts only in a variable that holds a host
    ("web", "OTEL_SERVICE_NAME", set()),
    ("12:30", "TIME", set()),
    ("$HOST:80", "X", set()),
])
def test_hosts_in(value, name, hosts):
    assert _graph.hosts_in(value, name) == hosts


@pytest.mark.parametrize(("spec", "parts"), [
    ("5432", PortSpec(None, None, "5432")),
    ("5432:5432/udp", PortSpec(None, "5432", "5432", "/udp")),
    ("127.0.0.1::5432", PortSpec("127.0.0.1", None, "5432")),
    ("[::1]:80:80", PortSpec("::1", "80", "80")),
    ("${P:-5432}:5432", PortSpec(None, "${P:-5432}", "5432")),
    ("${IP:-0.0.0.0}:${P:-1}:80", PortSpec("${IP:-0.0.0.0}", "${P:-1}", "80")),
    ("5432-5433:5432-5433", PortSpec(None, "5432-5433", "5432-5433")),
    (":5432:5432", PortSpec(None, "5432", "5432")),
    ("a:b:c:d", None),
])
def test_split_port(spec, parts):
    assert split_port(spec) == parts


def test_with_host():
    assert _graph.with_host(PortSpec(None, None, "5432"), "127.0.0.1") == "127.0.0.1::5432"
    assert _graph.with_host(PortSpec(None, "1", "2", "/udp"), "::1") == "[::1]:1:2/udp"


def test_build_reads_the_project(tmp_path, monkeypatch):
    ws = project(tmp_path, monkeypatch, {
        "compose.yaml": ("include:\n  - path: extra/compose.yaml\nx-env: &env\n  CACHE_URL: redis://kv:6379\n"
                         "services:\n  web:\n    image: nginx\n    ports: ['80:80']\n    links: ['api:backend']\n"
                         "  api:\n    build: .\n    environment:\n      <<: *env\n    env_file: [api.env]\n"
                         "    command: ['--search', 'http://search:9200']\n"
                         "  cache:\n    image: ${CACHE_IMAGE:-redis:7}\n    hostname: kv\n"
                         "  job:\n    extends: api\n    profiles: [jobs]\n"),
        "compose.override.yaml": "services:\n  db:\n    image: postgres\n    networks:\n      default:\n        aliases: [database]\n",
        "api.env": "DB=postgres://database/app\n",
        "extra/compose.yaml": "services:\n  search:\n    image: elasticsearch:8.15.0\n",
    })
    graph = _graph.build(ws, ws.document("compose.yaml"))
    members = graph.services
    assert set(members) == {"web", "api", "cache", "job", "db", "search"}
    assert members["web"].talks == {"api"} and members["web"].published
    assert members["api"].talks == {"cache", "db", "search"}
    assert members["job"].talks == {"cache", "db", "search"} and members["job"].profiles == {"jobs"}
    assert members["cache"].role == "cache" and members["db"].role == "database" and members["search"].data
    assert graph.users("db") == {"api", "job"} and graph.users("db", active=True) == {"api"}
    assert graph.extended_by("api") == {"job"} and graph.elsewhere() == {"db", "search"}


def test_reused():
    doc = YamlDocument("compose.yaml", "services:\n  a: &a\n    image: x\n  b: *a\n  c: &c\n    image: y\n", kind="compose")
    graph = _graph.build(None, doc)
    assert [_graph.reused(s) for s in graph.own.services.values()] == [True, True, False]


def test_merge_inserts():
    from orchfix.text import Edit
    merged = _graph.merge_inserts([Edit(5, 5, "b"), Edit(1, 2, "x"), Edit(5, 5, "a")])
    assert merged == [Edit(5, 5, "ba"), Edit(1, 2, "x")]
