"""io-004: Add a .dockerignore."""
from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from orchfix import api
from orchfix.cli import cli
from orchfix.registry import all_transforms
from orchfix.transforms._knowledge import contexts
from orchfix.transforms._knowledge import dockerignore as di
from orchfix.workspace import Workspace
from tests.corpus import CORPUS, needs_corpus
from tests.helpers import fix, hadolint_parses, run
from tests.transforms.dockerfile_corpus import corpus_docs

ID = "io-004"

NODE = 'FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\nCMD ["node", "dist/server.js"]\n'

#: the file the docstring example writes (the catalog test runs it too)
NODE_IGNORE = all_transforms()[ID].example_side[".dockerignore"]


def tree(tmp_path, monkeypatch, layout: dict[str, str | bytes], git: bool = True) -> Workspace:
    """Write ``layout`` under tmp_path (a ``.git`` folder makes it a repository), chdir there, scan it."""
    if git:
        (tmp_path / ".git").mkdir()
    for name, content in layout.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith("/"):
            path.mkdir(exist_ok=True)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return Workspace.scan(["."])


def side(text: str, path: str = "Dockerfile", ws: Workspace | None = None, tid: str = ID) -> dict[str, str]:
    outcome = run(tid, text, path=path, workspace=ws)
    assert not outcome.errors, outcome.errors
    assert outcome.text == text, "the Dockerfile itself never changes"
    return outcome.side


def entries(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


# --- before/after -----------------------------------------------------------------------------------

def test_node_project_gets_a_full_file(tmp_path, monkeypatch):
    ws = tree(tmp_path, monkeypatch, {".gitignore": "node_modules\n.env\n", "package.json": "{}", "Dockerfile": NODE})
    assert side(NODE, ws=ws) == {".dockerignore": NODE_IGNORE}
    assert fix(ID, NODE, path="Dockerfile", workspace=ws) == NODE
    assert hadolint_parses(NODE)


def test_python_project(tmp_path, monkeypatch):
    text = "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install --no-cache-dir -r requirements.txt\nCMD [\"python\", \"app.py\"]\n"
    ws = tree(tmp_path, monkeypatch, {"requirements.txt": "flask\n", "Dockerfile": text})
    written = side(text, ws=ws)[".dockerignore"]
    for entry in (".venv", "venv", "**/__pycache__", "**/*.py[cod]", "**/.pytest_cache", "**/.env", ".git"):
        assert entry in entries(written)
    assert "**/node_modules" not in written and "dist" not in entries(written)
    assert "# dependencies (installed by the build)\n.venv\nvenv\n" in written


def test_stack_detected_from_the_install_when_no_manifest_is_there(tmp_path, monkeypatch):
    text = "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN go mod download && go build -o bin/app ./cmd/app\n" \
           "FROM gcr.io/distroless/static-debian12\nCOPY --from=build /src/bin/app /app\nENTRYPOINT [\"/app\"]\n"
    ws = tree(tmp_path, monkeypatch, {"Dockerfile": text})
    written = entries(side(text, ws=ws)[".dockerignore"])
    assert "vendor" in written and "bin" in written


def test_dependency_and_build_dirs_only_when_the_build_makes_them(tmp_path, monkeypatch):
    # no install, no build: the host's node_modules and dist are what the image runs
    text = 'FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nCMD ["node", "dist/server.js"]\n'
    ws = tree(tmp_path, monkeypatch, {"package.json": "{}", "Dockerfile": text})
    outcome = run(ID, text, workspace=ws)
    written = entries(outcome.side[".dockerignore"])
    assert not {"**/node_modules", "dist", "build", ".next"} & set(written)
    assert "**/.env" in written and "coverage" in written


def test_dependency_folder_kept_in_the_context_keeps_its_certificates(tmp_path, monkeypatch):
    text = 'FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nCMD ["node", "server.js"]\n'
    ws = tree(tmp_path, monkeypatch, {".gitignore": "node_modules\n", "package.json": "{}", "node_modules/grpc/etc/roots.pem": "x",
                                       "Dockerfile": text})
    written = entries(side(text, ws=ws)[".dockerignore"])
    assert written.index("!**/node_modules/**/*.pem") == written.index("**/*.pem") + 1
    ignore = "\n".join(written)
    assert not di.excluded(written, "node_modules/grpc/etc/roots.pem")
    assert contexts.ignored_by(contexts.ignore_patterns(ignore), "certs/server.pem")


def test_crlf_dockerfile_and_the_file_stays_lf(tmp_path, monkeypatch):
    text = NODE.replace("\n", "\r\n")
    ws = tree(tmp_path, monkeypatch, {".gitignore": "node_modules\n", "package.json": "{}", "Dockerfile": text.encode()})
    assert side(text, ws=ws) == {".dockerignore": NODE_IGNORE}


@pytest.mark.parametrize("copy", ["COPY . .", "ADD . /app", "COPY ./ /app/", "COPY --chown=node:node . .",
                                  'COPY [".", "/app"]', "COPY * ./", "copy --link ./ ."])
def test_whole_context_sources(tmp_path, monkeypatch, copy):
    text = f"FROM node:20-alpine\nWORKDIR /app\n{copy}\nRUN npm ci\n"
    ws = tree(tmp_path, monkeypatch, {"package.json": "{}", "Dockerfile": text})
    assert ".dockerignore" in side(text, ws=ws)


def test_multi_stage_arg_from_platform_heredoc_and_continuations(tmp_path, monkeypatch):
    text = ("ARG NODE=20\nFROM --platform=$BUILDPLATFORM node:${NODE}-alpine AS build\nWORKDIR /src\n"
            "COPY <<EOF /etc/npmrc\nfund=false\nEOF\n\nCOPY --chown=node \\\n    . \\\n    ./\n"
            "RUN npm ci \\\n && npm run build\nFROM nginx:1.27-alpine\nCOPY --from=build /src/dist /usr/share/nginx/html\n")
    ws = tree(tmp_path, monkeypatch, {"package.json": "{}", "Dockerfile": text})
    outcome = run(ID, text, workspace=ws)
    assert [f.line for f in outcome.applied] == [8]
    assert "dist" in entries(outcome.side[".dockerignore"])
    assert hadolint_parses(text)


def test_compose_names_the_context(tmp_path, monkeypatch):
    text = 'FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nRUN npm ci\n'
    compose = "services:\n  api:\n    build:\n      context: .\n      dockerfile: docker/api/Dockerfile\n"
    ws = tree(tmp_path, monkeypatch, {"compose.yaml": compose, "package.json": "{}", "docker/api/Dockerfile": text})
    assert set(side(text, path="docker/api/Dockerfile", ws=ws)) == {".dockerignore"}


def test_compose_short_build_form(tmp_path, monkeypatch):
    text = 'FROM python:3.12\nCOPY . /app\nRUN pip install /app\n'
    ws = tree(tmp_path, monkeypatch, {"compose.yaml": "services:\n  api:\n    build: ./api\n", "api/pyproject.toml": "",
                                       "api/Dockerfile": text})
    written = side(text, path="api/Dockerfile", ws=ws)
    assert set(written) == {"api/.dockerignore"} and ".venv" in entries(written["api/.dockerignore"])


# --- build-context safety -------------------------------------------------------------------------

def test_never_leaves_out_a_named_source(tmp_path, monkeypatch):
    text = ("FROM node:20 AS build\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\n"
            "FROM nginx:alpine\nCOPY dist/ /usr/share/nginx/html/\nCOPY .env.local /etc/app.env\n"
            "COPY --from=build /app/build /srv\n")
    ws = tree(tmp_path, monkeypatch, {"package.json": "{}", "Dockerfile": text})
    outcome = run(ID, text, workspace=ws)
    written = entries(outcome.side[".dockerignore"])
    assert "dist" not in written and "build" in written  # --from=build names a stage path, not the context
    assert "!.env.local" in written and "**/.env.*" in written
    assert not di.excluded(written, "dist/index.html") and not di.excluded(written, ".env.local")
    assert "dist: COPY dist (Dockerfile:6) names it" in outcome.applied[0].message


def test_secret_in_a_named_folder_gets_an_exception(tmp_path, monkeypatch):
    text = "FROM nginx:alpine\nCOPY . /usr/share/nginx/html\nCOPY certs/ /etc/nginx/certs/\n"
    ws = tree(tmp_path, monkeypatch, {".gitignore": "certs/\n", "certs/server.key": "k", "certs/server.pem": "c",
                                       "Dockerfile": text})
    written = entries(side(text, ws=ws)[".dockerignore"])
    assert "!certs/**/*.pem" in written and "!certs/**/*.key" in written
    assert di.excluded(written, "other/leaked.key") and not di.excluded(written, "certs/server.key")


def test_tracked_files_stay(tmp_path, monkeypatch):
    # a committed .env.production and a build/ folder of sources (vue-cli 2) are project files
    text = "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\n"
    ws = tree(tmp_path, monkeypatch, {".gitignore": "node_modules\n.env\n.env.local\n", "package.json": "{}",
                                       ".env.production": "API=/api\n", ".env.local": "TOKEN=x\n", ".env": "TOKEN=x\n",
                                       "build/webpack.conf.js": "", "Dockerfile": text})
    outcome = run(ID, text, workspace=ws)
    written = entries(outcome.side[".dockerignore"])
    assert "!.env.production" in written and "build" not in written
    assert di.excluded(written, ".env.local") and di.excluded(written, ".env")
    assert "build: build/webpack.conf.js is tracked by git" in outcome.applied[0].message


def test_without_a_repository_every_present_file_counts_as_tracked(tmp_path, monkeypatch):
    text = "FROM node:20\nCOPY . .\nRUN npm ci\n"
    ws = tree(tmp_path, monkeypatch, {"package.json": "{}", "node_modules/a/index.js": "", "Dockerfile": text}, git=False)
    written = entries(side(text, ws=ws)[".dockerignore"])
    assert "**/node_modules" not in written and "**/.env" in written


@pytest.mark.parametrize("run_line", ["RUN git describe --tags > VERSION", "RUN make", "RUN ./scripts/version.sh"])
def test_git_kept_when_the_build_uses_it(tmp_path, monkeypatch, run_line):
    text = f"FROM golang:1.22\nWORKDIR /src\nCOPY . .\n{run_line}\nRUN go build ./...\n"
    ws = tree(tmp_path, monkeypatch, {"go.mod": "module x\n", "Makefile": "V := $(shell git rev-parse HEAD)\n",
                                       "scripts/version.sh": "git describe --always\n", "Dockerfile": text})
    written = entries(side(text, ws=ws)[".dockerignore"])
    assert ".git" not in written and ".gitignore" in written


def test_git_kept_for_scm_versioning(tmp_path, monkeypatch):
    text = "FROM python:3.12\nCOPY . /src\nRUN pip install /src\n"
    ws = tree(tmp_path, monkeypatch, {"pyproject.toml": '[build-system]\nrequires = ["setuptools-scm"]\n', "Dockerfile": text})
    assert ".git" not in entries(side(text, ws=ws)[".dockerignore"])


def test_bind_mount_sources_are_named(tmp_path, monkeypatch):
    text = ("# syntax=docker/dockerfile:1\nFROM node:20\nWORKDIR /app\n"
            "RUN --mount=type=bind,source=.env.build,target=/tmp/env --mount=type=cache,target=/root/.npm npm ci\n"
            "COPY . .\n")
    ws = tree(tmp_path, monkeypatch, {"package.json": "{}", "Dockerfile": text})
    written = entries(side(text, ws=ws)[".dockerignore"])
    assert "!.env.build" in written


def test_glob_and_variable_sources(tmp_path, monkeypatch):
    text = "FROM golang:1.22\nARG TARGETARCH\nCOPY . .\nRUN go build -o bin/x .\nCOPY bin/${TARGETARCH}/x /x\nCOPY *.pem /certs/\n"
    ws = tree(tmp_path, monkeypatch, {"go.mod": "module x\n", "Dockerfile": text})
    outcome = run(ID, text, workspace=ws)
    written = entries(outcome.side[".dockerignore"])
    assert "bin" not in written and "**/*.pem" not in written and "**/*.key" in written


def test_report_only_when_every_entry_is_unsafe(tmp_path, monkeypatch):
    text = "FROM alpine\nCOPY . /src\nCOPY ${SRC} /x\n"
    ws = tree(tmp_path, monkeypatch, {"Dockerfile": text})
    outcome = run(ID, text, workspace=ws)
    assert not outcome.side and not outcome.applied
    [finding] = outcome.remaining
    assert finding.fix is None and finding.reason.startswith("every entry would leave out something the build needs")


# --- near-misses ------------------------------------------------------------------------------------

@pytest.mark.parametrize("other", [".dockerignore", "Dockerfile.dockerignore"])
def test_an_ignore_file_applies_already(tmp_path, monkeypatch, other):
    ws = tree(tmp_path, monkeypatch, {"package.json": "{}", other: "node_modules\n", "Dockerfile": NODE})
    outcome = run(ID, NODE, workspace=ws)
    assert not outcome.side and not outcome.remaining


def test_named_dockerfile_with_its_own_ignore_file(tmp_path, monkeypatch):
    ws = tree(tmp_path, monkeypatch, {"package.json": "{}", "web.Dockerfile.dockerignore": "*\n", "web.Dockerfile": NODE})
    assert not run(ID, NODE, path="web.Dockerfile", workspace=ws).side
    # the other Dockerfile of the context reads .dockerignore, which is missing
    assert ".dockerignore" in run(ID, NODE, path="Dockerfile", workspace=ws).side


@pytest.mark.parametrize("text", [
    "FROM node:20\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci\nCOPY src ./src\n",
    "FROM golang:1.22 AS build\nCOPY . /src\nFROM alpine\nCOPY --from=build . /app\n".replace("COPY . /src", "COPY main.go /src/"),
    "FROM alpine\nCOPY <<EOF /app/config\n.\nEOF\n",
    "FROM alpine\nADD https://example.com/. /app\n",
    "FROM alpine\nONBUILD COPY . /app\n",
    "FROM alpine\nRUN --mount=type=bind,target=/src make -C /src\n",
])
def test_no_whole_context_copy(tmp_path, monkeypatch, text):
    ws = tree(tmp_path, monkeypatch, {"Dockerfile": text})
    outcome = run(ID, text, workspace=ws)
    assert not outcome.side and not outcome.remaining


# --- idempotence, several Dockerfiles, the CLI ------------------------------------------------------

def test_second_run_with_the_file_written_finds_nothing(tmp_path, monkeypatch):
    ws = tree(tmp_path, monkeypatch, {"package.json": "{}", "Dockerfile": NODE})
    (tmp_path / ".dockerignore").write_text(side(NODE, ws=ws)[".dockerignore"])
    again = run(ID, NODE, workspace=Workspace.scan(["."]))
    assert not again.side and not again.remaining
    # cm-004 finds the written file complete
    assert not run("cm-004", NODE, workspace=Workspace.scan(["."])).side


def test_dockerfiles_sharing_a_context_write_one_file(tmp_path, monkeypatch):
    whole = "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\n"
    named = "FROM nginx:alpine\nCOPY dist/ /usr/share/nginx/html/\n"
    tree(tmp_path, monkeypatch, {"package.json": "{}", "Dockerfile": whole, "Dockerfile.web": named})
    ws = Workspace.scan(["."])
    first = side(whole, path="Dockerfile", ws=ws)
    assert "dist" not in entries(first[".dockerignore"])  # the other Dockerfile copies dist/
    result = api.run(["."], select=["io-004", "cm-004"])
    assert not result.errors
    assert result.side == {".dockerignore": (None, first[".dockerignore"])}


def test_dry_run_shows_the_new_file(tmp_path, monkeypatch):
    tree(tmp_path, monkeypatch, {"package.json": "{}", "Dockerfile": NODE})
    result = CliRunner().invoke(cli, ["--dry-run", "--select", ID, "."])
    assert result.exit_code == 1, result.output
    assert "--- /dev/null\n+++ b/.dockerignore\n@@ -0,0 +1,41 @@\n+# version control\n+.git\n" in result.output
    assert not (tmp_path / ".dockerignore").exists()
    proc = subprocess.run([sys.executable, "-m", "orchfix", "--dry-run", "-q", "--select", ID, str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "--- /dev/null" in proc.stdout


# --- corpus -----------------------------------------------------------------------------------------

@needs_corpus
def test_corpus():
    ws = Workspace.scan([str(CORPUS)])
    written: dict[str, str] = {}
    for path, text, _ in corpus_docs():
        outcome = run(ID, text, path=str(path), workspace=ws)
        assert not outcome.errors, (path, outcome.errors)
        assert outcome.text == text
        written.update(outcome.side)
    assert written
    # build-context safety: no COPY/ADD/bind source of any Dockerfile of the context is left out,
    # by pathspec and by the independent matcher in contexts.py
    by_context: dict[str, list] = {}
    for path, _, doc in corpus_docs():
        by_context.setdefault(contexts.build_context(ws, str(path)), []).append(doc)
    for ignore, text in written.items():
        lines, rules = text.splitlines(), contexts.ignore_patterns(text)
        for doc in by_context[ignore.rsplit("/", 1)[0]]:
            for source in di.sources(doc):
                sample = di._sample(source.path)
                assert not di.excluded(lines, sample) and not contexts.ignored_by(rules, sample), (ignore, source)
    # a second run with the files staged finds nothing
    for name, text in written.items():
        ws.staged[name] = text
    for path, text, _ in corpus_docs():
        assert not run(ID, text, path=str(path), workspace=ws).side


@needs_corpus
def test_corpus_safety_with_every_entry(monkeypatch):
    """Every entry of the knowledge forced on every corpus context: the safety filter alone keeps
    every named source in the context."""
    ordered = sorted({r.pattern: r for r in di.RULES.values()}.values(), key=lambda r: list(di.GROUPS).index(r.group))
    monkeypatch.setattr(di, "_candidates", lambda *a: (ordered, []))
    ws = Workspace.scan([str(CORPUS)])
    for path, _, doc in corpus_docs():
        tgt = di.target(ws, doc)
        lines = di.plan(ws, tgt, None).lines
        rules = contexts.ignore_patterns("\n".join(lines))
        for other in tgt.dockerfiles:
            for source in di.sources(other):
                sample = di._sample(source.path)
                assert not di.excluded(lines, sample) and not contexts.ignored_by(rules, sample), (path, source)


def test_context_above_the_folder_being_fixed_is_reported(tmp_path, monkeypatch):
    ws = tree(tmp_path, monkeypatch, {"api/Dockerfile": NODE})
    monkeypatch.setattr(di, "build_context", lambda workspace, path: "..")
    outcome = run(ID, NODE, path="api/Dockerfile", workspace=ws)
    assert not outcome.side
    [finding] = outcome.remaining
    assert finding.fix is None and "outside the folder being fixed" in finding.reason


@pytest.mark.parametrize(("run_line", "installs"), [
    ("RUN apk add --no-cache yarn", False),
    ("RUN yarn --version", False),
    ("RUN apk add yarn && yarn", True),
    ("RUN --mount=type=cache,target=/root/.npm CI=1 npm ci", True),
    ("RUN cd /app && yarn install --frozen-lockfile", True),
])
def test_only_a_real_install_leaves_out_node_modules(tmp_path, monkeypatch, run_line, installs):
    text = f"FROM node:20\nWORKDIR /app\nCOPY . .\n{run_line}\n"
    ws = tree(tmp_path, monkeypatch, {"package.json": "{}", "Dockerfile": text})
    assert ("**/node_modules" in entries(side(text, ws=ws)[".dockerignore"])) is installs
