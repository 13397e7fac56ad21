"""The corpus check of Dockerfile transforms: one function, with the options the transforms need."""
from __future__ import annotations

import difflib
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator

from orchfix import documents
from orchfix.documents import ParseError
from orchfix.documents.dockerfile import DockerfileDocument
from orchfix.fixer import FileOutcome
from orchfix.text import decode
from orchfix.workspace import Workspace
from tests.corpus import CORPUS, files
from tests.helpers import hadolint_codes, run

#: where inserted lines may go: after an instruction (past the blank and comment lines that follow
#: it), right below a line that may change, next to one, or anywhere
INSERTS = ("between", "below", "beside", "anywhere")


def corpus_docs() -> Iterator[tuple[Path, str, DockerfileDocument]]:
    """Every corpus Dockerfile the engine reads: (path, text, document)."""
    for path in files("dockerfile"):
        text, _ = decode(path.read_bytes())
        try:
            yield path, text, documents.load(str(path), "dockerfile", text)
        except ParseError:
            continue  # not a Dockerfile the engine reads; the engine reports it, no transform runs


@lru_cache(maxsize=1)
def corpus_workspace() -> Workspace:
    """A workspace over the whole corpus, so cross-file lookups see each Dockerfile's real neighbours."""
    return Workspace.scan([str(CORPUS)])


def _shell_syntax(codes: set[str]) -> set[str]:
    return {c for c in codes if c == "DL1000" or c.startswith("SC1")}


def check_corpus(transform_id: str, edited: set[str] | None = None, *, options: dict | None = None,
                 workspace: bool = False, around: bool = False, comments: bool = False, inserts: str = "between",
                 hunk: Callable[[list[str], list[str]], bool] | None = None,
                 each: Callable[[str, FileOutcome], None] | None = None) -> Counter:
    """Run ``transform_id`` (with ``options``) over every corpus Dockerfile and check the promises:

    - no errors; every report-only finding says why;
    - a second run changes nothing; hadolint reports no shell-syntax finding (DL1000, SC1xxx) on the
      output that it did not report on the input;
    - with ``edited``: old lines change only inside instructions with those keywords, plus the
      blank and comment lines right above them (``around``) or any comment line (``comments``);
      inserted lines go where ``inserts`` says (see :data:`INSERTS`);
    - ``hunk(old_lines, new_lines)`` holds for every changed stretch of lines;
    - ``each(text, outcome)`` (its own asserts) passes for every file.

    ``workspace``: run with a workspace over the corpus (cross-file transforms), else with none.
    Returns counts: ``files`` changed, ``applied`` fixes, ``remaining`` findings, ``report-only``
    ones, and ``report: <first words of the reason>`` for each report-only finding."""
    assert inserts in INSERTS, inserts
    kw = {"options": options, "workspace": corpus_workspace() if workspace else None}
    counts: Counter = Counter()
    for path, text, doc in corpus_docs():
        outcome = run(transform_id, text, path=str(path), **kw)
        assert not outcome.errors, (path, outcome.errors)
        counts["applied"] += len(outcome.applied)
        counts["remaining"] += len(outcome.remaining)
        for finding in outcome.remaining:
            if finding.fix is None:
                assert finding.reason, (path, finding)
                counts["report-only"] += 1
                counts["report: " + " ".join(finding.reason.split()[:6])] += 1
        if each is not None:
            each(text, outcome)
        if not outcome.changed:
            continue
        counts["files"] += 1
        assert run(transform_id, outcome.text, path=str(path), **kw).text == outcome.text, f"not idempotent: {path}"
        gained = _shell_syntax(hadolint_codes(outcome.text)) - _shell_syntax(hadolint_codes(text))
        assert not gained, f"{path}: hadolint reports {gained} on the output"
        _check_lines(path, doc, text, outcome.text, edited, around, comments, inserts, hunk)
    return counts


def _check_lines(path, doc, text: str, new_text: str, edited, around: bool, comments: bool, inserts: str,
                 hunk) -> None:
    """Which old lines changed and where new ones went (1-based line numbers of ``text``)."""
    old, new = text.splitlines(), new_text.splitlines()
    allowed = _changeable(doc, old, edited, around, comments) if edited is not None else None
    ends = {0} | {i.end_line for i in doc.instructions}
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if hunk is not None:
            assert hunk(old[i1:i2], new[j1:j2]), (path, old[i1:i2], new[j1:j2])
        if allowed is None:
            continue
        touched = set(range(i1 + 1, i2 + 1))
        assert touched <= allowed, f"{path}: lines {sorted(touched - allowed)} changed outside the instructions"
        if tag != "insert":
            continue
        # the insertion goes after line i1 (0: at the top)
        if inserts == "below":
            assert i1 in allowed, f"{path}: lines inserted after line {i1}, which is not one the transform edits"
        elif inserts == "beside":
            assert {i1, i1 + 1} & allowed, f"{path}: insertion after line {i1} away from what the transform edits"
        elif inserts == "between":
            # difflib may align inserted lines below the blank or comment lines after an instruction
            k = i1
            while k not in ends and k > 0 and (not old[k - 1].strip() or old[k - 1].lstrip().startswith("#")):
                k -= 1
            assert k in ends, f"{path}: lines inserted inside an instruction after line {i1}"


def _changeable(doc, old: list[str], edited: set[str], around: bool, comments: bool) -> set[int]:
    """Line numbers that may change: the edited instructions' lines and, as asked, comment lines."""
    allowed: set[int] = set()
    for ins in doc.instructions:
        if ins.keyword not in edited:
            continue
        allowed.update(range(ins.line, ins.end_line + 1))
        above = ins.line - 1
        while around and above >= 1 and (not old[above - 1].strip() or old[above - 1].lstrip().startswith("#")):
            allowed.add(above)
            above -= 1
    if comments:
        allowed.update(n + 1 for n, line in enumerate(old) if line.lstrip().startswith("#"))
    return allowed
