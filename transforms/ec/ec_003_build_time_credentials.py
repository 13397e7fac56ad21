from __future__ import annotations

import posixpath
import re

from orchfix import shell
from orchfix.text import Edit, newline_of
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import dockerenv, secrets

STYLES = ("secret-mount", "arg")
# docker/dockerfile frontends that understand RUN --mount=type=secret,env= (1.10 and later)
_FRONTEND = re.compile(r"^(?:docker\.io/)?docker/dockerfile(?::(?P<tag>[^@\s]+))?(?:@\S+)?$")
_GOOD_TAG = re.compile(r"^(?:latest|labs|1|1-labs|1\.(?P<minor>\d+)(?:\.\d+)?(?:-labs)?)$")
_REDIRECT = re.compile(r"(?<![<>&\d])(?:\d?>>?|&>>?)[ \t]*(?=[^ \t&>])")
_CONFIG = re.compile(r"^\s*(?:sudo\s+)?(?P<tool>[\w.-]+)\s+(?:--?[\w-]+(?:=\S+)?\s+)*config\b(?P<rest>.*)$", re.S)


def _target(text: str, blank: str, at: int) -> str:
    """The word of ``text`` that starts at ``at`` (quotes removed)."""
    end = at
    while end < len(blank) and not blank[end].isspace() and blank[end] not in ";&|<>":
        end += 1
    try:
        return " ".join(shell.words(text[at:end]))
    except ValueError:
        return text[at:end]


def _pipelines(segments: list[shell.Segment]) -> list[list[shell.Segment]]:
    groups: list[list[shell.Segment]] = [[]]
    for seg in segments:
        groups[-1].append(seg)
        if seg.op != "|":
            groups.append([])
    return [g for g in groups if g]


def _written_files(group: list[shell.Segment]) -> list[str]:
    """Files a pipeline writes: redirection targets and ``tee`` arguments."""
    files = []
    for seg in group:
        try:
            blank = shell.blank_quotes(seg.text)
        except shell.ShellSyntaxError:  # unbalanced quotes: its redirections cannot be told
            continue
        for match in _REDIRECT.finditer(blank):
            target = _target(seg.text, blank, match.end())
            if target and not target.startswith(("/dev/", "&")):
                files.append(target)
        try:
            argv = shell.words(seg.text)
        except ValueError:
            continue
        if argv and posixpath.basename(argv[0]) == "tee":
            files.extend(w for w in argv[1:] if not w.startswith("-") and not re.match(r"\d*[<>&]", w))
    return files


class BuildTimeCredentials(Transform):
    r"""Pass build-time credentials as BuildKit secrets, not ENV.

    What it finds:
        ``ENV`` pairs holding a credential that build tools read (``NPM_TOKEN``,
        ``NODE_AUTH_TOKEN``, ``PIP_INDEX_URL``/``UV_INDEX_URL`` with credentials in the URL,
        ``GITHUB_TOKEN``/``GH_TOKEN``, ``BUNDLE_<HOST>__<TLD>``, ``COMPOSER_AUTH``, cargo, NuGet,
        Artifactory/Maven tokens…) that only RUN instructions read: by name (``$NPM_TOKEN``) or
        through the tool that reads it from the environment (pip reads ``PIP_INDEX_URL``), in its
        stage and in the stages built on it. Literal values and ``ENV NPM_TOKEN=$NPM_TOKEN``
        copies of a build argument alike.
        Reported without a fix: a credential also read at run time (CMD/ENTRYPOINT/HEALTHCHECK,
        e.g. ``npm start`` reading ``.npmrc``) or by another build step (COPY, LABEL, ENV…); a
        RUN that stores it with a tool's ``config`` command (git, yarn, poetry, composer,
        bundle…) or writes it into a file that a later RUN still reads; RUNs whose end cannot
        take another command; and a ``# syntax=`` directive older than docker/dockerfile:1.10.

    Why it matters:
        ENV values are part of the image: every layer after the ENV, ``docker history`` and
        ``docker inspect`` expose the token. A BuildKit secret mount gives the RUN the value
        for its duration only and writes it nowhere; with ``env=`` the tool reads it from the
        same variable as before.

    Before:
        FROM node:20-slim
        WORKDIR /app
        COPY package.json package-lock.json ./
        ENV NPM_TOKEN=npm_a8Fk2LmQ9xTz4RbW7cYv1NpE3sHu6JdG0iKo
        RUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci
        COPY . .
        CMD ["node", "server.js"]

    After:
        # syntax=docker/dockerfile:1
        FROM node:20-slim
        WORKDIR /app
        COPY package.json package-lock.json ./
        # NPM_TOKEN: build with docker build --secret id=npm_token,env=NPM_TOKEN
        RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci && rm -f .npmrc
        COPY . .
        CMD ["node", "server.js"]

    Options:
        ``style`` (default ``"secret-mount"``): ``"secret-mount"`` adds
        ``--mount=type=secret,id=<name>,env=<NAME>`` to each RUN that reads the credential, removes
        the ENV pair (with the ``ARG <NAME>`` that only fed it) and adds
        ``# syntax=docker/dockerfile:1`` on the first line when the file has no syntax directive
        (``env=`` needs the 1.10 frontend); build with ``docker build --secret
        id=<name>,env=<NAME>``. ``"arg"`` replaces the ENV pair with ``ARG <NAME>`` without a
        default (declared again in later stages that read it); build with ``docker build
        --build-arg <NAME>``. Build arguments read by RUN still show in the image history, which
        is why ``secret-mount`` is the default. In both styles a file that a RUN writes the
        credential into (``echo … > .npmrc``, ``| tee ~/.netrc``) is removed at the end of that RUN
        (``&& rm -f .npmrc``), and ``npm config set <key> …`` is undone with ``npm config delete``.

    Safety:
        Unsafe: the build needs the credential passed in a new way, and the image no longer
        carries it. The value is written nowhere (not in a comment, not in the finding's
        message). Works with sc-002: sc-002 leaves a secret ENV that a RUN reads to this
        transform (it reports it instead of removing it), so both converge on the secret mount.
    """

    id = "ec-003"
    category = "ec"
    title = "Build-time credentials"
    safety = Safety.UNSAFE
    kinds = frozenset({"dockerfile"})
    options = {"style": "secret-mount"}
    precheck = re.compile(r"^\s*env\s", re.I | re.M)

    def check(self, doc):
        style = self.opts.get("style", "secret-mount")
        if style not in STYLES:
            raise ValueError(f"option style must be one of {', '.join(STYLES)}, not {style!r}")
        for ins in doc.instructions:
            # ONBUILD ENV lands in other builds; only direct ENV instructions are ours
            if ins.keyword != "ENV":
                continue
            found = dockerenv.pairs(doc, ins)
            # a pair list BuildKit would reject is not ours to edit
            if found is None:
                continue
            for index, pair in enumerate(found):
                cred = secrets.build_credential(pair.name, pair.value)
                # an empty value unsets the variable: there is nothing to move
                if cred is None or not pair.value.strip().strip("'\""):
                    continue
                used = dockerenv.uses(doc, ins, pair.name, cred.tools)
                # no RUN reads it: not a build-time credential (sc-002 judges a literal value)
                if not any(u.kind == "run" for u in used):
                    continue
                yield self._finding(doc, ins, found, index, cred, used, style)

    def _finding(self, doc, ins, found, index, cred, used, style):
        pair = found[index]
        name, secret_id = pair.name, pair.name.lower()
        runs = [u.ins for u in used if u.kind == "run"]
        lines = ", ".join(str(r.line) for r in runs)
        how = (f"docker build --secret id={secret_id},env={name}" if style == "secret-mount"
               else f"docker build --build-arg {name}")
        message = f"ENV {name} holds a build-time credential that RUN (line {lines}) reads"

        def report(reason: str):
            return self.finding(doc, ins.line, message, reason=reason)

        other = next((u for u in used if u.kind != "run"), None)
        if other is not None:
            # the image or another build step needs it: removing it from ENV breaks them
            when = "at run time" if other.kind == "runtime" else "at build time"
            via = f" (it runs a tool that reads {name})" if other.implicit else ""
            return report(f"{other.ins.keyword} on line {other.ins.line} also reads it {when}{via}; "
                          "it is not only a build-time credential")
        redactions, holder = dockerenv.copies(doc, pair) if not secrets.is_placeholder(pair.value) else ([], None)
        # the same literal value written into another instruction would survive the fix
        if holder is not None:
            return report(f"its value also appears in {holder.keyword} on line {holder.line}; remove it there too")
        if style == "secret-mount":
            problem = _frontend_problem(doc)
            if problem:
                return report(problem)
        cleanups: dict[int, list[str]] = {}
        for run in runs:
            commands = _cleanup(doc, run, name, cred)
            if isinstance(commands, str):
                return report(f"RUN on line {run.line} {commands}")
            if commands:
                cleanups[run.line] = commands
        removal = dockerenv.removal(doc, ins, found, index)
        if isinstance(removal, str):
            return report(removal)
        nl = newline_of(doc.text)
        edits: list[Edit] = []
        for run in runs:
            if cleanups.get(run.line):
                edits.append(Edit.insert(dockerenv.arg_end(doc, run), " && " + " && ".join(cleanups[run.line])))
        if style == "secret-mount":
            note = f"{name}: build with {how}"
            if removal is None:
                edits.append(dockerenv.replace_instruction(doc, ins, dockerenv.indent_of(doc, ins) + "# " + note))
            else:
                edits += [Edit.insert(ins.start, dockerenv.comment_line(doc, ins, note)), removal]
            mount = f"--mount=type=secret,id={secret_id},env={name}"
            for run in runs:
                if not re.search(rf"--mount=\S*type=secret\S*env={re.escape(name)}(?![\w])", run.value):
                    edits.append(Edit.insert(run.keyword_end, " " + mount))
            if "syntax" not in doc.directives:
                edits.append(Edit.insert(0, "# syntax=docker/dockerfile:1" + nl))
            edits += _feeding_arg(doc, ins, pair)
        else:
            arg_kw = dockerenv.keyword_like("ARG", ins.raw_keyword)
            declared = _declares_arg(doc, doc.stages[ins.stage], name, ins)
            if removal is None:
                edits.append(Edit.delete(ins.start, ins.end) if declared else
                             dockerenv.replace_instruction(doc, ins, f"{dockerenv.indent_of(doc, ins)}{arg_kw} {name}"))
            else:
                edits.append(removal)
                if not declared:
                    edits.append(Edit.insert(ins.start, f"{dockerenv.indent_of(doc, ins)}{arg_kw} {name}{nl}"))
            for stage in {doc.stages[r.stage].index: doc.stages[r.stage] for r in runs if r.stage != ins.stage}.values():
                first = min(r.start for r in runs if r.stage == stage.index)
                if not _declares_arg(doc, stage, name, None, before=first):
                    start = stage.from_.end
                    lead = "" if doc.text.endswith("\n", 0, start) else nl
                    edits.append(Edit.insert(start, f"{lead}{arg_kw} {name}{nl}"))
        edits = dockerenv.without_overlaps(edits, redactions)
        removed = ", ".join(f"line {r}: {' && '.join(c)}" for r, c in cleanups.items())
        tail = f"; the RUN now removes what it wrote ({removed})" if removed else ""
        return self.finding(doc, ins.line, f"{message}: ENV removed, build with {how}{tail}", edits)


def _frontend_problem(doc) -> str | None:
    """Why the file's ``# syntax=`` directive would not understand ``env=`` on a secret mount."""
    syntax = doc.directives.get("syntax")
    if syntax is None:
        return None
    match = _FRONTEND.match(syntax)
    if not match:
        return f"the syntax directive names another frontend ({syntax}); RUN --mount=type=secret,env= needs docker/dockerfile:1.10 or later"
    tag = match.group("tag") or "latest"
    good = _GOOD_TAG.match(tag)
    if good and (good.group("minor") is None or int(good.group("minor")) >= 10):
        return None
    return f"the syntax directive pins docker/dockerfile:{tag}; RUN --mount=type=secret,env= needs 1.10 or later (use docker/dockerfile:1)"


def _declares_arg(doc, stage, name: str, until, before: int | None = None) -> bool:
    """Whether ``stage`` declares ``ARG name`` before ``until`` (or the offset ``before``)."""
    limit = until.start if until is not None else before
    for ins in stage.instructions:
        if ins.start >= limit:
            break
        if ins.keyword == "ARG" and any(p.name == name for p in dockerenv.pairs(doc, ins) or ()):
            return True
    return False


def _feeding_arg(doc, ins, pair) -> list[Edit]:
    """The removal of an ``ARG NAME`` whose only reader was ``ENV NAME=$NAME`` (now a secret)."""
    if dockerenv.references(pair.value) != {pair.name} or secrets.literal_text(pair.value).strip():
        return []
    stage = doc.stages[ins.stage]
    for arg in reversed([i for i in stage.instructions if i.keyword == "ARG" and i.start < ins.start]):
        found = dockerenv.pairs(doc, arg) or []
        index = next((k for k, p in enumerate(found) if p.name == pair.name), None)
        if index is None:
            continue
        readers = dockerenv.uses(doc, arg, pair.name)
        # something besides the ENV reads the build argument: it stays
        if [u.ins for u in readers] != [ins]:
            return []
        removal = dockerenv.removal(doc, arg, found, index)
        if isinstance(removal, str):
            return []
        return [removal or Edit.delete(arg.start, arg.end)]
    return []


def _cleanup(doc, run, name: str, cred) -> list[str] | str:
    """Commands to append to ``run`` so it leaves no copy of the credential behind, or why it cannot."""
    if name not in dockerenv.expanded_references(dockerenv.command_text(run)):
        return []  # the tool reads it from the environment: nothing is written
    if run.heredocs or run.exec_form is not None:
        body = dockerenv.command_text(run)
        if re.search(r">|\btee\b|\bconfig\b", body):
            return "may store the credential from a heredoc or exec-form command; remove what it writes by hand"
        return []
    try:
        segments = shell.split(run.args)
    except shell.ShellSyntaxError:
        return "has shell syntax orchfix cannot follow; check by hand that it writes the credential nowhere"
    files: list[str] = []
    commands: list[str] = []
    after: int | None = None
    for gi, group in enumerate(_pipelines(segments)):
        if not any(name in dockerenv.expanded_references(s.text) for s in group):
            continue
        after = gi
        files += _written_files(group)
        for seg in group:
            match = _CONFIG.match(seg.text)
            if not match or name not in dockerenv.expanded_references(seg.text):
                continue
            tool, rest = posixpath.basename(match.group("tool")), match.group("rest").split()
            if tool in ("npm", "pnpm") and rest[:1] == ["set"] and len(rest) >= 2:
                commands.append(f"{tool} config delete {rest[1].split('=', 1)[0]}")
            else:
                return f"stores {name} with `{tool} config`; undo that in the same RUN by hand"
    if after is None:
        return []
    later = [s for g in _pipelines(segments)[after + 1:] for s in g]
    words_after = []
    for seg in later:
        try:
            words_after.append(shell.words(seg.text))
        except ValueError:
            words_after.append([])
    files = [f for f in dict.fromkeys(files) if not any(w[:1] == ["rm"] and f in w for w in words_after)]
    if any(not f.startswith(("/", "~", "$")) for f in files) and any(w[:1] in (["cd"], ["pushd"]) for w in words_after):
        return "changes directory after writing the credential file; remove the file by hand"
    for later_run in _later_runs(doc, run):
        body = dockerenv.command_text(later_run)
        if any(posixpath.basename(f) in body for f in files) or (files and cred.tools and cred.tools.search(body)):
            return (f"writes {name} into {files[0]}, which RUN on line {later_run.line} still reads; "
                    "write, use and remove it in one RUN")
    if files:
        commands.append("rm -f " + " ".join(_quote(f) for f in files))
    if commands:
        if segments[-1].op is not None or "comment" in shell.features(segments[-1].text):
            return "ends in a way another command cannot follow (a trailing operator or comment); remove the credential file by hand"
    return commands


def _quote(path: str) -> str:
    if path.startswith("~/"):
        return "~/" + _quote(path[2:]) if path[2:] else path
    return path if re.fullmatch(r"[\w@%+=:,./${}-]+", path) else "'" + path.replace("'", "'\\''") + "'"


def _later_runs(doc, run):
    stage = doc.stages[run.stage]
    yield from (i for i in stage.instructions if i.keyword == "RUN" and i.start > run.start)
    for child in dockerenv.descendants(doc, stage):
        yield from (i for i in child.instructions if i.keyword == "RUN")
