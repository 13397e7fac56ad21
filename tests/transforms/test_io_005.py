"""io-005: distroless runtime images."""
from __future__ import annotations

import pytest

from tests.corpus import needs_corpus
from tests.helpers import fix, hadolint_parses, run
from tests.transforms.dockerfile_corpus import check_corpus

ID = "io-005"
GO_BUILD = "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /out/app .\n"


@pytest.mark.parametrize(("before", "after"), [
    # node: the image's entrypoint is node, so CMD loses it
    ("FROM node:20-alpine\nWORKDIR /app\nCOPY --from=deps /app /app\nCMD [\"node\", \"server.js\"]\n",
     "FROM gcr.io/distroless/nodejs20-debian12:latest\nWORKDIR /app\nCOPY --from=deps /app /app\nCMD [\"server.js\"]\n"),
    ("FROM node:22.3.0-bookworm-slim AS runtime\nCOPY dist /app\nCMD [\"node\", \"--enable-source-maps\", \"/app/main.js\"]\n",
     "FROM gcr.io/distroless/nodejs22-debian12:latest AS runtime\nCOPY dist /app\nCMD [\"--enable-source-maps\", \"/app/main.js\"]\n"),
    ("FROM node:20\nCOPY . /app\nCMD [\"/app/index.js\"]\n",  # node's entrypoint ran node on it already
     "FROM gcr.io/distroless/nodejs20-debian12:latest\nCOPY . /app\nCMD [\"/app/index.js\"]\n"),
    # an ENTRYPOINT naming node replaces distroless's: it gets its path
    ("FROM node:20\nCOPY . /app\nENTRYPOINT [\"node\", \"/app/cli.js\"]\nCMD [\"--help\"]\n",
     "FROM gcr.io/distroless/nodejs20-debian12:latest\nCOPY . /app\nENTRYPOINT [\"/nodejs/bin/node\", \"/app/cli.js\"]\nCMD [\"--help\"]\n"),
    # the image's own user (and a user the stage only creates) become nonroot
    ("FROM node:20-alpine\nWORKDIR /app\nCOPY --chown=node:node . .\nUSER node\nCMD [\"node\", \"index.js\"]\n",
     "FROM gcr.io/distroless/nodejs20-debian12:nonroot\nWORKDIR /app\nCOPY --chown=nonroot:nonroot . .\nUSER nonroot\nCMD [\"index.js\"]\n"),
    ("FROM node:20-alpine\nCOPY . /app\nRUN addgroup -S app && adduser -S -G app app\nUSER app\nCMD [\"node\", \"/app/i.js\"]\n",
     "FROM gcr.io/distroless/nodejs20-debian12:nonroot\nCOPY . /app\nUSER nonroot\nCMD [\"/app/i.js\"]\n"),
    ("FROM node:20\nCOPY --chown=1000:1000 . /app\nUSER 1000\nCMD [\"node\", \"/app/i.js\"]\n",
     "FROM gcr.io/distroless/nodejs20-debian12:nonroot\nCOPY --chown=1000:1000 . /app\nUSER 1000\nCMD [\"/app/i.js\"]\n"),
    # java: the image's entrypoint is `java -jar`
    ("FROM eclipse-temurin:21-jre-alpine\nCOPY --from=build /app.jar /app.jar\nEXPOSE 8080\nCMD [\"java\", \"-jar\", \"/app.jar\"]\n",
     "FROM gcr.io/distroless/java21-debian12:latest\nCOPY --from=build /app.jar /app.jar\nEXPOSE 8080\nCMD [\"/app.jar\"]\n"),
    ("FROM eclipse-temurin:17.0.9_9-jre AS run\nCOPY a.jar /a.jar\nENTRYPOINT [\"java\", \"-Xmx512m\", \"-jar\", \"/a.jar\"]\n",
     "FROM gcr.io/distroless/java17-debian12:latest AS run\nCOPY a.jar /a.jar\nENTRYPOINT [\"/usr/bin/java\", \"-Xmx512m\", \"-jar\", \"/a.jar\"]\n"),
    ("FROM openjdk:17-jdk-slim\nCOPY a.jar /a.jar\nCMD [\"java\",\"-jar\",\"/a.jar\",\"--port\",\"80\"]\n",
     "FROM gcr.io/distroless/java17-debian12:latest\nCOPY a.jar /a.jar\nCMD [\"/a.jar\",\"--port\",\"80\"]\n"),
    # python 3.11 (distroless python3-debian12's version)
    ("FROM python:3.11-slim\nWORKDIR /app\nCOPY --from=build /app /app\nENV PYTHONPATH=/app/deps\nCMD [\"python\", \"-m\", \"app\"]\n",
     "FROM gcr.io/distroless/python3-debian12:latest\nWORKDIR /app\nCOPY --from=build /app /app\nENV PYTHONPATH=/app/deps\nCMD [\"-m\", \"app\"]\n"),
    # a static Go binary on alpine/debian/scratch-like bases → static-debian12, CMD untouched
    (GO_BUILD + "FROM alpine:3.20\nCOPY --from=build /out/app /usr/local/bin/app\nENTRYPOINT [\"app\"]\n",
     GO_BUILD + "FROM gcr.io/distroless/static-debian12:latest\nCOPY --from=build /out/app /usr/local/bin/app\nENTRYPOINT [\"app\"]\n"),
    ("FROM golang:1.22-alpine AS b\nRUN go build -o /app .\nFROM debian:bookworm-slim\nWORKDIR /srv\nCOPY --from=b /app .\nCMD [\"./app\"]\n",
     "FROM golang:1.22-alpine AS b\nRUN go build -o /app .\nFROM gcr.io/distroless/static-debian12:latest\nWORKDIR /srv\nCOPY --from=b /app .\nCMD [\"./app\"]\n"),
    ("FROM rust:1.80 AS b\nRUN cargo build --release --target x86_64-unknown-linux-musl\n"
     "FROM alpine:3.20\nCOPY --from=b /target/x86_64-unknown-linux-musl/release/srv /srv\nHEALTHCHECK CMD [\"/srv\", \"health\"]\nENTRYPOINT [\"/srv\"]\n",
     "FROM rust:1.80 AS b\nRUN cargo build --release --target x86_64-unknown-linux-musl\n"
     "FROM gcr.io/distroless/static-debian12:latest\nCOPY --from=b /target/x86_64-unknown-linux-musl/release/srv /srv\nHEALTHCHECK CMD [\"/srv\", \"health\"]\nENTRYPOINT [\"/srv\"]\n"),
    # style and flags kept
    ("FROM --platform=$TARGETPLATFORM node:20 AS web\nCOPY . /a\nCMD [\"node\",\"/a/x.js\"]\n",
     "FROM --platform=$TARGETPLATFORM gcr.io/distroless/nodejs20-debian12:latest AS web\nCOPY . /a\nCMD [\"/a/x.js\"]\n"),
    ("from node:20\r\ncopy . /a\r\ncmd [\"node\", \"/a/x.js\"]\r\n",
     "from gcr.io/distroless/nodejs20-debian12:latest\r\ncopy . /a\r\ncmd [\"/a/x.js\"]\r\n"),
    ("FROM node:20\nCOPY . /a\nCMD [\"node\", \\\n     \"/a/x.js\"]",
     "FROM gcr.io/distroless/nodejs20-debian12:latest\nCOPY . /a\nCMD [\"/a/x.js\"]"),
])
def test_moves_to_distroless(before, after):
    assert fix(ID, before) == after
    assert hadolint_parses(after)


@pytest.mark.parametrize("before", [
    "FROM node:20\nRUN npm ci\nCMD [\"node\", \"x.js\"]\n",  # builds in the final stage
    "FROM node:20\nCOPY . .\nCMD node x.js\n",  # shell form needs a shell
    "FROM node:20\nCOPY . .\nENTRYPOINT node x.js\n",
    "FROM node:20\nCOPY . .\nHEALTHCHECK CMD wget -qO- localhost || exit 1\nCMD [\"node\", \"x.js\"]\n",
    "FROM node:20\nCOPY . .\nSHELL [\"/bin/bash\", \"-c\"]\nCMD [\"node\", \"x.js\"]\n",
    "FROM node:20\nONBUILD COPY . .\nCMD [\"node\", \"x.js\"]\n",
    "FROM node:20\nCOPY . .\n",  # runs the image's default command
    "FROM node:20 AS base\nFROM base\nCOPY . .\nCMD [\"node\", \"x.js\"]\n",  # inherits from a stage
    "FROM node:20\nCOPY . .\nCMD [\"node\", \"x.js\"]\nFROM alpine:3.20\nCMD [\"echo\"]\n",  # not the final stage
    "FROM gcr.io/distroless/nodejs20-debian12\nCOPY . .\nCMD [\"x.js\"]\n",
    "FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n",
    "FROM alpine:3.20\nCOPY app /app\nENTRYPOINT [\"/app\"]\n",  # not shown to be a static build
    "FROM alpine:3.20\nENTRYPOINT [\"echo\", \"hi\"]\n",
    "FROM golang:1.22 AS b\nRUN CGO_ENABLED=0 go build -o /app\nFROM alpine:3.20\nCOPY --from=b /app /app\nCMD [\"/bin/sh\", \"-c\", \"/app\"]\n",
    "FROM mcr.microsoft.com/dotnet/aspnet:8.0\nCOPY out /app\nENTRYPOINT [\"dotnet\", \"/app/x.dll\"]\n",
    "FROM example.com/node:20\nCOPY . .\nCMD [\"node\", \"x.js\"]\n",
])
def test_near_misses(before):
    outcome = run(ID, before)
    assert outcome.text == before and not outcome.remaining


@pytest.mark.parametrize(("before", "reason"), [
    ("FROM node:lts-alpine\nCOPY . .\nCMD [\"node\", \"x.js\"]\n", "does not name the node major version"),
    ("FROM node:16\nCOPY . .\nCMD [\"node\", \"x.js\"]\n", "not 16"),
    ("FROM node:20\nCOPY . .\nCMD [\"npm\", \"start\"]\n", "`npm`"),
    ("FROM node:20\nCOPY . .\nENTRYPOINT [\"docker-entrypoint.sh\"]\nCMD [\"node\", \"x.js\"]\n", "ENTRYPOINT runs `docker-entrypoint.sh`"),
    ("FROM node:20\nCOPY . .\nHEALTHCHECK CMD [\"curl\", \"-f\", \"http://localhost/\"]\nCMD [\"node\", \"x.js\"]\n", "HEALTHCHECK runs `curl`"),
    ("FROM node:20\nCOPY --chown=app:app . .\nCMD [\"node\", \"x.js\"]\n", "`app`"),
    ("FROM node:20\nCOPY . .\nUSER www-data\nCMD [\"node\", \"x.js\"]\n", "`www-data`"),
    ("FROM node:20\nCOPY . .\nUSER $APP_USER\nCMD [\"node\", \"x.js\"]\n", "variable"),
    ("FROM eclipse-temurin:11-jre\nCOPY a.jar /a.jar\nCMD [\"java\", \"-jar\", \"/a.jar\"]\n", "not 11"),
    ("FROM eclipse-temurin:21-jre\nCOPY a.jar /a.jar\nCMD [\"java\", \"-Xmx1g\", \"-jar\", \"/a.jar\"]\n", "JAVA_TOOL_OPTIONS"),
    ("FROM python:3.12-slim\nCOPY . /app\nCMD [\"python\", \"/app/a.py\"]\n", "not 3.12"),
    ("FROM python:3-slim\nCOPY . /app\nCMD [\"python\", \"/app/a.py\"]\n", "which Python 3.x"),
    ("FROM python:3.11-slim\nCOPY --from=b /usr/local/lib/python3.11/site-packages /usr/local/lib/python3.11/site-packages\n"
     "CMD [\"python\", \"a.py\"]\n", "installed Python packages"),
    ("FROM python:3.11\nCOPY . /app\nCMD [\"gunicorn\", \"app:app\"]\n", "`gunicorn`"),
    ("ARG NODE=20\nFROM node:${NODE}\nCOPY . .\nCMD [\"node\", \"x.js\"]\n", "build argument"),
    ("FROM golang:1.22 AS b\nRUN go build -o /app .\nFROM alpine:3.20\nCOPY --from=b /app /app\nENTRYPOINT [\"/app\"]\n", "statically linked"),
    (GO_BUILD + "FROM alpine:3.20\nCOPY --from=build /etc/passwd /etc/passwd\nCOPY --from=build /out/app /app\nUSER 1000\n"
     "ENTRYPOINT [\"/app\"]\n", "replaces /etc/passwd"),
])
def test_reports_what_it_cannot_move(before, reason):
    outcome = run(ID, before)
    assert outcome.text == before
    [finding] = outcome.remaining
    assert finding.fix is None and reason in finding.reason


def test_unsafe_only_with_unsafe():
    text = "FROM node:20\nCOPY . /a\nCMD [\"node\", \"/a/x.js\"]\n"
    outcome = run(ID, text, unsafe=False)
    assert outcome.text == text and outcome.remaining[0].fix is not None


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, {"FROM", "CMD", "ENTRYPOINT", "USER", "COPY", "ADD", "RUN"})
    assert counts["applied"] > 0 and counts["report-only"] > 0
