"""A corpus check for Dockerfile transforms that edit some instructions and insert lines between them."""
from __future__ import annotations

import difflib
from collections import Counter

from orchfix import documents
from orchfix.documents import ParseError
from orchfix.text import decode
from tests.corpus import files
from tests.helpers import hadolint_parses, run


def check_corpus(transform_id: str, edited: set[str], **kw) -> Counter:
    """Run ``transform_id`` over every corpus Dockerfile and check the promises: no errors, a second
    run changes nothing, hadolint parses every changed output (unless it did not parse the input
    either), old lines change only inside instructions named in ``edited``, and inserted lines
    go between instructions. Returns counts of applied and report-only findings."""
    counts: Counter = Counter()
    for path in files("dockerfile"):
        text, _ = decode(path.read_bytes())
        try:
            doc = documents.load(str(path), "dockerfile", text)
        except ParseError:
            continue  # not a Dockerfile the engine reads; the engine reports it, no transform runs
        outcome = run(transform_id, text, path=str(path), **kw)
        assert not outcome.errors, (path, outcome.errors)
        counts["applied"] += len(outcome.applied)
        counts["report-only"] += sum(1 for f in outcome.remaining if f.fix is None)
        assert all(f.reason for f in outcome.remaining if f.fix is None), path
        if not outcome.changed:
            continue
        counts["files"] += 1
        again = run(transform_id, outcome.text, path=str(path), **kw)
        assert again.text == outcome.text, f"not idempotent: {path}"
        assert hadolint_parses(outcome.text) or not hadolint_parses(text), f"hadolint does not parse the output for {path}"
        about = {n for i in doc.instructions if i.keyword in edited for n in range(i.line, i.end_line + 1)}
        ends = {0} | {i.end_line for i in doc.instructions}
        old, new = text.splitlines(), outcome.text.splitlines()
        for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            if tag == "insert":
                # inserted lines go after an instruction (difflib may align them below the blank
                # or comment lines that follow it)
                k = i1
                while k not in ends and k > 0 and (not old[k - 1].strip() or old[k - 1].lstrip().startswith("#")):
                    k -= 1
                assert k in ends, f"{path}: lines inserted inside an instruction after line {i1}"
                continue
            touched = set(range(i1 + 1, i2 + 1))
            assert touched <= about, f"{path}: lines {sorted(touched - about)} changed outside the instructions"
    return counts
