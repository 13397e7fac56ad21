"""cm-001: no ``latest`` (or untagged) images in Kubernetes workloads and Compose services."""
from __future__ import annotations

import re

from yaml.nodes import MappingNode, ScalarNode

from orchfix import yamledit as ye
from orchfix.text import Edit
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import compose, images, k8s, kustomize, registry, workloads
from orchfix.transforms._knowledge import compose_view as cv

#: a node's properties before its value: an anchor (``&name``) and a tag (``!tag``)
_PROPERTIES = re.compile(r"(?:[&!][^\s]*\s+)*")


class NoLatestImages(Transform):
    r"""Pin the images deployments run to a specific tag.

    What it finds:
        Images with no tag or the ``latest`` tag (and no ``@sha256:`` digest) that a deployment
        pulls: the containers and init containers of every Kubernetes workload kind (Pod,
        Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob job
        templates, items of ``List`` kinds) and the ``image`` of Compose services (anchors and
        merge keys followed: an image written once in an ``x-`` anchor is pinned there, for
        every service that uses it). The tag comes from the user's ``[pins]`` (by full
        repository, path or name), then from orchfix's table of official images, as io-001
        chooses it for ``FROM`` lines (a table pin keeps the variant: ``latest`` is the full
        image). Registry and namespace stay as written, and so does the scalar's quoting.
        ``imagePullPolicy: Always`` (Compose: ``pull_policy: always``) on a container whose image
        it pins is removed: it only made every start chase the moving tag. With no pin known it
        reports ``no pin known for <image>`` with the ``[pins]`` line to add, and changes nothing.
        Compose images built from variables are reported when their defaults (or the ``.env``
        beside the file) make them untagged or ``latest`` (``${IMAGE:-nginx}``): the pin belongs
        in the default.
        Not findings: Compose services with a ``build`` (their ``image`` names what is built),
        Kubernetes images whose tag a kustomization of the tree sets (``images:`` with
        ``newTag`` or ``digest``), references built from variables without defaults, template
        placeholders (``<image>``), ephemeral containers.

    Why it matters:
        ``latest`` and untagged images move: the same manifest runs a different image after the
        next push or node restart, replicas of one Deployment may run different versions, a
        rollback goes back to the same moving tag, and nothing in the file says what runs
        (checkov CKV_K8S_14, CKV_K8S_43).

    Before:
        services:
          web:
            image: nginx
            pull_policy: always
            ports:
              - "8080:80"
          cache:
            image: "redis:latest"
          api:
            build: ./api
            image: example/api

    After:
        services:
          web:
            image: nginx:1.28-alpine
            ports:
              - "8080:80"
          cache:
            image: "redis:7.4-bookworm"
          api:
            build: ./api
            image: example/api

    Options:
        ``resolve_digests`` (default ``false``): also look up the digest of the chosen tag in the
        image's registry and write ``image:tag@sha256:…`` (as io-001 does); when the lookup fails
        the tag pin is written and the message says why. ``registry_url`` (default none): the
        registry address to ask instead of the image's own (a mirror). Pins themselves come
        from the ``[pins]`` table of the configuration.

    Safety:
        Unsafe: the container runs the pinned line from now on, which may be a different major
        version than what ``latest`` pulled until now; without ``Always`` a node keeps the image
        it has (the pinned tag's patch updates arrive when the pin is raised, or with a digest,
        never by themselves).
    """

    id = "cm-001"
    category = "cm"
    title = "No `latest` in deployments"
    safety = Safety.UNSAFE
    kinds = frozenset({"k8s", "compose"})
    options = {"resolve_digests": False, "registry_url": None}
    precheck = re.compile(r"\bimage\s*:")

    def check(self, doc):
        if doc.kind == "k8s":
            yield from self._manifest(doc)
        else:
            yield from self._compose(doc)

    # Kubernetes ---------------------------------------------------------------------------------

    def _manifest(self, doc):
        seen: set[int] = set()
        tags = None
        for obj in k8s.objects(doc):
            if obj.kind not in k8s.WORKLOADS:
                continue
            for container in obj.containers():
                found = ye.get(container.node, "image")
                # no image (a kustomize patch), or an alias of an image written elsewhere
                if found is None or id(found[1]) in seen or not workloads.owned(obj, found[1]):
                    continue
                seen.add(id(found[1]))
                ref = _floating(found[1])
                if ref is None:
                    continue
                tags = kustomize.image_tags(self.ctx.workspace) if tags is None else tags
                # a kustomization sets its tag (``images: [{name: …, newTag: …}]``): untagged on purpose
                if ref.repository in tags or ref.path in tags:
                    continue
                where = f"{obj.kind} {obj.name}: {'init container' if container.init else 'container'} {container.name or '?'}"
                yield self._pin(doc, where, found[1], ref, container.node, "imagePullPolicy")

    # Compose ------------------------------------------------------------------------------------

    def _compose(self, doc):
        workspace = self.ctx.workspace
        own = cv.own_file(workspace, doc) or compose.load(doc)
        if own is None:
            return
        views = cv.views(workspace, doc)
        seen: set[int] = set()
        for name, service in own.services.items():
            view = views.get(name)
            # a build: ``image`` names the image it builds, not one to pull
            if (view.get("build") if view else ye.value(service.node, "build")) is not None:
                continue
            hit = cv.lookup(service.node, "image")
            if hit is None or id(hit[1]) in seen:
                continue
            seen.add(id(hit[1]))
            key, node, mapping = hit
            raw = ye.scalar(node)
            if raw is None:
                continue
            where = f"service {name}"
            if compose.has_variables(raw):
                yield from self._variable(doc, where, node, raw, view.env_defaults if view else {})
                continue
            ref = _floating(node)
            if ref is not None:
                yield self._pin(doc, where, node, ref, mapping, "pull_policy")

    def _variable(self, doc, where, node, raw, env):
        """An image built from variables: reported when every variable resolves and the result floats."""
        # a variable with neither a value in .env nor a default: the image is set at run time
        if compose.unset_variables(raw, env):
            return
        resolved = compose.interpolate(raw, env).strip()
        ref = images.parse_ref(resolved) if resolved else None
        if ref is None or "$" in resolved or not ref.floating or _placeholder(resolved):
            return
        yield self.finding(
            doc, doc.line_of(node.start_mark.index), f"{where}: the image `{raw}` defaults to `{resolved}`, which has no specific tag",
            reason="the reference comes from variables: pin the default (or the .env value) to a specific tag")

    # shared -------------------------------------------------------------------------------------

    def _pin(self, doc, where: str, node: ScalarNode, ref: images.ImageRef, mapping: MappingNode, policy_key: str):
        line = doc.line_of(node.start_mark.index)
        label = "no tag" if ref.tag is None else "the tag `latest`"
        tag = images.same_variant_pin(ref, self.ctx.pins)
        if not tag:
            return self.finding(doc, line, f"{where}: {ref.raw} has {label}; no pin known for {ref.repository}",
                                reason=images.pins_hint(ref))
        pinned, note = ref.with_tag(tag), ""
        if self.opts.get("resolve_digests"):
            pinned, note = registry.with_digest(pinned, base_url=self.opts.get("registry_url"))
        start = node.start_mark.index
        start += len(_PROPERTIES.match(doc.text, start, node.end_mark.index).group())  # an anchor (&img) or tag stays
        quote = doc.text[start] if node.style in ("'", '"') else ""
        edits = [Edit(start, node.end_mark.index, f"{quote}{pinned}{quote}")]
        policy = ye.get(mapping, policy_key)
        dropped = ""
        # the pull policy only chased the moving tag; one from an anchor elsewhere is not ours to drop
        if policy and (ye.scalar(policy[1]) or "").lower() == "always" and mapping.start_mark.index <= policy[0].start_mark.index:
            edits.append(ye.delete_key(doc, mapping, policy_key))
            dropped = f", {policy_key}: {policy[1].value} removed"
        return self.finding(doc, line, f"{where}: {ref.raw} has {label}; pin it to {pinned}{dropped}{note}", edits)


def _placeholder(text: str) -> bool:
    """A template placeholder (``<YOUR-IMAGE>``), not an image reference."""
    return any(c in text for c in "<>{} \t")


def _floating(node) -> images.ImageRef | None:
    """The reference of an image scalar when it has no tag or ``latest`` and no digest; None for
    anything else (pinned, a digest, variables, placeholders, block scalars)."""
    if not isinstance(node, ScalarNode) or node.style in ("|", ">") or not node.value.strip():
        return None
    text = node.value.strip()
    # variables and template placeholders: nothing can be known about them
    if "$" in text or _placeholder(text) or text != node.value:
        return None
    ref = images.parse_ref(text)
    return ref if ref.floating and ref.path and not ref.path.endswith("/") else None
