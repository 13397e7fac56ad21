"""nw-003: expose, not ports, for services only other services reach (and its precedence over nw-002)."""
from __future__ import annotations

import pytest

from orchfix import documents
from orchfix.fixer import fix_document
from orchfix.registry import all_transforms
from orchfix.transform import Context
from orchfix.workspace import Workspace
from tests.corpus import needs_corpus
from tests.helpers import compose_errors, fix, reason_of, run
from tests.transforms.crossfile import project
from tests.transforms.yaml_corpus import check_corpus

ID = "nw-003"
WEB = "  web:\n    image: nginx:1.27\n    ports:\n      - \"80:80\"\n    depends_on:\n      - db\n"


def fixed(text: str, **kw) -> str:
    out = fix(ID, text, kind="compose", **kw)
    assert not compose_errors(out)
    return out


def unchanged(text: str, **kw):
    result = run(ID, text, kind="compose", **kw)
    assert result.text == text
    return result


@pytest.mark.parametrize(("ports", "expose"), [
    ('    ports:\n      - "5432:5432"\n', '    expose:\n      - "5432"\n'),
    ("    ports:\n      - '127.0.0.1:5432:5432'\n", "    expose:\n      - '5432'\n"),  # bound (by nw-002) or not
    ("    ports:\n      - 5432:5432\n      - 5432\n", "    expose:\n      - 5432\n"),  # duplicates merged
    ("    ports:\n    - 5432:5432\n", "    expose:\n    - 5432\n"),  # flush sequence
    ("    ports: # dev\n      - 5432:5432\n", "    expose: # dev\n      - 5432\n"),
    ('    ports: ["5432:5432", "5433:5433/udp"]\n', '    expose: ["5432", "5433/udp"]\n'),
    ("    ports:\n      - target: 5432\n        published: 5432\n        protocol: udp\n", "    expose:\n      - 5432/udp\n"),
    ("    ports:\n      - ${PG_PORT:-5432}:5432\n", "    expose:\n      - 5432\n"),
])
def test_ports_become_expose(ports, expose):
    before = f"services:\n{WEB}  db:\n    image: postgres:17\n{ports}    restart: always\n"
    assert fixed(before) == f"services:\n{WEB}  db:\n    image: postgres:17\n{expose}    restart: always\n"


@pytest.mark.parametrize(("expose", "after"), [
    ("    expose:\n      - 5432\n", "    expose:\n      - 5432\n"),
    ("    expose:\n      - \"9187\"\n", "    expose:\n      - \"9187\"\n      - \"5432\"\n"),
    ("    expose: [9187]\n", "    expose: [9187, 5432]\n"),
    ("    expose: []\n", "    expose: [5432]\n"),
])
def test_merged_into_an_existing_expose(expose, after):
    before = f"services:\n{WEB}  db:\n    image: postgres:17\n{expose}    ports:\n      - 5432:5432\n"
    assert fixed(before) == f"services:\n{WEB}  db:\n    image: postgres:17\n{after}"


def test_debugger_ports_stay_published():
    before = ("services:\n  front:\n    image: nginx\n    ports: ['80:80']\n    depends_on: [api]\n"
              "  api:\n    build: .\n    ports:\n      - 8000:8000\n      - 9229:9229\n    restart: always\n")
    after = ("services:\n  front:\n    image: nginx\n    ports: ['80:80']\n    depends_on: [api]\n"
             "  api:\n    build: .\n    ports:\n      - 9229:9229\n    restart: always\n    expose:\n      - 8000\n")
    assert fixed(before) == after
    only_debug = before.replace("      - 8000:8000\n", "")
    unchanged(only_debug)


def test_reached_by_name_in_env_urls_links_and_env_files(tmp_path, monkeypatch):
    layout = {
        "compose.yaml": ("services:\n  proxy:\n    image: nginx\n    ports: ['443:443']\n    links: ['api:backend']\n"
                         "  api:\n    build: .\n    ports: ['8000:8000']\n    env_file: api.env\n"
                         "  search:\n    image: elasticsearch:8.15.0\n    ports: ['9200:9200']\n"
                         "  cache:\n    image: redis:7\n    ports: ['6379:6379']\n    container_name: the-cache\n"
                         "  worker:\n    build: .\n    environment:\n      - BROKER_URL=redis://the-cache:6379/0\n"),
        "api.env": "# api\nSEARCH_URL=http://search:9200\n",
    }
    ws = project(tmp_path, monkeypatch, layout)
    out = fix(ID, layout["compose.yaml"], kind="compose", path="compose.yaml", workspace=ws)
    assert out == layout["compose.yaml"].replace("ports: ['8000:8000']", "expose: ['8000']").replace(
        "ports: ['9200:9200']", "expose: ['9200']").replace("ports: ['6379:6379']", "expose: ['6379']")


@pytest.mark.parametrize(("text", "why"), [
    ("services:\n  db:\n    image: postgres\n    ports: ['5432:5432']\n  app:\n    build: .\n    depends_on: [db]\n",
     "no published front"),
    ("services:\n  web:\n    image: nginx\n    ports: ['80:80']\n  db:\n    image: postgres\n    ports: ['5432:5432']\n",
     "nothing reaches db"),
    ("services:\n  web:\n    image: nginx\n    ports: ['80:80']\n  vote:\n    build: .\n    ports: ['8080:80']\n"
     "  seed:\n    build: .\n    depends_on: [vote]\n", "only an unpublished service reaches vote: a front itself"),
    ("services:\n  web:\n    image: nginx\n    ports: ['80:80']\n    depends_on: [pgadmin]\n  pgadmin:\n"
     "    image: dpage/pgadmin4\n    ports: ['5050:80']\n", "admin tools are for people"),
    ("services:\n  web:\n    image: nginx\n    ports: ['80:80']\n    depends_on: [db]\n    profiles: [full]\n"
     "  db:\n    image: postgres\n    ports: ['5432:5432']\n", "its only user runs in a profile"),
    ("services:\n  web:\n    image: nginx\n    ports: ['80:80']\n    profiles: [ui]\n  app:\n    build: .\n"
     "    depends_on: [db]\n  db:\n    image: postgres\n    ports: ['5432:5432']\n", "the front runs in a profile"),
    ("services:\n  web:\n    image: nginx\n    ports: ['80:80']\n    depends_on: [db]\n  db:\n    image: postgres\n"
     "    expose: ['5432']\n", "publishes nothing"),
])
def test_near_misses(text, why):
    result = unchanged(text)
    assert not result.remaining, why


def test_profiles_shared_by_user_and_service_count():
    before = ("services:\n  web:\n    image: nginx\n    ports: ['80:80']\n    depends_on: [db]\n    profiles: [full]\n"
              "  db:\n    image: postgres\n    ports: ['5432:5432']\n    profiles: [full]\n")
    assert fixed(before) == before.replace("ports: ['5432:5432']", "expose: ['5432']")


@pytest.mark.parametrize(("text", "reason"), [
    ("services:\n  web:\n    image: nginx\n    ports: ['80:80']\n    depends_on: [db]\n  db: &db\n    image: postgres\n"
     "    ports: ['5432:5432']\n  replica: *db\n", "anchor"),
    ("services:\n  web:\n    image: nginx\n    ports: ['80:80']\n    depends_on: [db]\n  db:\n    image: postgres\n"
     "    ports: ['5432:5432']\n  db2:\n    extends: db\n", "extend it"),
    ("services:\n  web:\n    image: nginx\n    ports: ['80:80']\n    depends_on: [db]\n  base:\n    image: postgres\n"
     "    ports: ['5432:5432']\n    profiles: [never]\n  db:\n    extends: base\n    ports: ['5433:5432']\n", "inherits"),
    ("services:\n  web:\n    image: nginx\n    ports: ['80:80']\n    depends_on: [db]\n  db:\n    image: postgres\n"
     "    ports: ['5432:5432']\n  tool:\n    build: .\n    network_mode: host\n", "through the host"),
    ("services:\n  web:\n    image: nginx\n    ports: ['80:80']\n    depends_on: [db]\n    environment:\n"
     "      CACHE: host.docker.internal:6379\n  db:\n    image: postgres\n    ports: ['5432:5432']\n", "through the host"),
    ("services:\n  web:\n    image: nginx\n    ports: ['80:80']\n    depends_on: [db]\n  db:\n    image: postgres\n"
     "    ports: ['${DB_PORTS}']\n", "cannot read"),
])
def test_reports(text, reason):
    results = [f for f in unchanged(text).remaining if f.fix is None]
    assert results and all(reason in f.reason for f in results), [f.reason for f in results]


def test_a_base_in_another_file_counts(tmp_path, monkeypatch):
    base = "services:\n  pg:\n    image: postgres:17\n    ports: ['5432:5432']\n  plain:\n    image: postgres:17\n"
    text = ("services:\n  web:\n    image: nginx\n    ports: ['80:80']\n    depends_on: [db]\n"
            "  db:\n    extends:\n      file: base.yaml\n      service: {base}\n    ports: ['5433:5432']\n")
    ws = project(tmp_path, monkeypatch, {"base.yaml": base, "compose.yaml": text.format(base="pg")})
    result = run(ID, text.format(base="pg"), kind="compose", path="compose.yaml", workspace=ws)
    assert "whose ports it inherits" in reason_of(result)
    # the base's image makes it a database; without inherited ports it is fixed
    out = fix(ID, text.format(base="plain"), kind="compose", path="compose.yaml", workspace=ws)
    assert out == text.format(base="plain").replace("ports: ['5433:5432']", "expose: ['5432']")


def test_anchors_merge_keys_and_extension_fields_survive():
    before = ("x-common: &common\n  restart: always\n  logging:\n    driver: json-file\n"
              "services:\n  web:\n    <<: *common\n    image: nginx\n    ports: ['80:80']\n    depends_on: [api]\n"
              "  api:\n    <<: *common\n    build: .\n    x-team: core\n    ports:\n      - \"8000:8000\"\n")
    assert fixed(before) == before.replace("    ports:\n      - \"8000:8000\"\n", "    expose:\n      - \"8000\"\n")


def test_crlf_and_four_spaces():
    before = ("services:\r\n    web:\r\n        image: nginx\r\n        ports:\r\n            - 80:80\r\n"
              "        depends_on:\r\n            - db\r\n    db:\r\n        image: mysql:8\r\n        ports:\r\n"
              "            - 3306:3306\r\n")
    assert fixed(before) == before.replace("        ports:\r\n            - 3306:3306\r\n",
                                           "        expose:\r\n            - 3306\r\n")


def test_the_front_and_users_may_live_in_the_override_file(tmp_path, monkeypatch):
    layout = {
        "compose.yaml": "services:\n  db:\n    image: postgres:17\n    ports:\n      - \"5432:5432\"\n",
        "compose.override.yaml": "services:\n  web:\n    image: nginx\n    ports: ['80:80']\n    depends_on: [db]\n",
    }
    ws = project(tmp_path, monkeypatch, layout)
    out = fix(ID, layout["compose.yaml"], kind="compose", path="compose.yaml", workspace=ws)
    assert out == "services:\n  db:\n    image: postgres:17\n    expose:\n      - \"5432\"\n"
    # a file that is not read with the other stands alone
    alone = run(ID, layout["compose.yaml"], kind="compose", path="docker-compose.db.yml", workspace=ws)
    assert alone.text == layout["compose.yaml"]


def test_included_files_count(tmp_path, monkeypatch):
    layout = {
        "compose.yaml": "include:\n  - front/compose.yaml\nservices:\n  db:\n    image: mongo:8\n    ports: ['27017:27017']\n",
        "front/compose.yaml": "services:\n  app:\n    build: .\n    ports: ['3000:3000']\n    environment:\n"
                              "      MONGO_URL: mongodb://db:27017/app\n",
    }
    ws = project(tmp_path, monkeypatch, layout)
    out = fix(ID, layout["compose.yaml"], kind="compose", path="compose.yaml", workspace=ws)
    assert out == layout["compose.yaml"].replace("ports: ['27017:27017']", "expose: ['27017']")


# precedence with nw-002 -----------------------------------------------------------------------

BOTH = ("services:\n  web:\n    image: nginx\n    ports:\n      - \"80:80\"\n    depends_on: [db, cache]\n"
        "  db:\n    image: postgres:17\n    ports:\n      - \"5432:5432\"\n      - 5433\n"
        "  cache:\n    image: redis:7\n    ports:\n      - target: 6379\n        published: 6379\n"
        "  adminer:\n    image: adminer\n    ports:\n      - 8080:8080\n")
BOTH_AFTER = ("services:\n  web:\n    image: nginx\n    ports:\n      - \"80:80\"\n    depends_on: [db, cache]\n"
              "  db:\n    image: postgres:17\n    expose:\n      - \"5432\"\n      - 5433\n"
              "  cache:\n    image: redis:7\n    expose:\n      - 6379\n"
              "  adminer:\n    image: adminer\n    ports:\n      - 127.0.0.1:8080:8080\n")


@pytest.mark.parametrize("order", [("nw-002", "nw-003"), ("nw-003", "nw-002")])
def test_nw_002_and_nw_003_converge(order):
    transforms = [all_transforms()[tid](Context(options=dict(all_transforms()[tid].options), workspace=Workspace()))
                  for tid in order]
    outcome = fix_document(documents.load("compose.yaml", "compose", BOTH), transforms, unsafe_ok=True)
    assert not outcome.errors
    assert outcome.text == BOTH_AFTER
    assert not compose_errors(outcome.text)
    again = fix_document(documents.load("compose.yaml", "compose", outcome.text), transforms, unsafe_ok=True)
    assert again.text == BOTH_AFTER and not again.applied


@needs_corpus
def test_corpus():
    def line_ok(old, new):
        # ports entries become expose entries: the key, its items (container ports only), debugger ports kept
        lines = [line for line in (old, new) if line is not None]
        return all(line.strip().startswith(("ports", "expose", "- ")) for line in lines)

    counts = check_corpus(ID, "compose", line_ok=line_ok)
    assert counts["applied"] > 10


def test_dev_tool_uis_stay_published():
    text = """services:
  web:
    image: nginx:1.27
    ports: ["80:80"]
    environment:
      SMTP_HOST: mail
  mail:
    image: mailhog/mailhog:v1.0.1
    ports: ["8025:8025"]
"""
    assert run("nw-003", text, kind="compose").text == text
