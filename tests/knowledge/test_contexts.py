"""Build contexts, .dockerignore rules and where context files end up in an image."""
from __future__ import annotations

import pytest

from orchfix import documents
from orchfix.transforms._knowledge import contexts
from orchfix.workspace import Workspace
from tests.transforms.crossfile import project


def doc(text: str, path: str = "Dockerfile"):
    return documents.load(path, "dockerfile", text)


@pytest.mark.parametrize(("compose", "dockerfile", "context"), [
    ("services:\n  a:\n    build: ./web\n", "web/Dockerfile", "web"),
    ("services:\n  a:\n    build:\n      context: .\n      dockerfile: web/Dockerfile\n", "web/Dockerfile", ""),
    ("services:\n  a:\n    build:\n      dockerfile: docker/Dockerfile\n", "docker/Dockerfile", ""),
    ("services:\n  a:\n    build: https://github.com/x/y.git\n", "web/Dockerfile", "web"),
    ("services:\n  a:\n    build:\n      context: ${CTX}\n      dockerfile: web/Dockerfile\n", "web/Dockerfile", "web"),
    ("services:\n  a:\n    build:\n      context: .\n      dockerfile_inline: FROM x\n", "Dockerfile", ""),
    # two services build it from different places: its own folder wins
    ("services:\n  a:\n    build: ./web\n  b:\n    build:\n      context: .\n      dockerfile: web/Dockerfile\n", "web/Dockerfile", "web"),
])
def test_build_context(tmp_path, monkeypatch, compose, dockerfile, context):
    workspace = project(tmp_path, monkeypatch, {"compose.yaml": compose, dockerfile: "FROM alpine\n"})
    assert contexts.build_context(workspace, dockerfile) == context


def test_compose_in_a_subfolder_names_a_context_above_it(tmp_path, monkeypatch):
    layout = {"deploy/docker-compose.yml": "services:\n  a:\n    build:\n      context: ..\n      dockerfile: docker/api.Dockerfile\n",
              "docker/api.Dockerfile": "FROM alpine\n"}
    workspace = project(tmp_path, monkeypatch, layout)
    assert contexts.build_context(workspace, "docker/api.Dockerfile") == ""
    assert contexts.build_contexts(workspace, "docker/api.Dockerfile") == [""]


def test_build_context_without_workspace_is_the_folder():
    assert contexts.build_context(None, "a/b/Dockerfile") == "a/b"
    assert contexts.build_context(Workspace(), "Dockerfile") == ""


@pytest.mark.parametrize(("rules", "path", "ignored"), [
    ("node_modules\n", "node_modules/x/index.js", True),
    ("node_modules\n", "web/node_modules", False),  # anchored at the context root
    ("**/node_modules\n", "web/node_modules/a", True),
    ("*.md\n!README.md\n", "README.md", False),
    ("*.md\n!README.md\n", "CHANGES.md", True),
    ("/dist/\n", "dist/app.js", True),
    ("docs/**/*.png\n", "docs/a/b/c.png", True),
    ("# comment\n\n.env*\n", ".env.local", True),
    ("[ab].txt\n", "c.txt", False),
])
def test_dockerignore(rules, path, ignored):
    assert contexts.ignored_by(contexts.ignore_patterns(rules), path) is ignored


def test_dockerignore_file_beside_the_dockerfile_wins(tmp_path, monkeypatch):
    workspace = project(tmp_path, monkeypatch, {"web/Dockerfile": "", "web/Dockerfile.dockerignore": "a\n", ".dockerignore": "b\n"})
    assert contexts.dockerignore_file(workspace, "", "web/Dockerfile") == "web/Dockerfile.dockerignore"
    assert contexts.dockerignored(workspace, "", "web/Dockerfile", "a") and not contexts.dockerignored(workspace, "", "web/Dockerfile", "b")
    assert contexts.dockerignore_file(workspace, "", "Dockerfile") == ".dockerignore"


@pytest.mark.parametrize(("text", "workdir"), [
    ("FROM node:22\nWORKDIR /app\nWORKDIR src\nCMD x\n", "/app/src"),
    ("FROM golang:1.24\nCMD x\n", "/go"),
    ("FROM mycorp/base\nCMD x\n", None),
    ("FROM mycorp/base\nWORKDIR /srv\nCMD x\n", "/srv"),
    ("FROM node:22\nENV HOME=/home/node\nWORKDIR $HOME/app\nCMD x\n", "/home/node/app"),
    ("FROM node:22\nWORKDIR $NOPE\nCMD x\n", None),
    ("FROM node:22 AS a\nWORKDIR /a\nFROM a\nCMD x\n", "/a"),
])
def test_workdir(text, workdir):
    parsed = doc(text)
    assert contexts.workdir_at(parsed, parsed.instructions[-1]) == workdir


@pytest.mark.parametrize(("text", "path", "found"), [
    ("FROM node\nWORKDIR /app\nCOPY . .\nCMD x\n", "/app/package.json", "package.json"),
    ("FROM node\nWORKDIR /app\nCOPY package*.json ./\nCMD x\n", "/app/package.json", "package.json"),
    ("FROM node\nWORKDIR /app\nCOPY package.json .\nCMD x\n", "/app/package.json", "package.json"),
    ("FROM node\nCOPY api /srv\nCMD x\n", "/srv/package.json", "api/package.json"),
    ("FROM node\nCOPY api/ /srv/\nCMD x\n", "/srv/package.json", "api/package.json"),
    ("FROM node\nCOPY api/package.json /srv/pkg.json\nCMD x\n", "/srv/pkg.json", "api/package.json"),
    ("FROM node AS b\nCOPY . /src\nFROM node\nCOPY --from=b /src/package.json /app/\nCMD x\n", "/app/package.json", "package.json"),
    ("FROM node\nCOPY --from=other/image /app /app\nCOPY . /app\nCMD x\n", "/app/package.json", "package.json"),
    ("FROM node\nCOPY . /app\nCOPY --from=other/image /app /app\nCMD x\n", "/app/package.json", None),
    ("FROM node\nCOPY . /app\nCOPY --from=tools / /\nCMD x\n", "/app/package.json", "package.json"),
    ("FROM node\nCOPY . /app\nCMD x\n", "/app/missing.json", None),
])
def test_context_file(tmp_path, monkeypatch, text, path, found):
    workspace = project(tmp_path, monkeypatch, {"package.json": "{}", "api/package.json": "{}"})
    parsed = doc(text)
    assert contexts.context_file(workspace, "", parsed, parsed.instructions[-1], path) == found


@pytest.mark.parametrize(("text", "words"), [
    ('CMD ["npm", "start"]', ["npm", "start"]),
    ("CMD exec node a.js", ["node", "a.js"]),
    ("CMD node $A", None),
    ("CMD a && b", None),
])
def test_command_words(text, words):
    parsed = doc(f"FROM x\n{text}\n")
    assert contexts.command_words(parsed.instructions[-1]) == words
