from __future__ import annotations

import json
import posixpath
import re

from orchfix import shell
from orchfix.text import Edit
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import images, stacks, users
from orchfix.transforms.df._runs import command, command_words, last_line, segments
from orchfix.transforms.io._from import image_span, resolved_image

#: packages and commands that mean the stage compiles native code: the full image's toolchain is used
_NATIVE = re.compile(
    r"\b(build-essential|build-base|gcc|g\+\+|clang|cmake|autoconf|automake|libtool|pkg-config|pkgconf"
    r"|node-gyp|node-pre-gyp|cython|cythonize|[a-z0-9.+]+-dev|[a-z0-9.+]+-devel|setup\.py\s+build|npm\s+rebuild)\b")
#: dependency installs that may build native extensions with whatever compiler the image has
_DEP_INSTALL = re.compile(
    r"\bpip[\d.]*\s+install\b|\bpython[\d.]*\s+-m\s+pip\s+install\b|\bgem\s+install\b|\bnpx\s+node-gyp\b")
#: commands the slim variants have (Debian's essential and required packages, the language's own tools)
_IN_SLIM = {
    # shell and builtins
    "sh", "bash", "dash", "set", "export", "cd", "echo", "printf", "test", "[", "true", "false", "exit", "exec",
    "command", "type", "read", "unset", "umask", "trap", ":", ".", "source", "eval", "wait", "sleep",
    "for", "in", "do", "done", "if", "then", "else", "elif", "fi", "case", "esac", "while", "until", "{", "}",
    # coreutils, findutils, grep, sed, tar, gzip, util-linux, passwd, debianutils
    "mkdir", "rmdir", "cp", "mv", "rm", "ln", "chmod", "chown", "chgrp", "touch", "cat", "ls", "head", "tail",
    "cut", "tr", "sort", "uniq", "wc", "tee", "date", "env", "id", "whoami", "uname", "basename", "dirname",
    "readlink", "realpath", "stat", "install", "mktemp", "find", "xargs", "grep", "egrep", "sed", "tar", "gzip",
    "gunzip", "zcat", "groupadd", "useradd", "usermod", "groupmod", "userdel", "chpasswd", "su", "ldconfig",
    "which", "tempfile", "run-parts", "getent", "nproc", "seq", "yes", "awk", "mawk", "sha256sum", "md5sum",
    "dpkg", "apt-get", "apt", "apt-cache", "apt-mark", "dpkg-reconfigure", "update-alternatives",
    # the language runtimes and their own tools in the slim variants
    "node", "npm", "npx", "yarn", "yarnpkg", "corepack", "python", "python3", "pip", "pip3", "ruby", "gem",
    "bundle", "bundler", "irb", "rake",
}
_PIP = re.compile(r"pip[\d.]*$")
_NPM_INSTALL = {"install", "i", "ci", "add", "isntall"}


def _cache_mount(ins) -> bool:
    """Whether a RUN mounts a cache (the cache then lives outside the layer on purpose)."""
    return "type=cache" in (ins.flags.get("mount") or "") or bool(re.search(r"--mount=\S*type=cache", ins.value))


def _stage_env(doc, stage) -> str:
    """The ENV and ARG text of a stage and the stages it builds on (for PIP_NO_CACHE_DIR, npm cache settings)."""
    return "\n".join(i.value for s in doc.ancestry(stage) for i in s.instructions if i.keyword in ("ENV", "ARG"))


class SlimNoCacheNonRoot(Transform):
    r"""Slim base images, installs without caches, and a non-root user.

    What it finds:
        Three things, each its own finding so it is clear which part fires:

        - a final stage on a full-size language image (``node:20``, ``python:3.12``,
          ``ruby:3.3``, not already ``-slim``/``-alpine``) whose slim variant would do: the tag
          gets the image's slim suffix (``python:3.12-bookworm`` → ``python:3.12-slim-bookworm``,
          ``node:20-bookworm`` → ``node:20-bookworm-slim``). Only when sure: the stage (and any
          stage it builds on) runs nothing the slim image lacks. A stage that installs
          compilers or ``-dev`` packages (it compiles native code) is left alone; one that installs
          dependencies (``npm ci``, ``pip install``, ``gem install``, which may compile with the
          full image's toolchain) or runs a tool the slim image lacks (``curl``, ``wget``,
          ``git`` …) in a RUN, CMD, ENTRYPOINT or HEALTHCHECK (every command of a shell form or
          of an exec-form ``sh -c`` script) is reported. Build stages are not slimmed: their
          size does not ship.
        - ``pip install`` (``pip3``, ``python -m pip``) without ``--no-cache-dir``, in every
          stage: the flag is added (not with ``PIP_NO_CACHE_DIR`` set, nor on a RUN with a
          cache mount).
        - ``npm install``/``npm ci`` in the final image's stages with no ``npm cache clean``:
          `` && npm cache clean --force`` is appended to the RUN (not with a cache mount, a
          ``--cache`` option, or a trailing comment).
        - root at run time: the same check and fix as sc-001 (run as non-root).

    Why it matters:
        Full language images carry compilers, headers and tools a running app never uses:
        hundreds of megabytes and many CVEs. Package-manager caches end up in the image layer
        for nothing (hadolint DL3042). Root in a container is root on the host kernel.

    Before:
        FROM python:3.12
        WORKDIR /app
        COPY . .
        RUN pip install -r requirements.txt
        USER nobody
        CMD ["python", "app.py"]

    After:
        FROM python:3.12
        WORKDIR /app
        COPY . .
        RUN pip install --no-cache-dir -r requirements.txt
        USER nobody
        CMD ["python", "app.py"]

    Options:
        ``user`` (default ``"app"``): the user to create when the image ships none (as sc-001).

    Safety:
        The cache parts are safe: only caches go. The slim base and the user are unsafe: the
        slim image lacks tools and libraries the full one has (checked for the commands the
        Dockerfile runs, not for what the app calls at run time), and the app loses root
        (see sc-001).
    """

    id = "cm-002"
    category = "cm"
    title = "Slim bases, no caches, non-root"
    safety = Safety.UNSAFE
    kinds = frozenset({"dockerfile"})
    options = {"user": "app"}
    precheck = re.compile(r"^\s*from\s", re.I | re.M)

    def check(self, doc):
        if not doc.stages:
            return
        yield from self._slim(doc)
        for stage in doc.stages:
            yield from self._pip(doc, stage)
        final = {id(s) for s in doc.ancestry(doc.stages[-1])}
        for stage in doc.stages:
            if id(stage) in final:
                yield from self._npm(doc, stage)
        found = users.plan(doc, self.opts.get("user") or "app")
        if found is not None:
            if found.edits:
                yield self.finding(doc, found.line, f"{found.message}; switch to USER {found.user}", found.edits)
            else:
                yield self.finding(doc, found.line, found.message, reason=found.reason)

    # -- slim ------------------------------------------------------------------------------
    def _slim(self, doc):
        chain = users.chain(doc, doc.stages[-1])
        base = chain[0]
        resolved = resolved_image(doc, base)
        # an image from a build argument: whoever builds picks the variant
        if resolved is None or resolved != base.image:
            return
        ref = images.parse_ref(base.image)
        info = images.lookup(ref)
        slim = images.slim_tag(ref)
        # not a language image with a slim variant, or the tag is already a variant (slim, alpine …)
        if info is None or not info.runtime or slim is None:
            return
        # another stage builds on the same base stage (a build stage): slimming it changes that build too
        names = {s.name.lower() for s in chain if s.name} | {str(s.index) for s in chain}
        if any(s not in chain and s.image.lower() in names for s in doc.stages):
            return
        # another stage copies files out of it (COPY --from=base): they would change too
        if any((i.flags.get("from") or "").lower() in names for s in doc.stages if s not in chain for i in s.instructions):
            return
        instructions = [i for s in chain for i in s.instructions]
        runs = [i for i in instructions if i.keyword == "RUN"]
        # the stage compiles native code: the full image's toolchain is what it needs
        if any(_NATIVE.search(i.value) for i in runs):
            return
        message = f"{ref.raw} is the full-size image; the final stage could use {ref.repository}:{slim}"
        reason = self._slim_doubt(doc, instructions)
        if reason:
            yield self.finding(doc, base.from_.line, message, reason=reason)
            return
        span = image_span(doc, base.from_)
        # the image word is not where it is expected (unusual layout): leave the file alone
        if span is None:
            return
        yield self.finding(doc, base.from_.line, message, [Edit(span[0], span[1], f"{ref.repository}:{slim}")],
                           safety=Safety.UNSAFE)

    def _slim_doubt(self, doc, instructions) -> str | None:
        """Why the slim variant might not do for these instructions; None when it surely does."""
        installed: set[str] = set()
        for ins in instructions:
            if ins.keyword == "RUN":
                if any(p.install.search(ins.value) for p in stacks.STACKS) or _DEP_INSTALL.search(ins.value):
                    return (f"line {ins.line} installs dependencies, which may build native extensions with the "
                            "full image's compilers; try the slim variant and keep it if the build passes")
                cmd = command(doc, ins)
                if cmd is None:  # exec form, heredoc or an unusual layout
                    return f"line {ins.line} is not a shell command orchfix reads, so what it needs is unknown"
                script, words = cmd.text, []
            elif ins.keyword in ("CMD", "ENTRYPOINT", "HEALTHCHECK"):
                script, words = _run_time_command(ins)
            else:
                continue
            if script is not None:
                segs = segments(script)
                if segs is None:
                    return f"line {ins.line} is not a shell command orchfix reads, so what it needs is unknown"
                commands = [command_words(seg.text.strip().lstrip("(")) or [] for seg in segs]
            else:
                commands = [words[:1]]  # an exec-form program: its arguments are not commands
            for words in commands:
                # packages installed here are there in the slim variant too
                if len(words) > 2 and words[0] in ("apt-get", "apt") and "install" in words:
                    installed |= {w for w in words[words.index("install") + 1:] if not w.startswith("-")}
                missing = self._missing(words, installed)
                if missing:
                    return f"line {ins.line} runs `{missing}`, which the slim variant does not have"
        return None

    @staticmethod
    def _missing(words: list[str], installed: set[str]) -> str | None:
        if not words:
            return None
        name = posixpath.basename(words[0])
        if name in _IN_SLIM or name in installed or "/" in words[0] and not words[0].startswith(("/usr/", "/bin/", "/sbin/")):
            return None  # a program of the image (or the app's own path)
        return name

    # -- pip cache -------------------------------------------------------------------------
    def _pip(self, doc, stage):
        # PIP_NO_CACHE_DIR in the environment already turns the cache off
        if "PIP_NO_CACHE_DIR" in _stage_env(doc, stage):
            return
        for ins in stage.instructions:
            if ins.keyword != "RUN" or "pip" not in ins.value or _cache_mount(ins) or "PIP_NO_CACHE_DIR" in ins.value:
                continue
            cmd = command(doc, ins)
            # exec-form and heredoc RUNs, or an unusual layout: not rewritten
            if cmd is None:
                continue
            inserts = [Edit.insert(at, " --no-cache-dir") for at in _pip_installs(cmd)]
            if inserts:
                yield self.finding(doc, ins.line, "pip install keeps its download cache in the image: add --no-cache-dir",
                                   inserts, safety=Safety.SAFE)

    # -- npm cache -------------------------------------------------------------------------
    def _npm(self, doc, stage):
        env = _stage_env(doc, stage)
        # a configured cache folder: where it goes is the author's choice
        if "NPM_CONFIG_CACHE" in env.upper():
            return
        for ins in stage.instructions:
            if ins.keyword != "RUN" or "npm" not in ins.value or _cache_mount(ins):
                continue
            if re.search(r"npm\s+cache\s+clean|\.npm\b|--cache\b|npm_config_cache", ins.value, re.I):
                continue
            cmd = command(doc, ins)
            segs = segments(cmd.text) if cmd else None
            # exec-form/heredoc RUNs, shell text that does not split, or a command that does not end cleanly
            if not segs or segs[-1].op is not None or "comment" in shell.features(segs[-1].text):
                continue
            if not any(_is_npm_install(command_words(s.text) or []) for s in segs):
                continue
            end, _ = last_line(doc, ins)
            yield self.finding(doc, ins.line, "npm install keeps its cache in the image: clean it in the same RUN",
                               [Edit.insert(end, " && npm cache clean --force")], safety=Safety.SAFE)


def _run_time_command(ins) -> tuple[str | None, list[str]]:
    """What a CMD, ENTRYPOINT or HEALTHCHECK runs: a shell script (shell form, or the script of an
    exec-form ``sh -c``), else the exec-form words."""
    if ins.keyword == "HEALTHCHECK":
        match = re.search(r"(?i)(?:^|\s)CMD\s+(.*)$", ins.args, re.S)
        text = match.group(1).strip() if match else ""
        words = _json_words(text) if text.startswith("[") else None
        if words is None:
            return (text or None), []
    elif ins.exec_form is None:
        return ins.value, []
    else:
        words = ins.exec_form
    shells = ("sh", "bash", "ash", "dash")
    if len(words) > 2 and posixpath.basename(words[0]) in shells and re.fullmatch(r"-[a-z]*c", words[1]):
        return words[2], []
    return None, words


def _json_words(text: str) -> list[str] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def _is_npm_install(words: list[str]) -> bool:
    words = [w for w in words if w != "sudo"]
    return len(words) > 1 and posixpath.basename(words[0]) == "npm" and next(
        (w for w in words[1:] if not w.startswith("-")), "") in _NPM_INSTALL


#: words before a command's name: compound-command keywords and wrappers that run the command
_PREFIX_WORDS = {"sudo", "exec", "time", "nice", "{", "!", "if", "then", "else", "elif", "do", "while", "until"}


def _pip_installs(cmd, text: str | None = None, base: int = 0) -> list[int]:
    """Raw offsets right after the ``install`` word of each pip install lacking --no-cache-dir
    (also inside ``( … )`` subshells)."""
    found = []
    text = cmd.text if text is None else text
    for seg in segments(text) or []:
        inner = seg.text.strip()
        if inner.startswith("(") and inner.endswith(")"):
            start = base + seg.start + seg.text.index("(") + 1
            found += _pip_installs(cmd, inner[1:-1], start)
            continue
        spans = shell.word_spans(seg.text)
        words = [seg.text[a:b] for a, b in spans]
        i = 0
        while i < len(words) and (re.match(r"[A-Za-z_][A-Za-z0-9_]*=", words[i]) or words[i] in _PREFIX_WORDS):
            i += 1
        if i >= len(words) or "--no-cache-dir" in words:
            continue
        name = posixpath.basename(words[i])
        if _PIP.match(name):
            rest = i + 1
        elif name.startswith("python") and words[i + 1:i + 3] == ["-m", "pip"]:
            rest = i + 3
        else:
            continue
        # the subcommand is the first word after the global options
        while rest < len(words) and words[rest].startswith("-"):
            rest += 1
        if rest < len(words) and words[rest] == "install":
            found.append(cmd.raw(base + seg.start + spans[rest][1]))
    return found
