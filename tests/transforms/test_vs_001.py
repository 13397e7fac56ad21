"""vs-001: anonymous data volumes become named ones; dependency shields stay anonymous."""
from __future__ import annotations

import re

import pytest

from tests.corpus import needs_corpus
from tests.transforms.compose_cases import fixed, reasons, run_all, unchanged
from tests.transforms.yaml_corpus import check_corpus

ID = "vs-001"


def _renamed(old: str) -> bool:
    return re.fullmatch(r"\s*- [\"']?/.*", old) is not None


def test_short_syntax_is_named_and_declared():
    before = "services:\n  db:\n    image: mysql:8.4\n    volumes:\n      - /var/lib/mysql\n      - ./conf:/etc/mysql/conf.d:ro\n"
    after = fixed(ID, before, removed_ok=_renamed)
    assert after == before.replace("- /var/lib/mysql", "- db-mysql:/var/lib/mysql") + "volumes:\n  db-mysql:\n"


def test_quotes_long_syntax_and_flow_lists_keep_their_form():
    before = ("services:\n  app:\n    image: app:1\n    volumes: ['/srv/files', \"/srv/cache/thumbs\"]\n"
              "  worker:\n    image: app:1\n    volumes:\n      - type: volume\n        target: /srv/queue\n        volume:\n          nocopy: true\n"
              "volumes:\n  app-files: {}\n")
    after = fixed(ID, before, removed_ok=lambda line: "volumes: [" in line)
    # app-files is declared but mounted by no service: taken over
    assert "volumes: ['app-files:/srv/files', \"app-thumbs:/srv/cache/thumbs\"]" in after
    assert "        volume:\n          nocopy: true\n        source: worker-queue\n" in after
    assert after.endswith("volumes:\n  app-files: {}\n  app-thumbs: {}\n  worker-queue: {}\n")


@pytest.mark.parametrize("volumes", [
    "- .:/app\n      - /app/node_modules",
    "- ./src:/usr/src/app/src\n      - /usr/src/app/node_modules",
    "- .:/srv\n      - /srv/.venv",
    "- /var/www/vendor",
    "- .:/app\n      - /app/dist",
    "- /tmp",
    "- /run/app",
    "- ${DATA_DIR}",
    "- type: tmpfs\n        target: /cache",
    "- data:/data",
])
def test_shields_scratch_and_named_volumes_stay(volumes):
    unchanged(ID, f"services:\n  web:\n    build: .\n    volumes:\n      {volumes}\nvolumes:\n  data: {{}}\n")


def test_names_follow_the_file_and_stay_unique():
    before = ("services:\n  web:\n    image: app:1\n    volumes:\n      - web_data:/x\n      - /data\n      - /srv/data\n"
              "volumes:\n  web_data:\n")
    after = fixed(ID, before, removed_ok=_renamed)
    assert "- web_data_2:/data\n      - web_data_3:/srv/data\n" in after
    assert after.endswith("volumes:\n  web_data:\n  web_data_2:\n  web_data_3:\n")


def test_volume_in_a_shared_anchor_is_reported_and_a_private_one_is_named():
    shared = "x-vol: &vol\n  volumes:\n    - /data\nservices:\n  a:\n    <<: *vol\n    image: x:1\n  b:\n    <<: *vol\n    image: y:1\n"
    [why] = reasons(ID, shared)
    assert "shared with b" in why
    private = "x-vol: &vol\n  volumes:\n    - /data\nservices:\n  a:\n    <<: *vol\n    image: x:1\n"
    after = fixed(ID, private, removed_ok=_renamed)
    assert after.startswith("x-vol: &vol\n  volumes:\n    - a-data:/data\nservices:\n")


def test_crlf_and_no_final_newline():
    before = "services:\r\n  db:\r\n    image: mongo:7\r\n    volumes:\r\n      - /data/db"
    after = fixed(ID, before, removed_ok=_renamed)
    assert after == "services:\r\n  db:\r\n    image: mongo:7\r\n    volumes:\r\n      - db-data:/data/db\r\nvolumes:\r\n  db-data:\r\n"


def test_does_not_fire_on_the_shields_vs_002_writes(tmp_path, monkeypatch):
    from tests.transforms.compose_cases import workspace
    layout = {
        "compose.yaml": "services:\n  web:\n    build: .\n    volumes:\n      - .:/app\n",
        "package.json": "{}",
        "Dockerfile": "FROM node:22\nWORKDIR /app\nCOPY package.json .\nRUN npm install\nCOPY . .\n",
    }
    ws = workspace(tmp_path, monkeypatch, layout)
    after = run_all(["vs-002", "vs-001"], layout["compose.yaml"], ws=ws)
    assert after == layout["compose.yaml"] + "      - /app/node_modules\n"


def _line_ok(old, new):
    if old is not None:
        return new is not None and re.sub(r"[\w.-]+:(?=/)", "", new, count=1) == old
    return re.fullmatch(r"\s*(?:volumes:|[\w.-]+:(?: \{\})?|source: [\w.-]+|)", new) is not None


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, "compose", line_ok=_line_ok)
    assert counts["applied"] >= 1
