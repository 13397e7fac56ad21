from __future__ import annotations

import re

from orchfix.text import Edit, newline_of
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge.dockerenv import keyword_like

from ._exec_form import COMMENTS_INSIDE, array_items, arg_span, newline_after, render, stage_has

# init wrappers that run the program after their own options (and `--`)
_WRAPPERS = {"tini", "tini-static", "dumb-init", "catatonit"}
# interpreter → (options that take a separate value, options whose value is the program itself)
_INTERPRETERS = {
    "python": ({"-W", "-X"}, {"-m", "-c"}),
    "node": ({"-r", "--require", "--import", "--loader", "--experimental-loader", "-C", "--conditions"},
             {"-e", "--eval", "-p", "--print"}),
    "java": ({"-cp", "-classpath", "--class-path", "-p", "--module-path", "--add-modules", "--add-opens",
              "--add-exports", "--add-reads", "--upgrade-module-path", "--limit-modules"}, {"-jar", "-m", "--module"}),
    "dotnet": (set(), set()),
    "ruby": ({"-I", "-r", "-C", "-E"}, {"-e"}),
    "perl": ({"-I", "-M", "-m"}, {"-e", "-E"}),
    "php": ({"-c", "-d", "-z"}, {"-r", "-f"}),
    "sh": ({"-o", "+o", "-O", "+O"}, {"-c"}),
}
_ALIASES = {"python": "python", "pypy": "python", "nodejs": "node", "node": "node", "java": "java",
            "dotnet": "dotnet", "ruby": "ruby", "perl": "perl", "php": "php",
            **{name: "sh" for name in ("sh", "bash", "ash", "dash", "zsh", "ksh")}}
# what the program after an interpreter's options looks like
_SCRIPT = {
    "python": r"\.pyc?$|/", "node": r"\.[mc]?[jt]s$|/|^\.$", "java": r"^[A-Za-z_][\w.$]*$", "dotnet": r"\.dll$",
    "ruby": r"\.rb$|/", "perl": r"\.pl$|/", "php": r"\.php$|/", "sh": r"\.(?:ba|z)?sh$|/",
}
# flags that keep a daemon in the foreground: how the container must run, not a default
_FOREGROUND = re.compile(r"^--?(?:no-?daemon(?:ize)?|foreground|no-?detach|no-?fork)$|^-DFOREGROUND$", re.I)


class Ambiguous(Exception):
    """Which words are the program and which are defaults cannot be told."""


def _name(word: str) -> str:
    return re.sub(r"[\d.]+$", "", word.rsplit("/", 1)[-1].lower())


def _program_length(words: list[str]) -> int:
    """How many leading words name the program (executable, its script, init wrappers, foreground flags)."""
    name = _name(words[0])
    if name in _WRAPPERS:
        if "--" in words:
            end = words.index("--") + 1
            return end + (_program_length(words[end:]) if words[end:] else 0)
        if len(words) > 1 and words[1].startswith("-"):
            raise Ambiguous(f"`{words[0]}` options without `--` hide where the program starts")
        return 1 + (_program_length(words[1:]) if words[1:] else 0)
    kind = _ALIASES.get(name)
    n = 1
    if kind:
        takes_value, program_value = _INTERPRETERS[kind]
        while n < len(words) and words[n].startswith("-") and words[n] not in program_value:
            n += 2 if words[n] in takes_value else 1
        if n < len(words) and words[n] in program_value:
            return min(n + 2, len(words))
        if n >= len(words):
            return len(words)
        if not re.search(_SCRIPT[kind], words[n]):
            raise Ambiguous(f"cannot tell which word `{words[0]}` runs as its program")
        n += 1
    while n < len(words) and _is_foreground(words, n):
        n += 2 if words[n] in ("-g", "-D") else 1
    return n


def _is_foreground(words: list[str], n: int) -> bool:
    """``--no-daemon``-like flags, nginx's ``-g "daemon off;"`` and apache's ``-D FOREGROUND``."""
    nxt = words[n + 1] if n + 1 < len(words) else ""
    return bool(_FOREGROUND.match(words[n])) or (words[n] == "-g" and "daemon off" in nxt) or (
        words[n] == "-D" and nxt == "FOREGROUND")


def _check_defaults(program: list[str], rest: list[str]) -> None:
    """Raise Ambiguous unless ``rest`` is options with their values (for an entrypoint script: anything)."""
    if "entrypoint" in _name(program[-1]):
        return  # an entrypoint script execs "$@": all it is given is the default command
    takes_value = False
    for i, word in enumerate(rest):
        if _is_foreground(rest, i):
            raise Ambiguous(f"`{word}` keeps the program in the foreground and belongs in ENTRYPOINT; reorder by hand")
        if word.startswith("-") and word not in ("-", "--"):
            takes_value = "=" not in word
        elif takes_value:
            takes_value = False
        else:
            raise Ambiguous(f"`{word}` is a positional argument (a subcommand or a required operand?)")


class EntrypointCmd(Transform):
    r"""Keep the program in ENTRYPOINT and its default arguments in CMD.

    What it finds:
        An exec-form ``ENTRYPOINT`` that carries default options (``["gunicorn", "--workers", "4"]``)
        in a stage without a ``CMD``. The executable stays, with the script an interpreter runs
        (``python app.py``, ``java -jar app.jar``), an init wrapper's program (``tini -- app``) and
        foreground flags (``--no-daemon``, ``-g "daemon off;"``); the trailing options and their
        values move to a new ``CMD`` right below. When it cannot tell which words are defaults (a
        positional argument such as a subcommand, an unknown interpreter option) it reports.

    Why it matters:
        Arguments given to ``docker run IMAGE …`` or a Kubernetes ``args:`` replace CMD and are
        appended to ENTRYPOINT. Defaults baked into ENTRYPOINT cannot be overridden, only
        extended, which turns every change of a port or log level into an image rebuild or an
        ``--entrypoint`` override.

    Before:
        FROM python:3.12-slim
        COPY app.py .
        ENTRYPOINT ["python", "app.py", "--port", "8080", "--log-level", "info"]

    After:
        FROM python:3.12-slim
        COPY app.py .
        ENTRYPOINT ["python", "app.py"]
        CMD ["--port", "8080", "--log-level", "info"]

    Options:
        None.

    Safety:
        Unsafe: ``docker run IMAGE`` does the same, but ``docker run IMAGE --debug`` used to keep
        the moved options and now replaces them. An ENTRYPOINT array written in another style
        (``[ "a", "b" ]``) keeps that style and its string escapes byte for byte.
    """

    id = "df-003"
    category = "df"
    title = "ENTRYPOINT + CMD"
    safety = Safety.UNSAFE
    kinds = frozenset({"dockerfile"})
    options: dict = {}
    precheck = re.compile(r"^\s*entrypoint\s", re.I | re.M)  # df-002 may turn a shell form into an array

    def check(self, doc):
        for stage in doc.stages:
            entrypoints = [i for i in stage.instructions if i.keyword == "ENTRYPOINT"]
            # only the last ENTRYPOINT of a stage counts; a CMD of the stage already holds the defaults
            if not entrypoints or stage_has(doc, entrypoints[-1], "CMD"):
                continue
            ins = entrypoints[-1]
            words = ins.exec_form
            # shell form (df-002's business) or nothing but the program
            if not words or len(words) < 2:
                continue
            try:
                n = _program_length(words)
                if n < len(words):
                    _check_defaults(words[:n], words[n:])
            except Ambiguous as exc:
                yield self.finding(doc, ins.line, "ENTRYPOINT may carry default arguments that belong in CMD",
                                   reason=f"{exc}; move the defaults to CMD by hand if there are any")
                continue
            # nothing after the program: no defaults to move
            if n >= len(words):
                continue
            message = f"ENTRYPOINT carries default arguments {render(words[n:])}; move them to CMD"
            if ins.comments:
                yield self.finding(doc, ins.line, message, reason=COMMENTS_INSIDE)
                continue
            yield self.finding(doc, ins.line, message, self._edits(doc, ins, words, n))

    def _edits(self, doc, ins, words: list[str], n: int) -> list[Edit]:
        """Cut the array after the program, and insert a CMD with the rest below it."""
        start, end = arg_span(doc, ins)
        indent = doc.text[ins.start:ins.keyword_start]
        ending = newline_after(doc, ins)
        items = array_items(doc, ins)
        if items:  # keep the author's brackets, separators and escapes
            head = doc.text[start:items[n - 1][1]] + doc.text[items[-1][1]:end]
            tail = doc.text[start:items[0][0]] + doc.text[items[n][0]:end]
        else:
            head, tail = render(words[:n]), render(words[n:])
        cmd = f"{indent}{keyword_like('CMD', ins.raw_keyword)} {tail}"
        line = cmd + ending if ending else newline_of(doc.text) + cmd
        return [Edit(start, end, head), Edit.insert(ins.end, line)]
