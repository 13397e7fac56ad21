"""cm-004: the .dockerignore of a build context leaves out secrets, VCS data and build output."""
from __future__ import annotations

import re
import textwrap

from orchfix.text import Edit, newline_of
from orchfix.transform import SideChange, Safety, Transform

from .._knowledge import dockerignore


class CompleteDockerignore(Transform):
    r"""Complete the .dockerignore of a build context with the entries that matter.

    What it finds:
    The ``.dockerignore`` that applies to a Dockerfile (its own ``<name>.dockerignore``, else
    the one at the root of its build context) when it does not leave out ``.git``, ``.env``
    files, private keys (``*.pem``, ``*.key``, ``id_rsa*``) or the dependency and build
    folders of the context's stack. An entry counts as present when the file already leaves
    out what it is about, whatever the spelling (``.env*`` covers ``.env``,
    ``**/node_modules`` covers ``node_modules``, a ``*`` allow-list covers everything).
    The missing entries are appended at the end, under short group comments, in the file's
    newline style:

        node_modules

        # version control
        .git

        # secrets and local settings
        **/.env
        ...

    In a monorepo, a Dockerfile in a subfolder whose build context has no ignore file while a
    folder above has one (which does not apply to that context) gets a new one with the
    same entries, when its Dockerfiles copy named paths only; a context whose Dockerfiles
    copy it whole gets a full file from io-004 instead, so the two never write the same file.

    Why it matters:
    A .dockerignore that lists ``node_modules`` but not ``.env`` still ships the secrets to
    every registry the image is pushed to; one that misses ``.git`` sends the whole history
    to the builder on every build and busts the cache on every commit.

    Before:
        FROM python:3.12-slim
        WORKDIR /app
        COPY requirements.txt .
        RUN pip install --no-cache-dir -r requirements.txt
        COPY app/ ./app/
        CMD ["python", "-m", "app"]

    After:
        FROM python:3.12-slim
        WORKDIR /app
        COPY requirements.txt .
        RUN pip install --no-cache-dir -r requirements.txt
        COPY app/ ./app/
        CMD ["python", "-m", "app"]

    Options:
    None.

    Safety:
    Safe: the existing lines are kept as they are and the new ones go after them. Like io-004,
    an entry is added only when the build does not need what it leaves out: nothing a
    COPY/ADD or RUN bind mount of any Dockerfile of the context names, no file git tracks
    (secret patterns get ``!path`` exceptions instead), dependency folders only when a RUN
    installs them, build output only when a RUN builds it, ``.git`` only when nothing the
    build runs uses git.
    """

    id = "cm-004"
    category = "cm"
    title = "A complete .dockerignore"
    safety = Safety.SAFE
    kinds = frozenset({"dockerfile"})
    options: dict = {}
    precheck = re.compile(r"^\s*(?:copy|add|run)\s", re.I | re.M)
    example_files = {"requirements.txt": "flask==3.0.3\n", ".dockerignore": "__pycache__\n*.pyc\n"}
    example_side = {".dockerignore": textwrap.dedent("""\
        __pycache__
        *.pyc

        # version control
        .git

        # secrets and local settings
        **/.env
        **/.env.*
        !**/.env.example
        !**/.env.sample
        !**/.env.template
        !**/.env.dist
        **/*.pem
        **/*.key
        **/id_rsa*

        # dependencies (installed by the build)
        .venv
        venv
        """)}

    def check(self, doc):
        workspace = self.ctx.workspace
        # without a workspace there is no context to look at or write into
        if workspace is None:
            return
        whole = dockerignore.whole_context_copies(doc)
        named = dockerignore.sources(doc)
        # nothing of the context reaches this build: its ignore file does not matter to it
        if not (whole or named):
            return
        line = min([i.line for i in whole] + [s.line for s in named])
        target = dockerignore.target(workspace, doc)
        # a context above the folder being fixed is not orchfix's to write into
        if not dockerignore.writable(workspace, target):
            return
        if target.exists:
            yield from self._complete(doc, workspace, target, line)
            return
        # a context one of its Dockerfiles copies whole gets its file from io-004
        if any(dockerignore.whole_context_copies(d) for d in target.dockerfiles):
            return
        above = dockerignore.ancestor_ignore(target.context)
        # no ignore file anywhere around: not a monorepo that forgot one
        if above is None:
            return
        plan = dockerignore.plan(workspace, target, None, critical_only=True)
        # every entry would leave out something the build needs
        if not plan.entries:
            return
        message = (f"{above} does not apply to the build context {target.context or '.'}/: "
                   f"add {target.path} leaving out {', '.join(plan.entries)}")
        yield self.finding(doc, line, message + plan.notes(), side=[dockerignore.new_file(target, plan)])

    def _complete(self, doc, workspace, target, line):
        text = workspace.read(target.path) or ""
        plan = dockerignore.plan(workspace, target, text, critical_only=True)
        # everything that matters is left out already (or cannot be, safely)
        if not plan.entries:
            return
        insert = dockerignore.render_append(plan, text, newline_of(text))
        yield self.finding(doc, line, f"{target.path} does not leave out {', '.join(plan.entries)}{plan.notes()}",
                           side=[SideChange(target.path, [Edit.insert(len(text), insert)])])
