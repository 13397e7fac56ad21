"""kp-004: replicated workloads get a PodDisruptionBudget."""
from __future__ import annotations

import posixpath
import re

from orchfix import yamledit as ye
from orchfix.text import Edit
from orchfix.transform import Safety, SideChange, Transform

from .._knowledge import k8s, kustomize, workloads


class PodDisruptionBudget(Transform):
    r"""Give every workload with two or more replicas a PodDisruptionBudget.

    What it finds:
    Deployments, StatefulSets and ReplicaSets that keep 2 or more pods (``spec.replicas``, or
    the ``minReplicas`` of a HorizontalPodAutoscaler that scales them) while no
    PodDisruptionBudget anywhere in the tree selects their pods (same namespace; matchLabels
    and matchExpressions are evaluated). It writes a ``policy/v1`` PodDisruptionBudget named
    ``<name>-pdb`` in the workload's namespace, with the workload's own selector and
    ``minAvailable`` one less than its replicas, right after the workload in the same file
    (a new document, or the next item of a ``List``; a kustomization listing that file picks
    it up as it is), or, with ``separate_file``, as a new ``<name>-pdb.yaml`` beside it that
    is added to the ``resources`` of every kustomization deploying the workload's file.

    Why it matters:
    Node drains (upgrades, autoscaler scale-downs, maintenance) evict pods through the
    eviction API, which without a budget may take every replica of a service at once. A
    budget makes voluntary disruptions wait until enough replicas are ready elsewhere.

    Before:
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          namespace: shop
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
              containers:
                - name: web
                  image: nginx:1.27

    After:
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          namespace: shop
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
              containers:
                - name: web
                  image: nginx:1.27
        ---
        apiVersion: policy/v1
        kind: PodDisruptionBudget
        metadata:
          name: web-pdb
          namespace: shop
        spec:
          minAvailable: 2
          selector:
            matchLabels:
              app: web

    Options:
    ``min_available`` (default: replicas − 1) or ``max_unavailable`` (default: unset; when set
    it is written instead of minAvailable): a number or a percentage (``"50%"``).
    ``separate_file`` (default ``false``): write the budget into a new file beside the manifest
    (added to the kustomizations that deploy the manifest) instead of the same file.

    Safety:
    Safe: a budget only slows voluntary evictions down; running pods and rollouts are
    unaffected. A ``min_available`` at or above the replica count would block every drain and
    is reported instead. kustomize patch files are left alone (the workload is completed in its
    base), and a name already taken by another budget is reported.
    """

    id = "kp-004"
    category = "kp"
    title = "PodDisruptionBudget"
    safety = Safety.SAFE
    kinds = frozenset({"k8s"})
    options = {"min_available": None, "max_unavailable": None, "separate_file": False}
    precheck = re.compile(r"\b(?:Deployment|StatefulSet|ReplicaSet)\b")

    def check(self, doc):
        workspace = self.ctx.workspace
        # a kustomize patch only states what it changes; the budget belongs with the base
        if workloads.in_patch(workspace, doc):
            return
        idx = workloads.index(workspace, doc)
        for obj in k8s.objects(doc):
            replicas = workloads.replicated(obj, idx)
            if replicas is None or workloads.disruption_budgets(obj, idx):
                continue
            line = doc.line_of(obj.node.start_mark.index)
            message = (f"{obj.kind} {obj.name} keeps {replicas.count} replicas ({replicas.source}) and no "
                       "PodDisruptionBudget selects its pods")
            selector = workloads.pod_selector(obj)
            # no selector and no template labels: nothing a budget could select by
            if selector is None or not obj.name:
                yield self.finding(doc, line, message, reason="the workload has no selector or pod labels to select by")
                continue
            name = f"{obj.name}-pdb"
            taken = [p for p in idx.of_kind("PodDisruptionBudget") if p.name == name and idx.same_namespace(p, obj)]
            if taken:
                yield self.finding(doc, line, message, reason=f"a PodDisruptionBudget named {name} exists and selects "
                                   "other pods; add one for this workload yourself")
                continue
            budget, problem = self._budget(replicas.count)
            if problem:
                yield self.finding(doc, line, message, reason=problem)
                continue
            metadata = {"name": name}
            if obj.namespace:
                metadata["namespace"] = obj.namespace
            data = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": metadata,
                    "spec": {**budget, "selector": selector.as_data()}}
            if not self.opts.get("separate_file"):
                yield self.finding(doc, line, message, [k8s.insert_after(doc, obj, data)])
                continue
            side, problem = self._new_file(doc, name, data)
            if problem:
                yield self.finding(doc, line, message, reason=problem)
            else:
                yield self.finding(doc, line, message, side=side)

    def _budget(self, replicas: int) -> tuple[dict, str | None]:
        """The budget's minAvailable/maxUnavailable entry, or a reason it cannot be written."""
        max_unavailable = self.opts.get("max_unavailable")
        if max_unavailable not in (None, ""):
            return {"maxUnavailable": _int_or_text(max_unavailable)}, None
        min_available = self.opts.get("min_available")
        if min_available in (None, ""):
            return {"minAvailable": replicas - 1}, None
        value = _int_or_text(min_available)
        if isinstance(value, int) and value >= replicas:
            return {}, (f"min_available {value} is not below the {replicas} replicas: the budget would block every "
                        "eviction; lower it or set max_unavailable")
        return {"minAvailable": value}, None

    def _new_file(self, doc, name: str, data: dict) -> tuple[list[SideChange], str | None]:
        """A new manifest beside ``doc`` holding the budget, plus its kustomization entries."""
        workspace = self.ctx.workspace
        path = posixpath.join(posixpath.dirname(doc.path), f"{name}.yaml")
        if workspace is not None and workspace.exists(path):
            return [], f"{path} exists already; add the budget yourself or set separate_file = false"
        style = ye.style_of(doc)
        side = [SideChange(path, [Edit.insert(0, ye.render_block(data, 0, style))])]
        for k in kustomize.listing(workspace, doc.path):
            entry = posixpath.relpath(kustomize.norm(path), kustomize.norm(k.folder or "."))
            side.append(SideChange(k.path, kustomize.add_resource(workspace, k.path, entry)))
        return side, None


def _int_or_text(value):
    text = str(value).strip()
    return int(text) if text.isdigit() else text
