"""sc-001: run as non-root."""
from __future__ import annotations

import pytest

from tests.corpus import needs_corpus
from tests.helpers import fix, hadolint_codes, hadolint_parses, run
from tests.transforms.dockerfile_corpus import check_corpus

ID = "sc-001"
ALPINE = "RUN addgroup -S app && adduser -S -G app app\n"
DEBIAN = "RUN groupadd --system app && useradd --system --gid app --no-create-home app\n"


@pytest.mark.parametrize(("before", "after"), [
    # the user goes after the last build step, before the run-time instructions
    ("FROM alpine:3.20\nRUN apk add --no-cache curl\nCOPY app /app\nEXPOSE 80\nCMD [\"/app\"]\n",
     "FROM alpine:3.20\nRUN apk add --no-cache curl\nCOPY app /app\n" + ALPINE + "USER app\nEXPOSE 80\nCMD [\"/app\"]\n"),
    ("FROM debian:bookworm-slim\nCOPY app /app\nCMD [\"/app\"]\n",
     "FROM debian:bookworm-slim\nCOPY app /app\n" + DEBIAN + "USER app\nCMD [\"/app\"]\n"),
    ("FROM ubuntu:24.04\nWORKDIR /srv\nCMD [\"./run\"]\n",
     "FROM ubuntu:24.04\nWORKDIR /srv\n" + DEBIAN + "USER app\nCMD [\"./run\"]\n"),
    ("FROM python:3.12-alpine\nCOPY . .\n", "FROM python:3.12-alpine\nCOPY . .\n" + ALPINE + "USER app\n"),
    ("FROM busybox:1.36\nCOPY x /x\n", "FROM busybox:1.36\nCOPY x /x\nRUN addgroup -S app && adduser -S -D -H -G app app\nUSER app\n"),
    # images that ship a user
    ("FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nCMD [\"node\", \"server.js\"]\n",
     "FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nUSER node\nCMD [\"node\", \"server.js\"]\n"),
    ("FROM gcr.io/distroless/static-debian12\nCOPY app /app\nENTRYPOINT [\"/app\"]\n",
     "FROM gcr.io/distroless/static-debian12\nCOPY app /app\nUSER nonroot\nENTRYPOINT [\"/app\"]\n"),
    ("FROM mcr.microsoft.com/dotnet/aspnet:8.0\nCOPY out /app\nENTRYPOINT [\"dotnet\", \"/app/x.dll\"]\n",
     "FROM mcr.microsoft.com/dotnet/aspnet:8.0\nCOPY out /app\nUSER app\nENTRYPOINT [\"dotnet\", \"/app/x.dll\"]\n"),
    # scratch: a numeric user needs no passwd file
    ("FROM golang:1.22 AS build\nRUN go build -o /app .\nFROM scratch\nCOPY --from=build /app /app\nENTRYPOINT [\"/app\"]\n",
     "FROM golang:1.22 AS build\nRUN go build -o /app .\nFROM scratch\nCOPY --from=build /app /app\nUSER 65532:65532\nENTRYPOINT [\"/app\"]\n"),
    # the last USER is root: a last build step of its own becomes the new user
    ("FROM alpine:3.20\nUSER root\nCMD [\"sh\"]\n", "FROM alpine:3.20\n" + ALPINE + "USER app\nCMD [\"sh\"]\n"),
    ("FROM alpine:3.20\nUSER 0:0\nCMD [\"sh\"]\n", "FROM alpine:3.20\n" + ALPINE + "USER app\nCMD [\"sh\"]\n"),
    # … or the user goes after the root steps that follow it
    ("FROM node:20\nUSER root\nRUN apt-get update\nCMD [\"node\"]\n",
     "FROM node:20\nUSER root\nRUN apt-get update\nUSER node\nCMD [\"node\"]\n"),
    # a user the Dockerfile switched to before, or creates itself
    ("FROM alpine:3.20\nUSER worker\nRUN id\nUSER root\nRUN apk add x\n",
     "FROM alpine:3.20\nUSER worker\nRUN id\nUSER root\nRUN apk add x\nUSER worker\n"),
    ("FROM debian:12\nRUN useradd -m -u 1000 -s /bin/bash dev\nCOPY . /home/dev\n",
     "FROM debian:12\nRUN useradd -m -u 1000 -s /bin/bash dev\nCOPY . /home/dev\nUSER dev\n"),
    ("FROM alpine:3.20\nRUN adduser -D -g '' svc && mkdir /data\n",
     "FROM alpine:3.20\nRUN adduser -D -g '' svc && mkdir /data\nUSER svc\n"),
    # unknown images: the package manager the stage uses tells the distro; ARG defaults are read
    ("FROM example.com/base:1\nRUN apk add --no-cache tini\n", "FROM example.com/base:1\nRUN apk add --no-cache tini\n" + ALPINE + "USER app\n"),
    ("FROM example.com/base:1\nRUN apt-get update && apt-get install -y curl\n",
     "FROM example.com/base:1\nRUN apt-get update && apt-get install -y curl\n" + DEBIAN + "USER app\n"),
    ("ARG BASE=alpine:3.20\nFROM ${BASE}\nCOPY x /x\n", "ARG BASE=alpine:3.20\nFROM ${BASE}\nCOPY x /x\n" + ALPINE + "USER app\n"),
    # postgres-like images step down themselves, unless the stage replaces their entrypoint
    ("FROM postgres:16\nCOPY init.sh /x\nENTRYPOINT [\"/x\"]\n",
     "FROM postgres:16\nCOPY init.sh /x\n" + DEBIAN + "USER app\nENTRYPOINT [\"/x\"]\n"),
    # only the final stage; its style is kept: keyword case, CRLF, no final newline, escape char
    ("FROM golang:1.22 AS build\nRUN go build\nFROM alpine:3.20\nCOPY --from=build /x /x\n",
     "FROM golang:1.22 AS build\nRUN go build\nFROM alpine:3.20\nCOPY --from=build /x /x\n" + ALPINE + "USER app\n"),
    ("from alpine:3.20\ncopy x /x\ncmd [\"/x\"]\n",
     "from alpine:3.20\ncopy x /x\nrun addgroup -S app && adduser -S -G app app\nuser app\ncmd [\"/x\"]\n"),
    ("FROM alpine:3.20\r\nCOPY x /x\r\nCMD [\"/x\"]\r\n",
     "FROM alpine:3.20\r\nCOPY x /x\r\n" + ALPINE.replace("\n", "\r\n") + "USER app\r\nCMD [\"/x\"]\r\n"),
    ("FROM alpine:3.20\nCOPY x /x", "FROM alpine:3.20\nCOPY x /x\n" + ALPINE + "USER app"),
    ("# escape=`\nFROM alpine:3.20\nRUN echo a `\n  b\n", "# escape=`\nFROM alpine:3.20\nRUN echo a `\n  b\n" + ALPINE + "USER app\n"),
    # continuation lines and heredocs stay whole; the user goes after them
    ("FROM alpine:3.20\nRUN apk add \\\n    curl\nCMD [\"sh\"]\n",
     "FROM alpine:3.20\nRUN apk add \\\n    curl\n" + ALPINE + "USER app\nCMD [\"sh\"]\n"),
    ("FROM alpine:3.20\nRUN <<EOF\napk add curl\nEOF\nCMD [\"sh\"]\n",
     "FROM alpine:3.20\nRUN <<EOF\napk add curl\nEOF\n" + ALPINE + "USER app\nCMD [\"sh\"]\n"),
    ("FROM --platform=linux/arm64 alpine:3.20 AS final\nCOPY x /x\n",
     "FROM --platform=linux/arm64 alpine:3.20 AS final\nCOPY x /x\n" + ALPINE + "USER app\n"),
    # a stage built on an earlier stage: the distro is the earlier stage's
    ("FROM python:3.12-slim AS base\nRUN pip install x\nFROM base\nCOPY . .\nCMD [\"python\", \"a.py\"]\n",
     "FROM python:3.12-slim AS base\nRUN pip install x\nFROM base\nCOPY . .\n" + DEBIAN + "USER app\nCMD [\"python\", \"a.py\"]\n"),
    ("FROM alpine:3.20\nSHELL [\"/bin/ash\", \"-eo\", \"pipefail\", \"-c\"]\nCOPY x /x\n",
     "FROM alpine:3.20\nSHELL [\"/bin/ash\", \"-eo\", \"pipefail\", \"-c\"]\nCOPY x /x\n" + ALPINE + "USER app\n"),
])
def test_switches_to_a_non_root_user(before, after):
    assert fix(ID, before) == after
    # hadolint 2.x cannot parse an instruction after a heredoc, in the input either
    assert hadolint_parses(after) or not hadolint_parses(before)


def test_user_option():
    after = fix(ID, "FROM alpine:3.20\nCOPY x /x\n", options={"user": "svc"})
    assert after == "FROM alpine:3.20\nCOPY x /x\nRUN addgroup -S svc && adduser -S -G svc svc\nUSER svc\n"


def test_hadolint_last_user_root_drops():
    text = "FROM node:20\nRUN npm ci\nUSER root\nCMD [\"node\", \"x.js\"]\n"
    assert "DL3002" in hadolint_codes(text)
    assert "DL3002" not in hadolint_codes(fix(ID, text))


@pytest.mark.parametrize("before", [
    "FROM alpine:3.20\nUSER nobody\n",
    "FROM alpine:3.20\nUSER 1000:1000\n",
    "FROM alpine:3.20\nUSER $APP_UID\n",  # the build decides
    "FROM node:20 AS base\nUSER node\nFROM base\nCMD [\"node\"]\n",  # inherited from the stage it builds on
    "FROM alpine:3.20 AS build\nRUN make\nFROM gcr.io/distroless/static-debian12:nonroot\nCOPY --from=build /x /x\n",
    "FROM postgres:16\nCOPY init.sql /docker-entrypoint-initdb.d/\n",  # its entrypoint steps down to postgres
    "FROM redis:7\n",
    "FROM memcached:1.6\n",  # runs as memcache already
    "FROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN echo hi\n",
    "FROM --platform=windows/amd64 example.com/app:1\nCOPY x c:/x\n",
])
def test_near_misses(before):
    outcome = run(ID, before)
    assert outcome.text == before and not outcome.remaining


@pytest.mark.parametrize(("before", "reason"), [
    ("FROM nginx:1.27\nCOPY site /usr/share/nginx/html\n", "starts as root"),
    ("FROM alpine:3.20\nRUN apk add nginx\nCMD [\"nginx\", \"-g\", \"daemon off;\"]\n", "`nginx` starts as root"),
    ("FROM debian:12\nRUN apt-get install -y apache2\nCMD apache2ctl -D FOREGROUND\n", "`apache2ctl`"),
    ("FROM alpine:3.20\nRUN apk add su-exec\nENTRYPOINT [\"/entry.sh\"]\n", "su-exec"),
    ("FROM debian:12\nONBUILD COPY . /app\n", "ONBUILD"),
    ("FROM ${BASE}\nCOPY x /x\n", "build argument"),
    ("ARG BASE\nFROM $BASE\nCOPY x /x\n", "build argument"),
    ("FROM example.com/tool:1\nCOPY x /x\n", "does not know its distro"),
    ("ARG IMAGE=example.com/tool\nFROM ${IMAGE}\nCOPY x /x\n", "by default `example.com/tool`"),
    ("FROM openjdk:21\nCOPY a.jar /a.jar\n", "family (oracle)"),
])
def test_reports_what_it_cannot_fix(before, reason):
    outcome = run(ID, before)
    assert outcome.text == before
    [finding] = outcome.remaining
    assert finding.fix is None and reason in finding.reason


def test_unsafe_only_with_unsafe():
    text = "FROM alpine:3.20\nCOPY x /x\n"
    outcome = run(ID, text, unsafe=False)
    assert outcome.text == text and outcome.remaining[0].fix is not None


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, {"USER"})
    assert counts["applied"] > 100 and counts["report-only"] > 0
