"""sc-005: a hardened security context (no capabilities, no privilege escalation, read-only root,
non-root) for Kubernetes containers; ``cap_drop: [ALL]`` and ``no-new-privileges`` for Compose."""
from __future__ import annotations

import re

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.text import Edit, overlaps
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import compose, images, k8s, mounts, workloads
from orchfix.transforms._knowledge import compose_view as cv

#: capabilities with which the API server rejects ``allowPrivilegeEscalation: false``
_ESCALATING_CAPS = frozenset({"SYS_ADMIN", "CAP_SYS_ADMIN"})
#: how an image's default command runs (images.toml ``runs_as``) when it starts as root and
#: switches to its own user by itself (gosu, su-exec, an nginx master): it needs CHOWN, SETUID,
#: SETGID… for that, so dropping every capability stops it from starting
_STEPS_DOWN = frozenset({"entrypoint", "root-master"})
_NO_NEW_PRIVILEGES = re.compile(r"no-new-privileges(?:\s*[:=]\s*(\w+))?$", re.I)
_ROOT_USER = re.compile(r"(?:root|0)(?::.*)?$")


class HardenedSecurityContext(Transform):
    r"""Drop all capabilities and harden the container's security context.

    What it finds:
        Kubernetes: containers and init containers of every workload kind (Pod, Deployment,
        StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob job templates,
        items of ``List`` kinds) whose ``securityContext`` lacks ``allowPrivilegeEscalation``,
        ``capabilities.drop: [ALL]``, ``readOnlyRootFilesystem`` or ``runAsNonRoot``. The missing
        keys are merged into the container's ``securityContext`` (created when absent); nothing
        set is overridden: a key set to any value is a decision and stays, ``ALL`` is appended
        to an existing ``drop`` list, ``capabilities.add`` stays (it re-adds what it names after
        the drop). Keys that would conflict are skipped: ``allowPrivilegeEscalation`` and the
        drop on ``privileged: true`` containers (the API server rejects ``false`` there, and a
        privileged container gets every capability anyway), ``allowPrivilegeEscalation`` with
        ``capabilities.add: [SYS_ADMIN]`` (rejected too), ``runAsNonRoot`` with ``runAsUser: 0``
        or where the pod's ``securityContext`` sets ``runAsNonRoot`` either way (containers
        inherit it).
        ``runAsNonRoot: true`` is only written where the kubelet can verify it: a non-zero
        ``runAsUser`` of the container or its pod, or an image known to run as a numeric
        non-root user (distroless ``nonroot`` tags). Otherwise the kubelet refuses to start the
        container (an image that runs as root, or as a user *name* it cannot check), so the key
        is reported with what to set. Skipped with a reason, from the image table: dropping
        ``ALL`` on images that start as root and switch to their own user (postgres, mysql,
        redis, mongo, rabbitmq, nginx …) or that listen on a port below 1024 (a server that
        starts as root for it and switches user), unless a non-root ``runAsUser`` is set, and
        ``readOnlyRootFilesystem`` on images that write outside their volumes (nginx's
        ``/var/cache/nginx``, a database's data directory without a volume mount, official
        images not known to run read-only). Windows pods, kustomize patches and ephemeral
        containers are left alone.
        Compose: services without ``cap_drop: [ALL]`` or ``security_opt:
        [no-new-privileges:true]`` get them (``ALL`` appended to an existing ``cap_drop``, the
        option to an existing ``security_opt``; ``cap_add`` stays and re-adds what it names).
        ``privileged`` services, services that ``extends`` another (the base's fix carries
        over) and services defined in another file of the project are left alone; the drop is
        reported for images that start as root and switch user (and for services listening
        below port 1024), unless ``user`` is set to a non-root user. In swarm stack files only
        ``cap_drop`` is written: ``docker stack deploy`` ignores ``security_opt``.

    Why it matters:
        A container that keeps the default capabilities, may gain privileges through setuid
        binaries, writes to its own filesystem and runs as root gives an attacker who gets code
        execution in it the most room: raw sockets, chown of any file, persistence in the
        image's binaries, and a shorter way out to the node (checkov CKV_K8S_20, 22, 28, 37, 23).

    Before:
        services:
          api:
            image: example/api:1.4
            ports:
              - "8080:8080"
          proxy:
            image: example/proxy:2.1
            cap_add:
              - NET_BIND_SERVICE
            cap_drop:
              - NET_RAW

    After:
        services:
          api:
            image: example/api:1.4
            ports:
              - "8080:8080"
            cap_drop:
              - ALL
            security_opt:
              - no-new-privileges:true
          proxy:
            image: example/proxy:2.1
            cap_add:
              - NET_BIND_SERVICE
            cap_drop:
              - NET_RAW
              - ALL
            security_opt:
              - no-new-privileges:true

    Options:
        ``non_root`` (default ``"verified"``): when to write ``runAsNonRoot: true``:
        ``"verified"`` only where the kubelet can verify it (a non-zero ``runAsUser``, an image
        known to run as a numeric user), ``"always"`` for every container without a root
        ``runAsUser`` (for clusters whose images all set a numeric non-root ``USER``).

    Safety:
        Unsafe: a container that needs a capability (binding a port below 1024 as root,
        ``chown``, ``ping``), a setuid binary, or writes to its root filesystem (``/tmp``,
        caches, logs, uploads) fails until it gets a ``capabilities.add``, an ``emptyDir``
        volume at the paths it writes, or the key set back. Images orchfix knows to need such
        things are reported instead of changed; for other images this is the check to run.
    """

    id = "sc-005"
    category = "sc"
    title = "Drop all capabilities"
    safety = Safety.UNSAFE
    kinds = frozenset({"k8s", "compose"})
    options = {"non_root": "verified"}
    precheck = re.compile(r"\b(?:containers|services)\s*:")

    def check(self, doc):
        if doc.kind == "k8s":
            yield from self._manifest(doc)
        else:
            yield from self._compose(doc)

    # Kubernetes ---------------------------------------------------------------------------------

    def _manifest(self, doc):
        # a kustomize patch's containers merge into a base: keys here would override its values
        if workloads.in_patch(self.ctx.workspace, doc):
            return
        for obj in k8s.objects(doc):
            spec = obj.pod_spec
            # Windows pods reject these keys (the API forbids them with os.name: windows)
            if obj.kind not in k8s.WORKLOADS or spec is None or _windows(spec):
                continue
            pod_sc = ye.value(spec, "securityContext")
            seen: set[int] = set()
            for container in obj.containers():
                # an alias lists the same container twice; an anchor elsewhere is not this object's
                if id(container.node) in seen or not workloads.owned(obj, container.node):
                    continue
                seen.add(id(container.node))
                finding = self._container(doc, obj, container, pod_sc)
                if finding is not None:
                    yield finding

    def _container(self, doc, obj, container, pod_sc):
        where = f"{obj.kind} {obj.name}: {'init container' if container.init else 'container'} {container.name or '?'}"
        line = doc.line_of(container.node.start_mark.index)
        found = ye.get(container.node, "securityContext")
        sc = found[1] if found else None
        if workloads.merges(container.node) and found is None:
            return self.finding(doc, line, f"{where} has no hardened securityContext",
                                reason="the container takes keys from a YAML merge key: add the securityContext by hand")
        if sc is not None and not ye.is_null(sc):
            if not isinstance(sc, MappingNode):
                return None  # a template placeholder or a scalar: nothing orchfix can read
            if not workloads.owned(obj, sc) or workloads.merges(sc) or not compose.owned(doc, found[0], sc):
                return self.finding(doc, line, f"{where} has no hardened securityContext",
                                    reason="its securityContext is a YAML anchor or alias shared with other containers: "
                                           "harden it where it is defined")
        else:
            sc = None
        image = container.image
        ref = images.parse_ref(image) if image and not images.parse_ref(image).variable else None
        info = images.lookup(ref) if ref else None
        uid = ye.scalar(ye.value(sc, "runAsUser")) or ye.scalar(ye.value(pod_sc, "runAsUser"))
        non_root_uid = bool(uid and uid.isdigit() and int(uid) != 0)
        privileged = mounts.is_true(ye.value(sc, "privileged"))
        caps = ye.value(sc, "capabilities")
        added = {s.upper() for s in _scalars(ye.value(caps, "add"))}
        dropped = {s.upper() for s in _scalars(ye.value(caps, "drop"))}
        want: dict = {}
        skipped: list[str] = []
        # a privileged container, or one adding SYS_ADMIN: the API server rejects allowPrivilegeEscalation: false
        if ye.value(sc, "allowPrivilegeEscalation") is None and not privileged and not added & _ESCALATING_CAPS:
            want["allowPrivilegeEscalation"] = False
        # privileged containers get every capability whatever the drop list says
        if not privileged and "ALL" not in dropped and _editable_drop(caps):
            problem = None if non_root_uid else (
                _steps_down(image, info, "set runAsUser to its user's uid")
                or _low_port(_container_ports(container), "runAsUser"))
            if problem:
                skipped.append(f"capabilities.drop: {problem}")
            else:
                want["capabilities"] = True
        if ye.value(sc, "readOnlyRootFilesystem") is None:
            problem = _writes(image, info, _mount_paths(container))
            if problem:
                skipped.append(f"readOnlyRootFilesystem: {problem}")
            else:
                want["readOnlyRootFilesystem"] = True
        if ye.value(sc, "runAsNonRoot") is None and ye.value(pod_sc, "runAsNonRoot") is None and uid != "0":
            problem = None if non_root_uid else self._unverified(image, ref, info)
            if problem:
                skipped.append(f"runAsNonRoot: {problem}")
            else:
                want["runAsNonRoot"] = True
        if not want:
            if not skipped:
                return None
            return self.finding(doc, line, f"{where} has no hardened securityContext", reason="; ".join(skipped))
        edits = _k8s_edits(doc, container.node, found, sc, want)
        keys = ["capabilities.drop: [ALL]" if k == "capabilities" else f"{k}: {str(v).lower()}" for k, v in want.items()]
        message = f"{where}: add {', '.join(keys)} to its securityContext"
        if skipped:
            message += " (left out: " + "; ".join(skipped) + ")"
        return self.finding(doc, line, message, edits)

    def _unverified(self, image, ref, info) -> str | None:
        """Why ``runAsNonRoot: true`` cannot be written without a ``runAsUser``, or None when it can."""
        if self.opts.get("non_root") == "always":
            return None
        if ref is not None and info is not None and info.name == "distroless" and "nonroot" in (ref.tag or ""):
            return None  # distroless nonroot tags run as uid 65532, which the kubelet can verify
        hint = "set runAsUser to its non-root uid (orchfix then adds runAsNonRoot: true)"
        if ref is None:
            return f"the image is not known, so whether it runs as a non-root user is not either: {hint}"
        if info is not None and info.runs_as == "user" and info.user:
            return (f"{image} runs as the user name {info.user}, which the kubelet cannot verify as non-root "
                    f"(it refuses to start the container): {hint}")
        if info is not None:
            return f"{image} runs as root by default, so the kubelet would refuse to start it: {hint}"
        return (f"whether {image} runs as a numeric non-root user is not known; the kubelet refuses to start a "
                f"container with runAsNonRoot whose image user is root or a name: {hint}, or set the option "
                'non_root = "always" when your images set a numeric USER')

    # Compose ------------------------------------------------------------------------------------

    def _compose(self, doc):
        workspace = self.ctx.workspace
        own = cv.own_file(workspace, doc) or compose.load(doc)
        if own is None:
            return
        views = cv.views(workspace, doc)
        for name, service in own.services.items():
            view = views.get(name) or cv.View(name, [service])
            # the definition naming the image or build is in another file of the project: fixed there
            if view.primary is not service:
                continue
            # extends: the base's cap_drop and security_opt merge into this service; the base is fixed itself
            if ye.get(service.node, "extends") is not None:
                continue
            # privileged: every capability and privilege anyway, dropping adds nothing
            if mounts.is_true(view.get("privileged")):
                continue
            # neither image nor build: no container of its own (a provider, or set in another file)
            if view.get("image") is None and view.get("build") is None:
                continue
            finding = self._service(doc, service, view)
            if finding is not None:
                yield finding

    def _service(self, doc, service, view):
        line = doc.line_of(service.key.start_mark.index)
        where = f"service {service.name}"
        drops = {s.upper() for node, _ in view.all("cap_drop") for s in _scalars(node)}
        options = [s for node, _ in view.all("security_opt") for s in _scalars(node)]
        nnp = [m for m in map(_NO_NEW_PRIVILEGES.match, options) if m]
        want_drop = "ALL" not in drops
        want_nnp = not nnp
        skipped: list[str] = []
        if want_nnp and compose.swarm(service.file):
            # docker stack deploy drops it ("Ignoring unsupported options: security_opt")
            skipped.append("security_opt: docker stack deploy ignores security_opt, so no-new-privileges cannot be set "
                           "for swarm services")
            want_nnp = False
        user = view.text("user")
        if want_drop and (not user or _ROOT_USER.match(compose.interpolate(user, view.env_defaults))):
            # a build's image is whatever its Dockerfile makes: only the ports tell
            image = view.image() if view.get("build") is None else None
            problem = _steps_down(image, mounts.image_info(image), "set user to that user") or _low_port(
                _service_ports(view), "user")
            if problem:
                skipped.append(f"cap_drop: {problem}")
                want_drop = False
        if not (want_drop or want_nnp):
            return self.finding(doc, line, f"{where} keeps every default capability", reason="; ".join(skipped)) if skipped else None
        problem = mounts.not_editable(service)
        if problem:
            return self.finding(doc, line, f"{where} keeps its default capabilities or may gain privileges", reason=problem)
        wanted = {}
        if want_drop:
            wanted["cap_drop"] = "ALL"
        if want_nnp:
            wanted["security_opt"] = "no-new-privileges:true"
        edits, problem = _compose_edits(doc, service, wanted)
        if problem:
            return self.finding(doc, line, f"{where} keeps its default capabilities or may gain privileges", reason=problem)
        message = f"{where}: add " + " and ".join(f"{key}: [{value}]" for key, value in wanted.items())
        if skipped:
            message += " (left out: " + "; ".join(skipped) + ")"
        return self.finding(doc, line, message, edits)


# --- knowledge ------------------------------------------------------------------------------------

def _steps_down(image: str | None, info: images.ImageInfo | None, hint: str) -> str | None:
    """Why dropping every capability stops an image that starts as root and switches user, or None."""
    if info is None or info.runs_as not in _STEPS_DOWN:
        return None
    who = f"its user {info.user}" if info.user else "its own user"
    return (f"{image} starts as root and switches to {who} itself, which needs CHOWN, SETUID and SETGID: "
            f"{hint} first, or drop ALL and add back what it needs")


def _low_port(ports: list[int], user_key: str) -> str | None:
    """Why dropping every capability likely stops a container that listens below 1024 as root, or None.

    A server that starts as root to bind a privileged port (Apache, an sshd, a mail server…)
    usually switches to an unprivileged user afterwards, which needs SETUID and SETGID besides
    the bind itself (NET_BIND_SERVICE)."""
    low = sorted({p for p in ports if 0 < p < 1024})
    if not low:
        return None
    return (f"it listens on port {', '.join(map(str, low))} as root; a server that binds a port below 1024 usually "
            f"starts as root and switches user (NET_BIND_SERVICE, SETUID, SETGID): set {user_key} to a non-root "
            "user and a port above 1023, or drop ALL and add back what it needs")


def _container_ports(container: k8s.Container) -> list[int]:
    node = container.get("ports")
    items = node.value if isinstance(node, SequenceNode) else []
    numbers = (ye.scalar(ye.value(item, "containerPort")) for item in items)
    return [int(n) for n in numbers if n and n.isdigit()]


def _service_ports(view: cv.View) -> list[int]:
    """The container ports a Compose service listens on (``ports`` targets and ``expose``)."""
    found = []
    for node, _ in view.all("ports"):
        for item in node.value if isinstance(node, SequenceNode) else []:
            port = compose.parse_port(item)
            if port and port.target.isdigit():
                found.append(int(port.target))
    for node, _ in view.all("expose"):
        found += [int(text.split("/")[0]) for text in _scalars(node) if text.split("/")[0].isdigit()]
    return found


def _writes(image: str | None, info: images.ImageInfo | None, mounted: list[str]) -> str | None:
    """Why a read-only root filesystem stops a known image (paths it writes without a volume), or None.
    Images the table does not know are not judged (the transform's safety note says what to check)."""
    if info is None:
        return None
    if info.tmp_dirs is None:
        return f"{image} is not known to run with a read-only root filesystem: mount emptyDir volumes where it writes, then set it"
    needs = [p for p in (*info.tmp_dirs, *([info.data_dir] if info.data_dir else [])) if not mounts.covered(p, mounted)]
    if needs:
        return f"{image} writes to {', '.join(needs)}: mount volumes (emptyDir for temporary paths) there first"
    return None


def _windows(spec: MappingNode) -> bool:
    if ye.scalar(k8s.path(spec, "os", "name")) == "windows":
        return True
    selector = ye.value(spec, "nodeSelector")
    return any(ye.scalar(ye.value(selector, key)) == "windows" for key in ("kubernetes.io/os", "beta.kubernetes.io/os"))


def _mount_paths(container: k8s.Container) -> list[str]:
    mounts_node = container.get("volumeMounts")
    items = mounts_node.value if isinstance(mounts_node, SequenceNode) else []
    return [p for p in (ye.scalar(ye.value(m, "mountPath")) for m in items) if p]


def _scalars(node: Node | None) -> list[str]:
    if isinstance(node, SequenceNode):
        return [s for s in map(ye.scalar, node.value) if s is not None]
    text = ye.scalar(node)
    return [text] if text and not ye.is_null(node) else []


def _editable_drop(caps: Node | None) -> bool:
    """Whether ``ALL`` can be written into ``capabilities`` (absent, null, a mapping whose ``drop``
    is absent, null or a list)."""
    if caps is None or ye.is_null(caps):
        return True
    if not isinstance(caps, MappingNode):
        return False
    drop = ye.value(caps, "drop")
    return drop is None or ye.is_null(drop) or isinstance(drop, SequenceNode)


# --- edits ----------------------------------------------------------------------------------------

_ORDER = ("allowPrivilegeEscalation", "capabilities", "readOnlyRootFilesystem", "runAsNonRoot")


def _k8s_edits(doc, container: MappingNode, found, sc: MappingNode | None, want: dict) -> list[Edit]:
    """Edits that merge ``want`` into the container's securityContext. Edits that would land at
    one point are left for the next pass (the transform fires again until the context is complete)."""
    style = ye.style_of(doc)
    data = {k: ({"drop": ["ALL"]} if k == "capabilities" else want[k]) for k in _ORDER if k in want}
    if found is None:
        return [ye.set_key(doc, container, "securityContext", data, style)]
    if sc is None or not sc.value:
        return [_replace(doc, container, found[0], found[1], data, style)]
    edits: list[Edit] = []
    caps = ye.get(sc, "capabilities")
    if "capabilities" in data and caps is not None:
        del data["capabilities"]
        edits.append(_drop_all(doc, sc, caps[0], caps[1], style))
    if data:
        edits.append(ye.add_keys(doc, sc, data, style))
    return _disjoint(edits)


def _drop_all(doc, sc: MappingNode, key: ScalarNode, caps: Node, style) -> Edit:
    if ye.is_null(caps) or not caps.value:
        return _replace(doc, sc, key, caps, {"drop": ["ALL"]}, style)
    drop = ye.get(caps, "drop")
    if drop is None:
        return ye.set_key(doc, caps, "drop", ["ALL"], style)
    if ye.is_null(drop[1]):
        return _replace(doc, caps, drop[0], drop[1], ["ALL"], style)
    return ye.append_item(doc, drop[1], "ALL", style)


def _replace(doc, parent: MappingNode, key: ScalarNode, old: Node, data, style) -> Edit:
    """Replace an empty or null value with ``data``: a block in block mappings, a one-line flow
    collection inside a flow mapping or in place of an empty flow one (``{}``, ``[]``)."""
    if parent.flow_style or getattr(old, "flow_style", False):
        if ye.is_null(old) and old.start_mark.index == old.end_mark.index:
            return Edit.insert(old.start_mark.index, " " + ye.render_flow(data))
        return Edit(old.start_mark.index, old.end_mark.index, ye.render_flow(data))
    return ye.replace_value(doc, key, old, data, style)


def _compose_edits(doc, service, wanted: dict[str, str]) -> tuple[list[Edit], str | None]:
    """Edits that add each ``key: [item]`` of ``wanted`` to a service (appending to its own list)."""
    style = ye.style_of(doc)
    edits: list[Edit] = []
    new: dict = {}
    for key, item in wanted.items():
        hit = cv.lookup(service.node, key)
        if hit is None:
            new[key] = [item]
            continue
        k, value, mapping = hit
        if mapping is not service.node:
            return [], f"its {key} list comes from a YAML anchor other services merge: add {item} there"
        if ye.is_null(value):
            edits.append(_replace(doc, mapping, k, value, [item], style))
        elif isinstance(value, SequenceNode) and compose.owned(doc, k, value):
            edits.append(ye.append_item(doc, value, item, style))
        else:
            return [], f"its {key} is not a list orchfix can extend (an alias or a scalar): add {item} by hand"
    if new:
        edits.append(ye.add_keys(doc, service.node, new, style))
    return _disjoint(edits), None


def _disjoint(edits: list[Edit]) -> list[Edit]:
    """The edits that touch no earlier one (the rest waits for the next pass)."""
    kept: list[Edit] = []
    for edit in edits:
        if not any(overlaps(edit, other) for other in kept):
            kept.append(edit)
    return kept
