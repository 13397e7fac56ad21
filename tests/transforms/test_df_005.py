"""df-005: WORKDIR, not cd."""
from __future__ import annotations

import pytest

from orchfix.transform import Safety
from tests.corpus import needs_corpus
from tests.helpers import fix, hadolint_codes, hadolint_parses, reason_of, run
from tests.transforms.dockerfile_corpus import check_corpus

ID = "df-005"


@pytest.mark.parametrize(("before", "after"), [
    # nothing later relies on the directory: one WORKDIR, no restore
    ("FROM golang:1.22 AS build\nRUN cd /src && go build -o /out/app\nFROM alpine\nCOPY --from=build /out/app /app\n",
     "FROM golang:1.22 AS build\nWORKDIR /src\nRUN go build -o /out/app\nFROM alpine\nCOPY --from=build /out/app /app\n"),
    # final stage of a base known to start in /: the image's directory is restored
    ("FROM debian:12\nRUN cd /tmp && curl -fsSLO https://x/t.deb\nCMD [\"t\"]\n",
     "FROM debian:12\nWORKDIR /tmp\nRUN curl -fsSLO https://x/t.deb\nWORKDIR /\nCMD [\"t\"]\n"),
    # a later WORKDIR resets it anyway
    ("FROM debian\nRUN cd /tmp \\\n\t&& make \\\n\t&& make install\nWORKDIR /app\nCMD [\"app\"]\n",
     "FROM debian\nWORKDIR /tmp\nRUN make \\\n\t&& make install\nWORKDIR /app\nCMD [\"app\"]\n"),
    # relative directory resolved against the current WORKDIR; a later RUN needs the old one back
    ("FROM debian\nWORKDIR /src\nRUN cd ui && yarn build\nRUN make\n",
     "FROM debian\nWORKDIR /src\nWORKDIR /src/ui\nRUN yarn build\nWORKDIR /src\nRUN make\n"),
    # the mkdir that prepares it goes, in the RUN or the RUN before
    ("FROM debian\nRUN mkdir -p /opt/a && cd /opt/a && make\nWORKDIR /\n",
     "FROM debian\nWORKDIR /opt/a\nRUN make\nWORKDIR /\n"),
    ("FROM debian\n# the tool\nRUN mkdir -p /opt/a\nRUN cd /opt/a && make\nWORKDIR /\n",
     "FROM debian\n# the tool\nWORKDIR /opt/a\nRUN make\nWORKDIR /\n"),
    # consecutive RUNs into one directory: one WORKDIR; $VAR set by ENV is kept for WORKDIR to expand
    ('FROM debian\nENV APP=/opt/app\nRUN cd "$APP" && ./configure\nRUN cd ${APP} && make\nWORKDIR /\n',
     "FROM debian\nENV APP=/opt/app\nWORKDIR $APP\nRUN ./configure\nRUN make\nWORKDIR /\n"),
    ("FROM debian\nARG PREFIX=/usr/local/src\nRUN cd $PREFIX && ls\nWORKDIR /\n",
     "FROM debian\nARG PREFIX=/usr/local/src\nWORKDIR $PREFIX\nRUN ls\nWORKDIR /\n"),
    # into the directory it already runs in: the cd just goes
    ("FROM node:20\nWORKDIR /app\nRUN cd /app && npm ci\n", "FROM node:20\nWORKDIR /app\nRUN npm ci\n"),
    ("FROM node:20\nWORKDIR /app\nRUN git clone https://x/y.git && cd /app && npm ci\n",
     "FROM node:20\nWORKDIR /app\nRUN git clone https://x/y.git && npm ci\n"),
    # later `cd` back into the same directory in one `&&` chain are no-ops
    ("FROM debian\nRUN cd /w && git clone https://x/a.git && \\\n"
     "  cd /w && git clone https://x/b.git\nWORKDIR /\n",
     "FROM debian\nWORKDIR /w\nRUN git clone https://x/a.git && \\\n  git clone https://x/b.git\nWORKDIR /\n"),
    # comments directly above the RUN stay with it
    ("FROM debian\n# hadolint ignore=DL3008\nRUN cd /x && make\nWORKDIR /\n",
     "FROM debian\nWORKDIR /x\n# hadolint ignore=DL3008\nRUN make\nWORKDIR /\n"),
    # multi-stage: the stage built FROM another inherits its WORKDIR
    ("FROM debian AS base\nWORKDIR /app\nFROM base\nRUN cd /tmp && curl -o /tmp/x https://x\nCMD [\"x\"]\n",
     "FROM debian AS base\nWORKDIR /app\nFROM base\nWORKDIR /tmp\nRUN curl -o /tmp/x https://x\n"
     "WORKDIR /app\nCMD [\"x\"]\n"),
    # lowercase, CRLF, escape directive, no final newline
    ("from debian\nrun cd /x && make", "from debian\nworkdir /x\nrun make\nworkdir /\n"),
    ("FROM debian\r\nRUN cd /x && make\r\nWORKDIR /\r\n", "FROM debian\r\nWORKDIR /x\r\nRUN make\r\nWORKDIR /\r\n"),
    ("# escape=`\nFROM debian\nRUN cd /x `\n    && make\nWORKDIR /\n",
     "# escape=`\nFROM debian\nWORKDIR /x\nRUN make\nWORKDIR /\n"),
])
def test_fix(before: str, after: str):
    assert fix(ID, before) == after


def test_non_root_mkdir_stays():
    before = "FROM debian\nUSER app\nRUN mkdir -p /home/app/x\nRUN cd /home/app/x && make\nWORKDIR /\n"
    assert fix(ID, before) == "FROM debian\nUSER app\nRUN mkdir -p /home/app/x\nWORKDIR /home/app/x\nRUN make\nWORKDIR /\n"


def test_unsafe_when_the_old_directory_is_unknown():
    before = "FROM registry.example.com/builder:1\nRUN cd /src && make\nRUN make install\n"
    outcome = run(ID, before, unsafe=False)
    assert outcome.text == before
    [finding] = outcome.remaining
    assert finding.fix is not None and finding.safety is Safety.UNSAFE
    assert fix(ID, before) == "FROM registry.example.com/builder:1\nWORKDIR /src\nRUN make\nRUN make install\n"


def test_base_image_workdir_from_the_image_table():
    before = "FROM golang:1.22\nRUN cd src/app && go build -o /app\nRUN go vet ./...\n"
    assert fix(ID, before) == "FROM golang:1.22\nWORKDIR /go/src/app\nRUN go build -o /app\nWORKDIR /go\nRUN go vet ./...\n"


def test_restore_off_marks_unsafe():
    before = "FROM debian\nWORKDIR /app\nRUN cd /tmp && make\nCOPY x y\n"
    outcome = run(ID, before, unsafe=False, options={"restore": False})
    [finding] = outcome.remaining
    assert finding.safety is Safety.UNSAFE and "COPY on line 4" in finding.message
    after = run(ID, before, options={"restore": False}).text
    assert after == "FROM debian\nWORKDIR /app\nWORKDIR /tmp\nRUN make\nCOPY x y\n"


@pytest.mark.parametrize("before", [
    "FROM alpine\nRUN make\n",
    "FROM alpine\nRUN echo cd /x\n",
    'FROM alpine\nRUN ["sh", "-c", "cd /x && make"]\n',  # exec form
    "FROM alpine\nRUN <<EOF\ncd /x && make\nEOF\n",  # heredoc
    'FROM alpine\nSHELL ["pwsh", "-Command"]\nRUN cd /x; make\n',
])
def test_no_change(before: str):
    outcome = run(ID, before)
    assert outcome.text == before and not outcome.remaining and not outcome.errors


@pytest.mark.parametrize(("before", "why"), [
    ("FROM alpine\nRUN git clone https://x/y.git /src && cd /src && make\n", "after other commands"),
    ("FROM alpine\nRUN git clone https://x/y.git /src && (cd /src && make)\n", "subshell"),
    ('FROM alpine\nRUN echo "$(cd /x && pwd)"\n', "subshell"),
    ("FROM alpine\nRUN f() { cd /x; }\n", "function"),
    ("FROM registry.example.com/builder:1\nRUN cd src && make\n", "base image's working directory is unknown"),
    ("FROM alpine\nRUN cd $HOME && ls\n", "$HOME"),
    ("FROM alpine\nARG DIR\nRUN cd $DIR && ls\n", "$DIR"),
    ("FROM alpine AS a\nARG D=/x\nFROM a\nRUN cd $D && ls\n", "$D"),  # ARG does not carry into the next stage
    ("FROM alpine\nRUN cd /tmp/luarocks* && make\n", "glob"),
    ("FROM alpine\nRUN cd /x; make\n", "not followed by `&&`"),
    ("FROM alpine\nRUN cd - && make\n", "option"),
    ("FROM alpine\nUSER app\nRUN mkdir -p /home/app/x && cd /home/app/x && make\n", "USER is not root"),
])
def test_report_only(before: str, why: str):
    outcome = run(ID, before)
    assert outcome.text == before and why in reason_of(outcome)


@pytest.mark.parametrize("before", [
    "FROM debian\nWORKDIR /src\nRUN cd ui \\\n    && yarn build\nRUN make\n",
    "FROM debian\nENV APP=/opt/app\nRUN mkdir -p $APP && cd $APP && ./configure\nCMD [\"app\"]\n",
])
def test_hadolint_accepts_output(before: str):
    after = fix(ID, before)
    codes = hadolint_codes(after)
    assert hadolint_parses(after) and "DL3003" not in codes and "DL3000" not in codes
    assert not {c for c in codes if c.startswith("SC1")}


@needs_corpus
def test_corpus():
    assert check_corpus(ID, {"RUN"}, around=True, inserts="beside")["files"] > 0
