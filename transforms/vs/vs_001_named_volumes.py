from __future__ import annotations

import re

from yaml.nodes import MappingNode, ScalarNode

from orchfix import yamledit as ye
from orchfix.text import Edit
from orchfix.transform import Transform
from orchfix.transforms._knowledge import compose, compose_view as cv
from orchfix.transforms.vs import _volumes as vol

#: scratch space, not data: a name would only keep junk around
_SCRATCH = ("/tmp", "/var/tmp", "/run", "/var/run", "/var/cache", "/dev/shm")


class NamedNotAnonymousVolumes(Transform):
    r"""Name anonymous volumes that hold data.

    What it finds:
        Anonymous volumes (a container path alone, ``- /data``, or a long-form ``type: volume``
        without ``source``) in a service's ``volumes``, except the deliberate shields: dependency
        folders (``node_modules``, ``.venv``, ``venv``, ``vendor``…) and any path inside a bind
        mount of the same service (they keep the image's files visible under the host's), and
        scratch paths (``/tmp``, ``/run``, ``/var/cache``). Each becomes ``<name>:<path>`` with a
        readable name (the service and the last part of the path: ``db-data``, ``web-uploads``,
        unique in the project, spelled like the file's other volume names) declared under the
        top-level ``volumes:``. Reported without a fix: a volume written in an anchor that
        several services share (a name would make them share the data).

    Why it matters:
        An anonymous volume gets a random name: ``docker compose down`` leaves it behind as an
        orphan, ``down -v`` or ``up --renew-anon-volumes`` discards it, and nobody can tell
        which of the hex-named volumes in ``docker volume ls`` holds what. A named volume is
        reused by every new container of the service and is easy to back up.

    Before:
        services:
          wiki:
            image: registry.example.com/wiki:1.4
            volumes:
              - /var/lib/wiki/uploads

    After:
        services:
          wiki:
            image: registry.example.com/wiki:1.4
            volumes:
              - wiki-uploads:/var/lib/wiki/uploads
        volumes:
          wiki-uploads:

    Options:
        None.

    Safety:
        Safe: the container sees the same path, filled from the image the first time as before;
        from then on the data outlives the container. What the old anonymous volume held is not
        moved over.
    """

    id = "vs-001"
    category = "vs"
    title = "Named, not anonymous volumes"
    kinds = frozenset({"compose"})
    precheck = re.compile(r"\bvolumes\s*:")

    def check(self, doc):
        workspace = self.ctx.workspace
        views = cv.views(workspace, doc)
        file = cv.own_file(workspace, doc)
        if file is None:
            return
        names = vol.Names(doc, views)
        items: list[vol.Item] = []
        seen: set[int] = set()
        for name, service in file.services.items():
            hit = cv.lookup(service.node, "volumes")
            if hit is None or not hasattr(hit[1], "value") or isinstance(hit[1], ScalarNode):
                continue
            volumes = [v for v in map(compose.parse_volume, hit[1].value) if v]
            everything = views[name].volumes()
            for volume in volumes:
                if volume.kind != "anonymous" or id(volume.node) in seen:
                    continue
                seen.add(id(volume.node))
                target = volume.target
                # variables and relative paths: nothing readable to name it after
                if "$" in target or not target.startswith("/"):
                    continue
                if vol.is_shield(volume, everything):
                    continue
                if any(vol.at_or_above(s, target) for s in _SCRATCH):
                    continue
                line = vol.line_of(volume.node)
                what = f"{name} keeps {target} in an anonymous volume: it is orphaned by `down` and lost by `down -v`"
                others = cv.shared(service, volume.node)
                if others:
                    items.append(vol.Item(line, what, reason=(
                        f"the volume is written in an anchor shared with {', '.join(sorted(others))}; a name would make "
                        "them share its data: name it per service")))
                    continue
                volume_name, new = names.pick(names.base(name, target))
                items.append(vol.Item(line, f"{what}; name it {volume_name}", [self._name(doc, volume, volume_name)],
                                      [volume_name] if new else []))
        yield from vol.findings(self, doc, file, items)

    @staticmethod
    def _name(doc, volume: compose.Volume, name: str) -> Edit:
        node = volume.node
        if isinstance(node, MappingNode):
            return ye.set_key(doc, node, "source", name)
        # ``/data`` → ``name:/data``, inside the quotes when quoted
        start = node.start_mark.index + (1 if node.style in ('"', "'") else 0)
        return Edit.insert(start, f"{name}:")
