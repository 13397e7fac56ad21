"""df-004: Minimize RUN layers."""
from __future__ import annotations

import pytest

from orchfix import documents
from orchfix.fixer import fix_document
from orchfix.registry import all_transforms
from orchfix.transform import Context
from tests.corpus import needs_corpus
from tests.helpers import fix, hadolint_codes, hadolint_parses, reason_of, run
from tests.transforms.crossfile import project
from tests.transforms.dockerfile_corpus import check_corpus

ID = "df-004"


@pytest.mark.parametrize(("before", "after"), [
    # the minimal join: first line stays, the next keyword becomes the indentation
    ("FROM alpine\nRUN a\nRUN b\n", "FROM alpine\nRUN a && \\\n    b\n"),
    # comments between stay as comment lines, blank lines go
    ("FROM alpine\nRUN a\n\n# why b\nRUN b\n\nCMD [\"x\"]\n",
     "FROM alpine\nRUN a && \\\n# why b\n    b\n\nCMD [\"x\"]\n"),
    # each RUN keeps its own continuation lines (a tie in style: trailing `&&`)
    ("FROM alpine\nRUN a \\\n    && b\nRUN c && \\\n    d\n",
     "FROM alpine\nRUN a \\\n    && b && \\\n    c && \\\n    d\n"),
    # the file's own style: tab indentation, `&&` leading the line
    ("FROM debian\nRUN apt-get update \\\n\t&& apt-get install -y curl\n\nRUN useradd app\n",
     "FROM debian\nRUN apt-get update \\\n\t&& apt-get install -y curl \\\n\t&& useradd app\n"),
    # `||` and `;` after the first RUN are grouped; the first one keeps its meaning unbraced
    ("FROM alpine\nRUN a || b\nRUN c || true\nRUN d; e\n",
     "FROM alpine\nRUN a || b && \\\n    { c || true; } && \\\n    { d; e; }\n"),
    # a compound command is one command: no braces needed
    ("FROM alpine\nRUN a\nRUN if [ -f x ]; then b; fi\nRUN { echo a; echo b; } > /f\n",
     "FROM alpine\nRUN a && \\\n    if [ -f x ]; then b; fi && \\\n    { echo a; echo b; } > /f\n"),
    # a trailing `;` or `&` cannot take ` && ` after it
    ("FROM alpine\nRUN a;\nRUN b &\n", "FROM alpine\nRUN { a; } && \\\n    { b & }\n"),
    # installs of one manager with the same options share one command; cleanup joins the layer
    ("FROM debian\nRUN apt-get update\nRUN apt-get install -y --no-install-recommends git curl\n"
     "RUN apt-get install --no-install-recommends -y curl jq\nRUN rm -rf /var/lib/apt/lists/*\n",
     "FROM debian\nRUN apt-get update && \\\n    apt-get install -y --no-install-recommends \\\n        curl \\\n"
     "        git \\\n        jq && \\\n    rm -rf /var/lib/apt/lists/*\n"),
    # different options, or `--virtual NAME`: joined, package lists kept apart
    ("FROM alpine\nRUN apk add --no-cache a\nRUN apk add b\nRUN apk add --virtual .x c\nRUN apk add --virtual .x d\n",
     "FROM alpine\nRUN apk add --no-cache a && \\\n    apk add b && \\\n"
     "    apk add --virtual .x c && \\\n    apk add --virtual .x d\n"),
    # same flags merge (the later flags go with the keyword)
    ("FROM alpine\nRUN --mount=type=cache,target=/root/.cache pip install a\n"
     "RUN --mount=type=cache,target=/root/.cache pip install b\n",
     "FROM alpine\nRUN --mount=type=cache,target=/root/.cache pip install a && \\\n    pip install b\n"),
    # a RUN whose command starts on the next line
    ("FROM alpine\nRUN a\nRUN \\\n    b\n", "FROM alpine\nRUN a && \\\n    b\n"),
    # lowercase keywords, no final newline
    ("FROM alpine\nrun a\nrun b", "FROM alpine\nrun a && \\\n    b"),
    ("FROM alpine\r\nRUN a\r\n# c\r\n\r\nRUN b\r\n", "FROM alpine\r\nRUN a && \\\r\n# c\r\n    b\r\n"),
    ("# escape=`\nFROM alpine\nRUN a\nRUN b `\n    c\n", "# escape=`\nFROM alpine\nRUN a && `\n    b `\n    c\n"),
    # stages are merged apart
    ("FROM golang AS build\nRUN a\nRUN b\nFROM alpine\nRUN c\nRUN d\n",
     "FROM golang AS build\nRUN a && \\\n    b\nFROM alpine\nRUN c && \\\n    d\n"),
    # `set -x` only traces, it may carry over
    ("FROM alpine\nRUN set -x && a\nRUN b\n", "FROM alpine\nRUN set -x && a && \\\n    b\n"),
    # a dependency install keeps its layer: its cache cleanup and more installs join, the build does not
    ("FROM node:22\nWORKDIR /app\nRUN npm ci\nRUN npm cache clean --force\nRUN npm run build\n",
     "FROM node:22\nWORKDIR /app\nRUN npm ci && \\\n    npm cache clean --force\nRUN npm run build\n"),
    ("FROM python:3.13\nRUN pip install -r requirements.txt\nRUN pip install -r requirements-dev.txt\n"
     "RUN rm -rf /root/.cache\nRUN pytest\n",
     "FROM python:3.13\nRUN pip install -r requirements.txt && \\\n    pip install -r requirements-dev.txt && \\\n"
     "    rm -rf /root/.cache\nRUN pytest\n"),
    # the boundary is after the install: system setup before it still joins it
    ("FROM node:22\nRUN apt-get update\nRUN apt-get install -y --no-install-recommends git\nRUN npm ci\nRUN npm run build\n",
     "FROM node:22\nRUN apt-get update && \\\n    apt-get install -y --no-install-recommends git && \\\n    npm ci\n"
     "RUN npm run build\n"),
    # an install already sharing its RUN with the build has no cached layer to keep
    ("FROM node:22\nRUN npm ci && npm run build\nRUN npm prune --omit=dev\n",
     "FROM node:22\nRUN npm ci && npm run build && \\\n    npm prune --omit=dev\n"),
])
def test_fix(before: str, after: str):
    assert fix(ID, before) == after


@pytest.mark.parametrize("before", [
    "FROM alpine\nRUN a\nCOPY x /x\nRUN b\n",  # another instruction between
    "FROM alpine\nRUN a\nFROM alpine\nRUN b\n",
    'FROM alpine\nRUN ["a"]\nRUN b\n',  # exec form
    "FROM alpine\nRUN <<EOF\na\nEOF\nRUN b\n",  # heredoc
    "FROM alpine\nRUN --mount=type=cache,target=/a a\nRUN --mount=type=cache,target=/b b\n",
    "FROM alpine\nRUN --network=none a\nRUN b\n",
    "FROM alpine\nRUN a # note\nRUN b\n",  # the join would land in the comment
    "FROM alpine\nRUN cd /src && make\nRUN make install\n",  # df-005's: WORKDIR first
    "FROM alpine\nRUN a\nRUN cd /src && make\n",
    'FROM alpine\nSHELL ["pwsh", "-Command"]\nRUN a\nRUN b\n',
    "FROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN a\nRUN b\n",
    'FROM base AS win\nSHELL ["cmd", "/S", "/C"]\nFROM win\nRUN a\nRUN b\n',  # SHELL is inherited
    "FROM alpine\nRUN echo 'unterminated\nRUN b\n",
    # a dependency install is a layer boundary (io-003 keeps it cached until the manifests change)
    "FROM node:22\nWORKDIR /app\nRUN npm ci\nRUN npm run build\n",
    "FROM node:22\nRUN corepack enable && pnpm install --frozen-lockfile\nRUN pnpm build\n",
    "FROM python:3.13\nRUN pip install --no-cache-dir -r requirements.txt\nRUN python manage.py collectstatic --noinput\n",
    "FROM golang:1.23\nRUN go mod download\nRUN go build -o /app .\n",
    "FROM ruby:3.3\nRUN bundle install\nRUN bundle exec rake assets:precompile\n",
    "FROM python:3.13\nRUN pip install -r requirements.txt\nRUN npm ci\n",  # another stack's install
])
def test_no_change(before: str):
    outcome = run(ID, before)
    assert outcome.text == before
    assert not outcome.errors


@pytest.mark.parametrize(("before", "why"), [
    ("FROM alpine\nRUN export A=1\nRUN echo $A\n", "`export`"),
    ("FROM alpine\nRUN set -e\nRUN a\n", "`set`"),
    ("FROM alpine\nRUN . /env.sh\nRUN a\n", "`.`"),
    ("FROM alpine\nRUN X=1\nRUN a\n", "variable assignment"),
    ("FROM alpine\nRUN server & \nRUN a\n", "background"),
    ('FROM alpine\nSHELL ["/bin/bash", "-eo", "pipefail", "-c"]\nRUN a\nRUN b; c\n', "-e"),
])
def test_report_only(before: str, why: str):
    outcome = run(ID, before)
    assert outcome.text == before and why in reason_of(outcome)


def test_breaks_the_chain_but_merges_the_rest():
    before = "FROM alpine\nRUN a\nRUN export A=1\nRUN b\nRUN c\n"
    outcome = run(ID, before)
    assert outcome.text == "FROM alpine\nRUN a && \\\n    export A=1\nRUN b && \\\n    c\n"
    assert [f.reason is not None for f in outcome.remaining] == [True]


def test_errexit_shell_merges_plain_commands():
    before = 'FROM alpine\nSHELL ["/bin/bash", "-eo", "pipefail", "-c"]\nRUN a | b\nRUN c\n'
    assert fix(ID, before) == 'FROM alpine\nSHELL ["/bin/bash", "-eo", "pipefail", "-c"]\nRUN a | b && \\\n    c\n'


@pytest.mark.parametrize("before", [
    "FROM debian\nRUN apt-get update\n# tools\nRUN apt-get install -y curl\nRUN apt-get install -y git\n",
    "FROM alpine\nRUN a || b\nRUN c; d\nRUN e &\n",
    "FROM alpine\nRUN if [ -f /x ]; then echo y; fi\nRUN for f in a b; do echo $f; done\n",
    "FROM alpine\nRUN a \\\n    && b\n# c\n\nRUN d\n",
])
def test_hadolint_accepts_output(before: str):
    after = fix(ID, before)
    assert after != before
    assert hadolint_parses(after)
    assert not {c for c in hadolint_codes(after) if c.startswith("SC1")}
    assert "DL3059" not in hadolint_codes(after)


def test_system_package_installs_still_merge():
    assert fix(ID, "FROM debian:12\nRUN apt-get update\nRUN apt-get install -y curl\n") == (
        "FROM debian:12\nRUN apt-get update && \\\n    apt-get install -y curl\n")
    assert fix(ID, "FROM alpine:3.20\nRUN apk add --no-cache curl\nRUN apk add --no-cache git\n") == (
        "FROM alpine:3.20\nRUN apk add --no-cache \\\n    curl \\\n    git\n")


def test_keeps_the_install_layer_io_003_caches(tmp_path, monkeypatch):
    """df-004 before io-003 in one run: the install is not merged with the build, so io-003 still
    copies the manifests in before it instead of reporting."""
    workspace = project(tmp_path, monkeypatch, {"package.json": {"name": "web", "scripts": {"build": "tsc"}},
                                                "package-lock.json": "{}"})
    before = "FROM node:22-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci\nRUN npm run build\nCMD [\"node\", \"dist/server.js\"]\n"
    transforms = [all_transforms()[t](Context(options={}, workspace=workspace)) for t in (ID, "io-003")]
    outcome = fix_document(documents.load("Dockerfile", "dockerfile", before), transforms)
    assert not outcome.errors and not [f for f in outcome.remaining if f.fix is None]
    assert outcome.text == ("FROM node:22-slim\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci\n"
                            "COPY . .\nRUN npm run build\nCMD [\"node\", \"dist/server.js\"]\n")


@needs_corpus
def test_corpus():
    assert check_corpus(ID, {"RUN"}, around=True, inserts="beside")["files"] > 0
