"""df-005: `RUN cd DIR && …` becomes `WORKDIR DIR` + `RUN …`."""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Iterator

from orchfix.documents.dockerfile import DockerfileDocument, Instruction, Stage
from orchfix.shell import Segment
from orchfix.text import Edit, newline_of
from orchfix.transform import Finding, Safety, Transform
from orchfix.transforms._knowledge import images

from ._runs import (
    Command, command, command_words, expand, keyword, last_line, parent_stage, resolve,
    run_shells, segments,
)

#: commands whose arguments are names (packages, users), not files: they do not care where they run
_NAME_COMMANDS = {
    "apt-get", "apt", "apk", "yum", "dnf", "microdnf", "zypper", "pacman", "gem", "pip", "pip3",
    "npm", "yarn", "pnpm", "useradd", "groupadd", "adduser", "addgroup", "usermod", "userdel",
    "deluser", "update-ca-certificates", "ldconfig", "locale-gen", "update-locale", "echo",
    "printf", "true", "false", ":", "set", "sleep", "id", "whoami", "which",
}
#: commands whose arguments are files: they do not care where they run when every file is absolute
_PATH_COMMANDS = {"rm", "mkdir", "cp", "mv", "ln", "touch", "chmod", "chown", "chgrp", "tar", "unzip", "curl", "wget", "cat"}
_SUBSTITUTION = re.compile(r"\$\(((?:[^()]|\([^()]*\))*)\)|`([^`]*)`")
_FUNCTION = re.compile(r"(?:function\s+)?[A-Za-z_][\w-]*\s*\(\s*\)\s*\{?|function\s+[A-Za-z_][\w-]*\s*\{?")
_REDIRECT = re.compile(r"\d*(?:>>?|<|&>)(.*)")


@dataclass
class _State:
    """The working directory (None: unknown) and the ENV/ARG values (None: unknown) so far."""

    cwd: str | None
    env: dict[str, str | None] = field(default_factory=dict)
    globals: dict[str, str | None] = field(default_factory=dict)  # ARG defaults before the first FROM
    args: set[str] = field(default_factory=set)  # names the stage set with ARG
    user: str | None = None  # the last USER (None: the base image's, assumed root)

    def copy(self) -> _State:
        return _State(self.cwd, dict(self.env), self.globals, set(self.args), self.user)

    def child(self) -> _State:
        """The state a stage built FROM this one starts with: ENV, WORKDIR, USER carry over, ARG not."""
        return _State(self.cwd, {k: v for k, v in self.env.items() if k not in self.args}, self.globals, set(), self.user)

    @property
    def root(self) -> bool:
        return self.user in (None, "root", "0")


@dataclass
class _Lead:
    """A RUN's leading `[mkdir -p DIR &&] cd DIR &&`: where it goes and how much of it to drop."""

    ins: Instruction
    cmd: Command
    segs: list[Segment]
    skip: int  # segments the prefix spans
    target: str  # absolute directory
    written: str  # what WORKDIR says


class WorkdirNotCd(Transform):
    r"""Switch directories with WORKDIR instead of `cd` in RUN.

    What it finds:
    RUN instructions that start with `cd DIR &&` (with the `mkdir -p DIR` that prepares it, in
    the same RUN or the RUN just before), and `cd` back into the directory a RUN already runs in.
    `cd` in the middle of a RUN, in a subshell, `$( … )` or function is reported with the reason
    it is left alone.

    Why it matters:
    A `cd` lasts for one RUN only, so each later step repeats it or silently runs somewhere
    else; WORKDIR states the directory once, creates it, and is what readers and linters
    (hadolint DL3003) expect.

    Before:
    FROM debian:12
    WORKDIR /src
    COPY . .
    RUN mkdir -p /opt/tool
    RUN cd /opt/tool && tar -xzf /src/tool.tgz
    RUN make install

    After:
    FROM debian:12
    WORKDIR /src
    COPY . .
    WORKDIR /opt/tool
    RUN tar -xzf /src/tool.tgz
    WORKDIR /src
    RUN make install

    Options:
    `restore` (default true): when a later instruction may rely on the old directory (a RUN
    that is not clearly independent of it, COPY/ADD to a relative destination, a relative
    WORKDIR) or the stage's directory is the image's default (the final stage, or a stage
    another stage is built FROM) and no later WORKDIR resets it, write `WORKDIR <old dir>` after
    the RUN. With `restore = false` such a fix is offered as unsafe instead.

    Safety:
    Safe when nothing later relies on the old directory, or when it is restored. Unsafe when it
    would need restoring but `restore` is off or the old directory is unknown (no WORKDIR seen and
    a base image that the shared image table does not know). A directory is written as given
    when it is absolute (`$VAR` kept: WORKDIR expands it) and resolved against the current WORKDIR
    when relative. Report-only: `$VAR` that no ENV/ARG of the stage sets (it may come from the base
    image or the runtime, as `$HOME` does), a relative directory under an unknown working
    directory, globs, `cd` without `&&` after it, `cd` in the middle of a RUN or in a subshell, and
    `mkdir -p DIR && cd DIR` under a non-root USER (outside BuildKit WORKDIR makes the directory
    root's; a separate `RUN mkdir -p DIR` is kept then; the base image's user comes from the image
    table, else root). WORKDIR creates a missing directory where `cd` would fail: never worse.
    """

    id = "df-005"
    category = "df"
    title = "WORKDIR, not cd"
    safety = Safety.SAFE
    kinds = frozenset({"dockerfile"})
    options = {"restore": True}
    precheck = re.compile(r"\bcd\b", re.I)

    def check(self, doc: DockerfileDocument) -> Iterator[Finding]:
        shells = run_shells(doc)
        globals_ = _global_args(doc)
        finals: dict[int, _State] = {}
        config = _config_stages(doc)
        for stage in doc.stages:
            parent = parent_stage(doc, stage.index)
            state = finals[parent].child() if parent is not None else _base(stage.image, globals_)
            items = stage.instructions
            i = 0
            while i < len(items):
                ins = items[i]
                if ins.keyword == "RUN" and shells[ins.line].posix:
                    group, finding = self._run(doc, stage, i, state, stage.index in config)
                    if finding:
                        yield finding
                    i += group
                    continue
                _track(ins, state)
                i += 1
            finals[stage.index] = state

    def _run(self, doc: DockerfileDocument, stage: Stage, i: int, state: _State,
             config: bool) -> tuple[int, Finding | None]:
        """The finding for the RUN at ``i`` (and the RUNs after it that `cd` to the same place)."""
        ins = stage.instructions[i]
        cmd = command(doc, ins)
        # exec form and heredocs: no shell command line to rewrite (hadolint does not look there either)
        if cmd is None or not re.search(r"\bcd\b", cmd.text):
            return 1, None
        segs = segments(cmd.text)
        # unbalanced quotes or brackets: nothing safe to say about it
        if segs is None:
            return 1, None
        lead = self._lead(ins, cmd, segs, state)
        if lead is None:
            return 1, self._inner(doc, ins, cmd, segs, state)
        if isinstance(lead, str):
            return 1, self.finding(doc, ins.line, "RUN starts with `cd`", reason=lead)
        leads = [lead]
        for nxt in stage.instructions[i + 1:]:
            more = self._lead_of(doc, nxt, state)
            if not isinstance(more, _Lead) or more.target != lead.target:
                break
            leads.append(more)
        return len(leads), self._fix(doc, stage, i, leads, state, config)

    def _lead_of(self, doc: DockerfileDocument, ins: Instruction, state: _State) -> _Lead | str | None:
        """``_lead`` of any instruction (None unless it is a RUN)."""
        cmd = command(doc, ins) if ins.keyword == "RUN" else None
        segs = segments(cmd.text) if cmd else None
        return self._lead(ins, cmd, segs, state) if segs else None

    def _lead(self, ins: Instruction, cmd: Command, segs: list[Segment], state: _State) -> _Lead | str | None:
        """The RUN's leading `cd` as a _Lead, a reason it cannot move, or None (no leading cd)."""
        first = command_words(segs[0].text) or []
        skip = 1
        if _is_mkdir(first) and segs[0].op == "&&" and len(segs) > 2:
            cd = command_words(segs[1].text) or []
            if cd[:1] != ["cd"] or resolve(expand(first[2], state.env) or "", state.cwd) != self._dir(cd, state):
                return None  # `mkdir -p a && cd b`: not the directory the cd enters
            if not state.root:
                return ("USER is not root: the classic builder, kaniko and podman create a missing WORKDIR owned by"
                        " root, where this mkdir makes it the user's")
            first, skip = cd, 2
        if first[:1] != ["cd"]:
            return None
        raw = segs[skip - 1].text.split(None, 1)[1].strip() if len(first) == 2 else ""
        if len(first) != 2 or first[1] in ("-", "") or first[1].startswith(("-", "~")):
            return "`cd` with an option, `-`, `~` or no directory has no WORKDIR equivalent"
        if segs[skip - 1].op != "&&" or len(segs) <= skip:
            return "`cd DIR` is not followed by `&&`: the commands after it do not depend on it succeeding"
        if re.search(r"[*?\[\s]", first[1]) or ("'" in raw and "$" in raw):
            return "the directory is a glob, has spaces or is single-quoted; WORKDIR would read it differently"
        expanded = expand(first[1], state.env)
        if not expanded:
            return (f"the directory {first[1]} uses a variable that no ENV/ARG of this stage sets to a known value (it may"
                    " come from the base image, or from the runtime as $HOME does); set it with ENV or write the path")
        target = resolve(expanded, state.cwd)
        if target is None:
            return ("the directory is relative and the base image's working directory is unknown;"
                    " WORKDIR needs an absolute path")
        written = first[1] if expanded.startswith("/") else target
        return _Lead(ins, cmd, segs, skip, target, written)

    @staticmethod
    def _dir(words: list[str], state: _State) -> str | None:
        return resolve(expand(words[1], state.env) or "", state.cwd) if len(words) == 2 else None

    def _fix(self, doc: DockerfileDocument, stage: Stage, i: int, leads: list[_Lead], state: _State,
             config: bool) -> Finding:
        """WORKDIR before the group (in place of a `RUN mkdir -p DIR` just before it), the prefixes
        dropped, and the old directory restored after it when something relies on it."""
        nl = newline_of(doc.text)
        lead, last = leads[0], leads[-1].ins
        edits: list[Edit] = []
        for item in leads:
            edits.extend(self._strip(doc, item, state))
        if any(e is None for e in edits):
            return self.finding(doc, lead.ins.line, "RUN starts with `cd`",
                                reason="a comment line sits inside the `cd …&&` prefix; it cannot be removed cleanly")
        message = f"RUN starts with `cd {lead.written}`: use WORKDIR"
        if lead.target == state.cwd:
            return self.finding(doc, lead.ins.line, f"RUN starts with `cd` into its own WORKDIR ({lead.target})", edits)
        workdir = f"{keyword(lead.ins, 'WORKDIR')} {lead.written}"
        prev = stage.instructions[i - 1]
        # a WORKDIR-made directory belongs to root outside BuildKit: a non-root mkdir stays
        if state.root and _mkdir_run(doc, prev, lead.target, state):
            _, eol = last_line(doc, prev)
            edits.append(Edit(prev.start, eol, workdir))
        else:
            edits.append(Edit.insert(_above_comments(doc, lead.ins), workdir + nl))
        reliant = _reliant(doc, stage, stage.instructions.index(last) + 1, state, config)
        if reliant is None:
            return self.finding(doc, lead.ins.line, message, edits)
        if self.opts.get("restore", True) and state.cwd is not None:
            at = last.end
            back = ("" if doc.text[:at].endswith("\n") else nl) + f"{keyword(lead.ins, 'WORKDIR')} {state.cwd}{nl}"
            edits.append(Edit.insert(at, back))
            return self.finding(doc, lead.ins.line, f"{message} (and WORKDIR {state.cwd} after it for {reliant})", edits)
        why = "the old directory is unknown (base image)" if state.cwd is None else "option restore is off"
        return self.finding(doc, lead.ins.line, message + f"; {reliant} relies on the old directory and {why}",
                            edits, safety=Safety.UNSAFE)

    @staticmethod
    def _strip(doc: DockerfileDocument, lead: _Lead, state: _State) -> list[Edit | None]:
        """Deletions of the `cd` prefix and of later `cd`s back into the same directory."""
        return [_drop(doc, lead.cmd, lead.segs, 0, lead.skip),
                *_reentries(doc, lead.cmd, lead.segs, lead.skip, lead.target, state)]

    def _inner(self, doc: DockerfileDocument, ins: Instruction, cmd: Command, segs: list[Segment],
               state: _State) -> Finding | None:
        """A `cd` later in the RUN: dropped when it re-enters the WORKDIR, else reported."""
        where = _cd_places(cmd.text)
        if not where:
            return None
        drops = _reentries(doc, cmd, segs, 0, state.cwd, state) if state.cwd else []
        if drops and None not in drops:
            return self.finding(doc, ins.line, f"`cd {state.cwd}` inside RUN re-enters its own WORKDIR", drops)
        if "scoped" in where:
            reason = ("the cd is inside a subshell `( … )`, `$( … )` or a function, scoped to it on purpose; a WORKDIR"
                      " would need the RUN split (the directory is usually made earlier in the same RUN)")
        else:
            reason = ("the cd comes after other commands of this RUN, which usually create the directory;"
                      " a WORKDIR cannot go in the middle of a RUN")
        return self.finding(doc, ins.line, "`cd` inside RUN", reason=reason)


def _reentries(doc: DockerfileDocument, cmd: Command, segs: list[Segment], begin: int, cwd: str,
               state: _State) -> list[Edit | None]:
    """Deletions of `cd CWD &&` in the plain `&&` chain from segment ``begin``: no-ops there."""
    drops: list[Edit | None] = []
    earlier = ""  # the commands before, which must not name the directory (they may replace it)
    for k in range(begin, len(segs) - 1):
        words = command_words(segs[k].text) or []
        # `||`, `;`, pushd/popd, rm/mv: from here on the shell may be elsewhere
        if segs[k].op != "&&" or words[:1] in (["pushd"], ["popd"], ["rm"], ["mv"], ["rmdir"]):
            break
        if words[:1] != ["cd"]:
            earlier += segs[k].text
            continue
        target = resolve(expand(words[1], state.env) or "", cwd) if len(words) == 2 else None
        if target != cwd or cwd in earlier or words[1] in earlier:
            break
        drops.append(_drop(doc, cmd, segs, k, k + 1))
    return drops


def _drop(doc: DockerfileDocument, cmd: Command, segs: list[Segment], k: int, stop: int) -> Edit | None:
    """Deletion of segments ``k`` up to ``stop`` (and their `&&`), up to the next command."""
    begin = segs[k].start + (len(segs[k].text) - len(segs[k].text.lstrip())) if k else 0
    nxt = segs[stop]
    end_pos = nxt.start + len(nxt.text) - len(nxt.text.lstrip())
    start, end = cmd.raw(begin), cmd.raw(end_pos)
    if re.search(r"\n[ \t]*#", doc.text[start:end]):
        return None  # a comment line inside the span would go with it
    return Edit.delete(start, end)


def _cd_places(text: str, depth: int = 0) -> set[str]:
    """Where `cd` runs in ``text``: "chain" (top level) or "scoped" (a subshell, a command
    substitution, a function body)."""
    found: set[str] = set()
    for seg in segments(text) or []:
        stripped = seg.text.strip()
        if any(_cd_places(m.group(1) or m.group(2) or "", depth + 1) for m in _SUBSTITUTION.finditer(stripped)):
            found.add("scoped")
        function = _FUNCTION.match(stripped)
        if function:
            found |= {"scoped"} if _cd_places(stripped[function.end():], depth + 1) else set()
            continue
        if stripped.startswith("("):
            inner = stripped[1:stripped.rfind(")")] if ")" in stripped else stripped[1:]
            found |= {"scoped"} if _cd_places(inner, depth + 1) else set()
            continue
        if (command_words(stripped) or [])[:1] == ["cd"]:
            found.add("scoped" if depth else "chain")
    return found


def _above_comments(doc: DockerfileDocument, ins: Instruction) -> int:
    """Start of the comment block directly above ``ins`` (or of ``ins`` itself)."""
    line = ins.line
    floor = max((p.end_line for p in doc.instructions if p.end_line < ins.line), default=0)
    while line - 1 > floor:
        start = doc.index.start_of(line - 1)
        text = doc.text[start:doc.index.start_of(line)]
        if not text.lstrip().startswith("#"):
            break
        line -= 1
    return doc.index.start_of(line)


def _mkdir_run(doc: DockerfileDocument, prev: Instruction, target: str, state: _State) -> bool:
    """Whether ``prev`` is a plain `RUN mkdir -p TARGET` (WORKDIR makes it redundant)."""
    cmd = command(doc, prev) if prev.keyword == "RUN" and not prev.flags else None
    words = command_words(cmd.text) if cmd and len(segments(cmd.text) or ()) == 1 else None
    return bool(words) and _is_mkdir(words) and resolve(expand(words[2], state.env) or "", state.cwd) == target


def _is_mkdir(words: list[str]) -> bool:
    """`mkdir -p DIR`: one directory, no mode (WORKDIR makes it with the default mode)."""
    return len(words) == 3 and words[:2] in (["mkdir", "-p"], ["mkdir", "--parents"])


def _base(image: str, globals_: dict[str, str | None]) -> _State:
    """The state an external base image starts with: its WORKDIR and USER when the table knows them."""
    ref = images.parse_ref(image)
    info = images.lookup(ref)
    cwd = "/" if ref.path == "scratch" else (info.workdir if info else None)
    user = info.user if info and info.runs_as == "user" else None
    return _State(cwd, {}, globals_, set(), user)


def _reliant(doc: DockerfileDocument, stage: Stage, start: int, state: _State, config: bool) -> str | None:
    """What after ``start`` relies on the working directory before a WORKDIR resets it."""
    scan = state.copy()
    for ins in stage.instructions[start:]:
        if ins.keyword == "WORKDIR":
            value = expand(ins.args.strip(), scan.env)
            if value is not None and value.startswith("/"):
                return None
            return f"the relative WORKDIR on line {ins.line}"
        if _relies(doc, ins, scan):
            return f"{ins.raw_keyword} on line {ins.line}"
        _track(ins, scan)
    return "the image's default working directory" if config else None


def _relies(doc: DockerfileDocument, ins: Instruction, state: _State) -> bool:
    """Whether an instruction may behave differently in another working directory."""
    if ins.keyword in ("COPY", "ADD"):
        words = ins.exec_form or ins.args.split()
        dest = expand(words[-1], state.env) if words else None
        return dest is None or not dest.startswith("/")
    if ins.keyword == "RUN":
        if ins.exec_form:
            return not _free(ins.exec_form[0], ins.exec_form[1:], state)
        cmd = command(doc, ins)
        return cmd is None or not _free_text(cmd.text, state)
    return ins.keyword == "ONBUILD"


def _free_text(text: str, state: _State) -> bool:
    """Whether a shell command clearly does not depend on the directory it starts in."""
    segs = segments(text)
    if segs is None:
        return False
    for seg in segs:
        stripped = seg.text.strip()
        if stripped.startswith("("):
            if not _free_text(stripped[1:stripped.rfind(")")], state):
                return False
            continue
        words = command_words(stripped)
        if words is None:
            return False
        if not words:
            continue
        if words[0] == "cd":
            target = expand(words[1], state.env) if len(words) == 2 else None
            return target is not None and target.startswith("/") and seg.op == "&&"
        if not _free(words[0], words[1:], state):
            return False
    return True


def _free(name: str, args: list[str], state: _State) -> bool:
    """Whether one command clearly does not depend on the working directory."""
    if any("$(" in a or "`" in a or "PWD" in a for a in args):
        return False
    if not _redirects_absolute(args):
        return False
    if name in _NAME_COMMANDS:
        if name in ("pip", "pip3") and any(re.match(r"-[rec]|--(requirement|editable|constraint)", a) for a in args):
            return False
        if name in ("npm", "yarn", "pnpm") and not {"-g", "--global", "global"} & set(args):
            return False
        return not any(a in (".", "..") or (("/" in a) and not _absolute(a, state)) for a in args)
    if name == "git":
        rest = [a for a in args if not a.startswith("-")]
        return rest[:1] == ["config"] or (rest[:1] == ["clone"] and len(rest) == 3 and _absolute(rest[2], state))
    if name not in _PATH_COMMANDS:
        return False
    if name == "curl" and any(re.fullmatch(r"-[a-zA-Z]*O[a-zA-Z]*|--remote-name(-all)?", a) for a in args):
        return False
    if name == "wget" and not any(re.match(r"-[a-zA-Z]*[OP]|--output-document|--directory-prefix", a) for a in args):
        return False
    positional = [a for a in args if not a.startswith("-") and not _REDIRECT.fullmatch(a)]
    if name in ("chmod", "chown", "chgrp"):
        positional = positional[1:]
    return all(_absolute(a, state) or "://" in a or re.fullmatch(r"[\d.]+", a) for a in positional)


def _absolute(word: str, state: _State) -> bool:
    value = expand(word, state.env)
    return value is not None and value.startswith("/")


def _redirects_absolute(args: list[str]) -> bool:
    """Whether every redirect target among ``args`` is absolute (or a file descriptor)."""
    for k, arg in enumerate(args):
        match = _REDIRECT.fullmatch(arg)
        if not match:
            continue
        target = match.group(1) or (args[k + 1] if k + 1 < len(args) else "")
        if not target.startswith(("/", "&")):
            return False
    return True


def _track(ins: Instruction, state: _State) -> None:
    """Follow WORKDIR, ENV and ARG through a stage."""
    if ins.keyword == "WORKDIR":
        value = expand(ins.args.strip(), state.env)
        state.cwd = resolve(value, state.cwd) if value else None
    elif ins.keyword == "USER":
        state.user = ins.args.strip().split(":")[0]
    elif ins.keyword == "ENV":
        for name, value in _pairs(ins.args):
            state.env[name] = expand(value, state.env) if value is not None else None
            state.args.discard(name)
    elif ins.keyword == "ARG":
        for name, value in _pairs(ins.args, legacy=False):
            state.env[name] = expand(value, state.env) if value is not None else state.globals.get(name)
            state.args.add(name)


def _pairs(args: str, legacy: bool = True) -> list[tuple[str, str | None]]:
    """``name=value`` pairs of ENV/ARG (and the legacy `ENV name value` form)."""
    first = args.split(None, 1)
    if legacy and first and "=" not in first[0]:
        return [(first[0], first[1].strip() if len(first) > 1 else "")]
    try:
        words = shlex.split(args, posix=True)
    except ValueError:
        return [(w.split("=", 1)[0], None) for w in args.split()]
    return [(w.split("=", 1)[0], w.split("=", 1)[1] if "=" in w else None) for w in words]


def _global_args(doc: DockerfileDocument) -> dict[str, str | None]:
    """ARG defaults declared before the first FROM."""
    found: dict[str, str | None] = {}
    for ins in doc.instructions:
        if ins.keyword == "FROM":
            break
        if ins.keyword == "ARG":
            found.update((n, v) for n, v in _pairs(ins.args, legacy=False))
    return found


def _config_stages(doc: DockerfileDocument) -> set[int]:
    """Stages whose image config (its working directory) is used: the last and any FROM base."""
    used = {len(doc.stages) - 1}
    used.update(p for p in (parent_stage(doc, s.index) for s in doc.stages) if p is not None)
    return used
