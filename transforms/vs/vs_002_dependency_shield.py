from __future__ import annotations

import posixpath
import re

from yaml.nodes import MappingNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.text import Edit
from orchfix.transform import Transform
from orchfix.transforms._knowledge import compose, compose_view as cv, contexts, dockerenv, stacks
from orchfix.transforms.vs import _volumes as vol

_NODE = next(s for s in stacks.STACKS if s.name == "node")
_PY_MARKERS = ("pyproject.toml", "requirements.txt", "requirements-dev.txt", "Pipfile")
#: commands that create a virtual environment at a path: ``python -m venv P``, ``virtualenv P``, ``uv venv P``
_VENV = re.compile(r"(?:-m\s+venv|\bvirtualenv|\buv\s+venv)((?:\s+--?[\w-]+(?:=\S+)?)*)\s+([^\s;&|]+)")


def _venv_paths(doc, stage, workdir: str | None) -> set[str]:
    """Container paths where the image's build puts a Python virtual environment."""
    found: set[str] = set()
    env = cv.stage_env(doc, stage)
    runs = [dockerenv.command_text(i) for i in cv.chain(doc, stage) if i.keyword == "RUN"]
    text = "\n".join(runs)
    for match in _VENV.finditer(text):
        path = contexts.container_path(workdir, match.group(2))
        if path:
            found.add(path)
    in_project = re.search(r"\buv\s+sync\b", text) or re.search(r"virtualenvs\.in-project\s+true", text) or \
        env.get("POETRY_VIRTUALENVS_IN_PROJECT", "").lower() in ("true", "1")
    if in_project:
        target = env.get("UV_PROJECT_ENVIRONMENT") if re.search(r"\buv\s+sync\b", text) else None
        path = contexts.container_path(workdir, target or ".venv")
        if path:
            found.add(path)
    return found


class DependencyShield(Transform):
    r"""Keep the image's installed dependencies visible under a development bind mount.

    What it finds:
        A bind mount of a project folder (``.:/app``, ``./web:/usr/src/app``, short or long
        syntax) into a service whose image installs that folder's dependencies at the mount
        point: a Node app (``package.json`` in the host folder) whose Dockerfile runs
        ``npm ci``/``npm install``/``yarn``/``pnpm install`` with that WORKDIR (or whose command
        installs them at start), with no volume for ``<target>/node_modules``. The same for a
        Python project (``pyproject.toml``/``requirements*.txt``) whose image builds a
        ``.venv`` there (``uv sync``, ``python -m venv .venv``, Poetry in-project
        environments). Writes an anonymous volume for the dependency folder right after the bind
        mount. Services that use the host's own ``node_modules`` (no install in the image) are
        left alone; a build whose Dockerfile cannot be read is reported.

    Why it matters:
        The bind mount hides everything the image put at the target, ``node_modules`` included:
        the app runs with the host's dependencies (built for another OS or missing) or none at
        all. An anonymous volume at ``<target>/node_modules`` shields that folder: the container
        keeps the dependencies its image installed while the source stays live-mounted.

    Before:
        services:
          web:
            build: .
            volumes:
              - .:/app

    After:
        services:
          web:
            build: .
            volumes:
              - .:/app
              - /app/node_modules

    Options:
        None.

    Safety:
        Safe: only the dependency folder changes, to the one the image installed (as without the
        bind mount). Packages installed on the host into ``node_modules`` no longer reach the
        container: rebuild the image after changing dependencies.
    """

    id = "vs-002"
    category = "vs"
    title = "Dev bind mounts keep container deps"
    kinds = frozenset({"compose"})
    precheck = re.compile(r"\bvolumes\s*:")
    example_files = {
        "package.json": '{"name": "web", "scripts": {"start": "node server.js"}}\n',
        "Dockerfile": "FROM node:22-slim\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\nCMD [\"node\", \"server.js\"]\n",
    }

    def check(self, doc):
        workspace = self.ctx.workspace
        views = cv.views(workspace, doc)
        file = cv.own_file(workspace, doc)
        if file is None:
            return
        seen: set[int] = set()
        for name, service in file.services.items():
            hit = cv.lookup(service.node, "volumes")
            if hit is None or not isinstance(hit[1], SequenceNode) or id(hit[1]) in seen:
                continue
            seen.add(id(hit[1]))
            seq, view = hit[1], views[name]
            mounted = {vol.norm(v.target) for v in view.volumes() if v.target.startswith("/")}
            for item in seq.value:
                volume = compose.parse_volume(item)
                # binds of project folders only: no variables, absolute host paths or sockets
                if volume is None or volume.kind != "bind" or not volume.source or "$" in volume.source + volume.target:
                    continue
                if not volume.source.startswith(".") or not volume.target.startswith("/"):
                    continue
                host = posixpath.normpath(posixpath.join(file.folder, volume.source))
                target = vol.norm(volume.target)
                wanted, why = self._shields(view, host, target)
                line = vol.line_of(item)
                if why:
                    yield self.finding(doc, line, f"{name} bind-mounts {volume.source} over {target}", reason=why)
                    continue
                paths = [p for p in wanted if p not in mounted]
                if not paths:
                    continue
                edit = self._insert(doc, seq, item, paths)
                shown = ", ".join(paths)
                yield self.finding(doc, line, f"{name} bind-mounts {volume.source} over {target}, hiding the dependencies its image "
                                              f"installed there: keep them with an anonymous volume at {shown}", [edit])

    def _shields(self, view: cv.View, host: str, target: str) -> tuple[list[str], str | None]:
        """The dependency folders to shield under ``target``, or why it cannot be told."""
        workspace = self.ctx.workspace
        node = workspace.exists(posixpath.join(host, "package.json"))
        python = any(workspace.exists(posixpath.join(host, m)) for m in _PY_MARKERS)
        if not (node or python):
            return [], None
        command = " ".join(view.command())
        entry = view.get("entrypoint")
        command += " " + (ye.scalar(entry) or " ".join(ye.scalar(n) or "" for n in getattr(entry, "value", []) if not isinstance(n, MappingNode)))
        image = cv.image_of(workspace, view)
        found: list[str] = []
        if image.built:
            doc, stage = image.built
            workdir = view.text("working_dir") or contexts.workdir_after(doc, stage)
            # an install that ran in the mount point put node_modules there
            installs = [i for i in cv.chain(doc, stage) if i.keyword == "RUN" and _NODE.install.search(dockerenv.command_text(i))]
            if node and any(vol.norm(contexts.workdir_at(doc, i) or "") == target for i in installs):
                found.append(target.rstrip("/") + "/node_modules")
            if python and target + "/.venv" in {vol.norm(p) for p in _venv_paths(doc, stage, workdir)}:
                found.append(target.rstrip("/") + "/.venv")
        elif view.get("build") is not None and node:
            return [], f"{image.problem}, so whether the image installs node_modules under {target} is not known"
        if node and not found and _NODE.install.search(command):
            found.append(target.rstrip("/") + "/node_modules")  # installed at start, into the shield
        return list(dict.fromkeys(p.replace("//", "/") for p in found)), None

    @staticmethod
    def _insert(doc, seq: SequenceNode, item, paths: list[str]) -> Edit:
        style = ye.style_of(doc)
        entries = [vol.entry_like([item], None, p) for p in paths]
        if seq.flow_style:
            return Edit.insert(item.end_mark.index, "".join(", " + ye.render_flow(e) for e in entries))
        at = ye.content_end(doc, item)
        text = ye.render_block(entries, seq.start_mark.column, style)
        if doc.text[at - 1:at] != "\n":
            text = style.newline + text
        return Edit.insert(at, text)
