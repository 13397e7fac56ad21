"""kc-004: replicated workloads spread their pods across nodes."""
from __future__ import annotations

import re

from orchfix import yamledit as ye
from orchfix.transform import Safety, Transform

from .._knowledge import k8s, workloads

WHEN_UNSATISFIABLE = ("ScheduleAnyway", "DoNotSchedule")


class TopologySpread(Transform):
    r"""Spread the pods of replicated workloads across nodes.

    What it finds:
    Deployments, StatefulSets and ReplicaSets that keep 2 or more pods (``spec.replicas``, or
    the ``minReplicas`` of a HorizontalPodAutoscaler that scales them) whose pod template has
    neither ``topologySpreadConstraints`` nor a pod anti-affinity. It adds one constraint on
    ``kubernetes.io/hostname`` with ``maxSkew: 1``, ``whenUnsatisfiable: ScheduleAnyway`` and a
    label selector for the workload's pods: its own ``spec.selector`` (the labels that identify
    its pods and no version label that changes between rollouts), else its template's labels.

    Why it matters:
    The scheduler may put every replica on the same node: one node failure or drain then takes
    the whole service down, and the replicas buy no availability. A spread constraint keeps the
    replicas on different nodes wherever the cluster allows it.

    Before:
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          replicas: 3
          selector:
            matchLabels:
              app: web
          template:
            metadata:
              labels:
                app: web
                version: v2
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
          replicas: 3
          selector:
            matchLabels:
              app: web
          template:
            metadata:
              labels:
                app: web
                version: v2
            spec:
              containers:
                - name: web
                  image: nginx:1.27
              topologySpreadConstraints:
                - maxSkew: 1
                  topologyKey: kubernetes.io/hostname
                  whenUnsatisfiable: ScheduleAnyway
                  labelSelector:
                    matchLabels:
                      app: web

    Options:
    ``topology_key`` (default ``kubernetes.io/hostname``; ``topology.kubernetes.io/zone``
    spreads across zones) and ``when_unsatisfiable`` (default ``ScheduleAnyway``, a preference;
    ``DoNotSchedule`` makes it a hard rule).

    Safety:
    Unsafe: it changes where pods are scheduled. With the default ``ScheduleAnyway`` a pod is
    still scheduled when the spread cannot be met; ``DoNotSchedule`` leaves pods pending when
    there are fewer nodes than replicas. kustomize patch files are left alone (the workload is
    completed in its base).
    """

    id = "kc-004"
    category = "kc"
    title = "Topology spread"
    safety = Safety.UNSAFE
    kinds = frozenset({"k8s"})
    options = {"topology_key": "kubernetes.io/hostname", "when_unsatisfiable": "ScheduleAnyway"}
    precheck = re.compile(r"\b(?:Deployment|StatefulSet|ReplicaSet)\b")

    def check(self, doc):
        workspace = self.ctx.workspace
        # a kustomize patch only states what it changes; its base carries the pod template
        if workloads.in_patch(workspace, doc):
            return
        idx = None
        for obj in k8s.objects(doc):
            spec = obj.pod_spec
            if obj.kind not in workloads.SCALABLE or spec is None:
                continue
            found = ye.get(spec, "topologySpreadConstraints")
            # constraints already there (even none on purpose, `[]` with a comment) or anti-affinity: spread is decided
            if (found and not ye.is_null(found[1])) or ye.value(ye.value(spec, "affinity"), "podAntiAffinity") is not None:
                continue
            idx = idx or workloads.index(workspace, doc)
            replicas = workloads.replicated(obj, idx)
            if replicas is None:
                continue
            line = doc.line_of(obj.node.start_mark.index)
            message = (f"{obj.kind} {obj.name} keeps {replicas.count} replicas ({replicas.source}) with nothing "
                       "spreading them across nodes")
            when = self.opts.get("when_unsatisfiable")
            if when not in WHEN_UNSATISFIABLE:
                yield self.finding(doc, line, message, reason=f"when_unsatisfiable must be one of {', '.join(WHEN_UNSATISFIABLE)}")
                continue
            selector = workloads.pod_selector(obj)
            # no selector and no pod labels: a constraint could not tell its pods apart
            if selector is None:
                yield self.finding(doc, line, message, reason="the workload has no selector or pod labels to spread by")
                continue
            # a pod spec reached through an alias or merge key is shared: editing it changes others
            if not workloads.owned(obj, spec) or workloads.merges(spec):
                continue
            constraint = {"maxSkew": 1, "topologyKey": self.opts.get("topology_key") or "kubernetes.io/hostname",
                          "whenUnsatisfiable": when, "labelSelector": selector.as_data()}
            edit = (ye.replace_value(doc, found[0], found[1], [constraint]) if found
                    else ye.set_key(doc, spec, "topologySpreadConstraints", [constraint]))
            yield self.finding(doc, line, message, [edit])
