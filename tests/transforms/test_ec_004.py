"""ec-004: per-environment copies of a Compose service become one service with variables."""
from __future__ import annotations

import pytest
import yaml

from orchfix.transforms._knowledge import compose, envfile
from orchfix.workspace import Workspace
from tests.corpus import needs_corpus
from tests.helpers import run
from tests.transforms.compose_env import apply
from tests.transforms.crossfile import tree
from tests.transforms.yaml_corpus import check_corpus

ID = "ec-004"

THREE = """services:
  app:
    image: registry.example.org/team/app:1.4
    ports:
      - "127.0.0.1:8080:8080"
      - target: 9090
        published: 9090
    environment:
      LOG_LEVEL: debug
      WORKERS: 2
      API_URL: http://api.dev.example.org
    command: ["serve", "--port", "8080"]

  app-staging:
    image: registry.example.org/team/app:1.4
    ports:
      - "127.0.0.1:8081:8080"
      - target: 9090
        published: 9091
    environment:
      LOG_LEVEL: info
      WORKERS: 2
      API_URL: http://api.staging.example.org
    command: ["serve", "--port", "8080"]

  app_prod:
    image: registry.example.org/team/app:1.3
    ports:
      - "127.0.0.1:80:8080"
      - target: 9090
        published: 9092
    environment:
      LOG_LEVEL: warning
      WORKERS: 8
      API_URL: https://api.example.org
    command: ["serve", "--port", "8080"]

  db:
    image: postgres:17
"""


def normal(service: dict) -> dict:
    """A service's data as Compose uses it: environment as text, ports as text."""
    out = dict(service)
    env = out.get("environment")
    if isinstance(env, dict):
        out["environment"] = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in env.items()}
    elif isinstance(env, list):
        out["environment"] = dict(item.split("=", 1) for item in env)
    out["ports"] = [{k: str(v) for k, v in p.items()} if isinstance(p, dict) else str(p) for p in out.get("ports", [])]
    return out


def interpolated(data, env: dict[str, str]):
    if isinstance(data, str):
        return compose.interpolate(data, env)
    if isinstance(data, dict):
        return {k: interpolated(v, env) for k, v in data.items()}
    if isinstance(data, list):
        return [interpolated(v, env) for v in data]
    return data


def assert_environments_kept(before: str, out, kept: str, copies: dict[str, str]) -> None:
    """Each removed copy is the kept service run with its env file; the kept one runs as before."""
    old = yaml.safe_load(before)["services"]
    new = yaml.safe_load(out.text)["services"]
    assert normal(interpolated(new[kept], {})) == normal(old[kept])
    for name, env_file in copies.items():
        assert name not in new
        values = {e.name: e.value for e in envfile.parse(out.side.get(env_file, ""))}
        assert normal(interpolated(new[kept], values)) == normal(old[name]), name


def test_three_environments_become_one_service(tmp_path, monkeypatch):
    out = apply(ID, tmp_path, monkeypatch, {"compose.yaml": THREE})
    assert out.text == """services:
  app:
    image: registry.example.org/team/app:${APP_TAG:-1.4}
    ports:
      - "127.0.0.1:${APP_PORT_8080:-8080}:8080"
      - target: 9090
        published: ${APP_PORT_9090:-9090}
    environment:
      LOG_LEVEL: ${APP_LOG_LEVEL:-debug}
      WORKERS: ${APP_WORKERS:-2}
      API_URL: ${APP_API_URL:-http://api.dev.example.org}
    command: ["serve", "--port", "8080"]

  db:
    image: postgres:17
"""
    assert out.side == {
        "staging.env": "APP_PORT_8080=8081\nAPP_PORT_9090=9091\nAPP_LOG_LEVEL=info\nAPP_API_URL=http://api.staging.example.org\n",
        "prod.env": "APP_TAG=1.3\nAPP_PORT_8080=80\nAPP_PORT_9090=9092\nAPP_LOG_LEVEL=warning\nAPP_WORKERS=8\n"
                    "APP_API_URL=https://api.example.org\n",
    }
    assert_environments_kept(THREE, out, "app", {"app-staging": "staging.env", "app_prod": "prod.env"})
    [finding] = out.applied
    assert "`docker compose --env-file staging.env up app`" in finding.message
    assert "`docker compose --env-file prod.env up app`" in finding.message


def test_without_a_base_the_first_copy_is_kept_and_dotenv_is_passed_first(tmp_path, monkeypatch):
    before = """services:
  web-dev:
    image: example/web:dev
    environment:
      - DEBUG=1
      - SECRET_KEY=dev-only-Key-123
  web-prod:
    image: example/web:2.0
    environment:
      - DEBUG=
      - SECRET_KEY=Pr0d-Secret-Key-Zq8
"""
    out = apply(ID, tmp_path, monkeypatch, {"compose.yaml": before, ".env": "COMPOSE_PROJECT_NAME=web\n"})
    # an empty value in prod: ${VAR-default} (an empty value is a value), not ${VAR:-default}
    assert out.text == """services:
  web-dev:
    image: example/web:${WEB_TAG-dev}
    environment:
      - DEBUG=${WEB_DEBUG-1}
      - SECRET_KEY=${WEB_SECRET_KEY-dev-only-Key-123}
"""
    assert out.side["prod.env"] == "WEB_TAG=2.0\nWEB_DEBUG=\nWEB_SECRET_KEY=Pr0d-Secret-Key-Zq8\n"
    assert out.side[".gitignore"] == "/prod.env\n"  # it holds a secret
    assert_environments_kept(before, out, "web-dev", {"web-prod": "prod.env"})
    assert "`docker compose --env-file .env --env-file prod.env up web-dev`" in out.applied[0].message


def test_blank_lines_and_comments_around_removed_copies(tmp_path, monkeypatch):
    before = "services:\n  api:\n    image: x:1\n\n  # production\n  api-prod:\n    image: x:2\n\n  db:\n    image: y\n"
    out = apply(ID, tmp_path, monkeypatch, {"compose.yaml": before})
    # the comment above the removed copy stays (nothing is deleted but the copy itself)
    assert out.text == "services:\n  api:\n    image: x:${API_TAG:-1}\n\n  # production\n\n  db:\n    image: y\n"
    plain = "services:\n  api:\n    image: x:1\n\n  api-prod:\n    image: x:2\n\n  db:\n    image: y\n"
    out = apply(ID, tmp_path / "plain", monkeypatch, {"compose.yaml": plain})
    assert out.text == "services:\n  api:\n    image: x:${API_TAG:-1}\n\n  db:\n    image: y\n"


@pytest.mark.parametrize("text, why", [
    ("services:\n  app:\n    image: x:1\n    command: a\n  app-prod:\n    image: x:2\n    command: b\n", "differs from app in command"),
    ("services:\n  app:\n    image: x:1\n  app-prod:\n    image: x:2\n    restart: always\n", "in which keys it sets (restart)"),
    ("services:\n  app:\n    image: x:1\n  app-prod:\n    image: y:2\n", "not only in its tag"),
    ("services:\n  app:\n    image: x:1\n    environment: {A: a}\n  app-prod:\n    image: x:1\n    environment: {B: b}\n",
     "which environment variables"),
    ("services:\n  app:\n    image: x:1\n    ports: ['80:80']\n  app-prod:\n    image: x:1\n    ports: ['80:81']\n", "not only in the published port"),
    ("services:\n  app:\n    image: x:1\n  app-prod:\n    image: x:2\n  web:\n    image: w\n    depends_on: [app-prod]\n", "web depends on app-prod"),
    ("services:\n  app:\n    image: x:1\n  app-prod:\n    image: x:2\n    environment: {A: 1.5}\n", "in which keys"),
    ("services:\n  app:\n    image: x:1\n    environment: {A: 1.5}\n  app-prod:\n    image: x:1\n    environment: {A: 2.5}\n", "not a plain literal"),
    ("services:\n  app:\n    image: x:${APP_TAG}\n  app-prod:\n    image: x:2\n", "in image"),
    ("services:\n  app:\n    image: x:1\n    labels: [\"v=${APP_TAG}\"]\n  app-prod:\n    image: x:2\n    labels: [\"v=${APP_TAG}\"]\n",
     "already uses $APP_TAG"),
    ("services:\n  app:\n    image: x:1\n    environment: {A: p$$w}\n  app-prod:\n    image: x:1\n    environment: {A: q}\n", "'$'"),
    ("x-app: &app\n  image: x:1\nservices:\n  app:\n    <<: *app\n  app-prod:\n    <<: *app\n    image: x:2\n", "anchors"),
])
def test_copies_that_are_not_near_duplicates_are_reported(tmp_path, monkeypatch, text, why):
    tree(tmp_path, {"compose.yaml": text})
    monkeypatch.chdir(tmp_path)
    out = run(ID, text, kind="compose", workspace=Workspace.scan(["."]))
    assert out.text == text and not out.side
    [finding] = out.remaining
    assert finding.fix is None and why in finding.reason, finding.reason


@pytest.mark.parametrize("layout, why", [
    ({".env": "APP_TAG=9\n"}, "the project's .env sets APP_TAG"),
    ({"prod.env": "APP_TAG=7\n"}, "prod.env already sets APP_TAG to another value"),
    ({"compose.override.yaml": "services:\n  app-prod:\n    restart: always\n"}, "also defined in compose.override.yaml"),
])
def test_project_files_that_stop_a_merge(tmp_path, monkeypatch, layout, why):
    text = "services:\n  app:\n    image: x:1\n  app-prod:\n    image: x:2\n"
    tree(tmp_path, {"compose.yaml": text, **layout})
    monkeypatch.chdir(tmp_path)
    out = run(ID, text, kind="compose", workspace=Workspace.scan(["."]))
    assert out.text == text and why in out.remaining[0].reason


def test_env_file_of_a_service_is_not_reused(tmp_path, monkeypatch):
    text = "services:\n  app:\n    image: x:1\n  app-prod:\n    image: x:2\n  other:\n    image: o\n    env_file: prod.env\n"
    tree(tmp_path, {"compose.yaml": text, "prod.env": ""})
    monkeypatch.chdir(tmp_path)
    out = run(ID, text, kind="compose", workspace=Workspace.scan(["."]))
    assert "prod.env is an env file of other" in out.remaining[0].reason


@pytest.mark.parametrize("text", [
    # concurrent services, not environments
    "services:\n  web1:\n    image: x:1\n  web2:\n    image: x:2\n",
    # identical copies: nothing a variable could carry
    "services:\n  app:\n    image: x:1\n  app-dev:\n    image: x:1\n",
    # a single service named for an environment
    "services:\n  app-prod:\n    image: x:1\n",
])
def test_near_misses(tmp_path, monkeypatch, text):
    tree(tmp_path, {"compose.yaml": text})
    monkeypatch.chdir(tmp_path)
    out = run(ID, text, kind="compose", workspace=Workspace.scan(["."]))
    assert out.text == text and not out.remaining


def test_stack_files_are_reported(tmp_path, monkeypatch):
    text = "services:\n  app:\n    image: x:1\n  app-prod:\n    image: x:2\n"
    tree(tmp_path, {"docker-stack.yml": text})
    monkeypatch.chdir(tmp_path)
    out = run(ID, text, kind="compose", path="docker-stack.yml", workspace=Workspace.scan(["."]))
    assert "reads no --env-file" in out.remaining[0].reason


def test_crlf_and_list_environment(tmp_path, monkeypatch):
    before = "services:\r\n  app:\r\n    image: x:1\r\n    environment:\r\n    - A=one\r\n  app-qa:\r\n    image: x:1\r\n    environment:\r\n    - A=two words\r\n"
    out = apply(ID, tmp_path, monkeypatch, {"compose.yaml": before})
    assert out.text == "services:\r\n  app:\r\n    image: x:1\r\n    environment:\r\n    - A=${APP_A:-one}\r\n"
    assert out.side["qa.env"] == "APP_A=two words\r\n"


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, "compose")
    # no corpus project keeps per-environment copies of a service (web1/web2, postgres/pgadmin are
    # concurrent services, not environments)
    assert not counts["files"]
