"""One file through the selected transforms, to a fixpoint, behind the write gates.

Each transform in turn runs on the current text; its non-overlapping fixes are spliced in
and the result re-parsed. A fix set is kept only when the text still parses and, after at
most ``MAX_PASSES`` rounds, the transform has stopped firing; otherwise the file keeps its
previous text and the failure is reported. The outer loop repeats until no transform
changes anything, so fixes that touched the same lines land in later rounds.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from orchfix import documents
from orchfix.documents import Document, ParseError
from orchfix.suppress import suppressed
from orchfix.text import Edit, Encoding, apply_edits, overlaps
from orchfix.transform import Finding, Safety, SideChange, Transform

MAX_PASSES = 8


@dataclass
class FileOutcome:
    """What happened to one file: its final text, the fixes applied, what is left."""

    path: str
    kind: str
    original: str
    text: str
    encoding: Encoding
    applied: list[Finding] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)
    side: list[SideChange] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.text != self.original


def allowed(finding: Finding, unsafe_ok: set[str] | bool) -> bool:
    """Whether a fixable finding may be applied under the unsafe settings."""
    if finding.safety is Safety.SAFE:
        return True
    return unsafe_ok is True or (isinstance(unsafe_ok, set) and finding.transform in unsafe_ok)


def _findings(transform: Transform, doc: Document) -> list[Finding]:
    return [f for f in transform.check(doc) if not suppressed(doc.text, f.line, f.transform)]


def _pick(findings: list[Finding], unsafe_ok) -> list[Finding]:
    """The applicable fixes whose edits overlap no earlier pick."""
    picked: list[Finding] = []
    taken: list[Edit] = []
    for f in findings:
        if f.fix is None or not allowed(f, unsafe_ok):
            continue
        if any(overlaps(e, t) for e in f.fix.edits for t in taken):
            continue
        picked.append(f)
        taken.extend(f.fix.edits)
    return picked


def _run_one(transform: Transform, doc: Document, unsafe_ok) -> tuple[Document, list[Finding]]:
    """Apply one transform to its own fixpoint; raise GateError when it cannot get there."""
    applied: list[Finding] = []
    for _ in range(MAX_PASSES):
        picked = _pick(_findings(transform, doc), unsafe_ok)
        if not picked:
            return doc, applied
        new_text = apply_edits(doc.text, [e for f in picked for e in f.fix.edits])
        if new_text == doc.text and not any(f.fix.side for f in picked):
            return doc, applied
        try:
            doc = documents.load(doc.path, doc.kind, new_text, doc.encoding)
        except ParseError as exc:
            raise GateError(f"{transform.id} produced text that does not parse ({exc}); its fixes were not written") from None
        applied.extend(picked)
    raise GateError(f"{transform.id} still fires after {MAX_PASSES} passes; its fixes were not written")


class GateError(Exception):
    """A transform's output failed a write gate."""


def fix_document(doc: Document, transforms: list[Transform], unsafe_ok: set[str] | bool = False) -> FileOutcome:
    """Run ``transforms`` over ``doc`` to a fixpoint; report what applied and what is left."""
    outcome = FileOutcome(doc.path, doc.kind, doc.text, doc.text, doc.encoding)
    active = [t for t in transforms if t.applies_to(doc.kind, doc.text)]
    broken: set[str] = set()
    for _ in range(MAX_PASSES):
        changed = False
        for transform in active:
            if transform.id in broken:
                continue
            try:
                new_doc, applied = _run_one(transform, doc, unsafe_ok)
            except GateError as exc:
                outcome.errors.append(str(exc))
                broken.add(transform.id)
                continue
            except Exception as exc:  # a transform bug must not stop the run
                outcome.errors.append(f"{transform.id} failed: {type(exc).__name__}: {exc}")
                broken.add(transform.id)
                continue
            if applied:
                outcome.applied.extend(applied)
                outcome.side.extend(s for f in applied for s in f.fix.side)
                changed = changed or new_doc.text != doc.text
                doc = new_doc
        if not changed:
            break
    outcome.text = doc.text
    for transform in active:
        if transform.id in broken:
            continue
        for f in _findings(transform, doc):
            outcome.remaining.append(f)
    return outcome
