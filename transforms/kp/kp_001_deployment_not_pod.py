"""kp-001: long-running bare Pods become Deployments."""
from __future__ import annotations

import re

from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.text import Edit
from orchfix.transform import Safety, Transform

from .._knowledge import k8s, kustomize, workloads

#: a label value (the ``app`` label takes the Pod's name)
LABEL_VALUE = re.compile(r"^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$")
#: annotations that describe the object as applied, not its pods
OBJECT_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})


class DeploymentNotPod(Transform):
    r"""Turn long-running bare Pods into Deployments.

    What it finds:
    Pods that run indefinitely (``restartPolicy`` absent or ``Always``) with no owner: nothing
    recreates them when they crash out, their node fails or is drained. Each becomes an
    ``apps/v1`` Deployment of the same name, namespace, labels and annotations, with
    ``spec.selector.matchLabels`` and template labels set to the Pod's labels (an
    ``app: <name>`` label is added when it has none), the Pod's annotations also on the
    template (where they act on pods), ``replicas`` from the option, and the Pod's spec moved
    under ``spec.template.spec``: its lines are re-indented, not re-written, so comments and
    quoting inside it survive.

    A Pod that must not run twice stays one pod: ``replicas: 1`` and ``strategy: Recreate``
    when it mounts storage one node or one writer owns (a ReadWriteOnce claim, a claim not in
    the tree, a hostPath, a disk like awsElasticBlockStore), is pinned with ``nodeName``, sets a
    ``hostname`` or binds host ports. The finding says which.

    Why it matters:
    A bare Pod is gone for good when its node fails, is drained or upgraded, or when it is
    evicted; there is no rollout for a new image and no way to scale. A Deployment recreates
    its pods, rolls out changes and can run several replicas.

    Before:
        apiVersion: v1
        kind: Pod
        metadata:
          name: web
        spec:
          # the web server
          containers:
            - name: web
              image: "nginx:1.27"
              ports:
                - containerPort: 80

    After:
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          labels:
            app: web
        spec:
          replicas: 3
          selector:
            matchLabels:
              app: web
          template:
            metadata:
              labels:
                app: web
            spec:
              # the web server
              containers:
                - name: web
                  image: "nginx:1.27"
                  ports:
                    - containerPort: 80

    Options:
    ``replicas`` (default ``3``): the replicas of the new Deployment when the Pod can run
    more than once.

    Safety:
    Unsafe: pods get generated names (anything that addresses the Pod by name must use a
    Service), several replicas run at once, and rollouts replace pods. Pods with
    ``restartPolicy`` Never/OnFailure (jobs), owned pods, Helm hooks, kustomize patch files and
    Pods a kustomize patch targets are left alone or reported, as are Pods whose labels a
    controller of the tree (same namespace) already selects, Pods with ephemeral
    containers, a status, no name or a name that is no valid label value when a label must be
    made from it.
    """

    id = "kp-001"
    category = "kp"
    title = "Deployment, not a bare Pod"
    safety = Safety.UNSAFE
    kinds = frozenset({"k8s"})
    options = {"replicas": 3}
    precheck = re.compile(r"\bPod\b")

    def check(self, doc):
        workspace = self.ctx.workspace
        # a kustomize patch only states what it changes in a Pod defined elsewhere
        if workloads.in_patch(workspace, doc):
            return
        idx = None
        for obj in k8s.objects(doc):
            if obj.kind != "Pod" or obj.text("spec", "restartPolicy") in ("Never", "OnFailure"):
                continue
            meta = obj.get("metadata")
            annotations = workloads.data_of(ye.value(meta, "annotations"))
            annotations = annotations if isinstance(annotations, dict) else {}
            # owned pods (a controller's) and Helm hooks (test pods) are not standalone services
            if ye.value(meta, "ownerReferences") is not None or any(str(k).startswith("helm.sh/hook") for k in annotations):
                continue
            line = doc.line_of(obj.node.start_mark.index)
            message = f"Pod {obj.name or '?'} runs bare: nothing recreates it when it fails or its node goes away"
            problem = self._problem(obj, meta)
            if problem is None and workspace is not None:
                patch = next((p for p in kustomize.patches(workspace) if p.kind == "Pod" and p.targets("Pod", obj.name)), None)
                if patch:
                    problem = f"{patch.kustomization} patches this Pod by kind: convert the patch along with it"
            if problem:
                yield self.finding(doc, line, message, reason=problem)
                continue
            idx = idx or workloads.index(workspace, doc)
            rival = _rival(obj, idx)
            if rival:
                yield self.finding(doc, line, message, reason=f"{rival.kind} {rival.name} selects pods with these labels "
                                   "too: two controllers would fight over the pods; give the Pod a distinguishing label first")
                continue
            reasons = [f"volume {s.volume} is {s.why}" for s in workloads.exclusive_storage(obj, idx)]
            reasons += _pinned(obj)
            replicas = 1 if reasons else self._replicas()
            if replicas is None:
                yield self.finding(doc, line, message, reason="the replicas option must be a positive number")
                continue
            if reasons:
                message += f"; it becomes 1 replica with strategy Recreate: {'; '.join(reasons)}"
            yield self.finding(doc, line, message, self._edits(doc, obj, meta, annotations, replicas, bool(reasons)))

    def _replicas(self) -> int | None:
        text = str(self.opts.get("replicas", 3)).strip()
        return int(text) if text.isdigit() and int(text) > 0 else None

    def _problem(self, obj: k8s.Obj, meta) -> str | None:
        """Why this Pod cannot be rewritten as a Deployment here (None when it can)."""
        spec = obj.get("spec")
        if obj.node.flow_style or not isinstance(meta, MappingNode):
            return "the Pod is written as a flow mapping; convert it by hand"
        shared = not workloads.owned(obj, spec) or workloads.merges(spec) or workloads.merges(obj.node)
        if not isinstance(spec, MappingNode) or shared:
            return "its spec is not a plain mapping of its own (an alias or merge key)"
        if not obj.name or ye.scalar(ye.value(meta, "name")) is None:
            return "the Pod has no metadata.name (generateName only): a Deployment needs a name"
        if ye.value(spec, "ephemeralContainers") is not None:
            return "ephemeral containers cannot be part of a pod template"
        status = ye.value(obj.node, "status")
        if status is not None and not ye.is_null(status) and not (isinstance(status, MappingNode) and not status.value):
            return "the manifest carries a Pod status (an exported object); remove it first"
        labels = ye.value(meta, "labels")
        if labels is not None and not ye.is_null(labels) and not isinstance(labels, MappingNode):
            return "its labels are not a mapping"
        if not obj.labels and not LABEL_VALUE.match(obj.name):
            return f"the Pod has no labels and its name {obj.name!r} is no valid label value for an app label"
        return None

    def _edits(self, doc, obj: k8s.Obj, meta: MappingNode, annotations: dict, replicas: int, single: bool) -> list[Edit]:
        style = ye.style_of(doc)
        labels = _as_written(doc, ye.value(meta, "labels")) or {"app": obj.name}
        annotations = {k: v for k, v in _as_written(doc, ye.value(meta, "annotations")).items() if k in annotations}
        edits = []
        for key, new in (("apiVersion", "apps/v1"), ("kind", "Deployment")):
            k, v = ye.get(obj.node, key)
            edits.append(ye.replace_value(doc, k, v, new, style))
        if not obj.labels:
            found = ye.get(meta, "labels")
            edits.append(ye.replace_value(doc, found[0], found[1], labels, style) if found
                         else ye.set_key(doc, meta, "labels", labels, style))
        edits.append(_move_spec(doc, obj, style, self._header(labels, annotations, replicas, single)))
        return edits

    @staticmethod
    def _header(labels: dict, annotations: dict, replicas: int, single: bool) -> dict:
        template_meta: dict = {"labels": dict(labels)}
        kept = {k: v for k, v in annotations.items() if k not in OBJECT_ANNOTATIONS}
        if kept:
            template_meta["annotations"] = kept
        header: dict = {"replicas": replicas}
        if single:
            header["strategy"] = {"type": "Recreate"}
        header["selector"] = {"matchLabels": dict(labels)}
        header["template"] = {"metadata": template_meta}
        return header


def _as_written(doc, node) -> dict:
    """A mapping of scalars as data whose one-line values keep their quoting when copied."""
    found = {}
    for k, v in node.value if isinstance(node, MappingNode) else []:
        if isinstance(k, ScalarNode) and isinstance(v, ScalarNode):
            source = doc.text[v.start_mark.index:v.end_mark.index]
            one_line = v.style in (None, "", "'", '"') and "\n" not in source and not ye.is_null(v)
            found[k.value] = ye.Raw(source) if one_line else v.value
    return found


def _rival(obj: k8s.Obj, idx: k8s.Index) -> k8s.Obj | None:
    """A controller of the tree (same namespace) whose selector picks the Pod's labels, or whose
    pods the new Deployment's selector (the Pod's labels) would pick."""
    labels = obj.labels or {"app": obj.name}
    mine = workloads.Selector(dict(labels))
    for other in idx.of_kind(*(k8s.WORKLOADS - {"Pod", "Job", "CronJob"})):
        theirs = workloads.pod_selector(other)
        if idx.same_namespace(other, obj) and theirs and (theirs.matches(labels) or mine.matches(other.pod_labels)):
            return other
    return None


def _pinned(obj: k8s.Obj) -> list[str]:
    """What ties the Pod to running once: a node name, a host name, host ports."""
    spec = obj.pod_spec
    found = []
    if ye.scalar(ye.value(spec, "nodeName")):
        found.append(f"it is pinned to node {ye.scalar(ye.value(spec, 'nodeName'))}")
    if ye.scalar(ye.value(spec, "hostname")):
        found.append("it sets a hostname every replica would share")
    host_network = ye.scalar(ye.value(spec, "hostNetwork")) == "true"
    for container in obj.containers():
        ports = container.get("ports")
        for port in ports.value if isinstance(ports, SequenceNode) else []:
            if isinstance(port, MappingNode) and (host_network or ye.value(port, "hostPort") is not None):
                return found + ["it binds host ports"]
    return found


def _move_spec(doc, obj: k8s.Obj, style: ye.Style, header: dict) -> Edit:
    """The edit that puts the Deployment's header under ``spec:`` and the Pod's spec, its lines
    re-indented two levels, under ``spec.template.spec``."""
    text, nl = doc.text, style.newline
    key, spec = ye.get(obj.node, "spec")
    column = key.start_mark.column
    colon = text.index(":", key.end_mark.index)
    same_line = spec.start_mark.line == key.start_mark.line
    width = spec.start_mark.column - column if not same_line and spec.start_mark.column > column else style.indent
    inner = ye.Style(width, style.seq_indent, nl)
    head = ye.render_block(header, column + width, inner) + " " * (column + 2 * width) + "spec:"
    end = ye.content_end(doc, spec)
    shift = " " * (2 * width)
    if same_line:
        # `spec: {containers: [...]}`: the flow text moves after the new `spec:`, continuation lines shifted
        body = text[spec.start_mark.index:end]
        first, _, rest = body.partition("\n")
        return Edit(colon + 1, end, nl + head + " " + first + ("\n" + _shifted(rest, shift) if _ else ""))
    start = text.find("\n", colon) + 1
    return Edit(start, end, head + nl + _shifted(text[start:end], shift))


def _shifted(block: str, pad: str) -> str:
    """Every non-blank line of ``block`` indented by ``pad`` more (blank lines stay empty)."""
    return "".join(pad + line if line.strip() else line for line in block.splitlines(keepends=True))
