"""Running a YAML transform (Kubernetes manifests, Compose files) over the shared corpus: no
errors, idempotent, the oracle accepts every output whose input it accepted, and only lines the
fix is about change."""
from __future__ import annotations

import difflib
from collections import Counter
from functools import lru_cache
from typing import Callable

from orchfix import documents
from orchfix.documents import ParseError
from orchfix.text import decode
from orchfix.workspace import Workspace
from tests.corpus import CORPUS, files
from tests.helpers import compose_errors, fix, k8s_errors, run

#: (line before or None, line after or None) → whether the change belongs to the fix
LineCheck = Callable[[str | None, str | None], bool]


@lru_cache(maxsize=1)
def corpus_workspace() -> Workspace:
    return Workspace.scan([str(CORPUS)])


def changed_lines(before: str, after: str) -> list[tuple[str | None, str | None]]:
    """Every line that differs: (old, new) for a line changed in place, (old, None) for a
    removed one, (None, new) for an added one."""
    old, new = before.splitlines(), after.splitlines()
    found: list[tuple[str | None, str | None]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        pairs = min(i2 - i1, j2 - j1) if op == "replace" else 0
        found += [(old[i1 + k], new[j1 + k]) for k in range(pairs)]
        found += [(line, None) for line in old[i1 + pairs:i2]]
        found += [(None, line) for line in new[j1 + pairs:j2]]
    return found


def inserted(old: str, new: str) -> str | None:
    """The text inserted into ``old`` to make ``new`` (one contiguous insertion), else None."""
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    # back off so the suffix may start inside the common prefix (`{a: 1}` → `{a: 1, b: 2}`)
    for start in range(prefix, -1, -1):
        extra = len(new) - len(old)
        if extra >= 0 and new[:start] == old[:start] and new[start + extra:] == old[start:]:
            return new[start:start + extra]
    return None


def _subject(error: str) -> str:
    """The object (by name) or path an oracle error is about: an object that was invalid before
    may stay invalid after, whatever its kind became (``Pod/x: …`` → ``Deployment/x: …``)."""
    head = error.split(": ", 1)[0]
    return head.split("/", 1)[-1]


def oracle(kind: str) -> Callable[[str], list[str]]:
    return k8s_errors if kind == "k8s" else compose_errors


def new_errors(before: str, after: str, kind: str = "k8s") -> list[str]:
    """Oracle errors of ``after`` that ``before`` did not have (for k8s: on objects, by name,
    that were valid before; an object that was invalid may stay so, whatever its kind became)."""
    check = oracle(kind)
    old = set(check(before))
    was_bad = {_subject(e) for e in old} if kind == "k8s" else set()
    return [e for e in check(after) if e not in old and _subject(e) not in was_bad]


def k8s_fixed(transform_id: str, text: str, **kw) -> str:
    """The manifest after ``transform_id`` (idempotence asserted); kubernetes-validate accepts
    every object of it that it accepted before."""
    after = fix(transform_id, text, kind="k8s", **kw)
    assert not new_errors(text, after), new_errors(text, after)
    return after


def added_only(before: str, after: str) -> list[str]:
    """The lines ``after`` adds to ``before``, asserting it changes and removes none."""
    changes = changed_lines(before, after)
    assert all(old is None for old, _ in changes), [c for c in changes if c[0] is not None]
    return [new for _, new in changes]


def check_corpus(transform_id: str, kind: str = "k8s", *, options: dict | None = None,
                 line_ok: LineCheck | None = None, file_ok: Callable[[str, str], bool] | None = None) -> Counter:
    """Run ``transform_id`` over every corpus file of ``kind`` with a workspace over the corpus.

    Asserts: no errors; a second run changes nothing; no output gains an oracle error; every
    changed line passes ``line_ok``; ``file_ok(before, after)`` holds for every changed file.
    Returns counts: ``applied``, ``files``, and report-only findings as ``reported: <reason's first words>``."""
    workspace = corpus_workspace()
    counts: Counter = Counter()
    for path in files(kind):
        text, _ = decode(path.read_bytes())
        try:
            documents.load(str(path), kind, text)
        except ParseError:
            continue
        workspace.staged = {}
        result = run(transform_id, text, kind=kind, path=str(path), workspace=workspace, options=options)
        assert not result.errors, (path, result.errors)
        counts["applied"] += len(result.applied)
        for finding in result.remaining:
            if finding.fix is None:
                assert finding.reason, finding
                counts["reported: " + " ".join(finding.reason.split()[:6])] += 1
        if not result.changed:
            continue
        counts["files"] += 1
        workspace.staged = {}
        again = run(transform_id, result.text, kind=kind, path=str(path), workspace=workspace, options=options)
        assert again.text == result.text, f"{path}: not idempotent"
        if line_ok:
            bad = [pair for pair in changed_lines(text, result.text) if not line_ok(*pair)]
            assert not bad, (path, bad[:5])
        assert file_ok is None or file_ok(text, result.text), path
        try:
            added = new_errors(text, result.text, kind)
        except Exception:  # the oracle's own loader rejects the input (unhashable keys…): nothing to compare
            continue
        assert not added, (path, added)
    workspace.staged = {}
    return counts
