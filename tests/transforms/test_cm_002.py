"""cm-002: slim bases, no caches, non-root (three findings, each with its own safety)."""
from __future__ import annotations

import re

import pytest

from orchfix import documents
from orchfix.fixer import fix_document
from orchfix.registry import all_transforms
from orchfix.transform import Context, Safety
from orchfix.workspace import Workspace
from tests.corpus import needs_corpus
from tests.helpers import fix, hadolint_codes, hadolint_parses, run
from tests.transforms.dockerfile_corpus import check_corpus

ID = "cm-002"
NOBODY = "USER nobody\n"  # keeps the non-root part quiet where a test is about the other parts


# -- pip cache (safe) -------------------------------------------------------------------------

@pytest.mark.parametrize(("before", "after"), [
    ("RUN pip install -r requirements.txt\n", "RUN pip install --no-cache-dir -r requirements.txt\n"),
    ("RUN pip3 install flask\n", "RUN pip3 install --no-cache-dir flask\n"),
    ("RUN python -m pip install -U pip\n", "RUN python -m pip install --no-cache-dir -U pip\n"),
    ("RUN python3.12 -m pip install x\n", "RUN python3.12 -m pip install --no-cache-dir x\n"),
    ("RUN /venv/bin/pip install x\n", "RUN /venv/bin/pip install --no-cache-dir x\n"),
    ("RUN pip --disable-pip-version-check install x\n", "RUN pip --disable-pip-version-check install --no-cache-dir x\n"),
    ("RUN pip install -U pip && pip install -r r.txt\n", "RUN pip install --no-cache-dir -U pip && pip install --no-cache-dir -r r.txt\n"),
    ("RUN USER=root pip install x\n", "RUN USER=root pip install --no-cache-dir x\n"),
    ("RUN apk add py3-pip \\\n\t&& pip install \\\n\t\tx \\\n\t&& rm -rf /tmp/*\n",
     "RUN apk add py3-pip \\\n\t&& pip install --no-cache-dir \\\n\t\tx \\\n\t&& rm -rf /tmp/*\n"),
    ("RUN set -x && ( cd /src && pip install -r r.txt )\n", "RUN set -x && ( cd /src && pip install --no-cache-dir -r r.txt )\n"),
    ("RUN if [ -f r.txt ]; then pip install -r r.txt; fi\n", "RUN if [ -f r.txt ]; then pip install --no-cache-dir -r r.txt; fi\n"),
    ("RUN pip install x\r\n", "RUN pip install --no-cache-dir x\r\n"),
    ("run pip install x\n", "run pip install --no-cache-dir x\n"),
])
def test_pip_no_cache_dir(before, after):
    head = "FROM python:3.12-slim\n"
    assert fix(ID, head + before + NOBODY, unsafe=False) == head + after + NOBODY


def test_pip_at_the_end_of_a_file_without_newline():
    text = "FROM python:3.12-slim\nUSER nobody\nRUN pip install x"
    assert fix(ID, text, unsafe=False) == "FROM python:3.12-slim\nUSER nobody\nRUN pip install --no-cache-dir x"


def test_pip_in_every_stage_and_the_finding_is_safe():
    text = "FROM python:3.12 AS build\nRUN pip install -r r.txt\nFROM python:3.12-slim\nRUN pip install x\nUSER nobody\n"
    outcome = run(ID, text, unsafe=False)
    assert outcome.text == text.replace("install", "install --no-cache-dir")
    assert all(f.safety is Safety.SAFE for f in outcome.applied)
    assert "DL3042" in hadolint_codes(text) and "DL3042" not in hadolint_codes(outcome.text)


@pytest.mark.parametrize("before", [
    "FROM python:3.12-slim\nRUN pip install --no-cache-dir x\nUSER nobody\n",
    "FROM python:3.12-slim\nRUN pip install x --no-cache-dir\nUSER nobody\n",
    "FROM python:3.12-slim\nENV PIP_NO_CACHE_DIR=1\nRUN pip install x\nUSER nobody\n",
    "FROM python:3.12-slim AS base\nENV PIP_NO_CACHE_DIR=off\nFROM base\nRUN pip install x\nUSER nobody\n",
    "FROM python:3.12-slim\nRUN PIP_NO_CACHE_DIR=1 pip install x\nUSER nobody\n",
    "FROM python:3.12-slim\nRUN --mount=type=cache,target=/root/.cache/pip pip install x\nUSER nobody\n",
    "FROM python:3.12-slim\nRUN pip download x\nUSER nobody\n",
    "FROM python:3.12-slim\nRUN pipx install x\nUSER nobody\n",
    "FROM python:3.12-slim\nRUN pipenv install\nUSER nobody\n",
    "FROM python:3.12-slim\nRUN echo pip install x\nUSER nobody\n",
    "FROM python:3.12-slim\nRUN [\"pip\", \"install\", \"x\"]\nUSER nobody\n",  # exec form: not rewritten
    "FROM python:3.12-slim\nRUN <<EOF\npip install x\nEOF\nUSER nobody\n",  # heredoc: not rewritten
])
def test_pip_near_misses(before):
    outcome = run(ID, before)
    assert outcome.text == before and not outcome.remaining


# -- npm cache (safe) -------------------------------------------------------------------------

@pytest.mark.parametrize(("before", "after"), [
    ("RUN npm ci\n", "RUN npm ci && npm cache clean --force\n"),
    ("RUN npm install --omit=dev\n", "RUN npm install --omit=dev && npm cache clean --force\n"),
    ("RUN npm i -g pm2\n", "RUN npm i -g pm2 && npm cache clean --force\n"),
    ("RUN npm ci \\\n    --omit=dev\n", "RUN npm ci \\\n    --omit=dev && npm cache clean --force\n"),
    ("RUN npm ci && npm run build\n", "RUN npm ci && npm run build && npm cache clean --force\n"),
    ("RUN npm ci  \r\n", "RUN npm ci && npm cache clean --force  \r\n"),
])
def test_npm_cache_clean(before, after):
    head = "FROM node:20-alpine\n"
    assert fix(ID, head + before + "USER node\n", unsafe=False) == head + after + "USER node\n"


@pytest.mark.parametrize("before", [
    "RUN npm ci && npm cache clean --force\n",
    "RUN --mount=type=cache,target=/root/.npm npm ci\n",
    "RUN npm ci --cache /tmp/npm && rm -rf /tmp/npm\n",
    "RUN npm ci && rm -rf ~/.npm\n",
    "RUN npm ci # production deps\n",  # a trailing comment would swallow the appended command
    "RUN npm ci &\n",
    "RUN npm run build\n",
    "RUN [\"npm\", \"ci\"]\n",
])
def test_npm_near_misses(before):
    text = "FROM node:20-alpine\n" + before + "USER node\n"
    outcome = run(ID, text)
    assert outcome.text == text and not outcome.remaining


def test_npm_only_in_the_final_image():
    text = "FROM node:20 AS build\nRUN npm ci\nFROM node:20-alpine\nCOPY --from=build /app /app\nRUN npm ci\nUSER node\n"
    after = fix(ID, text)
    assert after == "FROM node:20 AS build\nRUN npm ci\nFROM node:20-alpine\nCOPY --from=build /app /app\nRUN npm ci && npm cache clean --force\nUSER node\n"


# -- slim (unsafe) -----------------------------------------------------------------------------

@pytest.mark.parametrize(("before", "after"), [
    ("FROM node:20\nWORKDIR /app\nCOPY . .\nUSER node\nCMD [\"node\", \"x.js\"]\n",
     "FROM node:20-slim\nWORKDIR /app\nCOPY . .\nUSER node\nCMD [\"node\", \"x.js\"]\n"),
    ("FROM node:20-bookworm AS run\nCOPY . .\nUSER node\n", "FROM node:20-bookworm-slim AS run\nCOPY . .\nUSER node\n"),
    ("FROM python:3.12-bookworm\nCOPY . .\nUSER nobody\nCMD [\"python\", \"a.py\"]\n",
     "FROM python:3.12-slim-bookworm\nCOPY . .\nUSER nobody\nCMD [\"python\", \"a.py\"]\n"),
    ("FROM ruby:3.3\nCOPY . .\nRUN chmod +x bin/app && mkdir -p tmp\nUSER nobody\n",
     "FROM ruby:3.3-slim\nCOPY . .\nRUN chmod +x bin/app && mkdir -p tmp\nUSER nobody\n"),
    ("FROM --platform=linux/amd64 python:3.12 AS base\nFROM base\nCOPY . .\nUSER nobody\n",
     "FROM --platform=linux/amd64 python:3.12-slim AS base\nFROM base\nCOPY . .\nUSER nobody\n"),
    # what the stage installs with apt is there in the slim variant too
    ("FROM python:3.12\nRUN apt-get update && apt-get install -y --no-install-recommends curl && curl -fsSLo /x https://e.x\nUSER nobody\n",
     "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y --no-install-recommends curl && curl -fsSLo /x https://e.x\nUSER nobody\n"),
    ("FROM node:20\r\nCOPY . .\r\nUSER node\r\n", "FROM node:20-slim\r\nCOPY . .\r\nUSER node\r\n"),
])
def test_slim(before, after):
    outcome = run(ID, before, unsafe=False)
    assert outcome.text == before and outcome.remaining[0].safety is Safety.UNSAFE
    assert fix(ID, before) == after
    assert hadolint_parses(after)


@pytest.mark.parametrize("before", [
    "FROM node:20-slim\nCOPY . .\nUSER node\n",
    "FROM node:20-alpine\nCOPY . .\nUSER node\n",
    "FROM python:3.12-alpine3.20\nCOPY . .\nUSER nobody\n",
    "FROM golang:1.22\nCOPY . .\nUSER nobody\n",  # no slim variant
    "FROM debian:bookworm\nCOPY . .\nUSER nobody\n",  # not a language image
    "FROM node\nCOPY . .\nUSER node\n",  # io-001 pins it first
    "FROM node:20 AS build\nRUN npm ci && npm run build\nFROM nginx:1.27-alpine\nCOPY --from=build /dist /usr/share/nginx/html\nUSER nginx\n",
    "FROM python:3.12\nRUN apt-get update && apt-get install -y build-essential libpq-dev\nUSER nobody\n",  # compiles
    "FROM node:20\nRUN npx node-gyp rebuild\nUSER node\n",
    "FROM python:3.12 AS base\nFROM base AS build\nRUN make\nFROM base\nCOPY --from=build /x /x\nUSER nobody\n",
    "ARG PY=3.12\nFROM python:${PY}\nCOPY . .\nUSER nobody\n",
    "FROM python:3.12 AS base\nCOPY . /app\nFROM alpine:3.20 AS other\nCOPY --from=base /app /app\nFROM base\nUSER nobody\n",
    "FROM example.com/node:20\nCOPY . .\nUSER nobody\n",
])
def test_slim_near_misses(before):
    outcome = run(ID, before)
    assert outcome.text == before and not outcome.remaining


@pytest.mark.parametrize(("before", "reason"), [
    ("FROM node:20\nCOPY . .\nRUN npm ci && npm cache clean --force\nUSER node\n", "installs dependencies"),
    ("FROM python:3.12\nCOPY . .\nRUN pip install --no-cache-dir -r r.txt\nUSER nobody\n", "installs dependencies"),
    ("FROM ruby:3.3\nCOPY . .\nRUN bundle install\nUSER nobody\n", "installs dependencies"),
    ("FROM node:20\nRUN git clone https://e.x/r.git /app\nUSER node\n", "runs `git`"),
    ("FROM node:20\nCOPY . .\nHEALTHCHECK CMD curl -f http://localhost/ || exit 1\nUSER node\n", "runs `curl`"),
    ("FROM python:3.12\nRUN <<EOF\necho hi\nEOF\nUSER nobody\n", "not a shell command"),
    # a health check or start command with a tool the slim image lacks (images.toml: tools of the full image)
    ('FROM node:20\nCOPY . .\nHEALTHCHECK --interval=30s CMD ["curl", "-f", "http://localhost:3000/"]\nUSER node\n',
     "runs `curl`"),
    ("FROM node:20\nCOPY . .\nHEALTHCHECK CMD node -e 'process.exit(0)' || wget -qO- http://localhost:3000/ || exit 1\n"
     "USER node\n", "runs `wget`"),
    ("FROM python:3.12\nCOPY . .\nHEALTHCHECK CMD [ -f /tmp/ready ] && curl -fs http://localhost:8000/\nUSER nobody\n",
     "runs `curl`"),
    ("FROM python:3.12\nCOPY . .\nUSER nobody\nCMD curl -s http://config/ > /tmp/c && python app.py\n", "runs `curl`"),
    ('FROM node:20\nCOPY . .\nUSER node\nENTRYPOINT ["/bin/sh", "-c", "wget -q http://config/ && exec node a.js"]\n',
     "runs `wget`"),
])
def test_slim_reports_doubts(before, reason):
    outcome = run(ID, before)
    assert outcome.text == before
    [finding] = outcome.remaining
    assert finding.fix is None and reason in finding.reason and finding.line == 1


@pytest.mark.parametrize("check", [
    "HEALTHCHECK CMD node healthcheck.js",
    'HEALTHCHECK --interval=30s CMD ["node", "-e", "fetch(\'http://localhost:3000\').then(r => process.exit(r.ok ? 0 : 1))"]',
    "HEALTHCHECK NONE",
])
def test_slim_keeps_health_checks_that_need_no_http_client(check):
    before = f"FROM node:20\nCOPY . .\n{check}\nUSER node\nCMD [\"node\", \"a.js\"]\n"
    assert fix(ID, before) == before.replace("node:20", "node:20-slim", 1)


def test_slim_and_a_new_health_check_agree():
    """cm-002 and hc-001 in one run never leave a slim image with a curl/wget health check."""
    before = "FROM node:20\nWORKDIR /app\nCOPY . .\nUSER node\nEXPOSE 3000\nCMD [\"node\", \"server.js\"]\n"
    workspace = Workspace()
    transforms = [cls(Context(options=dict(cls.options), workspace=workspace))
                  for cls in (all_transforms()[t] for t in ("cm-002", "hc-001"))]
    outcome = fix_document(documents.load("Dockerfile", "dockerfile", before), transforms, unsafe_ok=True)
    assert not outcome.errors
    assert "node:20-slim" in outcome.text and "HEALTHCHECK" in outcome.text
    assert not re.search(r"HEALTHCHECK.*\b(?:curl|wget)\b", outcome.text), outcome.text
    # and over a Dockerfile whose health check uses curl, the image stays full-size
    with_curl = before.replace("EXPOSE 3000\n", "EXPOSE 3000\nHEALTHCHECK CMD curl -f http://localhost:3000/ || exit 1\n")
    assert run(ID, with_curl).text.startswith("FROM node:20\n")


# -- root at run time (unsafe, the same as sc-001) ----------------------------------------------

def test_non_root_part_is_sc_001():
    before = "FROM python:3.12-slim\nCOPY . .\nCMD [\"python\", \"a.py\"]\n"
    after = fix(ID, before)
    assert after == fix("sc-001", before)
    assert "USER app" in after
    outcome = run(ID, before, unsafe=False)
    assert outcome.text == before and outcome.remaining[0].safety is Safety.UNSAFE


def test_parts_are_separate_findings():
    before = "FROM node:20\nCOPY . .\nCMD [\"node\", \"x.js\"]\n"
    outcome = run(ID, before)
    assert outcome.text == "FROM node:20-slim\nCOPY . .\nUSER node\nCMD [\"node\", \"x.js\"]\n"
    assert len(outcome.applied) == 2 and {f.line for f in outcome.applied} == {1}
    reports = run(ID, "FROM nginx:1.27\nCOPY x /y\n").remaining
    assert [f.fix for f in reports] == [None] and "starts as root" in reports[0].reason


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, {"FROM", "RUN", "USER"})
    assert counts["applied"] > 100 and counts["report-only"] > 0
