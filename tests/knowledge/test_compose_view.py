"""Services as Compose sees them: merge keys, extends, project files, builds."""
from __future__ import annotations

from orchfix.documents import YamlDocument
from orchfix.transforms._knowledge import compose_view as cv
from tests.transforms.crossfile import project


def _doc(text: str, path: str = "compose.yaml") -> YamlDocument:
    return YamlDocument(path, text, kind="compose")


def test_lookup_through_merge_keys_and_owners():
    doc = _doc("x-a: &a\n  image: postgres\n  volumes: [/d]\nx-b: &b\n  image: mysql\nservices:\n  one:\n    <<: [*a, *b]\n"
               "  two:\n    <<: *a\n    image: redis\n  three: &three\n    image: x\n  four: *three\n")
    views = cv.views(None, doc)
    assert views["one"].text("image") == "postgres" and views["two"].text("image") == "redis"
    file = cv.own_file(None, doc)
    one = file.services["one"]
    assert cv.shared(one, cv.lookup(one.node, "volumes")[1]) == {"two"}
    assert cv.alias_of(file.services["four"]) == "three" and cv.anchor_used(file.services["three"])


def test_project_files_merge_order_and_extends(tmp_path, monkeypatch):
    ws = project(tmp_path, monkeypatch, {
        "compose.override.yaml": "services:\n  db:\n    environment:\n      A: '2'\n",
        "compose.yaml": "services:\n  db:\n    extends: base\n    environment:\n      A: '1'\n      B: x\n  base:\n    image: mongo:7\n",
        "docker-compose.yml": "services:\n  db:\n    image: other\n",
        ".env": "TAG=7\n",
    })
    doc = ws.document("compose.yaml")
    names = [f.doc.path for f in cv.project_files(ws, doc)]
    assert names == ["compose.yaml", "compose.override.yaml"]
    view = cv.views(ws, doc)["db"]
    assert view.environment() == {"A": "2", "B": "x"} and view.image() == "mongo:7" and view.primary.file.doc is doc
    # docker-compose.yml is not read while compose.yaml exists: it stands alone
    assert [f.doc.path for f in cv.project_files(ws, ws.document("docker-compose.yml"))] == ["docker-compose.yml"]


def test_image_interpolation_and_builds(tmp_path, monkeypatch):
    ws = project(tmp_path, monkeypatch, {
        ".env": "DB=mysql:8.4\n",
        "compose.yaml": "services:\n  db:\n    image: ${DB:-postgres}\n  app:\n    build:\n      context: app\n      target: run\n",
        "app/Dockerfile": "FROM node:22 AS build\nFROM build AS run\nENV X=1\nFROM alpine\n",
    })
    views = cv.views(ws, ws.document("compose.yaml"))
    assert views["db"].image() == "mysql:8.4"
    image = cv.image_of(ws, views["app"])
    assert image.ref == "node:22" and image.built[1].name == "run" and image.env == {"X": "1"}
