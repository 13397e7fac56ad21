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
from orchfix.transform import Finding, Safety, Transform

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
    #: final text of every other file this file's fixes create or edit
    side: dict[str, str] = field(default_factory=dict)
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
    """The applicable fixes whose edits (own file and side files) overlap no earlier pick."""
    picked: list[Finding] = []
    taken: dict[str | None, list[Edit]] = {}
    for f in findings:
        if f.fix is None or not allowed(f, unsafe_ok):
            continue
        wanted = [(None, e) for e in f.fix.edits] + [(s.path, e) for s in f.fix.side for e in s.edits]
        if any(overlaps(e, t) for path, e in wanted for t in taken.get(path, ())):
            continue
        picked.append(f)
        for path, e in wanted:
            taken.setdefault(path, []).append(e)
    return picked


def _run_one(transform: Transform, doc: Document, unsafe_ok) -> tuple[Document, list[Finding], list[Finding]]:
    """Apply one transform to its own fixpoint; raise GateError when it cannot. Returns the
    final document, the findings applied, and the findings left in the final document."""
    workspace = transform.ctx.workspace
    applied: list[Finding] = []
    for _ in range(MAX_PASSES):
        findings = _findings(transform, doc)
        picked = _pick(findings, unsafe_ok)
        if not picked:
            return doc, applied, findings
        new_text = apply_edits(doc.text, [e for f in picked for e in f.fix.edits])
        side: dict[str, list[Edit]] = {}
        for change in (c for f in picked for c in f.fix.side):
            side.setdefault(change.path, []).extend(change.edits)
        for path, edits in side.items():
            # later checks (and later files) see the side file as it will be written
            workspace.stage(path, edits)
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
    broken: set[str] = set()
    # what each transform found last, in which document, with which staged files: when the final
    # document and the staged files are still those, the findings left are these (checks are
    # functions of the document and the workspace's texts)
    left: dict[str, tuple[Document, object, list[Finding]]] = {}
    for _ in range(MAX_PASSES):
        changed = False
        for transform in transforms:
            if transform.id in broken or not transform.applies_to(doc.kind, doc.text):
                continue
            workspace = transform.ctx.workspace
            staged = workspace.staged
            staged.checkpoint()  # what it stages is undone when it fails
            try:
                new_doc, applied, found = _run_one(transform, doc, unsafe_ok)
            except Exception as exc:  # a gate or a transform bug: skip it here, the run goes on
                detail = str(exc) if isinstance(exc, GateError) else f"{transform.id} failed: {type(exc).__name__}: {exc}"
                outcome.errors.append(detail)
                workspace.staged = staged.restored()
                broken.add(transform.id)
                continue
            finally:
                staged.release()
            left[transform.id] = (new_doc, _version(transform), found)
            if applied:
                outcome.applied.extend(applied)
                for change in (c for f in applied for c in f.fix.side):
                    outcome.side[change.path] = transform.ctx.workspace.staged[change.path]
                changed = changed or new_doc.text != doc.text
                doc = new_doc
        if not changed:
            break
    else:
        outcome.errors.append(f"the transforms did not settle after {MAX_PASSES} rounds; the last round's text is kept")
    outcome.text = doc.text
    for transform in transforms:
        if transform.id not in broken and transform.applies_to(doc.kind, doc.text):
            last = left.get(transform.id)
            if last is not None and last[0] is doc and last[1] is not None and last[1] is _version(transform):
                outcome.remaining.extend(last[2])
            else:
                outcome.remaining.extend(_findings(transform, doc))
    return outcome


def _version(transform: Transform) -> object | None:
    """The state of the staged files the transform sees (None: unknown, nothing is reused)."""
    workspace = transform.ctx.workspace
    return getattr(workspace.staged, "version", None) if workspace is not None else None
