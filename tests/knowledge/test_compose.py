"""The Compose model: both syntaxes, anchors, interpolation, projects."""
from __future__ import annotations

import pytest

from orchfix.documents import YamlDocument
from orchfix.transforms._knowledge import compose
from orchfix.workspace import Workspace

TEXT = """x-base: &base
  restart: always
services:
  web:
    image: ${IMAGE:-nginx}:${TAG:-1.27}
    ports: ["8080:80", "127.0.0.1:9000:9000/udp", {target: 443, published: "8443", host_ip: 0.0.0.0}]
    volumes:
      - ./site:/usr/share/nginx/html:ro
      - data:/data
      - /tmp
      - type: bind
        source: ./conf
        target: /etc/app
    depends_on: [db]
    environment:
      - MODE=prod
      - PASSTHROUGH
  db: &db
    image: postgres
    environment:
      POSTGRES_PASSWORD: secret
  replica: *db
  worker:
    <<: *base
    image: app
    depends_on:
      db:
        condition: service_healthy
"""


@pytest.fixture
def model():
    return compose.load(YamlDocument("compose.yaml", TEXT, kind="compose"))


def test_services_and_sharing(model):
    assert list(model.services) == ["web", "db", "replica", "worker"]
    assert [s.name for s in model.services.values() if s.shared] == ["db", "replica", "worker"]


def test_ports_both_syntaxes(model):
    ports = [(p.host_ip, p.published, p.target, p.protocol, p.long) for p in model.services["web"].ports()]
    assert ports == [(None, "8080", "80", "tcp", False), ("127.0.0.1", "9000", "9000", "udp", False), ("0.0.0.0", "8443", "443", "tcp", True)]


def test_volumes_both_syntaxes(model):
    vols = [(v.kind, v.source, v.target, v.read_only) for v in model.services["web"].volumes()]
    assert vols == [("bind", "./site", "/usr/share/nginx/html", True), ("volume", "data", "/data", False),
                    ("anonymous", None, "/tmp", False), ("bind", "./conf", "/etc/app", False)]


def test_depends_on_and_environment(model):
    assert model.services["web"].depends_on() == ["db"] and model.services["worker"].depends_on() == ["db"]
    assert [(e.name, e.value) for e in model.services["web"].environment()] == [("MODE", "prod"), ("PASSTHROUGH", None)]
    assert [(e.name, e.value) for e in model.services["db"].environment()] == [("POSTGRES_PASSWORD", "secret")]


@pytest.mark.parametrize("text, env, out", [
    ("${IMAGE:-nginx}:${TAG:-1.27}", {}, "nginx:1.27"), ("${A-x}", {"A": ""}, ""), ("${A:-x}", {"A": ""}, "x"),
    ("$$HOME/$USER", {"USER": "me"}, "$HOME/me"), ("${A:+set}", {"A": "1"}, "set"),
])
def test_interpolate(text, env, out):
    assert compose.interpolate(text, env) == out


def test_project_reads_the_override_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "compose.yaml").write_text("services:\n  app:\n    image: a\n")
    (tmp_path / "compose.override.yaml").write_text("services:\n  app:\n    depends_on: [db]\n  db:\n    image: postgres\n")
    (tmp_path / "compose.test.yaml").write_text("services:\n  t:\n    image: t\n")
    ws = Workspace.scan(["."])
    files = compose.project(ws, ws.document("compose.yaml"))
    assert [f.doc.path for f in files] == ["compose.yaml", "compose.override.yaml"]
    assert compose.dependents(files, "db") == ["app"]


@pytest.mark.parametrize(("text", "parts"), [
    ("./a:/b:ro", ["./a", "/b", "ro"]),
    ("${CONF:-./conf}:/etc/app:ro", ["${CONF:-./conf}", "/etc/app", "ro"]),
    ("${A:-x}:${B:-/y}", ["${A:-x}", "${B:-/y}"]),
    ("/tmp", ["/tmp"]),
])
def test_split_colons_outside_variables(text, parts):
    assert compose.split_colons(text) == parts


def test_volume_with_a_variable_default_source():
    doc = YamlDocument("compose.yaml", "services:\n  a:\n    volumes:\n      - ${CONF:-./conf}:/etc/app:z\n", kind="compose")
    [vol] = compose.load(doc).services["a"].volumes()
    assert (vol.kind, vol.source, vol.target, vol.mode) == ("bind", "${CONF:-./conf}", "/etc/app", "z")


def test_references_beyond_depends_on():
    text = ("services:\n  tool:\n    image: x\n  a:\n    network_mode: service:tool\n  b:\n    volumes_from: [tool]\n"
            "  c:\n    extends: tool\n  d:\n    extends: {service: tool, file: other.yaml}\n  e:\n    depends_on: [tool]\n"
            "  f:\n    pid: service:tool\n")
    model = compose.load(YamlDocument("compose.yaml", text, kind="compose"))
    assert sorted(compose.references([model], "tool")) == ["a", "b", "c", "e", "f"]


def test_a_relative_source_is_not_a_windows_drive():
    doc = YamlDocument("compose.yaml", "services:\n  a:\n    volumes:\n      - .:/app:cached\n      - C:\\data:/data\n", kind="compose")
    vols = [(v.kind, v.source, v.target, v.mode) for v in compose.load(doc).services["a"].volumes()]
    assert vols == [("bind", ".", "/app", "cached"), ("bind", "C:\\data", "/data", None)]
