"""vs-002: a development bind mount keeps the image's installed dependencies visible."""
from __future__ import annotations

import re

import pytest

from tests.corpus import needs_corpus
from tests.transforms.compose_cases import fixed, reasons, unchanged, workspace
from tests.transforms.yaml_corpus import check_corpus

ID = "vs-002"
NODE_DOCKERFILE = "FROM node:22-slim\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\nCMD [\"node\", \"server.js\"]\n"


def _fixed(tmp_path, monkeypatch, layout, **kw):
    ws = workspace(tmp_path, monkeypatch, layout)
    return fixed(ID, layout["compose.yaml"], path="compose.yaml", workspace=ws, **kw)


def _unchanged(tmp_path, monkeypatch, layout):
    ws = workspace(tmp_path, monkeypatch, layout)
    unchanged(ID, layout["compose.yaml"], path="compose.yaml", workspace=ws)


@pytest.mark.parametrize("mount", [".:/app", "./:/app", ".:/app:cached", "./:/app/"])
def test_node_root_bind_gets_a_node_modules_shield(tmp_path, monkeypatch, mount):
    compose = f"services:\n  web:\n    build: .\n    volumes:\n      - {mount}\n      - ./logs:/var/log/app\n"
    after = _fixed(tmp_path, monkeypatch, {"compose.yaml": compose, "package.json": "{}", "Dockerfile": NODE_DOCKERFILE})
    assert after == compose.replace(f"{mount}\n", f"{mount}\n      - /app/node_modules\n")


def test_subfolder_project_long_syntax_flow_lists_and_quotes(tmp_path, monkeypatch):
    layout = {
        "deploy/compose.yaml": (
            "services:\n  front:\n    build:\n      context: ../front\n    volumes: [\"../front:/usr/src/app\"]\n"
            "  api:\n    build: ../api\n    volumes:\n    - type: bind\n      source: ../api\n      target: /srv\n"
        ),
        "front/package.json": "{}",
        "front/Dockerfile": NODE_DOCKERFILE.replace("/app", "/usr/src/app"),
        "api/package.json": "{}",
        "api/Dockerfile": "FROM node:22\nWORKDIR /srv\nCOPY . .\nRUN yarn install --frozen-lockfile\n",
    }
    ws = workspace(tmp_path, monkeypatch, layout)
    after = fixed(ID, layout["deploy/compose.yaml"], path="deploy/compose.yaml", workspace=ws,
                  removed_ok=lambda line: "volumes: [" in line)
    assert 'volumes: ["../front:/usr/src/app", "/usr/src/app/node_modules"]' in after
    assert "      target: /srv\n    - type: volume\n      target: /srv/node_modules\n" in after


def test_install_at_start_and_python_venv(tmp_path, monkeypatch):
    layout = {
        "compose.yaml": (
            "services:\n  dev:\n    image: node:22\n    working_dir: /code\n    command: sh -c \"npm install && npm run dev\"\n"
            "    volumes:\n      - ./:/code\n"
            "  api:\n    build: ./api\n    volumes:\n      - ./api:/srv\n"
        ),
        "package.json": "{}",
        "api/pyproject.toml": "[project]\nname = 'api'\n",
        "api/Dockerfile": "FROM python:3.12-slim\nWORKDIR /srv\nCOPY . .\nRUN pip install uv && uv sync --frozen\n",
    }
    after = _fixed(tmp_path, monkeypatch, layout)
    assert "      - ./:/code\n      - /code/node_modules\n" in after
    assert "      - ./api:/srv\n      - /srv/.venv\n" in after


def test_venv_elsewhere_is_not_hidden(tmp_path, monkeypatch):
    _unchanged(tmp_path, monkeypatch, {
        "compose.yaml": "services:\n  api:\n    build: .\n    volumes:\n      - .:/srv\n",
        "requirements.txt": "flask\n",
        "Dockerfile": "FROM python:3.12-slim\nWORKDIR /srv\nRUN python -m venv /opt/venv\nCOPY . .\n",
    })


@pytest.mark.parametrize("layout", [
    # the app runs with the host's node_modules: nothing installs them in the image
    {"compose.yaml": "services:\n  web:\n    image: node:22\n    volumes:\n      - .:/app\n", "package.json": "{}"},
    # already shielded (anonymous or named)
    {"compose.yaml": "services:\n  web:\n    build: .\n    volumes:\n      - .:/app\n      - /app/node_modules\n",
     "package.json": "{}", "Dockerfile": NODE_DOCKERFILE},
    {"compose.yaml": "services:\n  web:\n    build: .\n    volumes:\n      - deps:/app/node_modules\n      - .:/app\nvolumes:\n  deps: {}\n",
     "package.json": "{}", "Dockerfile": NODE_DOCKERFILE},
    # dependencies installed outside the mount point
    {"compose.yaml": "services:\n  web:\n    build: .\n    volumes:\n      - .:/app\n", "package.json": "{}",
     "Dockerfile": "FROM node:22\nWORKDIR /deps\nCOPY package.json .\nRUN npm ci\nWORKDIR /app\nENV NODE_PATH=/deps/node_modules\n"},
    # a bind of something else than the project folder
    {"compose.yaml": "services:\n  web:\n    build: .\n    volumes:\n      - ./src:/app/src\n", "package.json": "{}",
     "Dockerfile": NODE_DOCKERFILE},
    {"compose.yaml": "services:\n  web:\n    build: .\n    volumes:\n      - ${SRC:-.}:/app\n", "package.json": "{}",
     "Dockerfile": NODE_DOCKERFILE},
])
def test_near_misses(tmp_path, monkeypatch, layout):
    _unchanged(tmp_path, monkeypatch, layout)


def test_unreadable_dockerfile_is_reported(tmp_path, monkeypatch):
    ws = workspace(tmp_path, monkeypatch, {"compose.yaml": "services:\n  web:\n    build: ./nowhere\n    volumes:\n      - .:/app\n",
                                           "package.json": "{}"})
    [why] = reasons(ID, "services:\n  web:\n    build: ./nowhere\n    volumes:\n      - .:/app\n", path="compose.yaml", workspace=ws)
    assert "Dockerfile" in why


def test_anchored_volume_list_crlf_and_no_final_newline(tmp_path, monkeypatch):
    compose = "x-dev: &dev\r\n  build: .\r\n  volumes:\r\n    - .:/app\r\nservices:\r\n  web:\r\n    <<: *dev\r\n  worker:\r\n    <<: *dev"
    after = _fixed(tmp_path, monkeypatch, {"compose.yaml": compose, "package.json": "{}", "Dockerfile": NODE_DOCKERFILE})
    assert after == compose.replace("    - .:/app\r\n", "    - .:/app\r\n    - /app/node_modules\r\n")


def _line_ok(old, new):
    return old is None and re.fullmatch(r"\s*-? ?(?:[\"']?/\S*/(?:node_modules|\.venv)[\"']?|type: volume|target: \S+)", new) is not None


@needs_corpus
def test_corpus():
    check_corpus(ID, "compose", line_ok=_line_ok)
