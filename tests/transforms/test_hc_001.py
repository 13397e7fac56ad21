"""hc-001: Dockerfile HEALTHCHECK."""
from __future__ import annotations

import json

import pytest

from orchfix import documents
from tests.corpus import needs_corpus
from tests.helpers import fix, hadolint_parses, run
from tests.transforms.dockerfile_corpus import check_corpus

ID = "hc-001"
TIMINGS = "HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \\\n"


def hc(command: str) -> str:
    return f"{TIMINGS}    CMD {command}\n"


def wget(port: int, path: str = "/health") -> str:
    return hc(f'["wget", "-qO", "/dev/null", "http://127.0.0.1:{port}{path}"]')


def curl(port: int, path: str = "/health") -> str:
    return hc(f'["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:{port}{path}"]')


def probe_of(text: str) -> list[str] | str:
    """The HEALTHCHECK's CMD: the exec-form array, or the shell-form command."""
    doc = documents.load("Dockerfile", "dockerfile", text)
    [ins] = [i for i in doc.instructions if i.keyword == "HEALTHCHECK"]
    command = ins.value.split(" CMD ", 1)[1]
    return json.loads(command) if command.startswith("[") else command


@pytest.mark.parametrize(("before", "after"), [
    # alpine: busybox wget
    ("FROM alpine:3.20\nCOPY app /app\nEXPOSE 8080\nCMD [\"/app\"]\n",
     "FROM alpine:3.20\nCOPY app /app\nEXPOSE 8080\n" + wget(8080) + "CMD [\"/app\"]\n"),
    ("FROM node:20-alpine\nWORKDIR /app\nEXPOSE 3000/tcp\nUSER node\nCMD [\"node\", \"server.js\"]\n",
     "FROM node:20-alpine\nWORKDIR /app\nEXPOSE 3000/tcp\nUSER node\n" + wget(3000) + "CMD [\"node\", \"server.js\"]\n"),
    # full images ship curl
    ("FROM node:20\nEXPOSE 3000\nCMD node server.js\n", "FROM node:20\nEXPOSE 3000\n" + curl(3000) + "CMD node server.js\n"),
    ("FROM eclipse-temurin:21-jre\nCOPY app.jar /app.jar\nCMD [\"java\", \"-Dserver.port=9090\", \"-jar\", \"/app.jar\"]\n",
     "FROM eclipse-temurin:21-jre\nCOPY app.jar /app.jar\n" + curl(9090) + "CMD [\"java\", \"-Dserver.port=9090\", \"-jar\", \"/app.jar\"]\n"),
    # a client the stage installs
    ("FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y --no-install-recommends curl ca-certificates\nEXPOSE 8000\nCMD [\"/srv/app\"]\n",
     "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y --no-install-recommends curl ca-certificates\nEXPOSE 8000\n"
     + curl(8000) + "CMD [\"/srv/app\"]\n"),
    ("FROM ubuntu:24.04\nRUN apt-get update \\\n && apt-get install -y wget\nEXPOSE 80\nCMD [\"/srv/app\"]\n",
     "FROM ubuntu:24.04\nRUN apt-get update \\\n && apt-get install -y wget\nEXPOSE 80\n" + wget(80) + "CMD [\"/srv/app\"]\n"),
    # port from ENV PORT, from EXPOSE $PORT through ARG/ENV defaults
    ("FROM node:20-alpine\nENV PORT=4000\nCMD [\"node\", \"server.js\"]\n",
     "FROM node:20-alpine\nENV PORT=4000\n" + wget(4000) + "CMD [\"node\", \"server.js\"]\n"),
    ("FROM alpine\nARG PORT=8081\nEXPOSE $PORT\nCMD [\"/app\"]\n", "FROM alpine\nARG PORT=8081\nEXPOSE $PORT\n" + wget(8081) + "CMD [\"/app\"]\n"),
    ("FROM alpine\nENV APP_PORT 7080\nEXPOSE ${APP_PORT}\nCMD [\"/app\"]\n",
     "FROM alpine\nENV APP_PORT 7080\nEXPOSE ${APP_PORT}\n" + wget(7080) + "CMD [\"/app\"]\n"),
    ("FROM alpine\nEXPOSE ${PORT:-9000}\nCMD [\"/app\"]\n", "FROM alpine\nEXPOSE ${PORT:-9000}\n" + wget(9000) + "CMD [\"/app\"]\n"),
    # several ports: the first HTTP one; well-known non-HTTP ports are passed over
    ("FROM alpine\nEXPOSE 22 8080 9090\nCMD [\"/app\"]\n", "FROM alpine\nEXPOSE 22 8080 9090\n" + wget(8080) + "CMD [\"/app\"]\n"),
    ("FROM alpine\nEXPOSE 53/udp 8080/tcp\nCMD [\"/app\"]\n", "FROM alpine\nEXPOSE 53/udp 8080/tcp\n" + wget(8080) + "CMD [\"/app\"]\n"),
    # known server commands without EXPOSE
    ("FROM python:3.12\nCMD gunicorn -b 0.0.0.0:5000 app:app\n", "FROM python:3.12\n" + curl(5000) + "CMD gunicorn -b 0.0.0.0:5000 app:app\n"),
    ("FROM python:3.12-alpine\nCMD [\"flask\", \"run\", \"--host=0.0.0.0\", \"--port=5001\"]\n",
     "FROM python:3.12-alpine\n" + wget(5001) + "CMD [\"flask\", \"run\", \"--host=0.0.0.0\", \"--port=5001\"]\n"),
    # the base image's own server: nginx serves / (option web_server_path), no CMD in the file
    ("FROM nginx:1.27-alpine\nCOPY dist /usr/share/nginx/html\n", "FROM nginx:1.27-alpine\nCOPY dist /usr/share/nginx/html\n" + wget(80, "/")),
    ("FROM nginx:1.27\nCOPY nginx.conf /etc/nginx/conf.d/default.conf\nEXPOSE 8080\nCMD [\"nginx\", \"-g\", \"daemon off;\"]\n",
     "FROM nginx:1.27\nCOPY nginx.conf /etc/nginx/conf.d/default.conf\nEXPOSE 8080\n" + curl(8080, "/") + "CMD [\"nginx\", \"-g\", \"daemon off;\"]\n"),
    # a database image: the table's own health command
    ("FROM postgres:17\nCOPY init.sql /docker-entrypoint-initdb.d/\n",
     "FROM postgres:17\nCOPY init.sql /docker-entrypoint-initdb.d/\n" + hc("pg_isready -U ${POSTGRES_USER:-postgres}")),
    ("FROM redis:7.4-alpine\nEXPOSE 6379\n", "FROM redis:7.4-alpine\nEXPOSE 6379\n" + hc("redis-cli ping | grep PONG")),
    # no CMD in the final stage, no final newline
    ("FROM alpine\nEXPOSE 8080", "FROM alpine\nEXPOSE 8080\n" + wget(8080)),
    # comments above CMD stay with it
    ("FROM alpine\nEXPOSE 8080\n\n# start the server\n# (as PID 1)\nCMD [\"/app\"]\n",
     "FROM alpine\nEXPOSE 8080\n\n" + wget(8080) + "# start the server\n# (as PID 1)\nCMD [\"/app\"]\n"),
    # ENTRYPOINT before CMD: above the first
    ("FROM alpine\nEXPOSE 80\nENTRYPOINT [\"/entry\"]\nCMD [\"serve\"]\n",
     "FROM alpine\nEXPOSE 80\n" + wget(80) + "ENTRYPOINT [\"/entry\"]\nCMD [\"serve\"]\n"),
])
def test_adds_a_healthcheck(before, after):
    assert fix(ID, before) == after
    # hadolint's own parser rejects some valid input (``EXPOSE ${PORT:-9000}``)
    assert hadolint_parses(after) or not hadolint_parses(before)


def test_node_slim_gets_a_node_one_liner():
    text = fix(ID, "FROM node:20-slim\nEXPOSE 3000\nCMD [\"node\", \"server.js\"]\n")
    node, flag, script = probe_of(text)
    assert (node, flag) == ("node", "-e")
    assert "http://127.0.0.1:3000/health" in script and "process.exit(1)" in script and "statusCode < 400" in script
    assert hadolint_parses(text)


def test_python_slim_gets_a_python_one_liner():
    text = fix(ID, "FROM python:3.12-slim\nEXPOSE 8000\nCMD [\"uvicorn\", \"main:app\", \"--port\", \"8000\"]\n")
    python, flag, script = probe_of(text)
    assert (python, flag) == ("python", "-c")
    assert script.startswith("import urllib.request,sys;") and "http://127.0.0.1:8000/health" in script
    compile(script, "<probe>", "exec")
    assert hadolint_parses(text)


def test_uvicorn_port_without_expose():
    text = fix(ID, "FROM python:3.12-slim\nCMD uvicorn main:app --host 0.0.0.0 --port 8001\n")
    assert "http://127.0.0.1:8001/health" in probe_of(text)[2]


def test_multi_stage_arg_from_and_platform():
    before = (
        "ARG BASE=alpine:3.20\n"
        "FROM --platform=$BUILDPLATFORM golang:1.23 AS build\n"
        "EXPOSE 9999\n"
        "RUN go build -o /out/app .\n"
        "\n"
        "FROM --platform=linux/amd64 ${BASE}\n"
        "COPY --from=build /out/app /app\n"
        "EXPOSE 8080\n"
        "USER 65532\n"
        "ENTRYPOINT [\"/app\"]\n"
    )
    after = fix(ID, before)
    assert after == before.replace("USER 65532\n", "USER 65532\n" + wget(8080))
    assert hadolint_parses(after)


def test_final_stage_built_on_an_earlier_stage():
    before = (
        "FROM node:20-alpine AS base\nWORKDIR /app\nEXPOSE 3000\n"
        "FROM base AS final\nCOPY . .\nCMD [\"node\", \"server.js\"]\n"
    )
    assert fix(ID, before) == before.replace("COPY . .\n", "COPY . .\n" + wget(3000))


def test_crlf_lowercase_and_escape_character():
    before = "# escape=`\r\nfrom alpine\r\nexpose 8080\r\ncmd [\"/app\"]\r\n"
    after = fix(ID, before)
    assert after == ("# escape=`\r\nfrom alpine\r\nexpose 8080\r\n"
                     "healthcheck --interval=30s --timeout=5s --start-period=10s --retries=3 `\r\n"
                     '    cmd ["wget", "-qO", "/dev/null", "http://127.0.0.1:8080/health"]\r\n'
                     "cmd [\"/app\"]\r\n")
    assert hadolint_parses(after)


def test_options():
    options = {"path": "/healthz", "interval": "10s", "timeout": "2s", "start_period": "1m", "retries": 5}
    after = fix(ID, "FROM alpine\nEXPOSE 8080\nCMD [\"/app\"]\n", options=options)
    assert ("HEALTHCHECK --interval=10s --timeout=2s --start-period=1m --retries=5 \\\n"
            '    CMD ["wget", "-qO", "/dev/null", "http://127.0.0.1:8080/healthz"]\n') in after


def test_message_names_port_and_other_ports():
    outcome = run(ID, "FROM alpine\nEXPOSE 80 443 8080\nCMD [\"/app\"]\n")
    [finding] = outcome.applied
    assert "port 80" in finding.message and "443, 8080" in finding.message
    assert finding.safety.value == "unsafe"


def test_heredoc_and_continuations_elsewhere_are_untouched():
    before = "FROM alpine\nRUN <<EOF\napk add --no-cache tini\nEOF\nEXPOSE 8080 \\\n  8081\nCMD [\"/app\"]\n"
    assert fix(ID, before) == before.replace("CMD", wget(8080) + "CMD", 1)


@pytest.mark.parametrize("before", [
    "FROM alpine\nEXPOSE 8080\nHEALTHCHECK CMD wget -qO- http://127.0.0.1:8080/ || exit 1\nCMD [\"/app\"]\n",
    "FROM alpine\nEXPOSE 8080\nHEALTHCHECK NONE\nCMD [\"/app\"]\n",
    "FROM alpine\nEXPOSE 8080\nhealthcheck --interval=5s CMD true\n",
    # inherited from the stage the final one is built on
    "FROM alpine AS base\nHEALTHCHECK CMD true\nFROM base\nEXPOSE 8080\nCMD [\"/app\"]\n",
    # serves nothing
    "FROM alpine\nCMD [\"sh\"]\n",
    "FROM node:20-alpine\nCMD [\"node\", \"worker.js\"]\n",
    "FROM python:3.12-slim\nCMD [\"python\", \"-m\", \"worker\"]\n",
    # UDP only
    "FROM alpine\nEXPOSE 53/udp\nCMD [\"dnsd\"]\n",
    # only an earlier, unrelated stage exposes a port
    "FROM golang:1.23 AS build\nEXPOSE 8080\nRUN go build -o /app .\nFROM alpine\nCOPY --from=build /app /app\nCMD [\"/app\", \"--once\"]\n",
    "",
    "# just a comment\n",
])
def test_leaves_alone(before):
    outcome = run(ID, before)
    assert outcome.text == before and not outcome.remaining


def test_healthcheck_in_another_stage_does_not_count():
    before = "FROM alpine AS test\nHEALTHCHECK CMD true\nFROM alpine\nEXPOSE 8080\nCMD [\"/app\"]\n"
    assert fix(ID, before).count("HEALTHCHECK") == 2


@pytest.mark.parametrize(("before", "reason"), [
    ("FROM gcr.io/distroless/static-debian12\nCOPY app /app\nEXPOSE 8080\nCMD [\"/app\"]\n", "no shell"),
    ("FROM gcr.io/distroless/nodejs20-debian12\nEXPOSE 3000\nCMD [\"server.js\"]\n", "no shell"),
    ("FROM scratch\nCOPY app /app\nEXPOSE 8080\nENTRYPOINT [\"/app\"]\n", "no shell"),
    ("FROM mcr.microsoft.com/dotnet/runtime-deps:8.0-jammy-chiseled\nEXPOSE 8080\nENTRYPOINT [\"/app\"]\n", "no shell"),
    ("FROM mycorp/base:1.2\nEXPOSE 8080\nCMD [\"/app\"]\n", "not one orchfix knows"),
    ("FROM debian:bookworm-slim\nCOPY app /app\nEXPOSE 8080\nCMD [\"/app\"]\n", "no curl or wget"),
    ("FROM ubuntu:24.04\nEXPOSE 8080\nCMD [\"/app\"]\n", "no curl or wget"),
    # a client installed and purged again
    ("FROM debian:bookworm-slim\nRUN apt-get install -y curl && apt-get purge -y curl\nEXPOSE 80\nCMD [\"/app\"]\n", "no curl or wget"),
    ("FROM alpine\nEXPOSE 22\nCMD [\"/usr/sbin/sshd\", \"-D\"]\n", "non-HTTP port (SSH)"),
    ("FROM alpine\nEXPOSE 50051\nCMD [\"/grpc-server\"]\n", "gRPC"),
    ("FROM alpine\nEXPOSE $PORT\nCMD [\"/app\"]\n", "no value known"),
    ("ARG BASE\nFROM $BASE\nEXPOSE 8080\nCMD [\"/app\"]\n", "variable without a default"),
    ("FROM python:2.7-slim\nEXPOSE 8000\nCMD [\"python\", \"app.py\"]\n", "Python 2"),
    ("FROM php:8.3-fpm\nEXPOSE 9000\nCMD [\"php-fpm\"]\n", "FastCGI"),
])
def test_reports_what_it_cannot_probe(before, reason):
    outcome = run(ID, before)
    assert outcome.text == before
    [finding] = outcome.remaining
    assert finding.fix is None and reason in finding.reason, finding.reason


def test_apk_virtual_group_deleted_again():
    before = ("FROM debian:bookworm-slim\nRUN apk add --virtual .tools curl && make && apk del .tools\n"
              "EXPOSE 80\nCMD [\"/app\"]\n")
    [finding] = run(ID, before).remaining
    assert finding.fix is None


def test_suppression_comment():
    text = "# orchfix: ignore[hc-001]\nFROM alpine\nEXPOSE 8080\nCMD [\"/app\"]\n"
    assert run(ID, text).text == text


def _health_check_inserted(old: list[str], new: list[str]) -> bool:
    """Only the two HEALTHCHECK lines are inserted (plus a line ending for a file that lacked one)."""
    return len(new) >= 2 and new[-2].lstrip().upper().startswith("HEALTHCHECK") \
        and new[-1].lstrip().upper().startswith("CMD") and old == new[:len(old)]


@needs_corpus
def test_corpus():
    assert check_corpus(ID, hunk=_health_check_inserted)["files"] > 0
