"""The Dockerfile document: instruction boundaries, directives, continuations, heredocs."""
from __future__ import annotations

import io

import pytest
from dockerfile_parse import DockerfileParser

from orchfix.documents import DockerfileDocument, ParseError
from orchfix.text import decode
from tests.corpus import files, needs_corpus


def parse(text: str) -> DockerfileDocument:
    return DockerfileDocument("Dockerfile", text)


def test_continuation_with_inner_comment_and_blank_line():
    doc = parse("FROM alpine\nRUN apk add \\\n    # the shell\n\n    bash\nCMD [\"bash\"]\n")
    run = doc.instructions[1]
    assert (run.keyword, run.line, run.end_line) == ("RUN", 2, 5)
    assert run.value == "apk add     bash"
    assert run.comments == ["# the shell"]
    assert doc.text[run.start:run.end] == "RUN apk add \\\n    # the shell\n\n    bash\n"
    assert doc.instructions[2].exec_form == ["bash"]


def test_escape_directive_backtick():
    doc = parse("# escape=`\nFROM mcr.microsoft.com/windows\nRUN dir `\n    c:\\\nCOPY a b\n")
    assert doc.escape == "`"
    assert [i.keyword for i in doc.instructions] == ["FROM", "RUN", "COPY"]
    assert doc.instructions[1].value == "dir     c:\\"


def test_directive_after_comment_is_a_comment():
    doc = parse("# hello\n# escape=`\nFROM a\nRUN x \\\n  y\n")
    assert doc.escape == "\\" and doc.directives == {}


def test_heredocs_are_part_of_their_instruction():
    text = "FROM alpine\nRUN <<EOF cat <<-END\napk add git\nEOF\n\tbody\n\tEND\nCOPY <<\"X\" /a\n$literal\nX\nUSER app\n"
    doc = parse(text)
    run, copy, user = doc.instructions[1:]
    assert [h.name for h in run.heredocs] == ["EOF", "END"]
    assert run.heredocs[0].body == "apk add git\n"
    assert run.end_line == 6 and copy.heredocs[0].quoted and user.line == 10


def test_unterminated_heredoc_is_a_parse_error():
    with pytest.raises(ParseError, match="not terminated"):
        parse("FROM a\nRUN <<EOF\necho\n")


def test_flags_stages_and_lowercase():
    doc = parse("from --platform=$BUILDPLATFORM golang:1.22 AS build\ncopy --from=build --chown=1:1 /a /b\nFROM scratch\n")
    assert doc.instructions[0].flags == {"platform": "$BUILDPLATFORM"}
    assert doc.instructions[1].flags == {"from": "build", "chown": "1:1"} and doc.instructions[1].args == "/a /b"
    assert [(s.image, s.name) for s in doc.stages] == [("golang:1.22", "build"), ("scratch", None)]
    assert doc.instructions[0].raw_keyword == "from"


def test_crlf_positions():
    doc = parse("FROM a\r\nRUN b \\\r\n  c\r\n")
    run = doc.instructions[1]
    assert run.value == "b   c" and doc.text[run.start:run.end] == "RUN b \\\r\n  c\r\n"


def test_comments_before_instruction():
    doc = parse("FROM a\n\n# one\n# two\nRUN b\n")
    assert doc.comments_before(doc.instructions[1]) == ["# one", "# two"]


@needs_corpus
def test_instruction_boundaries_agree_with_dockerfile_parse_on_corpus():
    """An independent parser finds the same instructions at the same lines (heredoc-free files)."""
    checked = 0
    for path in files("dockerfile"):
        text = decode(path.read_bytes())[0]
        if "<<" in text or "\r" in text:
            continue
        try:
            ours = parse(text)
        except ParseError:
            continue
        theirs = DockerfileParser(fileobj=io.BytesIO(text.encode("utf-8", "surrogateescape"))).structure
        assert [(i["instruction"], i["startline"] + 1) for i in theirs if i["instruction"] != "COMMENT"] == [
            (i.keyword, i.line) for i in ours.instructions
        ], path
        checked += 1
    assert checked > 250
