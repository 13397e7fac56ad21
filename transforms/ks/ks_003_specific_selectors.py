from __future__ import annotations

import re

from yaml.nodes import MappingNode

from orchfix import yamledit as ye
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import k8s

from ._services import Scope, container_ports, identity, int_of, is_version_key, port_items, same_namespace, service_type

#: label keys that name a group of pods rather than one workload's
GENERIC = frozenset({
    "app", "tier", "role", "component", "type", "env", "environment", "stage", "group", "team", "release", "part-of",
    "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/part-of", "app.kubernetes.io/component",
    "app.kubernetes.io/managed-by",
})
#: which distinguishing labels to prefer when several would do
PREFERRED = ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component", "app", "name",
             "k8s-app", "component", "role", "tier")
_SUFFIX = re.compile(r"-(svc|service|deployment|deploy|sts|statefulset|ds|daemonset|rc|controller)$")
_CANARY = re.compile(r"canary", re.I)


def _base(name: str) -> str:
    return _SUFFIX.sub("", name)


def _rank(key: str) -> int:
    return PREFERRED.index(key) if key in PREFERRED else len(PREFERRED)


class SpecificLabelSelectors(Transform):
    r"""Give each Service a selector that picks its own workload's pods and no others.

    What it finds:
        Services whose selector picks the pods of more than one workload applied with them (same
        file, folder or kustomization; the same object in two places counts once), and Services
        that select only by generic keys (``app``, ``tier``, ``role``, ``component``…) while the
        workload they serve selects its own pods by more labels. The workload a Service is meant
        for is the one named like it (``web`` for a ``web``/``web-svc`` Service), else the one
        whose container ports its target ports all match; when neither tells, it is reported.

    Why it matters:
        A Service sends traffic to every ready pod its selector matches. ``app: redis`` on a
        primary/replica pair sends writes to read-only replicas; a later Deployment that shares a
        generic label silently joins the pool.

    Before:
        apiVersion: v1
        kind: Service
        metadata:
          name: redis-primary
        spec:
          selector:
            app: redis
          ports:
          - port: 6379
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: redis-primary
        spec:
          selector:
            matchLabels: {app: redis, role: primary}
          template:
            metadata:
              labels: {app: redis, role: primary, version: "7.2"}
            spec:
              containers:
              - name: redis
                image: redis:7.2
                ports:
                - containerPort: 6379
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: redis-replica
        spec:
          selector:
            matchLabels: {app: redis, role: replica}
          template:
            metadata:
              labels: {app: redis, role: replica, version: "7.2"}
            spec:
              containers:
              - name: redis
                image: redis:7.2
                ports:
                - containerPort: 6379

    After:
        apiVersion: v1
        kind: Service
        metadata:
          name: redis-primary
        spec:
          selector:
            app: redis
            role: primary
          ports:
          - port: 6379
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: redis-primary
        spec:
          selector:
            matchLabels: {app: redis, role: primary}
          template:
            metadata:
              labels: {app: redis, role: primary, version: "7.2"}
            spec:
              containers:
              - name: redis
                image: redis:7.2
                ports:
                - containerPort: 6379
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: redis-replica
        spec:
          selector:
            matchLabels: {app: redis, role: replica}
          template:
            metadata:
              labels: {app: redis, role: replica, version: "7.2"}
            spec:
              containers:
              - name: redis
                image: redis:7.2
                ports:
                - containerPort: 6379

    Options:
        None.

    Safety:
        Unsafe: pods of the other workloads stop receiving the Service's traffic (which is the
        point, unless they were meant to share it). The labels added are the intended workload's
        own ``matchLabels`` first, then the fewest pod-template labels that tell it apart; never a
        label that changes with each release (``version``, ``app.kubernetes.io/version``,
        ``pod-template-hash``, ``controller-revision-hash``, ``helm.sh/chart``). Before writing,
        the new selector is checked against every workload of the tree in the Service's namespace:
        it must select the intended pods and none of another workload's; otherwise, and when a
        canary or only a version label sets the workloads apart, the finding is reported instead.
    """

    id = "ks-003"
    category = "ks"
    title = "Specific label selectors"
    safety = Safety.UNSAFE
    kinds = frozenset({"k8s"})
    options: dict = {}
    precheck = re.compile(r"\bService\b")

    def check(self, doc):
        scope = Scope(self.ctx.workspace, doc)
        # only this file's Services are edited here
        for svc in scope.mine():
            if svc.kind != "Service":
                continue
            finding = self._check(doc, scope, svc)
            if finding:
                yield finding

    def _check(self, doc, scope: Scope, svc):
        node = svc.get("spec", "selector")
        # no selector (endpoints kept by hand) or an ExternalName: nothing selects pods
        if not isinstance(node, MappingNode) or not node.value or service_type(svc) == "ExternalName":
            return None
        selector = svc.selector
        # a selector with non-scalar values is invalid; a patch is only part of a Service
        if len(selector) != len(node.value) or scope.is_patch(svc):
            return None
        selected = scope.selected(svc)
        if not selected:
            return None
        several = len(selected) > 1
        line = node.start_mark.line + 1
        names = ", ".join(f"{w.kind} {w.name}" for w in selected)
        message = (f"Service {svc.name} selects the pods of {names}" if several
                   else f"Service {svc.name} selects only by generic labels ({', '.join(selector)})")
        if not several and not all(k in GENERIC for k in selector):
            return None
        intended = self._intended(svc, selected)
        if intended is None:
            return self.finding(doc, line, message, reason="cannot tell which workload it is meant for: none is named "
                                "like the Service and their ports do not single one out; add the labels of the "
                                "intended one to the selector by hand")
        others = [w for w in selected if w is not intended]
        if any(_CANARY.search(w.name) or "track" in w.pod_labels or any(_CANARY.search(v) for v in w.pod_labels.values())
               for w in others):
            return self.finding(doc, line, message, reason="it also selects a canary, which is usually meant to share "
                                "the traffic; narrow the selector by hand if not")
        specific = [k for k in selector if k not in GENERIC]
        if specific and all(self._serves(svc, w) for w in others):
            return self.finding(doc, line, message, reason=f"the other workloads serve its ports too and carry its "
                                f"{specific[0]} label: the sharing looks deliberate; narrow the selector by hand if not")
        add = self._labels(selector, intended, others)
        if add is None:
            return self.finding(doc, line, message, reason=f"no label of {intended.kind} {intended.name}'s pods tells "
                                "them apart from the others' (version labels are never used); give it a "
                                "distinguishing label")
        # the selector already says all the workload's own selector says
        if not add:
            return None
        new = {**selector, **add}
        stray = self._prove(scope, svc, intended, new)
        if stray is not None:
            return self.finding(doc, line, message, reason=f"the narrowed selector would still select {stray}")
        added = ", ".join(f"{k}: {v}" for k, v in add.items())
        return self.finding(doc, line, f"{message}; narrowed to {intended.kind} {intended.name}'s pods ({added})",
                            [ye.add_keys(doc, node, add)])

    @classmethod
    def _intended(cls, svc, selected):
        """The workload the Service is meant for: by name, else by ports; None when neither tells."""
        if len(selected) == 1:
            return selected[0]
        for same in (lambda w: w.name == svc.name, lambda w: _base(w.name) == _base(svc.name)):
            by_name = [w for w in selected if same(w)]
            if len(by_name) == 1:
                return by_name[0]
        by_ports = [w for w in selected if cls._serves(svc, w)]
        return by_ports[0] if len(by_ports) == 1 else None

    @staticmethod
    def _serves(svc, workload) -> bool:
        """Whether the workload's containers offer every target port of the Service."""
        targets = set()
        for port in port_items(svc):
            target = ye.value(port, "targetPort") or ye.value(port, "port")
            targets.add(int_of(target) if int_of(target) is not None else ye.scalar(target))
        if not targets or None in targets:
            return False
        offered = set()
        for p in container_ports(workload):
            offered |= {int_of(ye.value(p, "containerPort")), ye.scalar(ye.value(p, "name"))}
        return targets <= offered

    @staticmethod
    def _labels(selector: dict[str, str], intended, others) -> dict[str, str] | None:
        """Labels to add: the workload's own matchLabels, then the fewest pod labels that exclude
        the other workloads (never a version label); None when no such labels exist."""
        pods = intended.pod_labels
        add = {k: v for k, v in intended.selector.items()
               if k not in selector and not is_version_key(k) and pods.get(k) == v}
        remaining = [w for w in others if k8s.selects({**selector, **add}, w.pod_labels)]
        candidates = [(k, v) for k, v in pods.items() if k not in selector and k not in add and not is_version_key(k)]
        while remaining:
            scored = [(sum(w.pod_labels.get(k) != v for w in remaining), -_rank(k), k, v) for k, v in candidates]
            if not scored or max(scored)[0] == 0:
                return None
            _, _, key, value = max(scored)
            add[key] = value
            candidates.remove((key, value))
            remaining = [w for w in remaining if w.pod_labels.get(key) == value]
        return add

    @staticmethod
    def _prove(scope: Scope, svc, intended, selector: dict[str, str]) -> str | None:
        """Recompute the selection over the whole tree: the intended pods are selected and no pods
        of another workload in the namespace are. Returns what is wrongly selected, or None."""
        if not k8s.selects(selector, intended.pod_labels):
            return f"none of {intended.kind} {intended.name}'s pods"
        for w in scope.index.of_kind(*k8s.WORKLOADS):
            if same_namespace(w, svc) and identity(w) != identity(intended) and k8s.selects(selector, w.pod_labels):
                return f"the pods of {w.kind} {w.name} ({w.doc.path})"
        return None
