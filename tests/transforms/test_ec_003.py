"""ec-003: Build-time credentials."""
from __future__ import annotations

import pytest

from orchfix import documents
from orchfix.fixer import fix_document
from orchfix.registry import all_transforms
from orchfix.transform import Context
from orchfix.workspace import Workspace
from tests.corpus import needs_corpus
from tests.helpers import fix, hadolint_parses, run
from tests.transforms.test_sc_002 import assert_leaks_nothing, check_secret_corpus

ID = "ec-003"
SYNTAX = "# syntax=docker/dockerfile:1\n"
NPM = "npm_" + "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78"  # built so no scanner mistakes this file for a leak
GH = "ghp_" + "R4nd0mT0k3nV4lu3" * 2 + "abcd"
PIP_URL = "https://deploy:" + "Pa55w0rdPa55w0rd" + "@pypi.corp.example.org/simple"


def note(name: str) -> str:
    return f"# {name}: build with docker build --secret id={name.lower()},env={name}\n"


def mount(name: str) -> str:
    return f"--mount=type=secret,id={name.lower()},env={name}"


@pytest.mark.parametrize(("before", "after"), [
    # a copy of a build argument: the ENV and the ARG that only fed it go
    ("FROM node:20\nARG NPM_TOKEN\nENV NPM_TOKEN=${NPM_TOKEN}\nCOPY .npmrc package*.json ./\nRUN npm ci && rm -f .npmrc\nCMD [\"node\", \"server.js\"]\n",
     SYNTAX + "FROM node:20\n" + note("NPM_TOKEN") + "COPY .npmrc package*.json ./\n"
     f"RUN {mount('NPM_TOKEN')} npm ci && rm -f .npmrc\nCMD [\"node\", \"server.js\"]\n"),
    # a literal token, read by name; the file it is written to is removed in the same RUN
    (f"FROM node:20-slim\nENV NPM_TOKEN={NPM}\nRUN echo \"//registry.npmjs.org/:_authToken=${{NPM_TOKEN}}\" > .npmrc && npm ci\n",
     SYNTAX + "FROM node:20-slim\n" + note("NPM_TOKEN") +
     f"RUN {mount('NPM_TOKEN')} echo \"//registry.npmjs.org/:_authToken=${{NPM_TOKEN}}\" > .npmrc && npm ci && rm -f .npmrc\n"),
    # tee into the home directory
    ("FROM node:20\nENV NPM_TOKEN=$NPM_TOKEN\nRUN echo \"//r.example/:_authToken=$NPM_TOKEN\" | tee -a ~/.npmrc >/dev/null && npm ci\n",
     SYNTAX + "FROM node:20\n" + note("NPM_TOKEN") +
     f"RUN {mount('NPM_TOKEN')} echo \"//r.example/:_authToken=$NPM_TOKEN\" | tee -a ~/.npmrc >/dev/null && npm ci && rm -f ~/.npmrc\n"),
    # written with single quotes: the file names the variable, not the value; nothing to remove
    ("FROM node:20\nENV NODE_AUTH_TOKEN=$NODE_AUTH_TOKEN\nRUN echo '//npm.pkg.github.com/:_authToken=${NODE_AUTH_TOKEN}' > .npmrc && npm ci\n",
     SYNTAX + "FROM node:20\n" + note("NODE_AUTH_TOKEN") +
     f"RUN {mount('NODE_AUTH_TOKEN')} echo '//npm.pkg.github.com/:_authToken=${{NODE_AUTH_TOKEN}}' > .npmrc && npm ci\n"),
    # npm config set is undone with npm config delete
    ("FROM node:20\nENV NPM_TOKEN=$NPM_TOKEN\nRUN npm config set //registry.npmjs.org/:_authToken=${NPM_TOKEN} && npm ci\n",
     SYNTAX + "FROM node:20\n" + note("NPM_TOKEN") +
     f"RUN {mount('NPM_TOKEN')} npm config set //registry.npmjs.org/:_authToken=${{NPM_TOKEN}} && npm ci && npm config delete //registry.npmjs.org/:_authToken\n"),
    # read implicitly by the tool: pip reads PIP_INDEX_URL
    (f"FROM python:3.12-slim\nENV PIP_INDEX_URL={PIP_URL}\nRUN pip install --no-cache-dir -r requirements.txt\nCMD [\"python\", \"app.py\"]\n",
     SYNTAX + "FROM python:3.12-slim\n" + note("PIP_INDEX_URL") +
     f"RUN {mount('PIP_INDEX_URL')} pip install --no-cache-dir -r requirements.txt\nCMD [\"python\", \"app.py\"]\n"),
    ("FROM ruby:3.3\nENV BUNDLE_GEMS__CONTRIBSYS__COM=$SIDEKIQ_CREDS\nRUN bundle install\n",
     SYNTAX + "FROM ruby:3.3\n" + note("BUNDLE_GEMS__CONTRIBSYS__COM") + f"RUN {mount('BUNDLE_GEMS__CONTRIBSYS__COM')} bundle install\n"),
    ("FROM composer:2\nENV COMPOSER_AUTH=${COMPOSER_AUTH}\nRUN composer install --no-dev\n",
     SYNTAX + "FROM composer:2\n" + note("COMPOSER_AUTH") + f"RUN {mount('COMPOSER_AUTH')} composer install --no-dev\n"),
    (f"FROM golang:1.23\nENV GITHUB_TOKEN={GH}\nRUN git clone https://x-access-token:${{GITHUB_TOKEN}}@github.com/org/lib.git /src/lib\n",
     SYNTAX + "FROM golang:1.23\n" + note("GITHUB_TOKEN") +
     f"RUN {mount('GITHUB_TOKEN')} git clone https://x-access-token:${{GITHUB_TOKEN}}@github.com/org/lib.git /src/lib\n"),
    # one pair of several; every RUN that reads it, in later stages too
    ("FROM node:20 AS base\nENV NODE_ENV=production \\\n    NPM_TOKEN=${NPM_TOKEN}\nRUN npm ci\nFROM base AS test\nRUN npm test\n",
     SYNTAX + "FROM node:20 AS base\n" + note("NPM_TOKEN") + "ENV NODE_ENV=production\n"
     f"RUN {mount('NPM_TOKEN')} npm ci\nFROM base AS test\nRUN {mount('NPM_TOKEN')} npm test\n"),
    # an existing syntax directive is kept; an existing mount is not repeated
    ("# syntax=docker/dockerfile:1.10\nFROM node:20\nENV NPM_TOKEN=$NPM_TOKEN\nRUN npm ci\n",
     "# syntax=docker/dockerfile:1.10\nFROM node:20\n" + note("NPM_TOKEN") + f"RUN {mount('NPM_TOKEN')} npm ci\n"),
    (f"{SYNTAX}FROM node:20\nENV NPM_TOKEN=$NPM_TOKEN\nRUN {mount('NPM_TOKEN')} npm ci\nRUN npm run build\n",
     f"{SYNTAX}FROM node:20\n" + note("NPM_TOKEN") + f"RUN {mount('NPM_TOKEN')} npm ci\nRUN {mount('NPM_TOKEN')} npm run build\n"),
    # heredoc RUN, exec-form RUN, --platform, CRLF and the escape directive
    ("FROM --platform=$BUILDPLATFORM node:20\nENV NPM_TOKEN=$NPM_TOKEN\nRUN <<EOF\nnpm ci\nnpm run build\nEOF\nRUN [\"npm\", \"prune\"]\n",
     SYNTAX + "FROM --platform=$BUILDPLATFORM node:20\n" + note("NPM_TOKEN") +
     f"RUN {mount('NPM_TOKEN')} <<EOF\nnpm ci\nnpm run build\nEOF\nRUN {mount('NPM_TOKEN')} [\"npm\", \"prune\"]\n"),
    ("# escape=`\r\nFROM node:20\r\nENV NPM_TOKEN=$NPM_TOKEN\r\nRUN npm ci `\r\n    && npm run build\r\n",
     "# syntax=docker/dockerfile:1\r\n# escape=`\r\nFROM node:20\r\n" + note("NPM_TOKEN").replace("\n", "\r\n") +
     f"RUN {mount('NPM_TOKEN')} npm ci `\r\n    && npm run build\r\n"),
])
def test_secret_mount(before, after):
    outcome = run(ID, before)
    assert fix(ID, before) == after
    # hadolint's parser rejects an instruction right after a heredoc, in the input already
    assert hadolint_parses(after) or not hadolint_parses(before)
    assert_leaks_nothing(outcome, {NPM, GH, PIP_URL, "Pa55w0rdPa55w0rd"})
    doc = documents.load("Dockerfile", "dockerfile", after)
    assert doc.directives.get("syntax", "").startswith("docker/dockerfile:1")
    assert doc.escape == ("`" if "escape" in before else "\\")


@pytest.mark.parametrize(("before", "after"), [
    ("FROM node:20\nENV NPM_TOKEN=$NPM_TOKEN\nRUN npm ci\n", "FROM node:20\nARG NPM_TOKEN\nRUN npm ci\n"),
    # already declared: the ENV just goes
    ("FROM node:20\nARG NPM_TOKEN\nENV NPM_TOKEN=$NPM_TOKEN\nRUN npm ci\n", "FROM node:20\nARG NPM_TOKEN\nRUN npm ci\n"),
    (f"FROM node:20\nenv NODE_ENV=production NPM_TOKEN={NPM}\nrun echo \"//r/:_authToken=$NPM_TOKEN\" > .npmrc && npm ci\n",
     "FROM node:20\narg NPM_TOKEN\nenv NODE_ENV=production\nrun echo \"//r/:_authToken=$NPM_TOKEN\" > .npmrc && npm ci && rm -f .npmrc\n"),
    # build arguments do not cross stages: declared again where a RUN reads it
    ("FROM node:20 AS base\nENV NPM_TOKEN=$NPM_TOKEN\nFROM base AS build\nRUN npm ci\n",
     "FROM node:20 AS base\nARG NPM_TOKEN\nFROM base AS build\nARG NPM_TOKEN\nRUN npm ci\n"),
    # no syntax directive needed for ARG
    ("# syntax=docker/dockerfile:1.4\nFROM node:20\nENV NPM_TOKEN=$NPM_TOKEN\nRUN npm ci\n",
     "# syntax=docker/dockerfile:1.4\nFROM node:20\nARG NPM_TOKEN\nRUN npm ci\n"),
])
def test_arg_style(before, after):
    outcome = run(ID, before, options={"style": "arg"})
    assert fix(ID, before, options={"style": "arg"}) == after
    assert hadolint_parses(after)
    assert_leaks_nothing(outcome, {NPM})
    assert "--build-arg NPM_TOKEN" in outcome.applied[0].message


@pytest.mark.parametrize("before", [
    # no RUN reads it: not a build-time credential (sc-002 judges a literal)
    "FROM node:20\nENV NPM_TOKEN=$NPM_TOKEN\nCOPY . .\n",
    "FROM alpine\nENV NPM_TOKEN=$NPM_TOKEN\nRUN apk add --no-cache curl\n",
    # a RUN before the ENV does not see it
    "FROM node:20\nRUN npm ci\nENV NPM_TOKEN=$NPM_TOKEN\n",
    # not a build-tool credential
    "FROM node:20\nENV API_KEY=$API_KEY\nRUN ./fetch --key $API_KEY\n",
    # an index URL without credentials is configuration
    "FROM python:3.12\nENV PIP_INDEX_URL=https://pypi.corp.example.org/simple\nRUN pip install flask\n",
    "FROM python:3.12\nENV PIP_INDEX_URL=${PIP_INDEX_URL}\nRUN pip install flask\n",
    # already the right form
    "FROM node:20\nARG NPM_TOKEN\nRUN npm ci\n",
    f"{SYNTAX}FROM node:20\nRUN {mount('NPM_TOKEN')} npm ci\n",
    # set anew before the RUN: the RUN reads the later value
    "FROM node:20\nENV GH_TOKEN=$GH_TOKEN\nENV GH_TOKEN=\nRUN gh release download\n",
])
def test_leaves_alone(before):
    outcome = run(ID, before)
    assert outcome.text == before and not outcome.remaining


@pytest.mark.parametrize(("before", "reason"), [
    ("FROM node:20\nENV NPM_TOKEN=$NPM_TOKEN\nRUN npm ci\nCMD [\"npm\", \"start\"]\n", "CMD on line 4 also reads it at run time"),
    ("FROM golang:1.23\nENV GITHUB_TOKEN=$GITHUB_TOKEN\nRUN go mod download && git ls-remote https://$GITHUB_TOKEN@github.com/o/r\n"
     "ENTRYPOINT [\"sh\", \"-c\", \"exec app --token $GITHUB_TOKEN\"]\n", "ENTRYPOINT on line 4"),
    ("FROM node:20\nENV NPM_TOKEN=$NPM_TOKEN\nRUN npm ci\nLABEL token=$NPM_TOKEN\n", "LABEL on line 4 also reads it at build time"),
    ("FROM golang:1.23\nENV GITHUB_TOKEN=$GITHUB_TOKEN\nRUN git config --global url.\"https://${GITHUB_TOKEN}@github.com/\".insteadOf https://github.com/\n",
     "`git config`"),
    ("FROM node:20\nENV NPM_TOKEN=$NPM_TOKEN\nRUN echo \"//r/:_authToken=$NPM_TOKEN\" > .npmrc\nRUN npm ci\n",
     "RUN on line 3 writes NPM_TOKEN into .npmrc, which RUN on line 4 still reads"),
    ("FROM node:20\nENV NPM_TOKEN=$NPM_TOKEN\nRUN echo \"//r/:_authToken=$NPM_TOKEN\" > .npmrc && cd sub && npm ci\n", "changes directory"),
    ("FROM node:20\nENV NPM_TOKEN=$NPM_TOKEN\nRUN <<EOF\necho \"//r/:_authToken=$NPM_TOKEN\" > .npmrc\nnpm ci\nEOF\n", "heredoc"),
    ("FROM node:20\nENV NPM_TOKEN=$NPM_TOKEN\nRUN echo \"//r/:_authToken=$NPM_TOKEN\" > .npmrc && npm ci # install\n", "trailing operator or comment"),
    ("# syntax=docker/dockerfile:1.4\nFROM node:20\nENV NPM_TOKEN=$NPM_TOKEN\nRUN npm ci\n", "pins docker/dockerfile:1.4"),
    ("# syntax=example.com/my/frontend:2\nFROM node:20\nENV NPM_TOKEN=$NPM_TOKEN\nRUN npm ci\n", "another frontend"),
    (f"FROM node:20\nENV NPM_TOKEN={NPM}\nRUN echo \"//r/:_authToken={NPM}\" > .npmrc && npm ci\n", "also appears in RUN on line 3"),
])
def test_reports_what_it_cannot_move(before, reason):
    outcome = run(ID, before)
    assert outcome.text == before
    [finding] = outcome.remaining
    assert finding.fix is None and reason in finding.reason, finding.reason
    assert NPM not in finding.message + finding.reason


def test_unknown_style_is_an_error():
    outcome = run(ID, "FROM node:20\nENV NPM_TOKEN=$NPM_TOKEN\nRUN npm ci\n", options={"style": "buildarg"})
    assert outcome.errors and "style" in outcome.errors[0]


def both(text: str, order: tuple[str, str]):
    transforms = [all_transforms()[tid](Context(options=dict(all_transforms()[tid].options), workspace=Workspace()))
                  for tid in order]
    return fix_document(documents.load("Dockerfile", "dockerfile", text), transforms, unsafe_ok=True)


@pytest.mark.parametrize("order", [("ec-003", "sc-002"), ("sc-002", "ec-003")])
@pytest.mark.parametrize("before", [
    # a literal build-tool token read by RUN: sc-002 leaves it to ec-003
    f"FROM node:20\nENV NODE_ENV=production NPM_TOKEN={NPM}\nRUN npm ci\nCMD [\"node\", \"server.js\"]\n",
    # a literal default on the ARG that feeds the ENV: both remove something, the value goes either way
    f"FROM node:20\nARG NPM_TOKEN={NPM}\nENV NPM_TOKEN=${{NPM_TOKEN}}\nRUN npm ci\n",
    # a literal credential URL pip reads, and a run-time secret beside it
    f"FROM python:3.12-slim\nENV PIP_INDEX_URL={PIP_URL} DB_PASSWORD=hunter2hunter2\nRUN pip install -r requirements.txt\n",
])
def test_sc_002_and_ec_003_converge(before, order):
    outcome = both(before, order)
    assert not outcome.errors
    assert not [f for f in outcome.remaining if f.fix is None and f.transform == "ec-003"]
    assert_leaks_nothing(outcome, {NPM, PIP_URL, "Pa55w0rdPa55w0rd", "hunter2hunter2"})
    again = both(outcome.text, order)
    assert again.text == outcome.text and not again.applied
    assert "--mount=type=secret" in outcome.text and hadolint_parses(outcome.text)


@needs_corpus
def test_corpus():
    # the corpus holds no build-tool credential in ENV: this checks robustness and losslessness
    for style in ("secret-mount", "arg"):
        check_secret_corpus(ID, {"ENV", "ARG", "RUN"}, options={"style": style})
