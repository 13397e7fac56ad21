from __future__ import annotations

import re

from yaml.nodes import ScalarNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import compose, mounts, stateful
from orchfix.transforms._knowledge import compose_view as cv

#: commands that install packages or build code when the container starts: they write all over
#: the root filesystem (package databases, caches, toolchains)
_RUNTIME_WRITES = re.compile(
    r"\b(?:apt-get|apt|apk|yum|dnf|microdnf|zypper)\s+(?:-\S+\s+)*(?:install|add)\b|\bpip3?\s+install\b"
    r"|\b(?:npm|pnpm)\s+(?:install|i|ci|add)\b|\byarn(?:\s+(?:install|add))?\s*(?:$|&&|;|\|)|\bbun\s+install\b"
    r"|\bcomposer\s+(?:install|update|require)\b|\bbundle(?:\s+install)?\s*(?:$|&&|;)|\bgem\s+install\b"
    r"|\bgo\s+(?:get|install|build|run|mod\s+download)\b|\bcargo\s+(?:install|build|run)\b"
    r"|(?:^|[\s/])(?:mvnw?|gradlew?)\b|\bdotnet\s+(?:run|watch|restore|build)\b", re.M)


class ReadOnlyRoot(Transform):
    r"""Run services with a read-only root filesystem.

    What it finds:
        Services without ``read_only`` whose image is known to run read-only given a tmpfs at
        ``/tmp`` and its own temporary paths (images.toml ``tmp_dirs``: nginx ``/var/cache/nginx``
        and ``/var/run``, postgres ``/var/run/postgresql``, mysql ``/var/run/mysqld``, redis,
        language runtimes and OS base images with nothing but ``/tmp``). The image is the
        service's ``image`` (``${VAR:-default}`` filled in) or, for a ``build``, the base of
        the stage its Dockerfile builds (``target`` or the last one; ``dockerfile_inline`` too).
        It writes ``read_only: true`` and the missing tmpfs entries; paths a volume or tmpfs
        already covers are skipped (``/var/run`` is ``/run``). In a file that may be deployed
        as a swarm stack (named so, or with ``deploy`` sections), which ignores the
        service-level ``tmpfs``, they are long-syntax ``type: tmpfs`` volumes.
        Left alone: services with ``read_only`` set either way (``false`` is a decision; with
        ``true``, vs-004 adds missing tmpfs paths), ``privileged`` services, services that
        ``extends`` another (the base's fix carries over), services with neither ``image`` nor
        ``build`` in the file (providers, or defined in another file).
        Reported without a fix: images whose writable paths are unknown (third-party images,
        official images not known to run read-only, a build whose Dockerfile cannot be read),
        database images whose data directory has no volume (the stateful-image knowledge:
        ``PGDATA``, ``--datadir``, postgres 18's layout; a redis run as a pure cache needs
        none), services that install packages or build code when they start
        (``apt-get install``, ``pip install``, ``npm install``, ``go run``, ``mvn`` … in
        ``command``/``entrypoint``), nginx services that render mounted templates into
        ``/etc/nginx/conf.d``, services defined through an anchor other services share, tmpfs
        lists that come from a merge key.

    Why it matters:
        With a read-only root filesystem an attacker who gets code execution in the container
        cannot drop tools, change binaries or plant persistence in it; the app writes only where
        the file says (volumes, tmpfs). It also surfaces state kept in the container by mistake.

    Before:
        services:
          web:
            image: nginx:1.27
            ports:
              - "8080:80"
          cache:
            image: redis:7.4
            volumes:
              - cache-data:/data
          api:
            image: example/api:1.4
        volumes:
          cache-data:

    After:
        services:
          web:
            image: nginx:1.27
            ports:
              - "8080:80"
            read_only: true
            tmpfs:
              - /tmp:size=64m
              - /var/cache/nginx:size=64m
              - /var/run:size=64m
          cache:
            image: redis:7.4
            volumes:
              - cache-data:/data
            read_only: true
            tmpfs:
              - /tmp:size=64m
          api:
            image: example/api:1.4
        volumes:
          cache-data:

    Options:
        ``size`` (default ``"64m"``): the size limit of each tmpfs it adds (an empty value
        writes the path alone).

    Safety:
        Unsafe: a write anywhere else than a volume or tmpfs now fails (EROFS). The app may write
        where no table knows: uploads, logs or caches in its own folder, a home directory; add
        volumes or tmpfs entries for those paths, or set ``read_only: false`` to keep the service
        as it is (orchfix then leaves it alone). tmpfs entries are shared with vs-004 through
        one helper: they merge into an existing ``tmpfs`` key (a single string becomes a list)
        and never twice for one path.
    """

    id = "sc-003"
    category = "sc"
    title = "Read-only root filesystem"
    safety = Safety.UNSAFE
    kinds = frozenset({"compose"})
    options = {"size": "64m"}
    precheck = re.compile(r"services")

    def check(self, doc):
        model = compose.load(doc)
        if model is None:
            return
        size = str(self.opts.get("size") or "") or None
        for service in model.services.values():
            if mounts.lookup(service.node, "read_only") is not None:
                continue  # set either way: a decision, or vs-004's to complete
            if mounts.is_true(mounts.lookup(service.node, "privileged")):
                continue  # a system tool with full access to the host: read-only adds nothing
            if mounts.lookup(service.node, "image") is None and mounts.lookup(service.node, "build") is None:
                continue  # no container of its own here: a provider, or its image is set in another file
            if ye.get(service.node, "extends") is not None:
                continue  # the base service's own finding reaches it: extends carries read_only and tmpfs over
            line = doc.line_of(service.key.start_mark.index)
            message = f"{service.name} runs with a writable root filesystem"
            image = mounts.service_image(service, self.ctx.workspace)
            reason = mounts.not_editable(service) or self._unknown(service, image)
            if reason:
                yield self.finding(doc, line, message, reason=reason)
                continue
            needs = mounts.tmp_needs(service, mounts.image_info(image))
            edits = mounts.tmpfs_edits(doc, service, needs, size, add={"read_only": True}, swarm=model.stack)
            if isinstance(edits, str):
                yield self.finding(doc, line, message, reason=edits)
                continue
            yield self.finding(doc, line, message + ": make it read-only with tmpfs for " + ", ".join(needs or ["nothing"]), edits)

    def _unknown(self, service, image: str | None) -> str | None:
        """Why what the service writes cannot be told, or None."""
        if image is None:
            return ("the image it runs is unknown (a variable without a default, or a build whose Dockerfile orchfix "
                    "cannot read): set read_only: true with tmpfs for the paths it writes")
        info = mounts.image_info(image)
        if info is None or info.tmp_dirs is None:
            return (f"which paths {image} writes outside its volumes is not known: set read_only: true with tmpfs "
                    "entries (or volumes) for them, or read_only: false to keep it writable")
        have = mounts.mounted(service)
        kept = stateful.of(image)
        if kept is not None:
            view = cv.View(service.name, [service])
            data, problem = stateful.data_dir(kept, view.environment(), view.command())
            if problem:
                return f"it keeps data where orchfix cannot tell: {problem}"
            if data and stateful.persists(kept, view.command()) and not mounts.covered(data, have):
                return f"it keeps its data in {data} without a volume there: add one first (dc-002)"
        command = _command(service)
        match = _RUNTIME_WRITES.search(command)
        if match:
            return (f"it installs or builds when it starts ({match.group(0).strip()}): install at build time, "
                    "then make it read-only")
        for folder, when in mounts.WRITTEN_WHEN.items():
            if any(mounts.under(t, when) for t in have) and not mounts.covered(folder, have):
                return f"it renders {when} into {folder} at start: mount a tmpfs or volume at {folder} first"
        return None


def _command(service) -> str:
    parts = []
    for key in ("command", "entrypoint"):
        node = mounts.lookup(service.node, key)
        if isinstance(node, ScalarNode):
            parts.append(node.value)
        elif isinstance(node, SequenceNode):
            parts.extend(n.value for n in node.value if isinstance(n, ScalarNode))
    return compose.interpolate(" ".join(parts))
