"""Promise 1: reading and writing back without a change gives the same bytes."""
from __future__ import annotations

import pytest

from orchfix import documents
from orchfix.text import Edit, apply_edits, decode
from orchfix.workspace import Workspace
from tests.corpus import CORPUS, manifest, needs_corpus


@pytest.mark.parametrize("raw", [
    b"FROM a\r\nRUN b\r\n", b"\xef\xbb\xbfkey: v\n", b"no newline at end", b"tab\there  \n\n\n",
    b"bad utf-8 \xff\xfe here\n", b"\xff\xfeu\x00t\x00f\x001\x006\x00\n\x00",
])
def test_decode_encode_round_trip(raw):
    text, encoding = decode(raw)
    assert encoding.encode(text) == raw


def test_edits_splice_only_their_range():
    text = "a: 1  # keep\nb: 2\n"
    assert apply_edits(text, [Edit(3, 4, "10"), Edit.insert(len(text), "c: 3\n")]) == "a: 10  # keep\nb: 2\nc: 3\n"
    with pytest.raises(ValueError):
        apply_edits(text, [Edit(0, 3, ""), Edit(2, 4, "")])


@needs_corpus
def test_every_corpus_file_round_trips_and_parses_or_says_why():
    ws = Workspace.scan([str(CORPUS)])
    unparsable = []
    for entry in ws.files.values():
        raw = open(entry.path, "rb").read()
        text, encoding = decode(raw)
        assert encoding.encode(text) == raw, entry.path
        try:
            doc = documents.load(entry.path, entry.kind, text, encoding)
        except documents.ParseError as exc:
            unparsable.append((entry.path, str(exc)))
            continue
        assert doc.encoding.encode(apply_edits(doc.text, [])) == raw
    # a deliberately broken compose fixture and a Go-templated krew manifest, nothing else
    assert sorted(p.split("corpus/", 1)[1] for p, _ in unparsable) == [
        "docker__compose/pkg/e2e/fixtures/wrong-composefile/service1/Dockerfile",
        "kubernetes__ingress-nginx/cmd/plugin/krew.yaml",
    ]


@needs_corpus
def test_classification_matches_the_corpus_manifest():
    ws = Workspace.scan([str(CORPUS)])
    rows = manifest()
    by_path = {entry.path.split("corpus/", 1)[1]: entry.kind for entry in ws.files.values()}
    wrong = {row["file"]: (row["kind"], by_path.get(row["file"])) for row in rows if by_path.get(row["file"]) != row["kind"]}
    # a Dockerfile a chart ships under files/ is read as the Dockerfile it is
    assert wrong == {"deliveryhero__helm-charts/stable/pg-repack-scheduler/files/dockerfile": ("helm", "dockerfile")}
