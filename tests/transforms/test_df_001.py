"""df-001: COPY, not ADD."""
from __future__ import annotations

import pytest

from tests.corpus import needs_corpus
from tests.helpers import fix, hadolint_parses, run
from tests.transforms.dockerfile_corpus import check_corpus

ID = "df-001"


@pytest.mark.parametrize(("before", "after"), [
    ("FROM alpine\nADD app.py /app/\n", "FROM alpine\nCOPY app.py /app/\n"),
    ("FROM alpine\nADD --chown=1000:1000 --chmod=0644 --link . /app\n",
     "FROM alpine\nCOPY --chown=1000:1000 --chmod=0644 --link . /app\n"),
    ("FROM alpine\nadd  a.txt  b.json   /srv/\n", "FROM alpine\ncopy  a.txt  b.json   /srv/\n"),
    ("FROM alpine\nAdd x /x\n", "FROM alpine\nCopy x /x\n"),
    ('FROM alpine\nADD ["my app.py", "/app/"]\n', 'FROM alpine\nCOPY ["my app.py", "/app/"]\n'),
    ("FROM alpine\nADD <<EOF /etc/motd\nhello\nEOF\n", "FROM alpine\nCOPY <<EOF /etc/motd\nhello\nEOF\n"),
    ("FROM alpine\nADD target/*.jar ./${NAME}.py /app/\n", "FROM alpine\nCOPY target/*.jar ./${NAME}.py /app/\n"),
    ("FROM alpine\nADD tools.zip /opt/\n", "FROM alpine\nCOPY tools.zip /opt/\n"),  # ADD never unpacks zip
    ("FROM alpine\nADD --exclude=*.md docs /docs\n", "FROM alpine\nCOPY --exclude=*.md docs /docs\n"),
    ("FROM alpine\nADD a \\\n    b /x/\n", "FROM alpine\nCOPY a \\\n    b /x/\n"),
    ("FROM alpine\r\nADD app.py /app/\r\n", "FROM alpine\r\nCOPY app.py /app/\r\n"),
    ("# escape=`\nFROM alpine\nADD a `\n    b /x/\n", "# escape=`\nFROM alpine\nCOPY a `\n    b /x/\n"),
    ("FROM alpine\nONBUILD ADD . /app/src\n", "FROM alpine\nONBUILD COPY . /app/src\n"),
    ("FROM golang AS build\nADD . /src\nFROM alpine\nADD --chown=app run.sh /\n",
     "FROM golang AS build\nCOPY . /src\nFROM alpine\nCOPY --chown=app run.sh /\n"),
    ("FROM alpine\nADD run.sh /", "FROM alpine\nCOPY run.sh /"),
])
def test_rewrites_local_sources(before, after):
    assert fix(ID, before) == after
    assert hadolint_parses(after)


@pytest.mark.parametrize("before", [
    "FROM alpine\nADD https://example.com/a.tar.gz /opt/\n",
    "FROM alpine\nADD http://example.com/x.sh ftp://example.com/y /opt/\n",
    "FROM alpine\nADD git@github.com:moby/buildkit.git /src\n",
    "FROM alpine\nADD https://github.com/moby/buildkit.git#v0.12.0 /src\n",
    "FROM alpine\nADD app.py https://example.com/b.py /opt/\n",  # one remote source keeps ADD
    *(f"FROM alpine\nADD rootfs{ext} /\n" for ext in (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz",
                                                       ".txz", ".tar.zst", ".zst", ".TAR.GZ", ".Z")),
    "FROM alpine\nADD app-${VERSION}.tar.gz /opt/\n",
    "FROM alpine\nADD --checksum=sha256:abc https://example.com/a /a\n",
    "FROM alpine\nADD --keep-git-dir=true . /src\n",
    "FROM alpine\nADD --unpack=false local.bin /x\n",
    "FROM alpine\nCOPY app.py /app/\n",
    "FROM alpine\nRUN echo ADD a b\n",
    "FROM alpine\nADD lonely\n",
])
def test_keeps_add_where_it_is_needed(before):
    outcome = run(ID, before)
    assert outcome.text == before and not outcome.remaining


@pytest.mark.parametrize(("before", "reason"), [
    ("FROM alpine\nADD $SRC /app/\n", "variable"),
    ("FROM alpine\nADD ${JAR_FILE} app.jar\n", "URL"),
    ("FROM alpine\nADD dist/* /app/\n", "tar archive"),
    ("FROM alpine\nADD src/${APP} /app/\n", "tar archive"),
])
def test_reports_sources_it_cannot_classify(before, reason):
    outcome = run(ID, before)
    assert outcome.text == before
    [finding] = outcome.remaining
    assert finding.fix is None and reason in finding.reason and finding.line == 2


def test_suppression_comment():
    text = "FROM alpine\n# orchfix: ignore[df-001]\nADD a /a\n"
    assert run(ID, text).text == text


@needs_corpus
def test_corpus():
    assert check_corpus(ID, {"ADD", "ONBUILD"}, inserts="below")["files"] > 0
