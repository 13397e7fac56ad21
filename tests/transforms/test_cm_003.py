"""cm-003: state kept in the container (VOLUME dirs, upload/data dirs) moves to named volumes."""
from __future__ import annotations

import re

import pytest

from tests.corpus import needs_corpus
from tests.helpers import run
from tests.transforms.compose_cases import fixed, reasons, run_all, unchanged, workspace
from tests.transforms.yaml_corpus import check_corpus

ID = "cm-003"


def test_upload_dir_in_the_environment():
    before = "services:\n  app:\n    image: app:2\n    environment:\n      - UPLOAD_DIR=/srv/uploads\n      - LOG_LEVEL=info\n"
    after = fixed(ID, before)
    assert after == before + "    volumes:\n      - app-uploads:/srv/uploads\nvolumes:\n  app-uploads:\n"


@pytest.mark.parametrize("env, path", [
    ("DATA_DIR: /var/lib/app", "/var/lib/app"),
    ("APP_DATA_DIR: /data", "/data"),
    ("MEDIA_ROOT: /srv/media/", "/srv/media"),
    ("STORAGE_PATH: ${STORAGE:-/srv/storage}", "/srv/storage"),
    ("SQLITE_PATH: /state/app.sqlite3", "/state"),
    ("UPLOAD_FOLDER: uploads", "/work/uploads"),
])
def test_state_variables(env, path):
    after = fixed(ID, f"services:\n  app:\n    image: app:2\n    working_dir: /work\n    environment:\n      {env}\n")
    assert re.search(rf"      - app-[\w-]+:{re.escape(path)}\n", after), after


@pytest.mark.parametrize("env", [
    "DATA_DIR: /tmp/app", "UPLOAD_DIR: s3://bucket/uploads", "DATA_PATH: /a:/b", "LOG_DIR: /var/log/app",
    "DATABASE_URL: postgres://db/app", "DB_PATH: /data/config.json", "DATA_DIR: ${NOPE}", "DATA_DIR: /app/node_modules",
    "CACHE_DIR: /var/cache/app",
])
def test_near_misses(env):
    unchanged(ID, f"services:\n  app:\n    image: app:2\n    environment:\n      {env}\n")


@pytest.mark.parametrize("mounts", ["- ./uploads:/srv/uploads", "- .:/srv", "- files:/srv/uploads/public", "- type: tmpfs\n        target: /srv"])
def test_covered_paths(mounts):
    unchanged(ID, f"services:\n  app:\n    image: app:2\n    environment:\n      UPLOAD_DIR: /srv/uploads\n"
                  f"    volumes:\n      {mounts}\nvolumes:\n  files: {{}}\n")


def test_relative_path_without_a_known_workdir_is_reported():
    [why] = reasons(ID, "services:\n  app:\n    image: app:2\n    environment:\n      UPLOAD_DIR: ./uploads\n")
    assert "working directory" in why


def test_dockerfile_volumes_of_the_target_stage(tmp_path, monkeypatch):
    layout = {
        "compose.yaml": "services:\n  app:\n    build:\n      context: ./app\n      target: prod\n    volumes:\n      - \"./conf:/etc/app\"\n",
        "app/Dockerfile": ("FROM python:3.12-slim AS base\nWORKDIR /srv\nVOLUME /srv/media\n"
                           "FROM base AS prod\nARG STATE=/var/lib/app\nENV DATA_DIR=data\nVOLUME [\"${STATE}\", \"/tmp/cache\"]\n"
                           "FROM base AS test\nVOLUME /coverage\n"),
    }
    ws = workspace(tmp_path, monkeypatch, layout)
    after = fixed(ID, layout["compose.yaml"], path="compose.yaml", workspace=ws)
    assert after == layout["compose.yaml"] + ('      - "app-media:/srv/media"\n      - "app-data:/var/lib/app"\n'
                                              '      - "app-data-2:/srv/data"\nvolumes:\n  app-media:\n  app-data:\n  app-data-2:\n')


def test_unsafe_only_with_unsafe():
    before = "services:\n  app:\n    image: app:2\n    environment:\n      DATA_DIR: /data\n"
    outcome = run(ID, before, kind="compose", unsafe=False)
    assert outcome.text == before and [f.fix for f in outcome.remaining if f.fix]


def test_dc_002_and_cm_003_never_write_the_same_path(tmp_path, monkeypatch):
    layout = {
        "compose.yaml": "services:\n  db:\n    build: ./db\n",
        "db/Dockerfile": "FROM postgres:16\nVOLUME /var/lib/postgresql/data\n",
    }
    ws = workspace(tmp_path, monkeypatch, layout)
    for order in (["dc-002", "cm-003"], ["cm-003", "dc-002"]):
        after = run_all(order, layout["compose.yaml"], ws=ws)
        assert after.count(":/var/lib/postgresql/data") == 1, after


def test_anchored_service_is_reported_and_the_merging_one_fixed():
    before = "services:\n  a: &a\n    image: app:2\n    environment:\n      DATA_DIR: /data\n  b:\n    <<: *a\n"
    outcome = run(ID, before, kind="compose")
    assert outcome.text == before + "    volumes:\n      - b-data:/data\nvolumes:\n  b-data:\n"
    [finding] = outcome.remaining
    assert finding.fix is None and "reused by b" in finding.reason


def _line_ok(old, new):
    return old is None and re.fullmatch(r"\s*(?:- .*:/\S*\"?|volumes:|[\w.-]+:(?: \{\})?|- type: volume|source: \S+|target: \S+|)", new) is not None


@needs_corpus
def test_corpus():
    check_corpus(ID, "compose", line_ok=_line_ok)
