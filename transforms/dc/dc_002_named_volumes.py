from __future__ import annotations

import re

from orchfix.transform import Transform
from orchfix.transforms._knowledge import compose_view as cv, stateful
from orchfix.transforms.vs import _volumes as vol


class NamedVolumesForPersistence(Transform):
    r"""Give databases, caches and brokers a named volume at their data directory.

    What it finds:
        Services that run a stateful image (PostgreSQL, MySQL, MariaDB, MongoDB, Redis, RabbitMQ,
        Elasticsearch, and images built on them such as ``postgis/postgis``; an ``image:`` with
        ``${VAR:-default}`` is read with its default or the ``.env`` value; a ``build:`` is read
        through its Dockerfile's FROM) with no volume at, above or inside the image's data
        directory, in any syntax (bind or named, short or long, tmpfs) and in any file of the
        project (``compose.override.yaml``, ``extends``). The data directory follows the image:
        ``PGDATA``, ``--datadir``, ``--dbpath``, ``--dir`` and ``path.data`` move it, and
        PostgreSQL 18+ keeps its data in ``/var/lib/postgresql``. A Redis started with
        ``--save ''`` (a pure cache) is left alone. Reported without a fix: a data directory set
        through a variable, a PostgreSQL-based image whose tag does not tell its major version, a
        service whose mapping other services reuse through an anchor (they would share one volume).

    Why it matters:
        Without a volume the data lives in the container's writable layer (or in an anonymous
        volume the image declares): ``docker compose down``, a recreate after an image update or a
        ``--renew-anon-volumes`` throws the database away. A named volume survives all of them and
        shows up by name in ``docker volume ls``.

    Before:
        services:
          db:
            image: postgres:17
            environment:
              POSTGRES_PASSWORD: example

    After:
        services:
          db:
            image: postgres:17
            environment:
              POSTGRES_PASSWORD: example
            volumes:
              - db-data:/var/lib/postgresql/data
        volumes:
          db-data:

    Options:
        None. The volume is named ``<service>-data`` (``<service>_data`` in files whose volume
        names use underscores), made unique in the project; a top-level declaration that no
        service mounts yet under that name is used as it is.

    Safety:
        Safe: the container starts with the same empty data directory the first time (a new named
        volume is filled from the image like the anonymous one it replaces) and keeps it from then
        on. Data already in an existing container's layer or anonymous volume is not moved: copy it
        over before recreating the container if it matters.
    """

    id = "dc-002"
    category = "dc"
    title = "Named volumes for persistence"
    kinds = frozenset({"compose"})
    precheck = re.compile(r"\b(?:image|build|extends)\s*:")

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
            image = cv.image_of(workspace, view)
            st = stateful.of(image.ref)
            if st is None:
                continue
            env = {**image.env, **view.environment()}
            command = view.command()
            # a Redis run as a pure cache (no snapshots, no append-only file) keeps nothing
            if not stateful.persists(st, command):
                continue
            line = vol.line_of(service.key)
            path, why = stateful.data_dir(st, env, command)
            if path is None:
                items.append(vol.Item(line, f"{name} ({st.kind}) may keep its data without a volume", reason=why))
                continue
            if vol.covered(view, path, below=True):
                continue
            what = f"{name} ({st.kind}) keeps its data in {path} with no volume there: it is lost with the container"
            if view.problem:
                items.append(vol.Item(line, what, reason=f"{view.problem}: add the volume by hand"))
                continue
            if cv.anchor_used(service):
                items.append(vol.Item(line, what, reason=(
                    f"its definition is reused by {', '.join(sorted(cv.shared(service, service.node)))} through an "
                    "anchor, and one named volume must not be shared by several databases: add a volume to each")))
                continue
            volume, new = names.pick(names.base(name))
            edits = vol.add_mounts(doc, service, [(volume, path)])
            if isinstance(edits, str):
                items.append(vol.Item(line, what, reason=edits))
                continue
            items.append(vol.Item(line, f"{what}; mount the named volume {volume}", edits, [volume] if new else []))
        yield from vol.findings(self, doc, file, items)
