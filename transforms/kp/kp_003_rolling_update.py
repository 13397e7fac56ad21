"""kp-003: Deployments roll out new pods before removing old ones, unless their storage forbids it."""
from __future__ import annotations

import re

from yaml.nodes import MappingNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.transform import Safety, Transform

from .._knowledge import k8s, workloads


class RollingUpdate(Transform):
    r"""Replace the Recreate strategy of Deployments with a rolling update.

    What it finds:
    Deployments with ``strategy.type: Recreate`` whose pods can run side by side during a
    rollout. It sets ``type: RollingUpdate`` with ``rollingUpdate: {maxSurge: 1,
    maxUnavailable: 0}``: one new pod starts, becomes ready, then an old one stops.

    Deployments whose pods mount storage only one pod (or one node) can write are left alone:
    Recreate is right there. That is a volume whose ``persistentVolumeClaim.claimName`` names a
    PersistentVolumeClaim of the tree with a ReadWriteOnce/ReadWriteOncePod access mode, a
    ``hostPath`` volume, or a disk attached to one node (awsElasticBlockStore, azureDisk,
    cinder, rbd, iscsi…). A claim that is not in the tree, or a flexVolume, is reported: its
    access mode decides and orchfix cannot see it. So is a pod with a ``hostPort`` (the new
    pod needs a node where that port is free while the old one holds it; with ``hostNetwork``
    every container port is one).

    Why it matters:
    Recreate stops every pod before starting the new ones: each rollout is an outage. With a
    rolling update and no unavailable pod, capacity never drops below the desired count and a
    new version that never becomes ready stops the rollout instead of the service.

    Before:
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          replicas: 2
          strategy:
            type: Recreate
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

    After:
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          replicas: 2
          strategy:
            type: RollingUpdate
            rollingUpdate:
              maxSurge: 1
              maxUnavailable: 0
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

    Options:
    ``max_surge`` (default ``1``) and ``max_unavailable`` (default ``0``): numbers or
    percentages (``"25%"``) written into ``rollingUpdate``.

    Safety:
    Unsafe: old and new pods run at the same time during a rollout, which an application that
    must run alone (a leader without election, a schema migration on start) may not tolerate,
    and one extra pod's worth of resources must be free on the cluster.
    """

    id = "kp-003"
    category = "kp"
    title = "Rolling update strategy"
    safety = Safety.UNSAFE
    kinds = frozenset({"k8s"})
    options = {"max_surge": 1, "max_unavailable": 0}
    precheck = re.compile(r"\bRecreate\b")

    def check(self, doc):
        workspace = self.ctx.workspace
        idx = None
        for obj in k8s.objects(doc):
            if obj.kind != "Deployment":
                continue
            strategy = obj.get("spec", "strategy")
            found = ye.get(strategy, "type")
            if not found or ye.scalar(found[1]) != "Recreate":
                continue
            line = doc.line_of(found[1].start_mark.index)
            message = f"Deployment {obj.name} stops every pod before starting new ones (strategy Recreate)"
            # a strategy reached through an alias or merge key is shared: editing it changes others
            if not workloads.owned(obj, strategy) or workloads.merges(strategy):
                continue
            # a kustomize patch only states what it changes; its base decides the volumes
            if workloads.in_patch(workspace, doc):
                continue
            idx = idx or workloads.index(workspace, doc)
            storage = workloads.exclusive_storage(obj, idx)
            # storage only one pod can write at a time: Recreate is right there
            if any(s.known for s in storage):
                continue
            if storage:
                yield self.finding(doc, line, message, reason="; ".join(f"volume {s.volume} is {s.why}" for s in storage)
                                   + ": if two pods can mount it at once, set strategy.type RollingUpdate yourself")
                continue
            ports = _host_ports(obj)
            if ports:
                yield self.finding(doc, line, message, reason=f"its pods bind hostPort {', '.join(ports)}: a new pod "
                                   "needs a node where the port is free; set rollingUpdate maxSurge 0, maxUnavailable 1 "
                                   "if a rolling update fits")
                continue
            style = ye.style_of(doc)
            edits = [ye.replace_value(doc, found[0], found[1], "RollingUpdate", style)]
            # a rollingUpdate block already there (rejected with Recreate) now takes effect as written
            if ye.get(strategy, "rollingUpdate") is None:
                rolling = {"maxSurge": _int_or_text(self.opts["max_surge"]),
                           "maxUnavailable": _int_or_text(self.opts["max_unavailable"])}
                edits.append(ye.set_key(doc, strategy, "rollingUpdate", rolling, style))
            yield self.finding(doc, line, message, edits)


def _host_ports(obj: k8s.Obj) -> list[str]:
    """The host ports its pods bind (with hostNetwork, every container port is one)."""
    host_network = ye.scalar(ye.value(obj.pod_spec, "hostNetwork")) == "true"
    found = []
    for container in obj.containers():
        ports = container.get("ports")
        for port in ports.value if isinstance(ports, SequenceNode) else []:
            if not isinstance(port, MappingNode):
                continue
            host = ye.scalar(ye.value(port, "hostPort")) or (ye.scalar(ye.value(port, "containerPort")) if host_network else None)
            if host:
                found.append(host)
    return found


def _int_or_text(value):
    text = str(value)
    return int(text) if text.isdigit() else text
