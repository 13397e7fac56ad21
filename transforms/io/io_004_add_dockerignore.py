"""io-004: a build that sends the whole context gets a .dockerignore."""
from __future__ import annotations

import re
import textwrap

from orchfix.transform import Safety, Transform

from .._knowledge import dockerignore


class AddDockerignore(Transform):
    r"""Add a .dockerignore to a build context that is copied whole.

    What it finds:
    A Dockerfile that copies the whole build context (``COPY . .``, ``ADD ./ /app``,
    ``COPY * ./``) while the context has no ``.dockerignore`` and the Dockerfile has no
    ``<name>.dockerignore`` beside it (which BuildKit reads first). The context is the
    Dockerfile's folder unless a compose file names another one (``build: {context: ..}``).
    It writes a new ``.dockerignore`` there, grouped under short comments, for the stacks the
    context holds (package.json, requirements.txt, go.mod… or the installs its RUNs make):
    version control, secrets and local settings, dependency folders the build installs, build
    output it makes, caches and logs, editor files, container build files (``orchfix --explain
    io-004`` prints the file written for the example).
    The Dockerfile itself is not changed; the finding sits on its whole-context COPY.

    Why it matters:
    Without a .dockerignore every file of the folder is sent to the builder and lands in
    the image: the git history, ``.env`` files and private keys (which then ship to every
    registry the image is pushed to), the host's ``node_modules`` (built for another
    platform), build output and caches that make layers change on every build.

    Before:
        FROM node:20-alpine
        WORKDIR /app
        COPY . .
        RUN npm ci && npm run build
        CMD ["node", "dist/server.js"]

    After:
        FROM node:20-alpine
        WORKDIR /app
        COPY . .
        RUN npm ci && npm run build
        CMD ["node", "dist/server.js"]

    Options:
    None.

    Safety:
    Safe: an entry never leaves out what the build needs. Dependency folders are listed only
    when a RUN installs them, build output only when a RUN builds it, ``.git`` only when
    nothing the build runs uses git; no entry leaves out a path a COPY/ADD or RUN bind mount
    of any Dockerfile of the context names, nor a file git tracks (a committed
    ``.env.production``, a ``build/`` folder of sources): secret patterns get ``!path``
    exceptions for those, other entries are left out and named in the finding. When every
    entry would be unsafe the finding is reported only.
    """

    id = "io-004"
    category = "io"
    title = "Add a .dockerignore"
    safety = Safety.SAFE
    kinds = frozenset({"dockerfile"})
    options: dict = {}
    precheck = re.compile(r"^\s*(?:copy|add)\s", re.I | re.M)
    example_files = {
        "package.json": '{"name": "web", "version": "1.0.0", "scripts": {"build": "tsc"}, "devDependencies": {"typescript": "^5.6.3"}}\n',
        "package-lock.json": '{"name": "web", "version": "1.0.0", "lockfileVersion": 3, "requires": true, "packages": {}}\n',
    }
    example_side = {".dockerignore": textwrap.dedent("""\
        # version control
        .git
        .gitignore

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
        **/node_modules
        .yarn/cache

        # build output (made by the build)
        .next
        dist
        build

        # caches and logs
        **/*.log
        **/npm-debug.log*
        .npm
        coverage

        # editor and OS files
        **/.DS_Store
        .idea
        .vscode

        # container build files
        Dockerfile*
        *.Dockerfile
        .dockerignore
        docker-compose*
        compose*.y*ml
        """)}

    def check(self, doc):
        workspace = self.ctx.workspace
        # without a workspace there is no context to look at or write into
        if workspace is None:
            return
        whole = dockerignore.whole_context_copies(doc)
        # a build that copies named paths only sends those: cm-004 covers its contexts
        if not whole:
            return
        target = dockerignore.target(workspace, doc)
        # an ignore file applies already: cm-004 completes it
        if target.exists:
            return
        line = whole[0].line
        missing = f"the build sends its whole context and {target.path} does not exist"
        # a context above the folder being fixed (or not on disk) is named, not written
        if not dockerignore.writable(workspace, target):
            yield self.finding(doc, line, missing, reason=f"the build context {target.context}/ is outside the folder "
                               "being fixed; add a .dockerignore there")
            return
        plan = dockerignore.plan(workspace, target, None)
        if not plan.entries:
            yield self.finding(doc, line, missing, reason="every entry would leave out something the build needs: "
                               + "; ".join(f"{p}: {why}" for p, why in plan.dropped + plan.ruled_out))
            return
        message = f"the build sends its whole context: add {target.path} for secrets, VCS data, dependency and build output"
        yield self.finding(doc, line, message + plan.notes(), side=[dockerignore.new_file(target, plan)])
