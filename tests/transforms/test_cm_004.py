"""cm-004: A complete .dockerignore."""
from __future__ import annotations

import pytest

from orchfix import api
from orchfix.transforms._knowledge import contexts
from orchfix.transforms._knowledge import dockerignore as di
from orchfix.workspace import Workspace
from tests.corpus import CORPUS, needs_corpus
from tests.helpers import fix, hadolint_parses, run
from tests.transforms.dockerfile_corpus import corpus_docs
from tests.transforms.test_io_004 import entries, side, tree

ID = "cm-004"

NODE = "FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\nCMD [\"node\", \"dist/server.js\"]\n"
PY = ("FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\n"
      "COPY app/ ./app/\nCMD [\"python\", \"-m\", \"app\"]\n")

SECRETS = """\
# secrets and local settings
**/.env
**/.env.*
!**/.env.example
!**/.env.sample
!**/.env.template
!**/.env.dist
**/*.pem
**/*.key
**/id_rsa*
"""


def completed(ws: Workspace, text: str = NODE, path: str = "Dockerfile", ignore: str = ".dockerignore") -> str:
    return side(text, path=path, ws=ws, tid=ID)[ignore]


# --- before/after -----------------------------------------------------------------------------------

def test_appends_what_is_missing(tmp_path, monkeypatch):
    ws = tree(tmp_path, monkeypatch, {"package.json": "{}", ".dockerignore": "node_modules\n*.log\n", "Dockerfile": NODE})
    assert completed(ws) == ("node_modules\n*.log\n\n# version control\n.git\n\n" + SECRETS +
                             "\n# dependencies (installed by the build)\n.yarn/cache\n\n"
                             "# build output (made by the build)\n.next\ndist\nbuild\n")
    assert fix(ID, NODE, path="Dockerfile", workspace=ws) == NODE
    assert hadolint_parses(NODE)


def test_no_final_newline_and_crlf(tmp_path, monkeypatch):
    ws = tree(tmp_path, monkeypatch, {".dockerignore": b".git\r\n**/.env*\r\n*.pem\r\n*.key\r\nid_rsa*", "Dockerfile": PY,
                                       "requirements.txt": ""})
    assert completed(ws, PY) == ".git\r\n**/.env*\r\n*.pem\r\n*.key\r\nid_rsa*\r\n\r\n# dependencies (installed by the build)\r\n.venv\r\nvenv\r\n"


def test_empty_file_gets_no_leading_blank_line(tmp_path, monkeypatch):
    ws = tree(tmp_path, monkeypatch, {".dockerignore": "", "Dockerfile": PY})
    assert completed(ws, PY) == "# version control\n.git\n\n" + SECRETS + "\n# dependencies (installed by the build)\n.venv\nvenv\n"


def test_own_ignore_file_is_the_one_completed(tmp_path, monkeypatch):
    ws = tree(tmp_path, monkeypatch, {".dockerignore": "*\n", "api.Dockerfile.dockerignore": "node_modules\n",
                                       "api.Dockerfile": PY})
    written = side(PY, path="api.Dockerfile", ws=ws, tid=ID)
    assert set(written) == {"api.Dockerfile.dockerignore"}
    assert entries(written["api.Dockerfile.dockerignore"])[:3] == ["node_modules", ".git", "**/.env"]


def test_compose_context(tmp_path, monkeypatch):
    compose = "services:\n  web:\n    build:\n      context: ..\n      dockerfile: deploy/Dockerfile\n"
    ws = tree(tmp_path, monkeypatch, {"deploy/compose.yaml": compose, ".dockerignore": "node_modules\n",
                                       "deploy/Dockerfile": PY})
    assert set(side(PY, path="deploy/Dockerfile", ws=ws, tid=ID)) == {".dockerignore"}


# --- coverage by broader patterns -------------------------------------------------------------------

@pytest.mark.parametrize("existing", [
    ".git\n.env*\n*.pem\n*.key\nid_rsa*\n.venv\nvenv\n",
    "/.git/\n**/.env\n**/.env.*\n**/*.pem\n**/*.key\n**/id_rsa*\n.venv/\nvenv/\n",
    "*\n!app\n!requirements.txt\n",
    "**\n!app/**\n!requirements.txt\n",
    "# everything but the app\n*\n!app/\n!requirements.txt\n",
])
def test_covered_by_what_is_there(tmp_path, monkeypatch, existing):
    ws = tree(tmp_path, monkeypatch, {"requirements.txt": "", ".dockerignore": existing, "Dockerfile": PY})
    outcome = run(ID, PY, workspace=ws)
    assert not outcome.side and not outcome.remaining


def test_an_exception_the_author_excluded_is_not_brought_back(tmp_path, monkeypatch):
    ws = tree(tmp_path, monkeypatch, {".dockerignore": ".git\n.env\n.env.example\n*.pem\n*.key\nid_rsa*\n", "Dockerfile": PY})
    assert "\n# secrets and local settings\n**/.env.*\n!**/.env.sample\n!**/.env.template\n!**/.env.dist\n\n" in completed(ws, PY)


# --- build-context safety -------------------------------------------------------------------------

def test_never_leaves_out_a_named_source(tmp_path, monkeypatch):
    text = ("FROM python:3.12-slim\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
            "COPY config/.env.defaults /app/.env\nCOPY venv/ /opt/venv/\nCOPY deploy.key /root/.ssh/id\n")
    ws = tree(tmp_path, monkeypatch, {".dockerignore": ".git\n", "Dockerfile": text})
    outcome = run(ID, text, workspace=ws)
    written = entries(outcome.side[".dockerignore"])
    assert "venv" not in written and ".venv" in written
    assert "!config/.env.defaults" in written and "!deploy.key" in written
    for path in ("config/.env.defaults", "venv/bin/python", "deploy.key", "requirements.txt"):
        assert not di.excluded(written, path)
        assert not contexts.ignored_by(contexts.ignore_patterns("\n".join(written)), path)


def test_git_kept_when_the_build_uses_it(tmp_path, monkeypatch):
    text = "FROM alpine\nCOPY src /src\nRUN cd /src && git rev-parse HEAD > /VERSION\n"
    ws = tree(tmp_path, monkeypatch, {".dockerignore": "node_modules\n", "Dockerfile": text})
    assert ".git" not in entries(completed(ws, text))


# --- monorepo contexts without an ignore file -------------------------------------------------------

def test_monorepo_context_without_one_gets_the_critical_entries(tmp_path, monkeypatch):
    ws = tree(tmp_path, monkeypatch, {".dockerignore": "node_modules\n", "services/api/requirements.txt": "",
                                       "services/api/Dockerfile": PY})
    outcome = run(ID, PY, path="services/api/Dockerfile", workspace=ws)
    assert outcome.side == {"services/api/.dockerignore": "# version control\n.git\n\n" + SECRETS +
                            "\n# dependencies (installed by the build)\n.venv\nvenv\n"}
    assert ".dockerignore does not apply to the build context services/api/" in outcome.applied[0].message


def test_monorepo_context_copied_whole_is_left_to_io_004(tmp_path, monkeypatch):
    ws = tree(tmp_path, monkeypatch, {".dockerignore": "node_modules\n", "web/package.json": "{}", "web/Dockerfile": NODE,
                                       "web/Dockerfile.named": PY})
    assert not run(ID, NODE, path="web/Dockerfile", workspace=ws).side
    # another Dockerfile of the same context copying named paths does not write it either
    assert not run(ID, PY, path="web/Dockerfile.named", workspace=ws).side
    result = api.run(["."], select=["io-004", "cm-004"])
    assert not result.errors
    assert list(result.side) == ["web/.dockerignore"]
    [done] = [f for o in result.outcomes for f in o.applied]
    assert done.transform == "io-004"


@pytest.mark.parametrize("layout", [
    {"services/api/Dockerfile": PY},  # no ignore file above: not a monorepo sign
    {".dockerignore": "x\n", "Dockerfile": PY},  # the root context has its own (complete) file
    {".dockerignore": "x\n", "services/api/Dockerfile": "FROM alpine\nRUN echo hi\n"},  # takes nothing from the context
])
def test_monorepo_near_misses(tmp_path, monkeypatch, layout):
    ws = tree(tmp_path, monkeypatch, layout)
    path = next(p for p in layout if p.endswith("Dockerfile"))
    text = layout[path]
    outcome = run(ID, text, path=path, workspace=ws)
    assert not [p for p in outcome.side if p != ".dockerignore"]


# --- idempotence ------------------------------------------------------------------------------------

def test_second_run_with_the_file_written_finds_nothing(tmp_path, monkeypatch):
    ws = tree(tmp_path, monkeypatch, {"package.json": "{}", ".dockerignore": "node_modules", "Dockerfile": NODE})
    (tmp_path / ".dockerignore").write_text(completed(ws))
    again = run(ID, NODE, workspace=Workspace.scan(["."]))
    assert not again.side and not again.remaining


def test_near_miss_no_context_copy(tmp_path, monkeypatch):
    text = "FROM alpine\nCOPY --from=busybox /bin/busybox /bin/\nRUN echo hi\n"
    ws = tree(tmp_path, monkeypatch, {".dockerignore": "\n", "Dockerfile": text})
    outcome = run(ID, text, workspace=ws)
    assert not outcome.side and not outcome.remaining


# --- corpus -----------------------------------------------------------------------------------------

@needs_corpus
def test_corpus():
    """The corpus has no .dockerignore: nothing to complete; no errors; a context io-004 fills is
    complete for cm-004."""
    ws = Workspace.scan([str(CORPUS)])
    docs = list(corpus_docs())
    for path, text, _ in docs:
        outcome = run(ID, text, path=str(path), workspace=ws)
        assert not outcome.errors and outcome.text == text and not outcome.side, path
    for path, text, _ in docs:
        ws.staged.update(run("io-004", text, path=str(path), workspace=ws).side)
    for path, text, _ in docs:
        assert not run(ID, text, path=str(path), workspace=ws).side, path
