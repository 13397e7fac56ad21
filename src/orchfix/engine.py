"""Runs the selected transforms over a workspace: in parallel, per file, then side files.

Each file is read, parsed once and fixed by :mod:`orchfix.fixer` in a worker process (or in
this process for small runs). Side files (a new ``.dockerignore``, an ``.env``) that two
files' fixes both touch are settled by re-running the later file against the earlier one's
result, here, in order. Nothing is written here: :func:`write` does that, atomically.
"""
from __future__ import annotations

import contextlib
import gc
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable

from orchfix import documents, kinds
from orchfix.config import Settings
from orchfix.fixer import FileOutcome, fix_document
from orchfix.text import DecodeError, Encoding, decode
from orchfix.transform import Context, Transform
from orchfix.workspace import FileEntry, Workspace

#: below this many files, worker processes cost more than they save
PARALLEL_THRESHOLD = 48
#: rounds over the whole workspace, for fixes that enable fixes in other files
MAX_ROUNDS = 3


@dataclass
class RunResult:
    outcomes: list[FileOutcome] = field(default_factory=list)
    #: side files: path → (text before, None when new; text after)
    side: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    #: (path, message) for files that could not be read, parsed or fixed
    errors: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.changed]

    def has_changes(self) -> bool:
        return bool(self.changed or self.side)


@dataclass
class Job:
    """What every worker needs to know: transform classes, settings, the file list."""

    transforms: list[type[Transform]]
    settings: Settings
    workspace: Workspace

    def unsafe_ok(self) -> set[str] | bool:
        # an unsafe transform applies with --unsafe, or when the config selects it by its id
        return True if self.settings.unsafe else set(self.settings.chosen)

    def instances(self) -> list[Transform]:
        return [
            cls(Context(self.settings.options_for(cls), self.workspace, self.settings.pins))
            for cls in self.transforms
        ]


_job: Job | None = None
_instances: list[Transform] = []


def _init_worker(job: Job) -> None:
    global _job, _instances
    _job, _instances = job, job.instances()


#: collector thresholds for a run: parsing makes objects by the hundred thousand (YAML nodes and
#: marks) and the caches keep many alive, so collecting every 700 allocations (the default) spends
#: a third of a run rescanning them; the little cyclic garbage (compose files and their services)
#: waits a little longer
GC_THRESHOLDS = (100_000, 50, 1000)


@contextlib.contextmanager
def _collector_tuned():
    before = gc.get_threshold()
    gc.set_threshold(*(max(a, b) for a, b in zip(before, GC_THRESHOLDS)))
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _init_pool_worker(job: Job) -> None:
    gc.set_threshold(*(max(a, b) for a, b in zip(gc.get_threshold(), GC_THRESHOLDS)))
    _init_worker(job)


def _process(entry: FileEntry) -> FileOutcome | tuple[str, str] | None:
    """One file's outcome; ``(path, message)`` when it cannot be read or parsed; None when untouched."""
    assert _job is not None
    staged = _job.workspace.staged.get(entry.path)
    try:
        text, encoding = decode(Path(entry.path).read_bytes()) if Path(entry.path).exists() else ("", Encoding())
    except (OSError, DecodeError) as exc:
        return entry.path, f"cannot read: {exc}"
    if staged is not None:
        text = staged  # an earlier round's result
    if not any(t.applies_to(entry.kind, text) for t in _instances):
        return None
    return _fix(entry, text, encoding, shared=True)


def _fix(entry: FileEntry, text: str, encoding: Encoding, shared: bool = False) -> FileOutcome | tuple[str, str] | None:
    """Fix one file from ``text``. ``shared``: its document may be the one the workspace parsed
    for other files' checks (the first time a round fixes the file; a file fixed again gets a
    document of its own, since transforms may keep what they worked out on the document)."""
    try:
        if shared and encoding == Encoding():
            doc = _job.workspace.parse(entry.path, entry.kind, text)
        else:
            doc = documents.load(entry.path, entry.kind, text, encoding)
    except documents.ParseError as exc:
        where = f"{entry.path}:{exc.line}" if exc.line else entry.path
        return where, f"does not parse as {entry.kind}: {exc.message}; skipped"
    outcome = fix_document(doc, _instances, _job.unsafe_ok())
    if not (outcome.changed or outcome.applied or outcome.remaining or outcome.errors or outcome.side):
        return None
    return outcome


def run(job: Job, jobs: int = 0, progress: Callable[[int, int], None] | None = None) -> RunResult:
    """Fix every file of the job's workspace with its transforms; nothing is written.

    A fix in one file can make a fix in another possible or needed (a HEALTHCHECK written into
    a Dockerfile lets its compose dependents wait for health), so the run repeats over the
    texts the previous round produced until a round changes nothing (at most ``MAX_ROUNDS``).
    """
    with _collector_tuned():
        return _run(job, jobs, progress)


def _run(job: Job, jobs: int, progress: Callable[[int, int], None] | None) -> RunResult:
    result = _round(job, jobs, progress)
    for _ in range(MAX_ROUNDS - 1):
        if not result.has_changes():
            break
        staged = {o.path: o.text for o in result.changed} | {p: after for p, (_, after) in result.side.items()}
        files = dict(job.workspace.files)
        for path, text in staged.items():
            if path not in files:  # a file the previous round created: its kind from its name and text
                files[path] = FileEntry(path, kinds.classify(PurePosixPath(path), text.encode()[:65536], False))
        base = Workspace(files=files, notes=job.workspace.notes, staged=staged)
        base.inherit(job.workspace)
        again = _round(Job(job.transforms, job.settings, base), jobs, progress)
        _merge(result, again)
        if not again.has_changes():
            break
    return result


def _round(job: Job, jobs: int, progress: Callable[[int, int], None] | None) -> RunResult:
    entries = [e for e in job.workspace.files.values() if any(e.kind in t.kinds for t in job.transforms)]
    result = RunResult(notes=list(job.workspace.notes))
    start = dict(job.workspace.staged)  # what earlier rounds wrote: this round's starting texts
    jobs = jobs or os.cpu_count() or 1
    results: Iterable
    if jobs == 1 or len(entries) < PARALLEL_THRESHOLD:
        _init_worker(job)
        results = map(_process, entries)
        pool = None
    else:
        _warm(job.workspace)
        pool = ProcessPoolExecutor(max_workers=jobs, initializer=_init_pool_worker, initargs=(job,))
        results = pool.map(_process, entries, chunksize=max(1, min(32, len(entries) // (jobs * 8))))
    try:
        for done, item in enumerate(results, 1):
            if progress:
                progress(done, len(entries))
            if isinstance(item, tuple):
                result.errors.append(item)
            elif item is not None:
                result.outcomes.append(item)
    finally:
        if pool:
            pool.shutdown()
    _settle_side_files(job, result, start)
    for outcome in result.outcomes:
        result.errors.extend((outcome.path, message) for message in outcome.errors)
    return result


#: kinds whose files transforms read while fixing others (every manifest, compose file, Dockerfile)
_READ_ACROSS = ("k8s", "compose", "dockerfile")


def _warm(workspace: Workspace) -> None:
    """Parse the files other files' checks read, here, once: the workers start with them (a
    forked worker shares them) instead of each parsing them all again, and so does settling."""
    for entry in workspace.files.values():
        if entry.kind in _READ_ACROSS:
            workspace.document(entry.path)


def _merge(result: RunResult, again: RunResult) -> None:
    """Fold a later round into the first: final texts, all fixes applied, what is left now."""
    by_path = {o.path: o for o in result.outcomes}
    seen = set()
    for later in again.outcomes:
        seen.add(later.path)
        first = by_path.get(later.path)
        if first is not None:
            first.text, first.remaining = later.text, later.remaining
            first.applied += later.applied
            first.errors += later.errors
        elif later.path in result.side:  # a file the first round created, fixed in its own right now
            result.side[later.path] = (result.side[later.path][0], later.text)
        else:
            result.outcomes.append(later)
            by_path[later.path] = later
    for outcome in result.outcomes:
        if outcome.path not in seen and outcome.changed:
            outcome.remaining = []  # the later round found nothing left in its text
    for path, (_, after) in again.side.items():
        if path in by_path:
            by_path[path].text = after
        else:
            result.side[path] = (result.side.get(path, (Workspace.read_disk(path), ""))[0], after)
    result.errors = list(dict.fromkeys(result.errors + again.errors))


def _settle_side_files(job: Job, result: RunResult, base: dict[str, str]) -> None:
    """Merge side files in file order; a file whose side edits met another's is fixed again.

    A side edit may land in a file that is fixed in its own right (a reference renamed in
    another manifest): that file is fixed again from the text the earlier files' side edits
    left, and its result is what later side edits apply to; its final text (later side edits
    included) is written once, as its own outcome.
    """
    _init_worker(Job(job.transforms, job.settings, job.workspace))
    workspace = job.workspace
    workspace.staged = dict(base)  # what workers staged in this process is recomputed below
    own = {o.path for o in result.outcomes}
    for i, outcome in enumerate(result.outcomes):
        staged = workspace.staged
        edited = outcome.path in staged and staged[outcome.path] != outcome.original
        if edited or any(path in staged and staged[path] != text for path, text in outcome.side.items()):
            entry = workspace.files[outcome.path]
            source = staged.get(outcome.path, outcome.original)
            redone = _fix(entry, source, outcome.encoding)
            if redone is None:
                redone = FileOutcome(outcome.path, outcome.kind, source, source, outcome.encoding)
            if isinstance(redone, FileOutcome):
                redone.original = outcome.original
                result.outcomes[i] = outcome = redone
        workspace.staged.update(outcome.side)
        if outcome.changed or outcome.path in workspace.staged:
            workspace.staged[outcome.path] = outcome.text
    for outcome in result.outcomes:
        outcome.text = workspace.staged.get(outcome.path, outcome.text)
    for path, text in workspace.staged.items():
        before = base[path] if path in base else workspace.read_disk(path)
        if path not in own and before != text:
            result.side[path] = (before, text)


def write(path: str, text: str, encoding: Encoding) -> None:
    """Write atomically: a temporary file in the same folder, then a rename; the mode is kept."""
    target = Path(path)
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".orchfix")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(encoding.encode(text))
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def apply(result: RunResult) -> list[tuple[str, str]]:
    """Write every changed file and side file; returns (path, message) for writes that failed."""
    failed = []
    for outcome in result.changed:
        try:
            write(outcome.path, outcome.text, outcome.encoding)
        except OSError as exc:
            failed.append((outcome.path, f"cannot write: {exc.strerror or exc}"))
    for path, (before, text) in result.side.items():
        try:
            encoding = decode(Path(path).read_bytes())[1] if before is not None else Encoding()
            write(path, text, encoding)
        except OSError as exc:
            failed.append((path, f"cannot write: {exc.strerror or exc}"))
    return failed
