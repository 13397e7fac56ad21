"""df-004: consecutive RUN instructions become one RUN (one layer)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from orchfix.documents.dockerfile import DockerfileDocument, Instruction
from orchfix import shell
from orchfix.shell import Segment, features
from orchfix.text import Edit, newline_of
from orchfix.transform import Finding, Safety, Transform
from orchfix.transforms._knowledge import stacks

from ._runs import (
    Command, Install, Shell, args_start, changes_state, command, command_words, join_style, last_line,
    parse_install, run_shells, segments,
)

#: top-level operators that bind looser than a joining `&&`: such a command needs `{ …; }`
_LOOSE = {"||", ";", "&", ";;", "\n"}
_OPENERS = {"{", "if", "for", "while", "until", "case"}
_CLOSERS = {"}", "fi", "done", "esac"}


@dataclass
class _Member:
    ins: Instruction
    start: int
    cmd: Command
    segs: list[Segment]
    shell: Shell
    leak: str | None
    starts_cd: bool
    install: Install | None
    #: the stacks whose dependencies this RUN installs, when it is an install layer io-003 can cache
    deps: frozenset[str]

    def grouped(self, position: int) -> bool:
        """Whether joining at ``position`` needs braces to keep the command's meaning."""
        trailing = self.segs[-1].op in (";", "&")
        return trailing or (position > 0 and bool(_outer_ops(self.segs) & _LOOSE))


def _outer_ops(segs: list[Segment]) -> set[str]:
    """Operators outside compound commands (`{ …; }`, if/fi, for/while/until … done, case/esac)."""
    ops, depth = set(), 0
    for seg in segs:
        word = (seg.text.split() or [""])[0]
        depth += word in _OPENERS
        depth -= word in _CLOSERS
        if depth <= 0 and seg.op:
            ops.add(seg.op)
    return ops


class MinimizeRunLayers(Transform):
    r"""Merge consecutive RUN instructions into one.

    What it finds:
    RUN instructions that follow each other in one stage with nothing but comments and blank
    lines between them: package-manager update, install and cleanup steps, or any run of plain
    shell-form RUNs with the same flags. A language dependency install (``npm ci``,
    ``pip install -r``, ``go mod download``, ``bundle install``… as the stacks knowledge lists
    them, with nothing else in its RUN but setup or cleanup that reads nothing of the project)
    ends a group: a RUN after it joins only when it installs more of the same or cleans up
    caches (``npm cache clean``), so ``RUN npm ci`` and ``RUN npm run build`` stay apart.
    System package installs (apt, apk, dnf…) are no such boundary.

    Why it matters:
    Every RUN is a layer. Files that a later RUN deletes (apt lists, caches, build
    dependencies) still ship in the earlier layer, and an `apt-get update` in its own layer is
    cached apart from the install that needs it, so a rebuild can install from stale lists.

    Before:
    FROM debian:12
    RUN apt-get update
    # tools for the build
    RUN apt-get install -y --no-install-recommends curl
    RUN apt-get install -y --no-install-recommends ca-certificates git

    RUN rm -rf /var/lib/apt/lists/*

    After:
    FROM debian:12
    RUN apt-get update && \
    # tools for the build
        apt-get install -y --no-install-recommends \
            ca-certificates \
            curl \
            git && \
        rm -rf /var/lib/apt/lists/*

    Options:
    None. The join is ` && ` plus the escape character, continued with the indentation the
    file's continuation lines already use (4 spaces when it has none).

    Safety:
    Safe. Each original RUN keeps its own lines; comments between them stay as comment lines
    (BuildKit drops them); blank lines between them go. A command with a top-level `;`, `||`
    or `&` is wrapped in `{ …; }` so a failure before it still stops the chain. Installs of
    one package manager with the same options become one install (packages sorted, one a line)
    only when they are adjacent whole RUNs. Skipped: exec-form and heredoc RUNs, RUNs whose flags
    (`--mount`, `--network`, `--security`) differ, stages whose shell is not a POSIX shell
    (SHELL powershell/cmd, Windows base images), and a RUN that starts with `cd` (df-005 turns it
    into WORKDIR), and a RUN after a dependency install that does more than install or clean
    up: the install keeps a layer of its own, cached until the manifests change (io-003 copies
    them in right before it); merged with the build, every source edit would reinstall.
    Report-only: RUNs not merged because the earlier one changes the shell for
    what follows (`cd`, `export`, `set -e`, `source`, a background job …), or because the shell
    runs with `-e` and the command would need braces (inside them `-e` stops applying).
    """

    id = "df-004"
    category = "df"
    title = "Minimize RUN layers"
    safety = Safety.SAFE
    kinds = frozenset({"dockerfile"})
    options: dict = {}
    precheck = re.compile(r"^[ \t]*run\b", re.I | re.M)

    def check(self, doc: DockerfileDocument) -> Iterator[Finding]:
        shells = run_shells(doc)
        for stage in doc.stages:
            chain: list[Instruction] = []
            for ins in [*stage.instructions, None]:
                if ins is not None and ins.keyword == "RUN":
                    chain.append(ins)
                    continue
                if len(chain) > 1:
                    yield from self._chain(doc, chain, shells)
                chain = []

    def _chain(self, doc: DockerfileDocument, chain: list[Instruction],
               shells: dict[int, Shell]) -> Iterator[Finding]:
        """Cut a run of adjacent RUNs into groups that merge safely; fix each group."""
        group: list[_Member] = []
        for ins in chain:
            member = self._member(doc, ins, shells[ins.line])
            prev = group[-1] if group else None
            if prev is not None and member is not None and prev.deps and _part_of_install(member, prev.deps):
                # an install's own follow-up (a second install, a cache cleanup) stays in its layer
                member.deps = prev.deps
            joins = prev is not None and member is not None and not self._apart(prev, member)
            reason = self._barrier(prev, member, len(group)) if joins else None
            if not joins or reason:
                if len(group) > 1:
                    yield self._merge(doc, group)
                if reason:
                    yield self.finding(doc, ins.line, "RUN not merged with the RUN above", reason=reason)
                group = []
            if member is not None:
                group.append(member)
        if len(group) > 1:
            yield self._merge(doc, group)

    def _member(self, doc: DockerfileDocument, ins: Instruction, sh: Shell) -> _Member | None:
        """A RUN that may join others, or None."""
        # powershell, cmd: `&&` and `{ }` are not theirs
        if not sh.posix:
            return None
        cmd = command(doc, ins)
        # exec form, heredocs, flags or comments in an unusual place
        if cmd is None or not cmd.text.strip():
            return None
        segs = segments(cmd.text)
        # unbalanced quotes, or a dangling `&&`/`||`/`|` at the end
        if segs is None or segs[-1].op in ("&&", "||", "|"):
            return None
        # `a; b;` needs `{ …; }` wherever it goes, and under -e the braces would stop -e
        if sh.errexit and segs[-1].op in (";", "&"):
            return None
        # an inline `# comment` would swallow the ` && \` appended after it
        if "comment" in features(cmd.text):
            return None
        words = command_words(segs[0].text) or []
        starts_cd = bool(words) and words[0] == "cd"
        install = parse_install(cmd.text) if len(segs) == 1 else None
        return _Member(ins, args_start(doc, ins), cmd, segs, sh, changes_state(cmd.text), starts_cd, install,
                       _install_layer(segs))

    @staticmethod
    def _apart(prev: _Member, cur: _Member) -> bool:
        """Silent reasons to keep two RUNs apart."""
        # different --mount/--network/--security: deliberately separate steps
        # a leading `cd` is df-005's: it becomes a WORKDIR first
        # a dependency install is a layer of its own, cached until the manifests change (io-003)
        return prev.ins.flags != cur.ins.flags or prev.starts_cd or cur.starts_cd or (
            bool(prev.deps) and cur.deps != prev.deps)

    @staticmethod
    def _barrier(prev: _Member, cur: _Member, position: int) -> str | None:
        """Why ``cur`` cannot follow ``prev`` in one shell, for a report-only finding."""
        if prev.leak:
            return f"the RUN above uses {prev.leak}, which would carry over to this RUN's commands in one shell"
        if cur.shell.errexit and cur.grouped(position):
            return "the shell runs with -e and this command would need `{ …; }`, inside which -e no longer stops it"
        return None

    def _merge(self, doc: DockerfileDocument, group: list[_Member]) -> Finding:
        """One RUN: each later keyword (and its flags) becomes the join, blank lines between go."""
        esc, nl = doc.escape, newline_of(doc.text)
        style = join_style(doc, [m.ins for m in group])
        indent = style.indent
        units = self._units(doc, group)
        edits: list[Edit] = []
        for k, unit in enumerate(units):
            first, last = unit[0], unit[-1]
            grouped = len(unit) == 1 and first.grouped(k)
            content_end, eol = last_line(doc, last.ins)
            lead = "" if k == 0 else indent
            head = ("" if k == 0 else indent + ("&& " if style.leading else "")) + ("{ " if grouped else "")
            head_from = first.start if k == 0 else first.ins.start
            if len(unit) > 1:
                edits.append(Edit(head_from, content_end, head + _install(unit, lead + indent, esc, nl)))
            elif head_from != first.start or head:
                edits.append(Edit(head_from, first.start, head))
            close = (" }" if first.segs[-1].op in (";", "&") else "; }") if grouped else ""
            if k == len(units) - 1:
                if close:
                    edits.append(Edit.insert(content_end, close))
                continue
            edits.append(Edit(content_end, eol, f"{close} {esc}" if style.leading else f"{close} && {esc}"))
            edits.extend(_blank_lines(doc, last.ins.end, units[k + 1][0].ins.start))
        message = f"{len(group)} consecutive RUN instructions make {len(group)} layers; one RUN makes one"
        if any(len(u) > 1 for u in units):
            message += " (the package installs share one command)"
        return self.finding(doc, group[0].ins.line, message, edits)

    @staticmethod
    def _units(doc: DockerfileDocument, group: list[_Member]) -> list[list[_Member]]:
        """Members in order; adjacent installs of one manager with the same options share a unit."""
        units: list[list[_Member]] = []
        for member in group:
            prev = units[-1][-1] if units else None
            if (
                prev is not None and member.install and prev.install
                and member.install.key == prev.install.key
                # a comment between them belongs to one of the package lists: keep them apart
                and "#" not in doc.text[prev.ins.end:member.ins.start]
            ):
                units[-1].append(member)
            else:
                units.append([member])
        return units


def _words(seg: Segment) -> list[str] | None:
    try:
        return stacks.tool_words(shell.words(seg.text))
    except ValueError:  # unbalanced quotes (shell.ShellSyntaxError is one)
        return None


def _install_layer(segs: list[Segment]) -> frozenset[str]:
    """The stacks whose dependencies the RUN installs, when all else it runs is setup or cleanup
    that reads nothing of the project (io-003 can then copy the manifests in right before it);
    empty otherwise."""
    names: set[str] = set()
    for seg in segs:
        found = stacks.installing(seg.text)
        if found:
            names.update(s.name for s in found)
            continue
        words = _words(seg)
        if words is None or not stacks.harmless(words):
            return frozenset()
    return frozenset(names)


def _part_of_install(member: _Member, deps: frozenset[str]) -> bool:
    """Whether every command of the RUN installs dependencies of ``deps`` or cleans up after it."""
    for seg in member.segs:
        found = {s.name for s in stacks.installing(seg.text)}
        words = _words(seg)
        if not (found and found <= deps) and not (words is not None and stacks.cleanup(words)):
            return False
    return True


def _install(unit: list[_Member], indent: str, esc: str, nl: str) -> str:
    """One install for the whole unit: its first command's options, packages sorted, one a line."""
    packages = sorted({p for m in unit for p in m.install.packages})
    return " ".join(unit[0].install.prefix) + "".join(f" {esc}{nl}{indent}{p}" for p in packages)


def _blank_lines(doc: DockerfileDocument, start: int, end: int) -> list[Edit]:
    """Deletions of the blank lines in ``start:end`` (empty continuation lines are deprecated)."""
    edits = []
    for match in re.finditer(r"[^\n]*\n", doc.text[start:end]):
        if not match.group().strip():
            edits.append(Edit.delete(start + match.start(), start + match.end()))
    return edits
