"""Shared RUN knowledge for the df transforms (not a transform module: the name starts with ``_``).

Where a RUN's command starts in the raw text, the command as the shell sees it with a map back to
raw offsets, which shell runs it (SHELL, Windows bases, stage inheritance), how the file indents its
continuation lines, and what a command does to the shell that later commands would notice.
"""
from __future__ import annotations

import collections
import posixpath
import re
import shlex
from dataclasses import dataclass
from functools import lru_cache

from orchfix import shell
from orchfix.documents.dockerfile import DockerfileDocument, Instruction

_FLAG = re.compile(r"--[a-zA-Z][a-zA-Z0-9-]*(?:=(?:\"[^\"]*\"|'[^']*'|\S)*)?")
_POSIX_SHELLS = {"sh", "bash", "ash", "dash", "zsh", "ksh", "mksh", "busybox"}
_WINDOWS_IMAGE = re.compile(r"windows|nanoserver|servercore", re.I)
#: words that open a compound command or negate one; the command name follows them
_KEYWORDS = {"{", "!", "if", "then", "else", "elif", "do", "while", "until", "time"}
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
#: builtins whose effect outlives the command: merged into one shell, later commands see it
_STATEFUL = {
    "cd", "pushd", "popd", "export", "unset", "set", "shopt", "umask", "source", ".", "alias",
    "unalias", "eval", "exec", "exit", "return", "trap", "ulimit", "readonly", "declare",
    "typeset", "local", "shift", "hash", "function",
}
_BLANK_OR_COMMENT = re.compile(r"[ \t]*(?:#[^\n]*)?\r?(?:\n|$)")
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


@dataclass(frozen=True)
class Shell:
    """The shell a RUN runs in: whether it speaks POSIX sh, and whether it has ``-e`` on."""

    posix: bool = True
    errexit: bool = False


def _shell_of(argv: list[str] | None) -> Shell:
    if not argv:
        return Shell(posix=False)
    opts = argv[1:argv.index("-c")] if "-c" in argv else argv[1:]
    errexit = any(re.fullmatch(r"-[a-z]*e[a-z]*", o) for o in opts) or "errexit" in opts
    return Shell(posixpath.basename(argv[0]).lower() in _POSIX_SHELLS, errexit)


def parent_stage(doc: DockerfileDocument, index: int) -> int | None:
    """The earlier stage a stage is built FROM (by name or number), if any."""
    image = doc.stages[index].image.lower()
    for stage in doc.stages[:index]:
        if (stage.name and stage.name.lower() == image) or str(stage.index) == image:
            return stage.index
    return None


def run_shells(doc: DockerfileDocument) -> dict[int, Shell]:
    """The shell of every instruction, by line: SHELL instructions and stage inheritance applied."""
    shells: dict[int, Shell] = {}
    final: dict[int, Shell] = {}
    for stage in doc.stages:
        parent = parent_stage(doc, stage.index)
        current = final[parent] if parent is not None else Shell(posix=not _WINDOWS_IMAGE.search(stage.image))
        for ins in stage.instructions:
            if ins.keyword == "SHELL":
                current = _shell_of(ins.exec_form)
            shells[ins.line] = current
        final[stage.index] = current
    return shells


def args_start(doc: DockerfileDocument, ins: Instruction) -> int | None:
    """Offset of the command after the keyword and flags (line continuations skipped)."""
    text, esc, i = doc.text, doc.escape, ins.keyword_end
    cont = re.compile(r"[ \t]*" + re.escape(esc) + r"[ \t]*\r?\n")
    while i < ins.end:
        i = re.compile(r"[ \t]*").match(text, i).end()
        match = cont.match(text, i)
        if match:
            i = match.end()
            # a comment or blank line right after the keyword line: unusual layout, not ours to move
            if _BLANK_OR_COMMENT.match(text, i, ins.end):
                return None
            continue
        match = _FLAG.match(text, i) if text.startswith("--", i) else None
        if match:
            i = match.end()
            continue
        return i
    return None


@dataclass
class Command:
    """A RUN's shell command as BuildKit hands it to the shell, mapped back to raw offsets."""

    text: str
    offsets: list[int]  # raw offset of every character of ``text``, plus the end

    def raw(self, pos: int) -> int:
        return self.offsets[pos]


def command(doc: DockerfileDocument, ins: Instruction) -> Command | None:
    """The shell-form command of a RUN (continuations joined, inner comment lines dropped)."""
    start = args_start(doc, ins)
    if start is None or ins.heredocs or ins.exec_form is not None:
        return None
    text, esc = doc.text, doc.escape
    chars: list[str] = []
    offsets: list[int] = []
    pos = start
    while pos < ins.end:
        nl = text.find("\n", pos, ins.end)
        line_end = ins.end if nl < 0 else nl
        line = text[pos:line_end].rstrip("\r")
        body = line.rstrip(" \t")
        if body.endswith(esc) and nl >= 0:
            body = body[:-1]
            chars.append(body)
            offsets.extend(range(pos, pos + len(body)))
            pos = nl + 1
            # comment and blank lines inside a continued instruction are dropped
            while pos < ins.end and _BLANK_OR_COMMENT.match(text, pos, ins.end):
                nxt = text.find("\n", pos, ins.end)
                pos = ins.end if nxt < 0 else nxt + 1
            continue
        chars.append(line)
        offsets.extend(range(pos, pos + len(line)))
        offsets.append(pos + len(line))
        return Command("".join(chars), offsets)
    offsets.append(pos)
    return Command("".join(chars), offsets)


def last_line(doc: DockerfileDocument, ins: Instruction) -> tuple[int, int]:
    """(end of the content, end before the line break) of an instruction's last physical line."""
    eol = ins.end
    while eol > ins.start and doc.text[eol - 1] in "\r\n":
        eol -= 1
    content = eol
    while content > ins.start and doc.text[content - 1] in " \t":
        content -= 1
    return content, eol


@dataclass(frozen=True)
class JoinStyle:
    """How a file continues a chain of commands: the indentation of the continuation line, and
    whether `&&` starts that line (as many official images write it) or ends the line before."""

    indent: str = "    "
    leading: bool = False


def join_style(doc: DockerfileDocument, among: list[Instruction] | None = None) -> JoinStyle:
    """The style the RUNs ``among`` already use, else the whole file's; 4 spaces and a trailing
    `&&` when no multi-line RUN shows one."""
    scopes = [_style(doc, among), _style(doc, doc.instructions)] if among is not None else [_style(doc, doc.instructions)]
    for starts, _, leading in scopes:
        if starts:
            return JoinStyle(starts.most_common(1)[0][0], leading)
    for _, every, _ in scopes:
        if every:
            return JoinStyle(every.most_common(1)[0][0])
    return JoinStyle()


def _style(doc: DockerfileDocument, among: list[Instruction]) -> tuple[collections.Counter, collections.Counter, bool]:
    """Indentations of the continuation lines that start a command, of all of them, and whether
    `&&` leads those lines more often than it ends the line before."""
    starts: collections.Counter[str] = collections.Counter()
    every: collections.Counter[str] = collections.Counter()
    leading = trailing = 0
    for ins in among:
        if ins.keyword != "RUN" or not ins.is_multiline or ins.heredocs:
            continue
        before = doc.text[doc.index.start_of(ins.line):doc.index.start_of(ins.line + 1)]
        for line in range(ins.line + 1, ins.end_line + 1):
            text = doc.text[doc.index.start_of(line):doc.index.start_of(line + 1)]
            body = text.strip()
            if not body or body.startswith("#"):
                continue
            indent = text[:len(text) - len(text.lstrip(" \t"))]
            prev = before.rstrip().removesuffix(doc.escape).rstrip()
            before = text
            if not indent:
                continue
            every[indent] += 1
            if body.startswith("&&") or prev.endswith("&&"):
                starts[indent] += 1
                leading += body.startswith("&&")
                trailing += prev.endswith("&&")
    return starts, every, leading > trailing


def segments(text: str) -> list[shell.Segment] | None:
    """Top-level commands of ``text``; None when the shell text does not split cleanly."""
    try:
        segs = shell.split(text)
    except (shell.ShellSyntaxError, ValueError):
        return None
    return segs or None


def command_words(segment: str) -> list[str] | None:
    """The words of one command from its name on: leading keywords and assignments dropped."""
    words = _command_words(segment)
    return None if words is None else list(words)


@lru_cache(maxsize=8192)
def _command_words(segment: str) -> tuple[str, ...] | None:
    try:
        words = shlex.split(segment, posix=True)
    except ValueError:
        return None
    while words and (words[0] in _KEYWORDS or _ASSIGNMENT.match(words[0])):
        words = words[1:]
    return tuple(words)


def changes_state(text: str) -> str | None:
    """What in ``text`` outlives it in the same shell (``cd``, ``export``, a background job …)."""
    segs = segments(text)
    if segs is None:
        return "unparsed shell"
    for seg in segs:
        if seg.op == "&":
            return "a background job (&)"
        stripped = seg.text.strip()
        if stripped.startswith("("):
            continue  # a subshell keeps its changes to itself
        if re.match(r"[A-Za-z_][A-Za-z0-9_]*\s*\(\s*\)", stripped):
            return "a function definition"
        words = command_words(stripped)
        if words is None:
            return "unparsed shell"
        if not words and _ASSIGNMENT.match(stripped):
            return "a shell variable assignment"
        if not words or words[0] not in _STATEFUL:
            continue
        # `set -x` / `set -v` only trace; every other `set` changes how later commands run
        if words[0] == "set" and all(re.fullmatch(r"[-+][xv]+", w) for w in words[1:]) and len(words) > 1:
            continue
        return f"`{words[0]}`"
    return None


def expand(word: str, env: dict[str, str | None]) -> str | None:
    """``word`` with ``$VAR``/``${VAR}`` replaced from ``env``; None when a value is unknown."""
    if re.search(r"\$\{[^}]*[^A-Za-z0-9_}][^}]*\}|\$\(|`", word):
        return None  # ${VAR:-x} and substitutions: not a plain reference
    out, pos = [], 0
    for match in _VAR.finditer(word):
        value = env.get(match.group(1) or match.group(2))
        if value is None:
            return None
        out.append(word[pos:match.start()])
        out.append(value)
        pos = match.end()
    out.append(word[pos:])
    return "".join(out)


def resolve(path: str, cwd: str | None) -> str | None:
    """An absolute normalised path for ``path`` taken from ``cwd`` (None when it cannot be known)."""
    if path.startswith("/"):
        return posixpath.normpath(path).replace("//", "/")
    if cwd is None:
        return None
    return posixpath.normpath(posixpath.join(cwd, path))


def keyword(ins: Instruction, name: str) -> str:
    """``name`` in the keyword case the instruction uses (``run`` → ``workdir``)."""
    return name.lower() if ins.raw_keyword.islower() else name


#: package managers whose installs can share one command: manager → its install subcommands
_INSTALLS = {"apt-get": {"install"}, "apt": {"install"}, "apk": {"add"}, "dnf": {"install"},
             "yum": {"install"}, "microdnf": {"install"}}
#: options that take the next word as their value: two such installs are not merged
_VALUE_OPTIONS = {
    "-o", "-c", "-t", "-x", "-X", "-p", "-R", "-d", "-e", "--option", "--config-file",
    "--target-release", "--default-release", "--virtual", "--repository", "--root", "--arch",
    "--keys-dir", "--repositories-file", "--cache-dir", "--config", "--exclude", "--enablerepo",
    "--disablerepo", "--releasever", "--installroot", "--repo", "--setopt", "--downloaddir",
}
_PACKAGE = re.compile(r"[A-Za-z0-9][\w.+:=~@/-]*")


@dataclass(frozen=True)
class Install:
    """One package-manager install command: installs with the same ``key`` may become one."""

    key: tuple
    prefix: tuple[str, ...]
    packages: tuple[str, ...]


def parse_install(text: str) -> Install | None:
    """An install of plain package names (``apt-get install -y a b``), else None."""
    if re.search(r"['\"\\$`*?\[]", text) or len(segments(text) or ()) != 1 or shell.features(text) - {"assignment"}:
        return None
    words = text.split()
    env = []
    while words and _ASSIGNMENT.match(words[0]):
        env.append(words.pop(0))
    if not words or words[0] not in _INSTALLS:
        return None
    manager, rest = words[0], words[1:]
    options = [w for w in rest if w.startswith("-")]
    names = [w for w in rest if not w.startswith("-")]
    if not names or names[0] not in _INSTALLS[manager] or set(options) & _VALUE_OPTIONS:
        return None
    packages = names[1:]
    if not packages or not all(_PACKAGE.fullmatch(p) for p in packages):
        return None
    prefix = [w for w in words if w.startswith("-") or w in (manager, names[0])]
    key = (manager, tuple(sorted(env)), names[0], tuple(sorted(options)))
    return Install(key, tuple(env + prefix), tuple(packages))
