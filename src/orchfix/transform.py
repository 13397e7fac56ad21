"""The transform protocol: what a pattern declares and what it returns.

A transform is a class with an ``id``, ``category``, ``title``, default ``safety``, the file
``kinds`` it reads, its ``options`` with defaults, a cheap text ``precheck`` and a ``check``
method. ``check`` yields :class:`Finding` objects; a fixable finding carries a :class:`Fix`
made of edits to its own file and, for cross-file patterns, :class:`SideChange` edits to other
files (a path that does not exist yet is created).

The class docstring has the sections *What it finds / Why it matters / Before / After /
Options / Safety*; Before and After are indented examples that the tests run and
``orchfix --explain`` prints. A cross-file transform whose example needs other files (a
package.json beside the Dockerfile) names them in ``example_files`` (path → content): the
catalog test writes them into an empty folder, runs the example there with a workspace over
that folder, and ``orchfix --explain`` prints them before the example. ``example_side`` (path →
content after the fix) is what the example's fix writes to other files (a new .dockerignore);
the catalog test compares it with the side files the run produced.
"""
from __future__ import annotations

import enum
import inspect
import re
import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Iterable

from orchfix.text import Edit

if TYPE_CHECKING:
    from orchfix.documents import Document
    from orchfix.workspace import Workspace

SECTIONS = ("What it finds", "Why it matters", "Before", "After", "Options", "Safety")


class Safety(str, enum.Enum):
    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass
class SideChange:
    """Edits to another file than the finding's own; on a missing file, it is created."""

    path: str
    edits: list[Edit]


@dataclass
class Fix:
    """What applying a finding writes; ``safety`` overrides the transform's default."""

    edits: list[Edit]
    side: list[SideChange] = field(default_factory=list)
    safety: Safety | None = None


@dataclass
class Finding:
    """One occurrence of a pattern. Without ``fix`` it is report-only and ``reason`` says why."""

    transform: str
    path: str
    line: int
    message: str
    fix: Fix | None = None
    reason: str | None = None
    safety: Safety = Safety.SAFE

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.transform, "path": self.path, "line": self.line, "message": self.message,
            "fixable": self.fix is not None, "safety": self.safety.value, "reason": self.reason,
        }


@dataclass
class Context:
    """What a transform may consult besides its document."""

    options: dict[str, Any]
    workspace: "Workspace | None" = None
    pins: dict[str, str] = field(default_factory=dict)


class Transform:
    """Base class of every pattern; see the module docstring for the contract."""

    id: ClassVar[str]
    category: ClassVar[str]
    title: ClassVar[str]
    safety: ClassVar[Safety] = Safety.SAFE
    kinds: ClassVar[frozenset[str]]
    options: ClassVar[dict[str, Any]] = {}
    #: a regex that must match the raw text for ``check`` to be worth running
    precheck: ClassVar[re.Pattern[str] | None] = None
    #: files beside the docstring example (path relative to the example's folder → content)
    example_files: ClassVar[dict[str, str]] = {}
    #: other files the example's fix creates or edits (path → their content after the fix)
    example_side: ClassVar[dict[str, str]] = {}

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.opts = ctx.options

    def applies_to(self, kind: str, text: str) -> bool:
        if kind not in self.kinds:
            return False
        if self.precheck is None:
            return True
        # the same text is asked about again and again (each pass of the fixer, the final check)
        memo = self.__dict__.get("_precheck_memo")
        if memo is not None and memo[0] is text and memo[1] is self.precheck:
            return memo[2]
        found = _prechecked(self.precheck, text)
        self.__dict__["_precheck_memo"] = (text, self.precheck, found)
        return found

    def check(self, doc: "Document") -> Iterable[Finding]:
        raise NotImplementedError

    def finding(
        self, doc: "Document", line: int, message: str, edits: list[Edit] | None = None, *,
        side: list[SideChange] | None = None, reason: str | None = None, safety: Safety | None = None,
    ) -> Finding:
        """A finding in ``doc`` at ``line``: fixable when ``edits`` (or ``side``) is given."""
        fix = Fix(edits or [], side or [], safety) if (edits or side) else None
        return Finding(self.id, doc.path, line, message, fix, reason, safety or self.safety)

    @classmethod
    def doc_sections(cls) -> dict[str, str]:
        """The docstring split into its sections (Before/After dedented)."""
        doc = inspect.cleandoc(cls.__doc__ or "")
        heads = "|".join(re.escape(s) for s in SECTIONS)
        parts = re.split(rf"^({heads}):[ \t]*", doc, flags=re.M)
        sections = {"Summary": parts[0].strip()}
        for head, body in zip(parts[1::2], parts[2::2]):
            sections[head] = textwrap.dedent(body).strip("\n") + "\n" if head in ("Before", "After") else body.strip()
        return sections


def _prechecked(precheck: re.Pattern[str], text: str) -> bool:
    """``precheck.search(text) is not None``, faster: a text that lacks every literal a match must
    contain cannot match, and when every match starts with one of a few literals, the pattern is
    only tried where they occur (a regex that cannot use a literal prefix, as after a leading
    ``\b``, otherwise tries every position)."""
    shortcut = _shortcut(precheck)
    if shortcut is None:
        return precheck.search(text) is not None
    required, prefixes = shortcut
    if required is not None and not any(literal in text for literal in required):
        return False
    if prefixes is None:
        return precheck.search(text) is not None
    for prefix in prefixes:
        at = text.find(prefix)
        while at >= 0:
            if precheck.match(text, at) is not None:
                return True
            at = text.find(prefix, at + 1)
    return False


_SHORTCUTS: dict[re.Pattern[str], tuple[frozenset[str] | None, frozenset[str] | None] | None] = {}


def _shortcut(pattern: re.Pattern[str]) -> tuple[frozenset[str] | None, frozenset[str] | None] | None:
    """(strings one of which every match contains, strings one of which every match starts
    with), each None when that cannot be told; None when neither can."""
    if pattern not in _SHORTCUTS:
        try:
            found = _analyse(pattern)
        except Exception:  # an internal of the re module that changed: no shortcut, same results
            found = None
        _SHORTCUTS[pattern] = found if found and (found[0] or found[1]) else None
    return _SHORTCUTS[pattern]


def _required_literals(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Strings one of which every match of ``pattern`` contains; None when that cannot be told."""
    found = _shortcut(pattern)
    return found[0] if found else None


class _NoShortcut(Exception):
    pass


def _analyse(pattern: re.Pattern[str]) -> tuple[frozenset[str] | None, frozenset[str] | None] | None:
    try:
        from re import _constants as sre, _parser as parser  # Python 3.11+
    except ImportError:  # pragma: no cover - Python 3.10
        import sre_constants as sre
        import sre_parse as parser
    if not isinstance(pattern.pattern, str) or pattern.flags & re.IGNORECASE:
        return None
    parsed = parser.parse(pattern.pattern, pattern.flags)
    if parsed.state.flags & re.IGNORECASE:
        return None
    repeats = {sre.MAX_REPEAT, sre.MIN_REPEAT} | ({sre.POSSESSIVE_REPEAT} if hasattr(sre, "POSSESSIVE_REPEAT") else set())
    zero_width = {sre.AT, sre.ASSERT, sre.ASSERT_NOT}
    atomic = getattr(sre, "ATOMIC_GROUP", None)

    def inner(op, arg):
        """The items of a group (None for other items); a case-insensitive group stops all."""
        if op is sre.SUBPATTERN:
            if arg[1] & re.IGNORECASE:
                raise _NoShortcut
            return arg[3]
        if atomic is not None and op is atomic:
            return arg
        return None

    def contained(items) -> frozenset[str] | None:
        """Strings one of which a match of ``items`` contains: the most selective of its literal
        runs and of what its groups, branches and repeats require."""
        options: list[frozenset[str]] = []
        run: list[str] = []
        for op, arg in items:
            if op is sre.LITERAL:
                run.append(chr(arg))
                continue
            if run:
                options.append(frozenset(["".join(run)]))
                run = []
            found = None
            group = inner(op, arg)
            if group is not None:
                found = contained(group)
            elif op is sre.BRANCH:
                alternatives = [contained(alt) for alt in arg[1]]
                if all(a is not None for a in alternatives):
                    found = frozenset().union(*alternatives)
            elif op in repeats and arg[0] >= 1:
                found = contained(arg[2])
            if found:
                options.append(found)
        if run:
            options.append(frozenset(["".join(run)]))
        options = [o for o in options if o and all(o)]
        return max(options, key=lambda o: (min(map(len, o)), -len(o))) if options else None

    def starting(items) -> frozenset[str] | None:
        """Strings one of which a match of ``items`` starts with (None: unknown); assertions
        before the first literal take no text."""
        items = list(items)
        i = 0
        while i < len(items) and items[i][0] in zero_width:
            i += 1
        if i == len(items):
            return None
        op, arg = items[i]
        if op is sre.LITERAL:
            run = []
            while i < len(items) and items[i][0] is sre.LITERAL:
                run.append(chr(items[i][1]))
                i += 1
            head = "".join(run)
            # a run directly followed by a group or branch: extended by what that starts with
            if i < len(items):
                following = inner(*items[i])
                rest = starting(following) if following is not None else (
                    starting([items[i]]) if items[i][0] is sre.BRANCH else None)
                if rest and len(rest) <= 16:
                    return frozenset(head + r for r in rest)
            return frozenset([head])
        group = inner(op, arg)
        if group is not None:
            return starting(group)
        if op is sre.BRANCH:
            alternatives = [starting(alt) for alt in arg[1]]
            if all(alternatives):
                return frozenset().union(*alternatives)
            return None
        if op in repeats and arg[0] >= 1:
            return starting(arg[2])
        return None

    try:
        required = contained(parsed)
        prefixes = starting(parsed)
    except _NoShortcut:
        return None
    required = required if required and min(map(len, required)) >= 2 else None
    prefixes = prefixes if prefixes and min(map(len, prefixes)) >= 2 and len(prefixes) <= 16 else None
    return required, prefixes


def is_transform(obj: object) -> bool:
    return inspect.isclass(obj) and issubclass(obj, Transform) and obj is not Transform and hasattr(obj, "id")
