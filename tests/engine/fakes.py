"""Small transforms that exercise the engine's gates (not part of the catalog)."""
from __future__ import annotations

import posixpath
import re

from orchfix.text import Edit
from orchfix.transform import Safety, SideChange, Transform


class UpperKeyword(Transform):
    """Uppercases lowercase instruction keywords."""

    id, category, title, kinds = "zz-001", "zz", "Uppercase keywords", frozenset({"dockerfile"})

    def check(self, doc):
        for ins in doc.instructions:
            if ins.raw_keyword != ins.keyword:
                yield self.finding(doc, ins.line, "lowercase keyword", [Edit(ins.keyword_start, ins.keyword_end, ins.keyword)])


class Breaker(Transform):
    """Writes an instruction that does not exist."""

    id, category, title, kinds = "zz-002", "zz", "Breaks the file", frozenset({"dockerfile"})

    def check(self, doc):
        if doc.instructions:
            yield self.finding(doc, 1, "break", [Edit.insert(0, "BOGUS x\n")])


class Flapper(Transform):
    """Appends a line forever: never reaches a fixpoint."""

    id, category, title, kinds = "zz-003", "zz", "Never settles", frozenset({"dockerfile"})

    def check(self, doc):
        yield self.finding(doc, 1, "again", [Edit.insert(len(doc.text), "# again\n")])


class Crasher(Transform):
    """Raises inside check."""

    id, category, title, kinds = "zz-004", "zz", "Crashes", frozenset({"dockerfile"})

    def check(self, doc):
        raise RuntimeError("boom")


class IgnoreFile(Transform):
    """Creates a .dockerignore beside a Dockerfile that has none."""

    id, category, title, kinds = "zz-005", "zz", "Adds .dockerignore", frozenset({"dockerfile"})

    def check(self, doc):
        target = posixpath.join(posixpath.dirname(doc.path), ".dockerignore")
        if not self.ctx.workspace.exists(target):
            yield self.finding(doc, 1, "no .dockerignore", side=[SideChange(target, [Edit.insert(0, ".git\n")])])


class UnsafeTag(Transform):
    """Replaces ':latest' with ':1' (unsafe)."""

    id, category, title, kinds = "zz-006", "zz", "Pins latest", frozenset({"dockerfile"})
    safety = Safety.UNSAFE
    precheck = re.compile("latest")

    def check(self, doc):
        for m in re.finditer(":latest", doc.text):
            yield self.finding(doc, doc.line_of(m.start()), "latest", [Edit(m.start(), m.end(), ":1")])


class Renamer(Transform):
    """Renames ``old`` to ``new`` in a.Dockerfile and, as a side change, in b.Dockerfile."""

    id, category, title, kinds = "zz-007", "zz", "Renames across files", frozenset({"dockerfile"})

    def check(self, doc):
        at = doc.text.find("old")
        if doc.path != "a.Dockerfile" or at < 0:
            return
        other = self.ctx.workspace.read("b.Dockerfile") or ""
        side = [SideChange("b.Dockerfile", [Edit(m.start(), m.end(), "new") for m in re.finditer("old", other)])]
        yield self.finding(doc, 1, "rename", [Edit(at, at + 3, "new")], side=side)


class Follower(Transform):
    """Marks b.Dockerfile once a.Dockerfile reads FROM in upper case: a fix another file enables."""

    id, category, title, kinds = "zz-008", "zz", "Follows another file", frozenset({"dockerfile"})

    def check(self, doc):
        other = self.ctx.workspace.read("a.Dockerfile") or ""
        if doc.path == "b.Dockerfile" and other.startswith("FROM") and "# follows a" not in doc.text:
            yield self.finding(doc, 1, "follow", [Edit.insert(len(doc.text), "# follows a\n")])
