from __future__ import annotations

import posixpath
import re

from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import compose, compose_view as cv, contexts, dockerenv
from orchfix.transforms.vs import _volumes as vol

#: environment variables that name a directory the app writes its data to (``UPLOAD_DIR``,
#: ``APP_DATA_DIR``, ``MEDIA_ROOT``, ``STORAGE_PATH``…)
_DIR_VAR = re.compile(r"^(?:[A-Z][A-Z0-9]*_)*(?:UPLOADS?|DATA|STORAGE|MEDIA|FILES|ATTACHMENTS?|PERSIST(?:ENT|ENCE)?)"
                      r"_(?:DIR|DIRECTORY|PATH|FOLDER|ROOT)$")
#: variables that name a SQLite database file: its folder holds the state
_DB_FILE_VAR = re.compile(r"^(?:[A-Z][A-Z0-9]*_)*(?:SQLITE(?:_DB)?|DATABASE|DB)_(?:PATH|FILE)$")
_DB_FILE = re.compile(r"\.(?:db|sqlite3?|db3)$")
#: not state: scratch, kernel and runtime file systems
_NOT_STATE = ("/tmp", "/var/tmp", "/dev", "/proc", "/sys", "/run", "/var/run")


def _volume_paths(doc, stage) -> list[str]:
    """Container paths the stage's image declares with VOLUME (the stages it builds on included)."""
    found = []
    for ins in cv.chain(doc, stage):
        if ins.keyword != "VOLUME":
            continue
        words = ins.exec_form
        if words is None:
            words = ins.args.split()
        env = dockerenv.variables_at(doc, ins)
        for word in words:
            path = dockerenv.expand(word.strip("'\""), env)
            # a path as BuildKit reads it: anything else is a syntax this does not follow
            if path and re.fullmatch(r"[\w./@+~-]+", path):
                found.append(contexts.container_path(contexts.workdir_at(doc, ins), path) or "")
    return [p for p in found if p]


class NoStateInContainers(Transform):
    r"""Put the data a service writes into named volumes, not the container.

    What it finds:
        Services that keep state inside the container: paths their image declares with
        ``VOLUME`` (read from the Dockerfile the service builds, its target stage and the stages
        it builds on) and upload/data directories named in their environment, in the compose file
        or the Dockerfile's ENV (``UPLOAD_DIR``, ``DATA_DIR``, ``MEDIA_ROOT``, ``STORAGE_PATH``,
        ``APP_DATA_DIR``…; the folder of a ``DB_PATH``/``SQLITE_PATH`` database file; relative
        values are read against ``working_dir`` or the image's WORKDIR), with no mount at, above
        or inside them in any file of the project. Writes a named volume for each path
        (``<service>-<last part>``) and its top-level declaration. Databases run from known
        images are dc-002's; scratch paths (``/tmp``, ``/run``) and dependency folders
        (``node_modules``) are left alone. Reported without a fix: relative paths when the
        working directory is not known, services whose definition other services reuse through an
        anchor.

    Why it matters:
        Files written into the container's layer (or the anonymous volume a VOLUME line creates)
        disappear when the container is recreated for an image update or removed by
        ``docker compose down``: uploads, SQLite databases, generated keys. A named volume keeps
        them apart from the image and the container, so the service can be replaced freely.

    Before:
        services:
          app:
            image: registry.example.com/app:2.1
            environment:
              UPLOAD_DIR: /srv/app/uploads

    After:
        services:
          app:
            image: registry.example.com/app:2.1
            environment:
              UPLOAD_DIR: /srv/app/uploads
            volumes:
              - app-uploads:/srv/app/uploads
        volumes:
          app-uploads:

    Options:
        None.

    Safety:
        Unsafe: from then on the data outlives the container, which changes what a recreate or
        ``down`` does (wanted here, but a behaviour change); what the container holds now is not
        moved into the new volume, and files the image ships at that path are copied into the
        volume only while it is empty (later image updates no longer show there).
    """

    id = "cm-003"
    category = "cm"
    title = "No state in containers"
    safety = Safety.UNSAFE
    kinds = frozenset({"compose"})
    precheck = re.compile(r"\b(?:build|extends)\s*:|_(?:DIR|DIRECTORY|PATH|FOLDER|ROOT|FILE)\b")

    def check(self, doc):
        workspace = self.ctx.workspace
        views = cv.views(workspace, doc)
        file = cv.own_file(workspace, doc)
        if file is None:
            return
        names = vol.Names(doc, views)
        items: list[vol.Item] = []
        for name, service in file.services.items():
            view = views[name]
            # a service written in several files is fixed where its image is; an alias where it is defined
            if view.primary is not service or cv.alias_of(service):
                continue
            line = vol.line_of(service.key)
            paths, unknown = self._state_paths(view)
            for why in unknown:
                items.append(vol.Item(line, f"{name} may keep state in the container", reason=why))
            paths = [p for p in paths if not vol.covered(view, p, below=True)]
            # a path inside another one is kept by the outer volume
            paths = [p for p in dict.fromkeys(paths) if not any(o != p and vol.at_or_above(o, p) for o in paths)]
            if not paths:
                continue
            what = f"{name} keeps state in the container at {', '.join(paths)}: it is lost when the container is recreated"
            if view.problem or cv.anchor_used(service):
                why = view.problem or ("its definition is reused by "
                                       f"{', '.join(sorted(cv.shared(service, service.node)))} through an anchor; they would share the volume")
                items.append(vol.Item(line, what, reason=why))
                continue
            mounts = []
            for path in paths:
                volume, new = names.pick(names.base(name, path))
                mounts.append((volume, path, new))
            edits = vol.add_mounts(doc, service, [(v, p) for v, p, _ in mounts])
            if isinstance(edits, str):
                items.append(vol.Item(line, what, reason=edits))
                continue
            shown = ", ".join(f"{v}:{p}" for v, p, _ in mounts)
            items.append(vol.Item(line, f"{what}; mount named volumes ({shown})", edits, [v for v, _, new in mounts if new]))
        yield from vol.findings(self, doc, file, items)

    def _state_paths(self, view: cv.View) -> tuple[list[str], list[str]]:
        """(container paths that hold state, reasons for paths that cannot be resolved)."""
        image = cv.image_of(self.ctx.workspace, view)
        paths: list[str] = []
        unknown: list[str] = []
        workdir = view.text("working_dir")
        if image.built:
            doc, stage = image.built
            paths.extend(_volume_paths(doc, stage))
            workdir = workdir or contexts.workdir_after(doc, stage)
        env = {**image.env, **view.environment()}
        for var, raw in env.items():
            if raw is None:
                continue
            if _DIR_VAR.match(var):
                value = raw
            elif _DB_FILE_VAR.match(var) and _DB_FILE.search(raw):
                value = posixpath.dirname(raw) or "."
            else:
                continue
            if compose.has_variables(value):
                value = compose.interpolate(value, view.env_defaults)
            value = value.strip().strip("'\"")
            # URLs, lists of paths and empty values name no single folder
            if not value or re.search(r"[,;:\s]", value) or "$" in value:
                continue
            if not value.startswith("/"):
                if workdir is None:
                    unknown.append(f"{var}={raw} is relative to the working directory, which is not known; "
                                   "set working_dir or use an absolute path")
                    continue
                value = posixpath.join(workdir, value)
            paths.append(vol.norm(value))
        keep = []
        for path in paths:
            if path == "/" or any(vol.at_or_above(n, path) for n in _NOT_STATE):
                continue
            if posixpath.basename(path) in vol.SHIELDS:
                continue
            keep.append(path)
        return keep, unknown

