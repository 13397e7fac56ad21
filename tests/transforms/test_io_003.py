"""io-003: dependency manifests first."""
from __future__ import annotations

import pytest

from orchfix.transform import Safety
from orchfix.workspace import Workspace
from tests.corpus import needs_corpus
from tests.helpers import hadolint_parses, reason_of, run
from tests.transforms.crossfile import corpus_copies, fixed, outcome, same_lines_kept
from tests.transforms.dockerfile_corpus import check_corpus

ID = "io-003"
NODE = {"package.json": {"name": "web", "scripts": {"start": "node server.js"}}, "package-lock.json": "{}"}


@pytest.mark.parametrize(("layout", "before", "after"), [
    # npm: package.json and its lockfile; comments travel with their instruction, paragraphs stay apart
    (NODE,
     "FROM node:22-slim\nWORKDIR /app\n\n# the sources\nCOPY . .\n\n# dependencies\nRUN npm ci\n\nCMD [\"node\", \"server.js\"]\n",
     "FROM node:22-slim\nWORKDIR /app\n\n# dependencies\nCOPY package.json package-lock.json ./\nRUN npm ci\n\n"
     "# the sources\nCOPY . .\n\nCMD [\"node\", \"server.js\"]\n"),
    (NODE,
     "FROM node:22-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD [\"node\", \"server.js\"]\n",
     "FROM node:22-slim\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci\nCOPY . .\nCMD [\"node\", \"server.js\"]\n"),
    # absolute destination, flags kept, ADD of the whole context
    (NODE,
     "FROM node:22-slim\nWORKDIR /srv/app\nADD --chown=node:node --link . /srv/app\nRUN npm install --omit=dev\n",
     "FROM node:22-slim\nWORKDIR /srv/app\nCOPY --chown=node:node --link package.json package-lock.json /srv/app/\n"
     "RUN npm install --omit=dev\nADD --chown=node:node --link . /srv/app\n"),
    (NODE,
     "FROM node:22-slim\nworkdir /app\ncopy --chmod=644 ./ ./\nrun npm ci\n",
     "FROM node:22-slim\nworkdir /app\ncopy --chmod=644 package.json package-lock.json ./\nrun npm ci\ncopy --chmod=644 ./ ./\n"),
    # CRLF, and an install continued over lines
    (NODE,
     "FROM node:22-slim\r\nWORKDIR /app\r\nCOPY . .\r\nRUN npm ci \\\r\n    && npm cache clean --force\r\nUSER node\r\n",
     "FROM node:22-slim\r\nWORKDIR /app\r\nCOPY package.json package-lock.json ./\r\nRUN npm ci \\\r\n"
     "    && npm cache clean --force\r\nCOPY . .\r\nUSER node\r\n"),
    # yarn and pnpm take their own lockfiles; .npmrc goes along
    ({"package.json": {"name": "a"}, "yarn.lock": "", "package-lock.json": "{}", ".npmrc": "x"},
     "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN yarn install --frozen-lockfile\n",
     "FROM node:22\nWORKDIR /app\nCOPY package.json .npmrc yarn.lock ./\nRUN yarn install --frozen-lockfile\nCOPY . .\n"),
    ({"package.json": {"name": "a"}, "pnpm-lock.yaml": ""},
     "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN corepack enable && pnpm install --frozen-lockfile\n",
     "FROM node:22\nWORKDIR /app\nCOPY package.json pnpm-lock.yaml ./\nRUN corepack enable && pnpm install --frozen-lockfile\nCOPY . .\n"),
    # pip: the files the command names, with the ones they include, by folder
    ({"requirements/prod.txt": "-r base.txt\ngunicorn\n", "requirements/base.txt": "flask==3.0\n", "constraints.txt": "x<2\n"},
     "FROM python:3.13-slim\nWORKDIR /app\nCOPY . .\nRUN pip install --no-cache-dir -r requirements/prod.txt -c constraints.txt\n",
     "FROM python:3.13-slim\nWORKDIR /app\nCOPY requirements/prod.txt requirements/base.txt ./requirements/\nCOPY constraints.txt ./\n"
     "RUN pip install --no-cache-dir -r requirements/prod.txt -c constraints.txt\nCOPY . .\n"),
    ({"requirements.txt": "flask\n"},
     "FROM python:3.13-slim\nWORKDIR /code\nCOPY . /code\nRUN python -m pip install --requirement=/code/requirements.txt\n",
     "FROM python:3.13-slim\nWORKDIR /code\nCOPY requirements.txt /code/\nRUN python -m pip install --requirement=/code/requirements.txt\nCOPY . /code\n"),
    ({"pyproject.toml": "[tool.poetry]\nname='a'\n", "poetry.lock": ""},
     "FROM python:3.13\nWORKDIR /app\nCOPY . .\nRUN pip install poetry && poetry install --no-root\n",
     "FROM python:3.13\nWORKDIR /app\nCOPY pyproject.toml poetry.lock ./\nRUN pip install poetry && poetry install --no-root\nCOPY . .\n"),
    ({"Pipfile": "[packages]\nflask='*'\n", "Pipfile.lock": "{}"},
     "FROM python:3.13\nWORKDIR /app\nCOPY . .\nRUN pip install pipenv && pipenv install --system --deploy\n",
     "FROM python:3.13\nWORKDIR /app\nCOPY Pipfile Pipfile.lock ./\nRUN pip install pipenv && pipenv install --system --deploy\nCOPY . .\n"),
    ({"pyproject.toml": "[project]\nname='a'\n", "uv.lock": "", ".python-version": "3.13"},
     "FROM python:3.13\nWORKDIR /app\nCOPY . .\nRUN uv sync --frozen --no-install-project\n",
     "FROM python:3.13\nWORKDIR /app\nCOPY pyproject.toml uv.lock .python-version ./\nRUN uv sync --frozen --no-install-project\nCOPY . .\n"),
    ({"go.mod": "module x\n", "go.sum": ""},
     "FROM golang:1.24\nWORKDIR /src\nCOPY . .\nRUN go mod download\nRUN go build -o /app .\n",
     "FROM golang:1.24\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\nRUN go build -o /app .\n"),
    ({"go.mod": "module x\n"},
     "FROM golang:1.24\nWORKDIR /src\nCOPY . .\nRUN go mod download\n",
     "FROM golang:1.24\nWORKDIR /src\nCOPY go.mod ./\nRUN go mod download\nCOPY . .\n"),
    ({"Gemfile": "gem 'rails'\n", "Gemfile.lock": ""},
     "FROM ruby:3.4\nWORKDIR /app\nCOPY . .\nRUN bundle config set without development && bundle install\n",
     "FROM ruby:3.4\nWORKDIR /app\nCOPY Gemfile Gemfile.lock ./\nRUN bundle config set without development && bundle install\nCOPY . .\n"),
    ({"composer.json": {"autoload": {"psr-4": {"App\\": "src/"}}, "scripts": {"post-install-cmd": "x"}}, "composer.lock": "{}"},
     "FROM php:8.4\nWORKDIR /var/www\nCOPY . .\nRUN composer install --no-dev --no-scripts\n",
     "FROM php:8.4\nWORKDIR /var/www\nCOPY composer.json composer.lock ./\nRUN composer install --no-dev --no-scripts\nCOPY . .\n"),
    ({"pom.xml": "<project/>", "mvnw": "#!/bin/sh\n", ".mvn/wrapper/maven-wrapper.properties": "x"},
     "FROM eclipse-temurin:21-jdk\nWORKDIR /app\nCOPY . .\nRUN ./mvnw -B dependency:go-offline\nRUN ./mvnw package\n",
     "FROM eclipse-temurin:21-jdk\nWORKDIR /app\nCOPY pom.xml mvnw ./\nCOPY .mvn ./.mvn/\nRUN ./mvnw -B dependency:go-offline\n"
     "COPY . .\nRUN ./mvnw package\n"),
    # a manifest copied before already is not copied again
    (NODE,
     "FROM node:22\nWORKDIR /app\nCOPY package.json ./\nCOPY . .\nRUN npm ci\n",
     "FROM node:22\nWORKDIR /app\nCOPY package.json ./\nCOPY package-lock.json ./\nRUN npm ci\nCOPY . .\n"),
    (NODE,
     "FROM node:22\nWORKDIR /app\nCOPY package*.json ./\nCOPY . .\nRUN npm ci\n",
     "FROM node:22\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\n"),
    # two installs after the sources: both move up, each with its manifests
    ({**NODE, "requirements.txt": "x\n"},
     "FROM nikolaik/python-nodejs\nWORKDIR /app\nCOPY . .\nRUN npm ci\nRUN pip install -r requirements.txt\nCMD [\"npm\", \"start\"]\n",
     "FROM nikolaik/python-nodejs\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci\nCOPY requirements.txt ./\n"
     "RUN pip install -r requirements.txt\nCOPY . .\nCMD [\"npm\", \"start\"]\n"),
    # setup between them keeps it safe; the COPY moves past ENV and USER
    ({"requirements.txt": "x\n"},
     "FROM python:3.13\nWORKDIR /app\nCOPY . .\nENV PIP_NO_CACHE_DIR=1\nUSER 1000\nRUN apt-get update && apt-get install -y gcc\n"
     "RUN pip install --upgrade pip setuptools && pip install -r requirements.txt\n",
     "FROM python:3.13\nWORKDIR /app\nENV PIP_NO_CACHE_DIR=1\nUSER 1000\nRUN apt-get update && apt-get install -y gcc\n"
     "COPY requirements.txt ./\nRUN pip install --upgrade pip setuptools && pip install -r requirements.txt\nCOPY . .\n"),
    # RUN flags (cache and secret mounts) are not part of the command; they move with the RUN
    (NODE,
     "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN --mount=type=cache,target=/root/.npm npm ci\n",
     "FROM node:22\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN --mount=type=cache,target=/root/.npm npm ci\nCOPY . .\n"),
    (NODE,
     "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN --mount=type=secret,id=npm_token,env=NPM_TOKEN \\\n"
     "    echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > ~/.npmrc && npm ci && rm -f ~/.npmrc\n",
     "FROM node:22\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN --mount=type=secret,id=npm_token,env=NPM_TOKEN \\\n"
     "    echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > ~/.npmrc && npm ci && rm -f ~/.npmrc\nCOPY . .\n"),
])
def test_moves_the_install_before_the_sources(tmp_path, monkeypatch, layout, before, after):
    result = fixed(ID, tmp_path, monkeypatch, {**layout, "Dockerfile": before})
    assert result == after
    assert hadolint_parses(result)
    added = {line for line in after.splitlines() if line.lower().startswith("copy") and line not in before.splitlines()}
    assert same_lines_kept(before, result, added)


def test_stages_platform_and_arg_based_from(tmp_path, monkeypatch):
    before = ("ARG NODE=22\nFROM --platform=$BUILDPLATFORM node:${NODE} AS build\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
              "RUN npm run build\n\nFROM nginx:1.27-alpine\nCOPY . /usr/share/nginx/html\nRUN ls\n")
    after = ("ARG NODE=22\nFROM --platform=$BUILDPLATFORM node:${NODE} AS build\nWORKDIR /app\n"
             "COPY package.json package-lock.json ./\nRUN npm ci\nCOPY . .\n"
             "RUN npm run build\n\nFROM nginx:1.27-alpine\nCOPY . /usr/share/nginx/html\nRUN ls\n")
    assert fixed(ID, tmp_path, monkeypatch, {**NODE, "Dockerfile": before}) == after


def test_build_context_from_compose(tmp_path, monkeypatch):
    """A compose file builds docker/Dockerfile from the project root: the manifests are read there."""
    dockerfile = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
    layout = {**NODE, "docker/Dockerfile": dockerfile,
              "compose.yaml": "services:\n  web:\n    build:\n      context: .\n      dockerfile: docker/Dockerfile\n"}
    after = "FROM node:22\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci\nCOPY . .\n"
    assert fixed(ID, tmp_path, monkeypatch, layout, path="docker/Dockerfile") == after


def test_without_compose_the_dockerfile_folder_is_the_context(tmp_path, monkeypatch):
    layout = {**NODE, "docker/Dockerfile": "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"}
    result = outcome(ID, tmp_path, monkeypatch, layout, path="docker/Dockerfile")
    assert "package.json is not in the build context docker" in reason_of(result)


def test_dockerignored_lockfile_is_not_copied(tmp_path, monkeypatch):
    layout = {**NODE, ".dockerignore": "*.lock\npackage-lock.json\n", "Dockerfile": "FROM node:22\nCOPY . /app\nWORKDIR /app\nRUN npm i\n"}
    result = outcome(ID, tmp_path, monkeypatch, layout)
    assert "WORKDIR at line 3" in reason_of(result)
    layout["Dockerfile"] = "FROM node:22\nWORKDIR /app\nCOPY . /app\nRUN npm i\n"
    assert fixed(ID, tmp_path, monkeypatch, layout) == "FROM node:22\nWORKDIR /app\nCOPY package.json /app/\nRUN npm i\nCOPY . /app\n"


def test_a_run_between_that_may_read_sources_is_unsafe(tmp_path, monkeypatch):
    layout = {"requirements.txt": "x\n", "Dockerfile": "FROM python:3.13\nWORKDIR /app\nCOPY . .\nRUN curl -fsSL https://x.sh | sh\n"
                                                       "RUN pip install -r requirements.txt\n"}
    safe_only = outcome(ID, tmp_path, monkeypatch, layout, unsafe=False)
    assert safe_only.text == layout["Dockerfile"]
    [finding] = safe_only.remaining
    assert finding.fix and finding.safety is Safety.UNSAFE
    assert fixed(ID, tmp_path, monkeypatch, layout) == ("FROM python:3.13\nWORKDIR /app\nRUN curl -fsSL https://x.sh | sh\n"
                                                        "COPY requirements.txt ./\nRUN pip install -r requirements.txt\nCOPY . .\n")


def test_a_virtualenv_created_between_is_unsafe(tmp_path, monkeypatch):
    """The moved COPY could bring a venv/ folder of the context over the one created in the image."""
    layout = {"requirements.txt": "x\n", "Dockerfile": "FROM python:3.13\nWORKDIR /app\nCOPY . .\nRUN python -m venv venv\n"
                                                       "RUN venv/bin/pip install -r requirements.txt\n"}
    [finding] = outcome(ID, tmp_path, monkeypatch, layout, unsafe=False).remaining
    assert finding.fix and finding.safety is Safety.UNSAFE


@pytest.mark.parametrize(("ignore", "reported"), [(None, True), ("node_modules\n", False), ("**/node_modules\n", False)])
def test_a_context_with_its_own_node_modules(tmp_path, monkeypatch, ignore, reported):
    layout = {**NODE, "node_modules/x/index.js": "", "Dockerfile": "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"}
    if ignore:
        layout[".dockerignore"] = ignore
    result = outcome(ID, tmp_path, monkeypatch, layout)
    if reported:
        assert "its own node_modules" in reason_of(result) and "add node_modules to .dockerignore" in reason_of(result)
    else:
        assert result.applied


def test_plain_move_is_safe(tmp_path, monkeypatch):
    layout = {**NODE, "Dockerfile": "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"}
    result = outcome(ID, tmp_path, monkeypatch, layout, unsafe=False)
    assert result.applied and result.applied[0].safety is Safety.SAFE


@pytest.mark.parametrize(("layout", "dockerfile", "reason"), [
    ({}, "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\n", "package.json is not in the build context"),
    ({}, "FROM python:3\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n", "requirements.txt is not in the build context"),
    ({"requirements.txt": "x\n"}, "FROM python:3\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt && pip install -e .\n",
     "the same RUN also runs `pip install -e .`"),
    ({"requirements.txt": "x\n"}, "FROM python:3\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt .\n", "local path ."),
    ({"requirements.txt": "flask\n-e .\n"}, "FROM python:3\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n",
     "installs a local path (`-e .`)"),
    ({"pyproject.toml": "", "poetry.lock": ""}, "FROM python:3\nWORKDIR /app\nCOPY . .\nRUN poetry install\n", "without --no-root"),
    ({"pyproject.toml": ""}, "FROM python:3\nWORKDIR /app\nCOPY . .\nRUN uv sync\n", "without --no-install-project"),
    ({"package.json": {"scripts": {"prepare": "husky install"}}}, "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\n",
     "scripts.prepare (`husky install`) runs during the install"),
    ({"package.json": {"workspaces": ["packages/*"]}}, "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\n", "workspaces"),
    ({"package.json": {"dependencies": {"lib": "file:../lib"}}}, "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\n", "file:../lib"),
    ({"package.json": {}}, "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\n", "`npm run build`"),
    ({"package.json": {}}, "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN cd web && npm ci\n", "`cd web`"),
    ({"package.json": {}}, "FROM node:22\nCOPY . /app\nWORKDIR /app\nRUN npm ci\n", "WORKDIR at line 3"),
    ({"package.json": {}}, "FROM node:22\nWORKDIR /app\nCOPY . .\nCOPY prod.json config.json\nRUN npm ci\n", "COPY at line 4"),
    ({"package.json": {}}, "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN <<EOF\nnpm ci\nEOF\n", "heredoc"),
    ({"package.json": {}}, "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN chmod +x run.sh\nRUN npm ci\n", "RUN at line 4 between them works on"),
    ({"package.json": {}}, "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm run build\nRUN npm ci --omit=dev\n", "RUN at line 4"),
    ({"go.mod": "module x\nreplace example.com/y => ./y\n"}, "FROM golang\nWORKDIR /s\nCOPY . .\nRUN go mod download\n", "local folder"),
    ({"Cargo.toml": "[package]\nname='x'\n"}, "FROM rust\nWORKDIR /s\nCOPY . .\nRUN cargo fetch\n", "src/main.rs"),
    ({"Gemfile": "gemspec\n"}, "FROM ruby\nWORKDIR /s\nCOPY . .\nRUN bundle install\n", "gemspec"),
    ({"composer.json": {"autoload": {"classmap": ["src/"]}}}, "FROM php\nWORKDIR /s\nCOPY . .\nRUN composer install\n", "classmap"),
    ({"pom.xml": "<project><modules><module>a</module></modules></project>"},
     "FROM maven\nWORKDIR /s\nCOPY . .\nRUN mvn dependency:go-offline\n", "modules"),
    ({"package.json": {}}, "FROM node:22\nWORKDIR /app\nARG DEST=.\nCOPY . $DEST\nENV DEST=/x\nRUN npm ci\n", "variables"),
])
def test_reports_what_it_cannot_move(tmp_path, monkeypatch, layout, dockerfile, reason):
    result = outcome(ID, tmp_path, monkeypatch, {**layout, "Dockerfile": dockerfile})
    assert result.text == dockerfile
    assert reason in reason_of(result)


@pytest.mark.parametrize("dockerfile", [
    "FROM node:22\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\nRUN npm run build\n",
    "FROM node:22\nWORKDIR /app\nCOPY src ./src\nRUN npm ci\n",
    "FROM node:22\nWORKDIR /app\nCOPY --from=deps . .\nRUN npm ci\n",
    "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm run build\n",
    "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm install -g pm2\nRUN yarn global add serve\n",
    "FROM ruby\nWORKDIR /app\nCOPY . .\nRUN bundle exec rake assets:precompile\n",
    "FROM golang\nWORKDIR /app\nCOPY . .\nRUN go mod tidy\n",
    "FROM python\nWORKDIR /app\nCOPY . .\nRUN pip install --upgrade pip\n",
    "FROM node:22\nONBUILD COPY . .\nONBUILD RUN npm ci\n",
    "FROM node:22 AS a\nWORKDIR /app\nCOPY . .\nFROM a\nRUN npm ci\n",
])
def test_leaves_alone(tmp_path, monkeypatch, dockerfile):
    result = outcome(ID, tmp_path, monkeypatch, {**NODE, "Dockerfile": dockerfile})
    assert result.text == dockerfile and not result.remaining


def test_idempotent_and_without_workspace_reports():
    text = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
    result = run(ID, text, path="nowhere/Dockerfile", workspace=Workspace())
    assert result.text == text and "not in the build context nowhere" in reason_of(result)


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, workspace=True)
    # the corpus holds Dockerfiles and compose files, not the projects' manifests: it reports
    assert counts["applied"] == 0 and sum(v for k, v in counts.items() if "not in the build" in k) >= 2


@needs_corpus
def test_corpus_files_with_their_manifests(tmp_path, monkeypatch):
    """The corpus Dockerfiles that report missing manifests, each given them: rewritten, valid,
    idempotent, nothing but the COPY lines changed."""
    import re

    copies = corpus_copies(tmp_path, lambda t: re.search(r"^\s*(?:COPY|ADD)\s+(?:--\S+\s+)*\.\/?\s", t, re.M) is not None)
    monkeypatch.chdir(tmp_path)
    for folder, _ in copies:
        (folder / "package.json").write_text('{"name": "x"}')
        (folder / "package-lock.json").write_text("{}")
        (folder / "requirements.txt").write_text("flask\n")
    workspace = Workspace.scan(["."])
    rewritten = 0
    for folder, text in copies:
        path = f"{folder.name}/Dockerfile"
        result = run(ID, text, path=path, workspace=workspace)
        assert not result.errors, (path, result.errors)
        if not result.changed:
            continue
        rewritten += 1
        assert run(ID, result.text, path=path, workspace=workspace).text == result.text
        assert hadolint_parses(result.text) or not hadolint_parses(text), path
        added = set(result.text.splitlines()) - set(text.splitlines())
        assert all(line.lstrip().upper().startswith("COPY") for line in added), (path, added)
        assert same_lines_kept(text, result.text, added)
    assert rewritten >= 2
