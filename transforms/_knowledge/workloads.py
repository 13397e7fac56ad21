"""What Kubernetes workloads need to be run safely: how many replicas they keep (an HPA's floor
included), which pods a label selector picks, and which volumes tie a pod to one node or one
writer (ReadWriteOnce claims, hostPath, block devices).

Shared by kp-001 (how many replicas a Pod may become), kp-003 (when Recreate is right),
kp-004 and kc-004 (replicated workloads).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.documents.yaml import YamlDocument
from orchfix.workspace import Workspace

from . import k8s, kustomize

#: workloads whose replica count (or an HPA) says how many pods run at once
SCALABLE = ("Deployment", "StatefulSet", "ReplicaSet")
#: claim access modes that let one node (or one pod) write at a time
EXCLUSIVE_MODES = frozenset({"ReadWriteOnce", "ReadWriteOncePod"})
#: inline volume sources that attach a disk to one node at a time (read-write)
BLOCK_VOLUMES = frozenset({
    "awsElasticBlockStore", "azureDisk", "cinder", "fc", "gcePersistentDisk", "iscsi", "photonPersistentDisk",
    "portworxVolume", "rbd", "scaleIO", "storageos", "vsphereVolume", "flocker",
})
#: of those, the ones several nodes may attach at once when every pod mounts them read-only
READ_ONLY_SHARED = frozenset({"gcePersistentDisk", "iscsi", "rbd", "fc"})
#: inline volume sources whose sharing depends on a driver orchfix cannot see
OPAQUE_VOLUMES = frozenset({"flexVolume"})


def index(workspace: Workspace | None, doc: YamlDocument) -> k8s.Index:
    """The tree's index (an empty workspace when the run has none)."""
    return k8s.index(workspace if workspace is not None else Workspace(), doc)


def in_patch(workspace: Workspace | None, doc: YamlDocument) -> bool:
    """Whether ``doc`` is a kustomize patch: its objects are partial and merge into others."""
    return kustomize.is_patch(workspace, doc.path)


def data_of(node: Node | None) -> Any:
    """The Python value of a node (None when it cannot be built: an unhashable key…)."""
    if node is None:
        return None
    try:
        return SafeConstructor().construct_document(node)
    except (ConstructorError, TypeError, ValueError):
        return None


def owned(obj: k8s.Obj, node: Node | None) -> bool:
    """Whether ``node`` is written inside the object (not an alias of an anchor elsewhere)."""
    return node is None or obj.node.start_mark.index <= node.start_mark.index < obj.node.end_mark.index


def merges(node: Node | None) -> bool:
    """Whether a mapping takes keys from a merge key (``<<: *base``): its own keys are not all."""
    return isinstance(node, MappingNode) and any(isinstance(k, ScalarNode) and k.value == "<<" for k, _ in node.value)


# label selectors -----------------------------------------------------------------------------

@dataclass
class Selector:
    """A ``LabelSelector`` (matchLabels + matchExpressions)."""

    labels: dict[str, str] = field(default_factory=dict)
    expressions: list[dict] = field(default_factory=list)

    @classmethod
    def of(cls, node: Node | None) -> "Selector | None":
        """The selector written at ``node``; None when there is none (null selects nothing)."""
        if not isinstance(node, MappingNode):
            return None
        data = data_of(node)
        if not isinstance(data, dict):
            return None
        labels = data.get("matchLabels") or {}
        expressions = data.get("matchExpressions") or []
        return cls({str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
                   [e for e in expressions if isinstance(e, dict)] if isinstance(expressions, list) else [])

    @property
    def empty(self) -> bool:
        return not self.labels and not self.expressions

    def matches(self, labels: dict[str, str]) -> bool:
        """Whether pods with ``labels`` are selected (an empty selector selects every pod)."""
        if any(labels.get(k) != v for k, v in self.labels.items()):
            return False
        for expr in self.expressions:
            key, op, values = expr.get("key"), expr.get("operator"), [str(v) for v in expr.get("values") or []]
            if op == "In" and labels.get(key) not in values:
                return False
            if op == "NotIn" and key in labels and labels[key] in values:
                return False
            if op == "Exists" and key not in labels:
                return False
            if op == "DoesNotExist" and key in labels:
                return False
        return True

    def as_data(self) -> dict:
        data: dict = {}
        if self.labels:
            data["matchLabels"] = dict(self.labels)
        if self.expressions:
            data["matchExpressions"] = self.expressions
        return data


def pod_selector(obj: k8s.Obj) -> Selector | None:
    """What identifies a workload's pods: its ``spec.selector``, else its template's labels.
    Read once per object (callers only read it)."""
    memo = obj.__dict__
    if "_pod_selector" not in memo:
        memo["_pod_selector"] = _pod_selector(obj)
    return memo["_pod_selector"]


def _pod_selector(obj: k8s.Obj) -> Selector | None:
    own = Selector.of(obj.get("spec", "selector"))
    if own and not own.empty:
        return own
    labels = obj.pod_labels
    return Selector(dict(labels)) if labels else None


# replicas -------------------------------------------------------------------------------------

@dataclass
class Replicas:
    """The fewest pods a workload keeps running, and what says so."""

    count: int
    source: str


def replica_floor(obj: k8s.Obj, idx: k8s.Index) -> Replicas | None:
    """How many pods a Deployment/StatefulSet/ReplicaSet keeps at least: an HPA targeting it
    decides (its ``minReplicas``, default 1) over ``spec.replicas`` (default 1). None for other
    kinds and for a count orchfix cannot read (a template placeholder)."""
    if obj.kind not in SCALABLE:
        return None
    hpas = [h for h in idx.targeting(obj, "HorizontalPodAutoscaler") if idx.same_namespace(h, obj)]
    if hpas:
        floors = [h.text("spec", "minReplicas") or "1" for h in hpas]
        if not all(f.isdigit() for f in floors):
            return None
        low = min(int(f) for f in floors)
        return Replicas(low, f"HorizontalPodAutoscaler {hpas[0].name} (minReplicas {low})")
    if ye.is_null(obj.get("spec", "replicas")):
        return Replicas(1, "spec.replicas (default)")
    text = obj.text("spec", "replicas") or ""
    return Replicas(int(text), "spec.replicas") if text.isdigit() else None


def replicated(obj: k8s.Obj, idx: k8s.Index) -> Replicas | None:
    """The replica floor of a workload that keeps 2 or more pods, else None."""
    floor = replica_floor(obj, idx)
    return floor if floor and floor.count >= 2 else None


def disruption_budgets(obj: k8s.Obj, idx: k8s.Index) -> list[k8s.Obj]:
    """The PodDisruptionBudgets of the tree that select the workload's pods."""
    labels = obj.pod_labels
    found = []
    for pdb in idx.of_kind("PodDisruptionBudget"):
        sel = Selector.of(pdb.get("spec", "selector"))
        if sel is not None and idx.same_namespace(pdb, obj) and sel.matches(labels):
            found.append(pdb)
    return found


# storage ----------------------------------------------------------------------------------------

@dataclass
class Storage:
    """A volume that ties the pod to one writer; ``known`` False when it may or may not."""

    volume: str
    why: str
    known: bool = True


def exclusive_storage(obj: k8s.Obj, idx: k8s.Index) -> list[Storage]:
    """The pod's volumes that two pods (of a rollout or of replicas) cannot share safely."""
    found: list[Storage] = []
    volumes = ye.value(obj.pod_spec, "volumes")
    for vol in volumes.value if isinstance(volumes, SequenceNode) else []:
        if not isinstance(vol, MappingNode):
            continue
        name = ye.scalar(ye.value(vol, "name")) or "?"
        claim = ye.value(vol, "persistentVolumeClaim")
        if claim is not None:
            found += _claim(obj, idx, name, ye.scalar(ye.value(claim, "claimName")))
        elif ye.value(vol, "hostPath") is not None:
            found.append(Storage(name, "a hostPath volume (data on one node)"))
        else:
            source = next((k.value for k, _ in vol.value if isinstance(k, ScalarNode) and k.value in BLOCK_VOLUMES), None)
            read_only = ye.scalar(ye.value(ye.value(vol, source), "readOnly")) == "true" if source else False
            if source and not (source in READ_ONLY_SHARED and read_only):
                found.append(Storage(name, f"{_article(source)} {source} disk (attaches to one node)"))
            opaque = next((k.value for k, _ in vol.value if isinstance(k, ScalarNode) and k.value in OPAQUE_VOLUMES), None)
            if opaque:
                found.append(Storage(name, f"a {opaque} volume (its driver decides whether pods can share it)", known=False))
    return found


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _claim(obj: k8s.Obj, idx: k8s.Index, volume: str, claim: str | None) -> list[Storage]:
    pvcs = [p for p in idx.of_kind("PersistentVolumeClaim") if p.name == claim and idx.same_namespace(p, obj)]
    if not pvcs:
        return [Storage(volume, f"claim {claim} (not in the tree: its access mode is unknown)", known=False)]
    modes = data_of(pvcs[0].get("spec", "accessModes"))
    modes = {str(m) for m in modes} if isinstance(modes, list) else set()
    if modes & EXCLUSIVE_MODES:
        return [Storage(volume, f"claim {claim} ({', '.join(sorted(modes & EXCLUSIVE_MODES))})")]
    if not modes:
        return [Storage(volume, f"claim {claim} (no accessModes)", known=False)]
    return []
