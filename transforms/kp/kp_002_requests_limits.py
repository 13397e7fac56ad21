"""kp-002: every container declares cpu and memory requests and limits."""
from __future__ import annotations

import re

from yaml.nodes import MappingNode, ScalarNode

from orchfix import yamledit as ye
from orchfix.text import Edit, overlaps
from orchfix.transform import Safety, Transform

from .._knowledge import k8s, quantities, workloads

RESOURCES = ("cpu", "memory")


class RequestsLimits(Transform):
    r"""Give every container cpu and memory requests and limits.

    What it finds:
    Containers and init containers (not ephemeral ones) of every workload kind (Pod,
    Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob job
    templates, items of ``List`` kinds) whose ``resources`` lack a cpu or memory request or
    limit. It adds the missing keys only, in the file's style, and leaves the values a
    container already has as they are:

    - neither request nor limit: the configured request and limit;
    - a limit without a request: the request equal to the limit (what Kubernetes already
      schedules by when a request is missing, so scheduling stays as it is);
    - a request without a limit: the configured limit, raised to the request when the request
      is above it (quantities are compared by value: ``500m``, ``0.5``, ``1Gi``, ``1e9``), so a
      limit is never below its request.

    Why it matters:
    A container without requests is scheduled as if it needed nothing, so nodes get
    overcommitted and its pods are the first evicted under pressure (BestEffort); without
    limits one runaway container can starve every other pod on its node of cpu or memory.

    Before:
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          selector:
            matchLabels:
              app: web
          template:
            metadata:
              labels:
                app: web
            spec:
              containers:
                - name: web
                  image: nginx:1.27
                  resources:
                    requests:
                      cpu: 250m

    After:
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          selector:
            matchLabels:
              app: web
          template:
            metadata:
              labels:
                app: web
            spec:
              containers:
                - name: web
                  image: nginx:1.27
                  resources:
                    requests:
                      cpu: 250m
                      memory: 128Mi
                    limits:
                      cpu: 500m
                      memory: 256Mi

    Options:
    ``requests_cpu`` (default ``100m``), ``requests_memory`` (``128Mi``), ``limits_cpu``
    (``500m``), ``limits_memory`` (``256Mi``): the values written where a container has
    neither a request nor a limit for that resource.

    Safety:
    Unsafe: limits cap what the container may use (a memory limit below its real need gets it
    OOM-killed, a cpu limit throttles it) and requests change where pods fit. Objects in a
    namespace whose LimitRange already sets container defaults are reported, not changed (the
    cluster fills the values in). kustomize patch files are left alone (their containers are
    merged into a base that has its own values). A request that is not a quantity orchfix can
    read (a template placeholder) is reported when a limit would have to be compared with it.
    """

    id = "kp-002"
    category = "kp"
    title = "Requests and limits"
    safety = Safety.UNSAFE
    kinds = frozenset({"k8s"})
    options = {"requests_cpu": "100m", "requests_memory": "128Mi", "limits_cpu": "500m", "limits_memory": "256Mi"}
    precheck = re.compile(r"\bcontainers\b")

    def check(self, doc):
        workspace = self.ctx.workspace
        # a kustomize patch's containers merge into a base: defaults here would override its values
        if workloads.in_patch(workspace, doc):
            return
        idx = None
        for obj in k8s.objects(doc):
            if obj.kind not in k8s.WORKLOADS:
                continue
            seen: set[int] = set()
            for container in obj.containers():
                # an alias lists the same container twice; an anchor elsewhere is not this object's
                if id(container.node) in seen or not workloads.owned(obj, container.node):
                    continue
                seen.add(id(container.node))
                plan = self._plan(doc, container)
                if plan is None:
                    continue
                missing, values, problem = plan
                where = f"{obj.kind} {obj.name}: {'init container' if container.init else 'container'} {container.name or '?'}"
                message = f"{where} has no {', '.join(missing)}"
                line = doc.line_of(container.node.start_mark.index)
                if problem:
                    yield self.finding(doc, line, message, reason=problem)
                    continue
                idx = idx or workloads.index(workspace, doc)
                defaults = _limit_range(obj, idx)
                if defaults:
                    yield self.finding(doc, line, message, reason=f"LimitRange {defaults} sets container defaults in "
                                       "this namespace; the cluster fills in the missing values")
                    continue
                yield self.finding(doc, line, message, _edits(doc, container.node, values))

    def _plan(self, doc, container: k8s.Container):
        """(missing keys, {section: {resource: value}} to add, problem) or None when complete."""
        found = ye.get(container.node, "resources")
        res = found[1] if found else None
        # resources built by a merge key or written as a scalar/alias: not ours to complete
        if workloads.merges(container.node) or (res is not None and not ye.is_null(res) and not isinstance(res, MappingNode)):
            return None
        sections = {}
        for name in ("requests", "limits"):
            node = ye.value(res, name) if isinstance(res, MappingNode) else None
            if node is not None and not ye.is_null(node) and not isinstance(node, MappingNode):
                return None  # a templated or aliased section: its keys are not visible
            if isinstance(node, MappingNode) and any(not isinstance(v, ScalarNode) for k, v in node.value
                                                     if ye.scalar(k) in RESOURCES):
                return None  # a quantity written as a collection: invalid, not ours to guess
            sections[name] = node
        missing, values, problem = [], {"requests": {}, "limits": {}}, None
        for resource in RESOURCES:
            request, limit = (_raw(doc, sections[s], resource) for s in ("requests", "limits"))
            if request is not None and limit is not None:
                continue
            if request is None and limit is None:
                request, limit = self.opts[f"requests_{resource}"], self.opts[f"limits_{resource}"]
                if quantities.compare(request, limit) == 1:
                    limit = request  # options with a request above the limit: the limit follows
                values["requests"][resource], values["limits"][resource] = _quantity(request), _quantity(limit)
                missing += [f"{resource} request", f"{resource} limit"]
            elif request is None:
                # Kubernetes schedules a container without a request by its limit: say so explicitly
                values["requests"][resource] = limit
                missing.append(f"{resource} request")
            else:
                default = self.opts[f"limits_{resource}"]
                order = quantities.compare(request.value, default)
                if order is None:
                    problem = (f"the {resource} request {request.value} is not a quantity orchfix can compare; "
                               f"set resources.limits.{resource} yourself")
                values["limits"][resource] = request if order == 1 else _quantity(default)
                missing.append(f"{resource} limit")
        if not missing:
            return None
        return missing, values, problem


class _Quantity(ye.Raw):
    """A quantity copied from the file: written with its own quoting, compared by its value."""

    value: str


def _raw(doc, section, resource: str) -> _Quantity | None:
    """``section.resource`` as written (quotes kept), None when absent or null."""
    node = ye.value(section, resource) if isinstance(section, MappingNode) else None
    if node is None or ye.is_null(node) or not isinstance(node, ScalarNode):
        return None
    source = doc.text[node.start_mark.index:node.end_mark.index]
    found = _Quantity(source if node.style in (None, "", "'", '"') and "\n" not in source else ye.render_scalar(node.value))
    found.value = node.value
    return found


def _quantity(value):
    """An option value as YAML data: integers and plain numbers stay numbers (``cpu: 1``)."""
    text = str(value)
    if re.fullmatch(r"\d+", text):
        return int(text)
    return text


def _limit_range(obj: k8s.Obj, idx: k8s.Index) -> str | None:
    """The name of a LimitRange of the object's namespace that defaults container resources."""
    for lr in idx.of_kind("LimitRange"):
        if not idx.same_namespace(lr, obj):
            continue
        limits = workloads.data_of(lr.get("spec", "limits"))
        for item in limits if isinstance(limits, list) else []:
            if isinstance(item, dict) and item.get("type") == "Container" and (item.get("default") or item.get("defaultRequest")):
                return lr.name
    return None


def _edits(doc, container: MappingNode, values: dict[str, dict]) -> list[Edit]:
    """The edits that add ``values`` to a container's resources, in one pass where they can be
    combined (an addition to ``requests`` and a new ``limits`` after it land at one point)."""
    style = ye.style_of(doc)
    values = {k: v for k, v in values.items() if v}
    found = ye.get(container, "resources")
    if found is None:
        return [ye.set_key(doc, container, "resources", values, style)]
    key, res = found
    if ye.is_null(res) or not res.value:
        return [ye.replace_value(doc, key, res, values, style)]
    edits = []
    for name, add in values.items():
        sub = ye.get(res, name)
        if sub is None:
            edits.append(ye.set_key(doc, res, name, add, style))
        elif ye.is_null(sub[1]) or not sub[1].value:
            edits.append(ye.replace_value(doc, sub[0], sub[1], add, style))
        else:
            edits += [ye.set_key(doc, sub[1], resource, value, style) for resource, value in add.items()]
    return _combine(edits)


def _combine(edits: list[Edit]) -> list[Edit]:
    """Insertions at one point joined into one (the deeper-indented first: it closes the inner
    mapping before the outer one's new entry); an edit that overlaps another waits for the next
    pass (the transform fires again until the container is complete)."""
    out: list[Edit] = []
    for edit in edits:
        same = next((i for i, e in enumerate(out) if e.start == e.end == edit.start == edit.end), None)
        if same is not None:
            first, second = sorted((out[same], edit), key=lambda e: -_column(e.new))
            joined = first.new + (second.new.lstrip("\r\n") if first.new.endswith("\n") else second.new)
            out[same] = Edit.insert(edit.start, joined)
        elif not any(overlaps(edit, e) for e in out):
            out.append(edit)
    return out


def _column(text: str) -> int:
    line = text.lstrip("\r\n")
    return len(line) - len(line.lstrip(" "))
