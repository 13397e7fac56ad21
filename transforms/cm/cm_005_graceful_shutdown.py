from __future__ import annotations

import posixpath
import re

from orchfix.text import Edit
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import contexts, npm, stacks
from orchfix.transforms.df._exec_form import arg_span, is_windows, render

_NODE_INSTALL = next(s.install for s in stacks.STACKS if s.name == "node")
_OMITS_DEV = re.compile(r"--(?:production|omit[= ]dev|only[= ]prod)|\bNODE_ENV=production\b|--prod\b")


class GracefulShutdown(Transform):
    r"""Run the app itself, not the package manager that starts it.

    What it finds:
        ``CMD``/``ENTRYPOINT`` (exec or shell form) that start the app through ``npm start``,
        ``npm run X``, ``yarn start``, ``yarn X``, ``pnpm start`` or ``pnpm run X``. It reads the
        package.json the image runs with (the one a COPY put in the working directory, found in the
        build context: the Dockerfile's folder or the context a compose file names) and writes the
        script's command in exec form: ``"start": "node dist/server.js"`` becomes
        ``CMD ["node", "dist/server.js"]``; ``npm start`` without a start script runs
        ``node server.js``, as npm does. A package binary (``next start``) is written as
        ``node_modules/.bin/next`` when the image installs its dependencies there.
        Reported without a fix: package.json not in the workspace, scripts that are not one plain
        command (``&&``, variables, ``NODE_ENV=… node``), ``pre``/``post`` scripts npm would also
        run, and development tools (nodemon, ts-node, ``next dev``, ``react-scripts start``,
        ``vite``…) that should not run in a production image at all.

    Why it matters:
        npm, yarn and pnpm start the script in a child shell and stay PID 1. ``docker stop`` sends
        SIGTERM to the package manager, which does not reliably pass it on, so the app gets no
        chance to finish requests and close connections, and is killed after the grace period.
        Started directly, the app receives the signal itself (it still needs a SIGTERM handler, or
        ``docker run --init``, since PID 1 has no default signal actions).

    Before:
        FROM node:22-slim
        WORKDIR /app
        COPY . .
        RUN npm ci --omit=dev
        CMD ["npm", "start"]

    After:
        FROM node:22-slim
        WORKDIR /app
        COPY . .
        RUN npm ci --omit=dev
        CMD ["node", "server.js"]

    Options:
        None.

    Safety:
        Safe: the command is the one npm would run, in the same working directory. What the
        package manager adds goes away: its ``npm_package_*``/``npm_lifecycle_*`` environment
        variables and ``node_modules/.bin`` on PATH for child processes. Converting an
        ``ENTRYPOINT`` in a stage that also has a ``CMD`` is unsafe: the CMD arguments went to npm
        before and now go to the app.
    """

    id = "cm-005"
    category = "cm"
    title = "Graceful shutdown"
    safety = Safety.SAFE
    kinds = frozenset({"dockerfile"})
    options: dict = {}
    precheck = re.compile(r"^\s*(?:cmd|entrypoint)\b[^\n]*\b(?:npm|yarn|pnpm)\b", re.I | re.M)
    example_files = {
        "package.json": '{"name": "web", "version": "1.0.0", "scripts": {"start": "node server.js"}}\n',
        "package-lock.json": '{"name": "web", "version": "1.0.0", "lockfileVersion": 3, "requires": true, "packages": {}}\n',
    }

    def check(self, doc):
        for ins in doc.instructions:
            if ins.keyword not in ("CMD", "ENTRYPOINT"):
                continue
            words = contexts.command_words(ins)
            found = npm.invocation(words) if words else None
            if found is None:
                continue
            stage = contexts.stage_at(doc, ins)
            # the shell form runs through cmd.exe on Windows images; npm's scripts too
            if is_windows(doc, stage):
                continue
            message = (f"{ins.raw_keyword} runs `{' '.join(words)}`: {words[0]} stays PID 1 and may not pass "
                       "SIGTERM on, so the app cannot shut down gracefully")
            new, reason = self._command(doc, ins, found, words)
            if new is None:
                yield self.finding(doc, ins.line, message, reason=reason)
                continue
            start, end = arg_span(doc, ins)
            own_cmd = ins.keyword == "ENTRYPOINT" and any(i.keyword == "CMD" for i in stage.instructions)
            yield self.finding(doc, ins.line, message + f"; runs {render(new)} directly",
                               [Edit(start, end, render(new))], safety=Safety.UNSAFE if own_cmd else None)

    def _command(self, doc, ins, found, words) -> tuple[list[str] | None, str | None]:
        """The exec-form command to write, or why there is none."""
        if isinstance(found, str):
            return None, found
        if ins.comments:
            return None, "comment lines inside the continued instruction would be lost; convert it by hand"
        workspace = self.ctx.workspace
        context = contexts.build_context(workspace, doc.path)
        workdir = contexts.workdir_at(doc, ins)
        if workdir is None:
            return None, "the working directory is unknown, so which package.json runs cannot be told"
        package = contexts.context_file(workspace, context, doc, ins, posixpath.join(workdir, "package.json"))
        if package is None:
            where = context or "."
            return None, (f"the package.json in {workdir} is not in the workspace (build context {where}); "
                          "run orchfix over the project with its package.json")
        pkg = npm.load(workspace.read(package))
        if pkg is None:
            return None, f"{package} does not parse as a JSON object"

        def exists(rel: str) -> bool:
            return contexts.context_file(workspace, context, doc, ins, posixpath.join(workdir, rel)) is not None

        resolved = npm.resolve(pkg, words, exists)
        if resolved is None or resolved.words is None:
            return None, resolved.reason if resolved else "it does not run a package script"
        command, program = resolved.words, resolved.words[0]
        if program in npm.SYSTEM_COMMANDS or program.startswith(("/", "./", "../")):
            return command, None
        package_name = npm.bin_package(program)
        if package_name not in npm.dependencies(pkg, dev=True):
            return None, (f"the script runs `{program}`, which is neither node nor a binary of a package in "
                          "package.json; write the command by hand")
        if not _has_node_modules(doc, ins, workdir):
            return None, f"the script runs `{program}` from node_modules/.bin, and this stage does not install node_modules in {workdir}"
        if package_name not in npm.dependencies(pkg) and _omits_dev(doc, ins):
            return None, f"the script runs `{program}` from devDependencies, which this image does not install"
        return [f"node_modules/.bin/{program}", *command[1:]], None


def _install_runs(doc, ins) -> list:
    return [i for i in contexts.chain(doc, ins) if i.keyword == "RUN" and _NODE_INSTALL.search(i.value)]


def _has_node_modules(doc, ins, workdir: str) -> bool:
    """Whether an install ran in ``workdir`` or a COPY put a node_modules folder there."""
    if any(contexts.workdir_at(doc, run) == workdir for run in _install_runs(doc, ins)):
        return True
    target = posixpath.join(workdir, "node_modules")
    for other in contexts.chain(doc, ins):
        parts = contexts.copy_parts(other)
        if parts and any(posixpath.basename(s.rstrip("/")) == "node_modules" for s in parts[0]):
            dest = contexts.container_path(contexts.workdir_at(doc, other), parts[1])
            if dest in (target, workdir):
                return True
    return False


def _omits_dev(doc, ins) -> bool:
    return any(_OMITS_DEV.search(run.value) for run in _install_runs(doc, ins)) or any(
        i.keyword == "ENV" and re.search(r"\bNODE_ENV[= ]+[\"']?production", i.value) for i in contexts.chain(doc, ins))
