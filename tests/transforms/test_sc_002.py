"""sc-002: No secrets in Dockerfiles."""
from __future__ import annotations

import re

import pytest

from orchfix import documents
from orchfix.fixer import FileOutcome
from orchfix.transforms._knowledge import dockerenv, secrets
from tests.corpus import needs_corpus
from tests.helpers import fix, hadolint_parses, run
from tests.transforms.dockerfile_corpus import check_corpus

ID = "sc-002"
GH = "ghp_" + "R4nd0mT0k3nV4lu3" * 2 + "abcd"  # built so no scanner mistakes this file for a leak
RUN_NOTE = "# {0}: supply at run time (docker run --env-file / -e {0})\n"
BUILD_NOTE = "# {0}: pass at build time with docker build --secret id={1} (RUN --mount=type=secret)\n"


def env_note(name: str) -> str:
    return RUN_NOTE.format(name)


def arg_note(name: str) -> str:
    return BUILD_NOTE.format(name, name.lower())


def secret_values(text: str) -> set[str]:
    """Every secret value an ENV/ARG pair of ``text`` holds (what must not survive a removal)."""
    doc = documents.load("Dockerfile", "dockerfile", text)
    found = set()
    for ins in doc.instructions:
        if ins.keyword in ("ENV", "ARG"):
            for pair in dockerenv.pairs(doc, ins) or ():
                if pair.has_value and secrets.secret_reason(pair.name, pair.value):
                    found.add(pair.value.strip())
    return found


def removed_values(before: str, after: str) -> set[str]:
    """Values of the ENV/ARG pairs of ``before`` that ``after`` no longer has."""
    def pair_set(text):
        doc = documents.load("Dockerfile", "dockerfile", text)
        return {(p.name, p.value) for i in doc.instructions if i.keyword in ("ENV", "ARG")
                for p in dockerenv.pairs(doc, i) or () if p.has_value}
    return {value for _, value in pair_set(before) - pair_set(after) if not secrets.is_placeholder(value)}


def assert_leaks_nothing(outcome: FileOutcome, values: set[str]) -> None:
    """No value appears in the written text (outside what was there before and stays), the
    findings' messages and reasons, or side files."""
    for value in values:
        pattern = re.compile(rf"(?<![\w]){re.escape(value)}(?![\w])") if len(value) < 6 else None

        def present(text: str) -> bool:
            return bool(pattern.search(text)) if pattern else value in text
        # a short weak default ("root") also names other things (USER root): only long values are
        # searched in the text; redaction of short ones next to their name is tested on its own
        assert pattern or not present(outcome.text), f"value survives in the output: {outcome.path}"
        for finding in outcome.applied + outcome.remaining:
            assert not present(finding.message) and not present(finding.reason or ""), finding
        for side in outcome.side.values():
            assert not present(side)


@pytest.mark.parametrize(("before", "after"), [
    # one pair: the ENV becomes the comment
    ("FROM alpine\nENV DB_PASSWORD=hunter2\nCMD [\"/app\"]\n", "FROM alpine\n" + env_note("DB_PASSWORD") + "CMD [\"/app\"]\n"),
    ("FROM alpine\nENV DB_PASSWORD hunter two three\n", "FROM alpine\n" + env_note("DB_PASSWORD")),
    ("FROM alpine\nENV API_KEY=\"a quoted value\"\n", "FROM alpine\n" + env_note("API_KEY")),
    ("FROM alpine\nENV apiKey='single quoted'\n", "FROM alpine\n" + env_note("apiKey")),
    ("FROM alpine\nENV SECRET_KEY_BASE=0123456789abcdefXYZ", "FROM alpine\n# SECRET_KEY_BASE: supply at run time (docker run --env-file / -e SECRET_KEY_BASE)"),
    # a literal default password is a secret
    ("FROM postgres:17\nENV POSTGRES_PASSWORD=changeme\n", "FROM postgres:17\n" + env_note("POSTGRES_PASSWORD")),
    # several pairs: only the secret one goes
    ("FROM alpine\nENV A=1 TOKEN=tok-123456 B=2\n", "FROM alpine\n" + env_note("TOKEN") + "ENV A=1 B=2\n"),
    ("FROM alpine\nENV TOKEN=tok-123456 B=2\n", "FROM alpine\n" + env_note("TOKEN") + "ENV B=2\n"),
    ("FROM alpine\nENV A=1 TOKEN=tok-123456\n", "FROM alpine\n" + env_note("TOKEN") + "ENV A=1\n"),
    ("FROM alpine\nENV A=1 \\\n    DB_PASS=\"p w\" \\\n    B=2\n", "FROM alpine\n" + env_note("DB_PASS") + "ENV A=1 \\\n    B=2\n"),
    ("FROM alpine\nENV A=1 \\\n    DB_PASS=pw0rd\n", "FROM alpine\n" + env_note("DB_PASS") + "ENV A=1\n"),
    ("FROM alpine\nENV DB_PASS=pw0rd \\\n    B=2\n", "FROM alpine\n" + env_note("DB_PASS") + "ENV B=2\n"),
    # a comment line before a pair on its own line: that line goes, the comment stays
    ("FROM alpine\nENV A=1 \\\n    # the password\n    DB_PASS=pw0rd \\\n    B=2\n",
     "FROM alpine\n" + env_note("DB_PASS") + "ENV A=1 \\\n    # the password\n    B=2\n"),
    # every pair secret: the ENV goes, one comment each
    ("FROM alpine\nENV PASSWORD=pw0rd TOKEN=tok-123456\n", "FROM alpine\n" + env_note("PASSWORD") + env_note("TOKEN")),
    # credentials in a URL: the whole pair
    ("FROM alpine\nENV DATABASE_URL=postgres://app:s3cr3t@db:5432/app LOG=1\n", "FROM alpine\n" + env_note("DATABASE_URL") + "ENV LOG=1\n"),
    # by value shape, whatever the name
    (f"FROM alpine\nENV GH={GH}\n", "FROM alpine\n" + env_note("GH")),
    ("FROM alpine\nENV AWS_ID=AKIA" + "Q2W3E4R5T6Y7U8I9" + "\n", "FROM alpine\n" + env_note("AWS_ID")),
    ("FROM alpine\nENV SESSION=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U\n",
     "FROM alpine\n" + env_note("SESSION")),
    ("FROM alpine\nENV CONFIG_BLOB=Zx8Qp2Lm7Rt4Wv9Ky3Nb6Hc1\n", "FROM alpine\n" + env_note("CONFIG_BLOB")),
    # ARG: the name stays, the default goes
    ("FROM alpine\nARG GITHUB_TOKEN=abc123def\nRUN ./fetch.sh\n", "FROM alpine\n" + arg_note("GITHUB_TOKEN") + "ARG GITHUB_TOKEN\nRUN ./fetch.sh\n"),
    ("ARG REGISTRY_PASSWORD=hunter2\nFROM alpine\n", arg_note("REGISTRY_PASSWORD") + "ARG REGISTRY_PASSWORD\nFROM alpine\n"),
    ("FROM alpine\nARG VERSION=1.0 API_TOKEN=tok-987654\n", "FROM alpine\n" + arg_note("API_TOKEN") + "ARG VERSION=1.0 API_TOKEN\n"),
    # multi-stage, indentation, lowercase keywords, CRLF, escape directive
    ("FROM golang:1.23 AS build\nENV GOPASS=pw0rd\nRUN go build .\nFROM alpine\nCOPY --from=build /app /app\n",
     "FROM golang:1.23 AS build\n" + env_note("GOPASS") + "RUN go build .\nFROM alpine\nCOPY --from=build /app /app\n"),
    ("FROM alpine\n  env A=1 PASSWORD=pw0rd\n", "FROM alpine\n  " + env_note("PASSWORD") + "  env A=1\n"),
    ("FROM alpine\r\nENV PASSWORD=pw0rd\r\nCMD [\"/app\"]\r\n", "FROM alpine\r\n" + env_note("PASSWORD")[:-1] + "\r\nCMD [\"/app\"]\r\n"),
    ("# escape=`\nFROM alpine\nENV A=1 `\n    PASSWORD=pw0rd `\n    B=2\n", "# escape=`\nFROM alpine\n" + env_note("PASSWORD") + "ENV A=1 `\n    B=2\n"),
    ("FROM --platform=$BUILDPLATFORM alpine\nENV PASSWORD=pw0rd\n", "FROM --platform=$BUILDPLATFORM alpine\n" + env_note("PASSWORD")),
    ("ARG BASE=alpine:3.20\nFROM ${BASE}\nRUN <<EOF\necho hi\nEOF\nENV PASSWORD=pw0rd\n",
     "ARG BASE=alpine:3.20\nFROM ${BASE}\nRUN <<EOF\necho hi\nEOF\n" + env_note("PASSWORD")),
    ("FROM gcr.io/distroless/static-debian12\nENV API_TOKEN=tok-123456\n", "FROM gcr.io/distroless/static-debian12\n" + env_note("API_TOKEN")),
    # copies of the value on comment lines are redacted
    ("# docker run -e LDAP_ROOTPASS=fsociety img\nFROM alpine\nENV LDAP_ROOTPASS=fsociety LDAP_DOMAIN=mr.robot.com\n",
     "# docker run -e LDAP_ROOTPASS=<LDAP_ROOTPASS> img\nFROM alpine\n" + env_note("LDAP_ROOTPASS") + "ENV LDAP_DOMAIN=mr.robot.com\n"),
    # a short value is only redacted next to its name: "root" elsewhere stays
    ("FROM alpine\n# runs as root; MYSQL_ROOT_PASSWORD=root by default\nENV MYSQL_ROOT_PASSWORD=root\nUSER root\n",
     "FROM alpine\n# runs as root; MYSQL_ROOT_PASSWORD=<MYSQL_ROOT_PASSWORD> by default\n" + env_note("MYSQL_ROOT_PASSWORD") + "USER root\n"),
    # the secret is read at run time (CMD): that is where it belongs, the fix holds
    ("FROM alpine\nENV API_KEY=k3y-v4lue\nCMD [\"sh\", \"-c\", \"exec app --key $API_KEY\"]\n",
     "FROM alpine\n" + env_note("API_KEY") + "CMD [\"sh\", \"-c\", \"exec app --key $API_KEY\"]\n"),
])
def test_removes_secret(before, after):
    values = secret_values(before)
    outcome = run(ID, before)
    assert fix(ID, before) == after
    # hadolint's parser rejects an instruction right after a heredoc, in the input already
    assert hadolint_parses(after) or not hadolint_parses(before)
    assert_leaks_nothing(outcome, values)


@pytest.mark.parametrize("before", [
    "FROM alpine\nENV PASSWORD=\"\"\n",
    "FROM alpine\nENV PASSWORD=\n",
    "FROM alpine\nENV TOKEN=${TOKEN}\n",
    "FROM alpine\nENV TOKEN=$TOKEN\n",
    "FROM alpine\nENV TOKEN=${TOKEN:-}\n",
    "FROM alpine\nENV API_TOKEN=<your-token>\n",
    "FROM alpine\nENV API_TOKEN=your-token-here\n",
    "FROM alpine\nENV PASSWORD=xxx\n",
    "FROM alpine\nENV PASSWORD=dummy\n",
    "FROM alpine\nENV API_KEY=example-key\n",
    "FROM alpine\nENV AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n",
    "FROM alpine\nARG AWS_SECRET_ACCESS_KEY=FAKE_TO_GENERATE_WARNING_OUTPUT\n",
    "FROM alpine\nENV AUTH_ENABLED=true\n",
    # names that describe a secret without holding it
    "FROM alpine\nENV TOKEN_URL=https://auth.example.com/token\n",
    "FROM alpine\nENV PASSWORD_FILE=/run/secrets/db_password\n",
    "FROM alpine\nENV SECRET_NAME=db-credentials\n",
    "FROM alpine\nENV KEYCLOAK_AUTH_ENDPOINT=http://kc/auth\n",
    "FROM alpine\nENV CREDENTIALS_PATH=/etc/app/creds.json\n",
    "FROM alpine\nENV OAUTH2_PROXY_VERSION v5.1.1\n",
    "FROM alpine\nENV PASSWORD_MIN_LENGTH=12\n",
    "FROM alpine\nENV AWS_ACCESS_KEY_ID=\n",
    # public material that looks random
    "FROM python:3.12\nENV GPG_KEY A035C8C19219BA821ECEAE82C9E54F1F4F1AE62A\n",
    "FROM node:20\nENV NODE_SHA256=4f4a8f8b0c4e3a5d0f5a0e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b\n",
    "FROM alpine\nENV BUILD_ID=3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b\n",
    "FROM alpine\nENV RELEASE=Linux-x86_64-Release-v2.3.4-Build20240101\n",
    # a path or a plain URL under a secret name points at the secret
    "FROM alpine\nENV DB_PASSWORD=/run/secrets/db\n",
    "FROM alpine\nENV AUTH=https://auth.example.com\n",
    # PWD alone is the working directory
    "FROM alpine\nENV PWD=/srv\n",
    # no default: already the right form
    "FROM alpine\nARG NPM_TOKEN\nRUN echo ok\n",
    "FROM alpine\nRUN echo PASSWORD=hunter2 > /dev/null\n",
    "FROM alpine\nLABEL password=hunter2\n",
])
def test_leaves_non_secrets(before):
    outcome = run(ID, before)
    assert outcome.text == before and not outcome.remaining


@pytest.mark.parametrize(("before", "reason"), [
    ("FROM alpine\nENV API_KEY=k3y-v4lue\nRUN ./fetch --key \"$API_KEY\"\n", "RUN on line 3 reads it at build time"),
    ("FROM node:20\nENV NPM_TOKEN=tok-123456\nRUN npm ci\n", "ec-003 moves it into a BuildKit secret mount"),
    ("FROM alpine AS base\nENV DB_PASSWORD=pw0rd\nFROM base\nRUN psql -c \"select 1\" \"postgres://u:${DB_PASSWORD}@db\"\n", "RUN on line 4"),
    ("FROM alpine\nENV DB_PASSWORD=pw0rd\nENV DATABASE_URL=postgres://app:${DB_PASSWORD}@db/app\n", "ENV on line 3 expands it at build time"),
    ("FROM alpine\nENV SECRET=pw0rd\nLABEL s=$SECRET\n", "LABEL on line 3"),
    ("FROM alpine\nONBUILD ENV PASSWORD=pw0rd\n", "inside ONBUILD"),
    ("FROM alpine\nENV PASSWORD=pw0rd123\nRUN echo pw0rd123 | chpasswd\n", "also appears in RUN on line 3"),
    ("FROM alpine\nENV PASSWORD=pw0rd123 COPY_OF=pw0rd123\n", "also appears in ENV on line 2"),
    ("FROM alpine\nENV A=1 \\\n# comment\n    PASSWORD=pw0rd\n", "comment lines"),
])
def test_reports_what_it_cannot_remove(before, reason):
    values = secret_values(before)
    outcome = run(ID, before)
    assert outcome.text == before
    finding = outcome.remaining[0]
    assert finding.fix is None and reason in finding.reason, finding.reason
    assert_leaks_nothing(FileOutcome(outcome.path, "dockerfile", "", "", outcome.encoding, [], outcome.remaining), values)


def test_message_names_the_variable_not_the_value():
    outcome = run(ID, f"FROM alpine\nENV GH={GH}\nARG DB_PASSWORD=hunter2hunter2\n")
    messages = [f.message for f in outcome.applied]
    assert any("GH" in m and "GitHub token" in m for m in messages)
    assert any("DB_PASSWORD" in m and "--secret id=db_password" in m for m in messages)
    assert_leaks_nothing(outcome, {GH, "hunter2hunter2"})
    assert all(f.safety.value == "unsafe" for f in outcome.applied)


def test_suppression_comment():
    text = "FROM alpine\n# orchfix: ignore[sc-002]\nENV PASSWORD=pw0rd\n"
    assert run(ID, text).text == text


def check_secret_corpus(transform_id: str, keywords: set[str], options: dict | None = None) -> tuple[int, int]:
    """The corpus check of a secrets transform: besides the common promises, no removed value
    anywhere in what it writes or says, changes only to lines of ``keywords`` instructions and
    comment lines (notes above them, redacted copies), and inserted lines that are notes or
    ``keywords`` instructions. Returns (findings, changed files)."""
    def notes_and_declarations(old: list[str], new: list[str]) -> bool:
        return bool(old) or all(line.lstrip().startswith("#") or line.split(None, 1)[0].upper() in keywords for line in new)

    def leaks_nothing(text: str, outcome: FileOutcome) -> None:
        assert_leaks_nothing(outcome, removed_values(text, outcome.text))

    counts = check_corpus(transform_id, keywords, options=options, comments=True,
                          hunk=notes_and_declarations, each=leaks_nothing)
    return counts["applied"] + counts["remaining"], counts["files"]


@needs_corpus
def test_corpus():
    findings, changed = check_secret_corpus(ID, {"ENV", "ARG"})
    assert findings > 0 and changed > 0
