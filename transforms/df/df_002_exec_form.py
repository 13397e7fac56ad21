from __future__ import annotations

import re

from orchfix import shell
from orchfix.text import Edit
from orchfix.transform import Safety, Transform

from ._exec_form import COMMENTS_INSIDE, arg_span, has_no_shell, is_windows, render, sets_shell, stage_has

_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
# POSIX reserved words and builtins that have no program to exec
_COMPOUND = {"if", "then", "else", "elif", "fi", "while", "until", "for", "do", "done", "case", "esac",
             "{", "}", "!", "[[", "function", "select"}
_BUILTINS = {"cd", "export", "set", "unset", "source", ".", "eval", "exit", "return", "wait", "trap",
             "shift", "read", "alias", "ulimit", "umask", "readonly", "local", "break", "continue", ":",
             "hash", "type", "command", "getopts", "times"}
# what the shell treats differently from shlex: brace expansion (bash as /bin/sh), `\$` in double quotes
_NOT_PLAIN = re.compile(r"\{[^}\s]*,[^}\s]*\}|\\[$`\\\n]")
_PRECEDES_LAST = {"&&", ";", "\n", "&"}
_JSON_LIKE = re.compile(r"\[\s*(?:[\"'\]]|$)")


def _first_word(segment: str) -> tuple[int, str] | None:
    """Offset and text of a command's first word after any ``NAME=value`` prefixes."""
    for start, end in shell.word_spans(segment):
        if not _ASSIGNMENT.match(segment, start):
            return start, segment[start:end]
    return None


def _with_exec(script: str) -> tuple[str | None, str | None]:
    """``script`` with its last command exec'd, or why that would change what the script does."""
    segments = shell.split(script)
    firsts = [_first_word(s.text) for s in segments]
    if any(f and f[1] in _COMPOUND or s.text.lstrip().startswith("(") for s, f in zip(segments, firsts)):
        return None, "it uses a compound command (if/while/for/case/group): there is no last simple command to exec"
    if any(f and f[1] == "trap" for f in firsts):
        return None, "it sets a trap, which would not run once the last command replaces the shell"
    last, first = segments[-1], firsts[-1]
    if last.op in ("&", "|", "||") or (len(segments) > 1 and segments[-2].op not in _PRECEDES_LAST):
        return None, "its last command runs in a pipeline, in the background or after ||, so it cannot become PID 1"
    if first is None:
        return None, "its last command only sets variables"
    if first[1] == "exec":
        return script, None
    if first[1] in _BUILTINS:
        return None, f"its last command is the shell builtin `{first[1]}`, which cannot be exec'd"
    at = last.start + first[0]
    return script[:at] + "exec " + script[at:], None


class ExecForm(Transform):
    r"""Write CMD and ENTRYPOINT in exec (JSON) form.

    What it finds:
        Shell-form ``CMD`` and ``ENTRYPOINT`` (``CMD node server.js``). Plain words become a JSON
        array; a command that needs a shell (variables, ``&&``, pipes, redirects, globs) becomes
        ``["/bin/sh", "-c", "… exec last-command"]`` so the program still replaces the shell.
        Reported without a fix: the shell form on Windows images or after ``SHELL`` (another
        shell), shell features on images without ``/bin/sh`` (scratch, distroless), and scripts
        whose last command cannot be exec'd (pipelines, ``||``, loops, traps, builtins).

    Why it matters:
        In shell form Docker runs ``/bin/sh -c "…"``: the shell is PID 1, ``docker stop``'s
        SIGTERM never reaches the program, and the container is killed after the grace period.
        Exec form (or ``exec`` inside ``sh -c``) makes the program PID 1 so it can shut down
        cleanly.

    Before:
        FROM node:20-alpine AS worker
        WORKDIR /app
        COPY . .
        CMD node worker.js --queue default

        FROM node:20-alpine
        WORKDIR /app
        COPY . .
        CMD npm run migrate && node server.js

    After:
        FROM node:20-alpine AS worker
        WORKDIR /app
        COPY . .
        CMD ["node", "worker.js", "--queue", "default"]

        FROM node:20-alpine
        WORKDIR /app
        COPY . .
        CMD ["/bin/sh", "-c", "npm run migrate && exec node server.js"]

    Options:
        ``shell`` (default ``"/bin/sh"``): the shell written in front of commands that need one;
        ``/bin/sh`` is what the shell form runs, so the command means exactly what it meant.

    Safety:
        Safe for CMD and for an ENTRYPOINT alone. Converting a shell-form ENTRYPOINT in a stage that
        also has a CMD is unsafe: the CMD (and ``docker run`` arguments), ignored until now, start
        being passed to the entrypoint. A command continued over several lines becomes one line,
        since a JSON string cannot be split; comment lines inside it are reported, not dropped.
    """

    id = "df-002"
    category = "df"
    title = "CMD/ENTRYPOINT exec form"
    safety = Safety.SAFE
    kinds = frozenset({"dockerfile"})
    options = {"shell": "/bin/sh"}
    # a shell form, or an array in single quotes (not JSON, so Docker runs it as a shell form)
    precheck = re.compile(r"^\s*(?:cmd|entrypoint)\s+(?:[^\s\[]|\[.*')", re.I | re.M)

    def check(self, doc):
        for ins in doc.instructions:
            # ONBUILD triggers run in an unknown child image; HEALTHCHECK CMD is another pattern
            if ins.keyword not in ("CMD", "ENTRYPOINT"):
                continue
            command = ins.value
            # empty, or already exec form
            if not command or ins.exec_form is not None:
                continue
            message = f"{ins.raw_keyword} in shell form: the shell is PID 1 and the program never gets SIGTERM"
            new, reason = self._exec_form(doc, ins, command)
            if new is None:
                yield self.finding(doc, ins.line, message, reason=reason)
                continue
            start, end = arg_span(doc, ins)
            unsafe = ins.keyword == "ENTRYPOINT" and stage_has(doc, ins, "CMD")
            yield self.finding(doc, ins.line, message, [Edit(start, end, new)],
                               safety=Safety.UNSAFE if unsafe else None)

    def _exec_form(self, doc, ins, command: str) -> tuple[str | None, str | None]:
        """The JSON array to write, or the reason not to write one."""
        stage = doc.stage_of(ins)
        if _JSON_LIKE.match(command):
            return None, ("it looks like exec form but is not a JSON array of strings, so Docker runs it"
                          " through a shell; fix its quoting")
        if ins.comments:
            return None, COMMENTS_INSIDE
        if is_windows(doc, stage):
            return None, "on Windows images the shell form runs through `cmd /S /C`; convert it by hand"
        if sets_shell(doc, stage):
            return None, "a SHELL instruction changes the shell that runs it; convert it by hand"
        try:
            plain = not shell.features(command) and not _NOT_PLAIN.search(command)
            words = shell.words(command) if plain else []
        except (ValueError, shell.ShellSyntaxError):
            return None, "it does not parse as a shell command (unbalanced quotes or brackets)"
        if words[:1] == ["exec"] and words[1:2] and not words[1].startswith("-"):
            words = words[1:]  # `exec prog` under sh -c runs prog as PID 1: exactly the exec form
        if words and words[0] not in _BUILTINS | _COMPOUND | {"exec"}:
            return render(words), None
        script, reason = _with_exec(command)
        if script is None:
            return None, f"it needs a shell, and {reason}"
        if has_no_shell(doc, stage):
            return None, ("it needs a shell, but the base image has none (scratch/distroless);"
                          " rewrite it without shell features")
        return render([self.opts.get("shell", "/bin/sh"), "-c", script]), None
