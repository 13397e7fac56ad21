"""df-004: Minimize RUN layers."""
from __future__ import annotations

import difflib

import pytest

from orchfix import documents
from orchfix.documents import ParseError
from orchfix.text import decode
from tests.corpus import files, needs_corpus
from tests.helpers import fix, hadolint_codes, hadolint_parses, run

ID = "df-004"


def _shell_syntax(codes: set[str]) -> set[str]:
    return {c for c in codes if c == "DL1000" or c.startswith("SC1")}


def check_corpus(transform_id: str) -> int:
    """Run a transform over every corpus Dockerfile: no errors, output that hadolint still parses
    without new shell-syntax findings, idempotent, and changes only to RUN instructions, the comment
    and blank lines around them, and insertions next to them."""
    changed = 0
    for path in files("dockerfile"):
        text, _ = decode(path.read_bytes())
        try:
            doc = documents.load(str(path), "dockerfile", text)
        except ParseError:
            continue  # the engine reports it; no transform runs on it
        outcome = run(transform_id, text, path=str(path))
        assert not outcome.errors, (path, outcome.errors)
        if not outcome.changed:
            continue
        changed += 1
        assert run(transform_id, outcome.text, path=str(path)).text == outcome.text, f"not idempotent: {path}"
        gained = _shell_syntax(hadolint_codes(outcome.text)) - _shell_syntax(hadolint_codes(text))
        assert not gained, f"{path}: hadolint reports {gained} on the output"
        allowed = _run_lines(doc, text)
        old, new = text.splitlines(), outcome.text.splitlines()
        for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
            if tag == "insert":
                assert {i1, i1 + 1} & allowed, f"{path}: insertion after line {i1} away from any RUN"
            elif tag != "equal":
                touched = set(range(i1 + 1, i2 + 1))
                assert touched <= allowed, f"{path}: lines {sorted(touched - allowed)} changed outside RUN instructions"
    return changed


def _run_lines(doc, text: str) -> set[int]:
    """Lines of RUN instructions and the comment/blank lines directly above them."""
    lines = text.splitlines()
    allowed: set[int] = set()
    for ins in doc.instructions:
        if ins.keyword != "RUN":
            continue
        allowed.update(range(ins.line, ins.end_line + 1))
        above = ins.line - 1
        while above >= 1 and (not lines[above - 1].strip() or lines[above - 1].lstrip().startswith("#")):
            allowed.add(above)
            above -= 1
    return allowed


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
    assert outcome.text == before
    [finding] = outcome.remaining
    assert finding.fix is None and why in finding.reason


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


@needs_corpus
def test_corpus():
    assert check_corpus(ID) > 0
