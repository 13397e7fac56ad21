from __future__ import annotations

import re

from yaml.nodes import MappingNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import compose, mounts
from orchfix.transforms._knowledge import compose_view as cv
from orchfix.transforms._knowledge.compose import ComposeFile, Service, Volume

#: settings of a top-level volume that make it more than a place on disk (a tmpfs already, external…)
_CONFIGURED = ("driver", "driver_opts", "external", "name")


class TmpfsForTemp(Transform):
    r"""Keep temporary data in tmpfs, not in volumes or a read-only service's missing paths.

    What it finds:
        Volumes that hold temporary data: anonymous volumes (``- /tmp``) and named volumes that
        only this mount uses (declared in the file without driver, driver options, ``external``
        or ``name``) mounted at ``/tmp``, ``/var/tmp`` (or below them), an app's ``tmp``/``temp``
        folder (``/app/tmp``), or a path the image's knowledge lists as its temporary data
        (nginx ``/var/cache/nginx`` and ``/var/run``; images.toml ``tmp_dirs``). Both volume
        syntaxes. The volume becomes a ``tmpfs`` entry of the service and its top-level
        declaration goes when no other service uses it. Also services with ``read_only: true``
        whose root filesystem leaves ``/tmp`` (and the image's ``tmp_dirs``) unwritable: those
        paths are added as tmpfs. Caches in general (``/root/.cache``, ``/code/target``) are
        left alone: a cache volume is there to survive restarts.
        In a file that may be deployed as a swarm stack (named so, or with ``deploy`` sections),
        which ignores the service-level ``tmpfs``, the volume becomes a long-syntax
        ``type: tmpfs`` volume in place (size in bytes) and read-only paths are added so too.
        Reported without a fix: services (or volume lists) defined through an anchor other
        services share, services that ``extends`` another (tmpfs lists merge with the base's),
        tmpfs lists that come from a merge key. Left alone: named volumes shared with other
        mounts or services, volumes of a service others read through ``volumes_from``.

    Why it matters:
        Temporary files in a volume outlive the container, pile up on the host's disk and are
        written through the storage driver; a tmpfs lives in memory, is fast, and is empty on
        every start. A read-only container (sc-003) still needs a writable ``/tmp``.

    Before:
        services:
          app:
            image: python:3.13-slim
            volumes:
              - .:/app
              - /tmp
              - app-tmp:/app/tmp
          web:
            image: nginx:1.27
            read_only: true
        volumes:
          app-tmp:

    After:
        services:
          app:
            image: python:3.13-slim
            volumes:
              - .:/app
            tmpfs:
              - /tmp:size=64m
              - /app/tmp:size=64m
          web:
            image: nginx:1.27
            read_only: true
            tmpfs:
              - /tmp:size=64m
              - /var/cache/nginx:size=64m
              - /var/run:size=64m

    Options:
        ``size`` (default ``"64m"``): the size limit of each tmpfs (``size=`` of the mount; an
        empty value writes the path alone: no limit but the host's memory).

    Safety:
        Safe: the paths hold temporary data. A tmpfs starts empty on every start (an anonymous
        volume kept its content across ``docker compose up`` recreations and started with the
        image's files at that path), counts against the container's memory, is limited to
        ``size``, and Docker mounts it ``noexec,nosuid,nodev`` (an app that runs programs it
        unpacks into /tmp needs ``/tmp:exec``). Entries merge into an existing ``tmpfs`` key
        (a single string becomes a list), never twice for one path; sc-003 writes through the
        same helper.
    """

    id = "vs-004"
    category = "vs"
    title = "tmpfs for temporary data"
    safety = Safety.SAFE
    kinds = frozenset({"compose"})
    options = {"size": "64m"}
    precheck = re.compile(r"volumes|read_only")

    def check(self, doc):
        model = compose.load(doc)
        if model is None:
            return
        workspace = self.ctx.workspace
        files = compose.project(workspace, doc) if workspace is not None else [model]
        size = str(self.opts.get("size") or "") or None
        for service in model.services.values():
            info = mounts.image_info(mounts.service_image(service, workspace))
            temp = self._temp_volumes(model, files, service, info)
            read_only = mounts.is_true(mounts.lookup(service.node, "read_only"))
            needs = mounts.tmp_needs(service, info) if read_only else []
            if not temp and not needs:
                continue
            line = doc.line_of(service.key.start_mark.index)
            if temp:
                index, volume = temp[0]
                message = f"{service.name}: the {_kind(volume)} at {volume.target} keeps temporary data on disk: use a tmpfs"
            else:
                index, volume = None, None
                message = f"{service.name} has a read-only root filesystem and no writable {', '.join(needs)}: mount tmpfs there"
            reason = mounts.not_editable(service)
            if volume is not None and cv.shared(service, ye.value(service.node, "volumes")):
                reason = "its volumes list is an anchor other services share: an edit here changes them too"
            if reason:
                yield self.finding(doc, line, message, reason=reason)
                continue
            swarm = model.stack
            # a stack keeps the volume's place, as a tmpfs volume: it ignores the service's tmpfs key
            converted = [volume.target] if volume and not swarm else []
            paths = converted + [p for p in needs if not volume or p != volume.target]
            edits = mounts.tmpfs_edits(doc, service, paths, size, swarm=swarm)
            if isinstance(edits, str):
                yield self.finding(doc, line, message, reason=edits)
                continue
            if volume is not None:
                edits = mounts.after_removal(doc.text, [*edits, *_removal(doc, model, service, index, volume, size if swarm else False)])
            yield self.finding(doc, line, message, edits)

    def _temp_volumes(self, model: ComposeFile, files: list[ComposeFile], service: Service, info) -> list[tuple[int, Volume]]:
        """(index in the service's own volumes list, volume) of the volumes holding temporary data."""
        own = ye.value(service.node, "volumes")
        if not isinstance(own, SequenceNode):
            return []
        if any(service.name in _volumes_from(s) for f in files for s in f.services.values()):
            return []  # another service mounts this one's volumes: they are shared
        found = []
        for index, item in enumerate(own.value):
            volume = compose.parse_volume(item)
            if volume is None or volume.kind not in ("anonymous", "volume") or not mounts.temp_path(volume.target, info):
                continue
            if volume.kind == "volume" and not _only_here(model, files, volume.source):
                continue  # shared, external or configured: not just a place for this service's temp files
            found.append((index, volume))
        return found


def _kind(volume: Volume) -> str:
    return "anonymous volume" if volume.kind == "anonymous" else f"volume {volume.source}"


def _volumes_from(service: Service) -> list[str]:
    items = mounts.lookup(service.node, "volumes_from")
    names = [ye.scalar(n) for n in (items.value if isinstance(items, SequenceNode) else [])]
    return [n.split(":")[0] for n in names if n and not n.startswith("container:")]


def _only_here(model: ComposeFile, files: list[ComposeFile], name: str | None) -> bool:
    """A named volume declared in this file as a plain place on disk, mounted once in the project."""
    top = model.top("volumes")
    declared = ye.get(top, name) if isinstance(top, MappingNode) and name else None
    if declared is None:
        return False
    settings = declared[1]
    if isinstance(settings, MappingNode) and any(ye.get(settings, key) for key in _CONFIGURED):
        return False
    uses = sum(1 for f in files for s in f.services.values() for v in mounts.volumes(s) if v.kind == "volume" and v.source == name)
    return uses == 1


def _removal(doc, model: ComposeFile, service: Service, index: int, volume: Volume, swarm_size) -> list:
    """The volume's item (or the whole ``volumes`` key when it is the last item; in a stack, the
    item becomes a tmpfs volume of ``swarm_size``) and, for a named volume, its top-level
    declaration (or the whole top-level ``volumes`` when it is the last)."""
    seq = ye.value(service.node, "volumes")
    if swarm_size is not False:
        edits = [ye.replace_item(doc, seq, index, mounts.tmpfs_volume(volume.target, swarm_size))]
    else:
        edits = [ye.delete_key(doc, service.node, "volumes") if len(seq.value) == 1 else ye.remove_item(doc, seq, index)]
    if volume.kind == "volume":
        top = model.top("volumes")
        edits.append(ye.delete_key(doc, model.root, "volumes") if len(top.value) == 1 else ye.delete_key(doc, top, volume.source))
    return edits
