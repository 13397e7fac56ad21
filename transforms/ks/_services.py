"""Services, the pods they select and the Ingresses in front of them: what ks-001 … ks-004 share.

**Units.** Relations ("which workloads does this Service select", "does an Ingress route to
it") are looked up among the objects *applied together* with an object, not across the whole
tree: a repository of examples, or one that keeps the same app as an all-in-one file beside
its split files, would otherwise relate objects that never meet in a cluster. The unit of a
file is, in this order:

1. the files a ``kustomization.yaml`` deploys as resources when one lists the file (directories
   followed through their own kustomization);
2. the files of its folder (``kubectl apply -f folder/``), leaving out files that define an
   object (kind, namespace, name) another file of the folder defines too: those are
   alternatives (an all-in-one beside the split files, a standalone beside a distributed
   variant), and each of them is a unit of its own.

Objects of kustomize patch files are partial and belong to no unit. Within a unit the same
object defined twice counts once (its identity is kind, namespace and name).
"""
from __future__ import annotations

import posixpath
import re
from functools import lru_cache
from typing import Iterator

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.documents.yaml import YamlDocument
from orchfix.text import Edit
from orchfix.transforms._knowledge import k8s, kustomize
from orchfix.transforms._knowledge.k8s import Index, Obj
from orchfix.workspace import Workspace

#: labels whose value changes from release to release: never part of a Service selector
VERSION_KEYS = frozenset({
    "version", "app.kubernetes.io/version", "pod-template-hash", "controller-revision-hash", "helm.sh/chart",
    "chart", "statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index",
})
#: what an ingress controller, API gateway or mesh gateway runs (its Service is the way in by design)
_GATEWAY = re.compile(r"ingress|gateway|traefik|haproxy|envoy|contour|\bkong\b|ambassador|emissary|skipper|istio/proxy", re.I)
#: Service spec fields that only a LoadBalancer or NodePort Service may carry
LB_ONLY = ("loadBalancerIP", "loadBalancerSourceRanges", "loadBalancerClass", "allocateLoadBalancerNodePorts",
           "healthCheckNodePort")


def is_version_key(key: str) -> bool:
    return key in VERSION_KEYS or key.endswith("/version")


@lru_cache(maxsize=65536)
def _norm(path: str) -> str:
    return posixpath.normpath(path)


def identity(obj: Obj) -> tuple[str, str, str]:
    return obj.kind, obj.namespace or "default", obj.name


def same_namespace(a: Obj, b: Obj) -> bool:
    return (a.namespace or "default") == (b.namespace or "default")


def _kustomize_view(workspace: Workspace) -> tuple[set[str], dict[str, list[str]], dict[str, list[str]]]:
    """Patch files, each kustomization's resources, and which kustomizations list each file;
    read once per worker and again when a staged file changes."""
    key = workspace.staged.version  # a new object whenever something is staged
    cached = getattr(workspace, "_ks_kustomize", None)
    if cached and cached[0] is key:
        return cached[1]
    patches = {_norm(p) for p in kustomize.patch_files(workspace)}
    resources: dict[str, list[str]] = {}
    listed_by: dict[str, list[str]] = {}
    for kpath in kustomize.kustomizations(workspace):
        resources[kpath] = kustomize.resources(workspace, kpath)
        for entry in resources[kpath]:
            listed_by.setdefault(entry, []).append(kpath)
    workspace._ks_kustomize = (key, (patches, resources, listed_by))
    return patches, resources, listed_by


def _group(objects: list[Obj]) -> tuple[dict[str, list[Obj]], dict[str, list[str]]]:
    by_path: dict[str, list[Obj]] = {}
    for obj in objects:
        by_path.setdefault(_norm(obj.doc.path), []).append(obj)
    by_folder: dict[str, list[str]] = {}
    for p in by_path:
        by_folder.setdefault(posixpath.dirname(p), []).append(p)
    return by_path, by_folder


def _without(others: k8s.Others) -> tuple[dict[str, list[Obj]], dict[str, list[str]]]:
    """The grouping of every manifest's objects (made once per staged state) without the file
    ``others`` leaves out."""
    tree = others.tree
    if "ks_grouped" not in tree.derived:
        tree.derived["ks_grouped"] = _group(tree.objects)
    by_path, by_folder = tree.derived["ks_grouped"]
    left_out = tree.by_path.get(others.path)
    if not left_out:
        return by_path, by_folder
    key = _norm(others.path)
    kept = [o for o in by_path[key] if o.doc.path != others.path]
    by_path = dict(by_path)
    if kept:  # another spelling of the same path: its objects stay (in their order)
        by_path[key] = kept
        return by_path, by_folder
    del by_path[key]
    folder = posixpath.dirname(key)
    by_folder = dict(by_folder)
    by_folder[folder] = [p for p in by_folder[folder] if p != key]
    if not by_folder[folder]:
        del by_folder[folder]
    return by_path, by_folder


def _grouped(index: Index) -> tuple[dict[str, list[Obj]], dict[str, list[str]]]:
    """The index's objects by (normalised) file path, in index order, and those paths by folder.
    The other files' part is grouped once per file and staged state (:func:`k8s.split`)."""
    split = k8s.split(index)
    if split is None:
        return _group(index.objects)
    others, own = split
    if "ks_grouped" not in others.derived:
        others.derived["ks_grouped"] = _without(others) if others.tree is not None else _group(others.objects)
    by_path, by_folder = others.derived["ks_grouped"]
    if not own:
        return by_path, by_folder
    # the index lists the document's own objects last: they join their path's group at its end
    mine, _ = _group(own)
    by_path, by_folder = dict(by_path), dict(by_folder)
    for path, objs in mine.items():
        if path not in by_path:
            folder = posixpath.dirname(path)
            by_folder[folder] = by_folder.get(folder, []) + [path]
        by_path[path] = by_path.get(path, []) + objs
    return by_path, by_folder


class Scope:
    """The index of the tree with the unit of each file (see the module docstring)."""

    def __init__(self, workspace: Workspace | None, doc: YamlDocument):
        self.workspace = workspace or Workspace()
        self.index: Index = k8s.index(self.workspace, doc)
        self.doc = doc
        view = _kustomize_view(self.workspace)
        self._patches, self._resources, self._listed_by = view
        # the grouping and the units depend on the index and the kustomize view alone: shared by
        # every Scope over the same index (an index is rebuilt whenever something is staged)
        shared = self.index.__dict__.get("_ks_scope")
        if shared is None or shared[0] is not view:
            by_path, by_folder = _grouped(self.index)
            shared = self.index.__dict__["_ks_scope"] = (view, by_path, by_folder, {})
        _, self._by_path, self._by_folder, self._units = shared
        self._own = _norm(doc.path)

    def is_patch(self, obj: Obj) -> bool:
        """Whether ``obj`` sits in a kustomize patch file (a partial object)."""
        return _norm(obj.doc.path) in self._patches

    def unit(self, obj: Obj) -> list[Obj]:
        """The objects applied together with ``obj`` (its own file's included), duplicates once."""
        path = _norm(obj.doc.path)
        if path not in self._units:
            self._units[path] = self._unit_of(path)
        return self._units[path]

    def _unit_of(self, path: str) -> list[Obj]:
        if path in self._patches:
            return []
        listing = self._listed_by.get(path)
        if listing:
            paths = self._deployed(listing[0], set())
        else:
            folder = posixpath.dirname(path)
            paths = [p for p in self._by_folder.get(folder, ()) if p not in self._patches and not self._listed_by.get(p)]
            owners: dict[tuple[str, str, str], set[str]] = {}
            for p in paths:
                for o in self._by_path[p]:
                    if o.name:
                        owners.setdefault(identity(o), set()).add(p)
            # files that define the same object as another file of the folder are alternatives
            # (an all-in-one beside split files, standalone beside distributed): each stands alone
            clashing = {p for files in owners.values() if len(files) > 1 for p in files}
            paths = [path] if path in clashing else [p for p in paths if p not in clashing]
        seen: set[tuple[str, str, str]] = set()
        found = []
        for p in sorted(set(paths) | {path}):
            for o in self._by_path.get(p, []):
                if o.name and identity(o) in seen:
                    continue
                seen.add(identity(o))
                found.append(o)
        return found

    def _deployed(self, kpath: str, visited: set[str]) -> list[str]:
        """The manifest files a kustomization deploys as resources, through nested folders."""
        if kpath in visited:
            return []
        visited.add(kpath)
        paths = []
        for entry in self._resources.get(kpath, []):
            if entry in self._by_path:
                paths.append(entry)
                continue
            nested = kustomize.kustomization_in(self.workspace, entry)
            if nested is not None:
                paths += self._deployed(nested, visited)
        return paths

    # relations within a unit ---------------------------------------------------------------

    def around(self, obj: Obj, *kinds: str) -> list[Obj]:
        """Objects of ``kinds`` in ``obj``'s unit and namespace."""
        return [o for o in self.unit(obj) if o.kind in kinds and same_namespace(o, obj)]

    def selected(self, svc: Obj, selector: dict[str, str] | None = None) -> list[Obj]:
        """Workloads of the unit whose pods ``selector`` (default: the Service's own) selects."""
        selector = svc.selector if selector is None else selector
        return [w for w in self.around(svc, *k8s.WORKLOADS) if k8s.selects(selector, w.pod_labels)]

    def routed_by(self, svc: Obj) -> list[Obj]:
        """Ingresses of the unit with a backend naming the Service."""
        return [i for i in self.around(svc, "Ingress") if svc.name in backend_services(i)]

    def in_file(self, obj: Obj) -> bool:
        return _norm(obj.doc.path) == self._own

    def mine(self) -> list[Obj]:
        """The index's objects in the document's own file, in index order."""
        return list(self._by_path.get(self._own, ()))


# Services -------------------------------------------------------------------------------------

def service_type(svc: Obj) -> str:
    return svc.text("spec", "type") or "ClusterIP"


def port_items(svc: Obj) -> list[MappingNode]:
    ports = svc.get("spec", "ports")
    return [p for p in ports.value if isinstance(p, MappingNode)] if isinstance(ports, SequenceNode) else []


def is_headless(svc: Obj) -> bool:
    return svc.text("spec", "clusterIP") == "None"


def int_of(node: Node | None) -> int | None:
    text = ye.scalar(node)
    return int(text) if text is not None and text.isdigit() else None


def is_gateway(svc: Obj, workloads: list[Obj]) -> bool:
    """Whether the Service is the way into an ingress controller or gateway (by its name, its
    labels, or the images of the pods it selects)."""
    if _GATEWAY.search(svc.name) or any(_GATEWAY.search(v) for v in svc.labels.values()):
        return True
    return any(c.image and _GATEWAY.search(c.image) for w in workloads for c in w.containers(init=False))


def container_ports(workload: Obj) -> list[MappingNode]:
    found = []
    for c in workload.containers(init=False):
        ports = c.get("ports")
        if isinstance(ports, SequenceNode):
            found += [p for p in ports.value if isinstance(p, MappingNode)]
    return found


# Ingresses ------------------------------------------------------------------------------------

def ingress_backends(ing: Obj) -> Iterator[MappingNode]:
    """Every backend mapping of an Ingress (default backend and paths), any API version."""
    spec = ing.get("spec")
    for key in ("defaultBackend", "backend"):
        node = ye.value(spec, key)
        if isinstance(node, MappingNode):
            yield node
    for path in http_paths(ing):
        node = ye.value(path, "backend")
        if isinstance(node, MappingNode):
            yield node


def http_paths(ing: Obj) -> Iterator[MappingNode]:
    rules = ing.get("spec", "rules")
    for rule in rules.value if isinstance(rules, SequenceNode) else []:
        paths = k8s.path(rule, "http", "paths")
        for item in paths.value if isinstance(paths, SequenceNode) else []:
            if isinstance(item, MappingNode):
                yield item


def backend_services(ing: Obj) -> set[str]:
    names = set()
    for backend in ingress_backends(ing):
        name = ye.scalar(k8s.path(backend, "service", "name")) or ye.scalar(ye.value(backend, "serviceName"))
        if name:
            names.add(name)
    return names


# edits ----------------------------------------------------------------------------------------

def retext(node: ScalarNode, new: str) -> Edit:
    """Replace a scalar's text, keeping its quotes."""
    start, end = node.start_mark.index, node.end_mark.index
    if node.style in ("'", '"'):
        start, end = start + 1, end - 1
    return Edit(start, end, new)


def disjoint(edits: list[Edit]) -> bool:
    """Whether the edits of one fix touch separate text (adjacent flow deletions may not)."""
    ordered = sorted(edits)
    return all(a.end <= b.start and not (a.start == a.end == b.start == b.end) for a, b in zip(ordered, ordered[1:]))


def join_inserts(edits: list[Edit]) -> list[Edit]:
    """Insertions at one point merged into one edit (in the given order), so they cannot clash."""
    merged: list[Edit] = []
    for e in edits:
        twin = next((m for m in merged if m.start == m.end == e.start == e.end), None)
        if twin is None:
            merged.append(e)
        else:
            merged[merged.index(twin)] = Edit(twin.start, twin.end, twin.new + e.new)
    return merged


def unexpose(doc: YamlDocument, svc: Obj) -> list[Edit]:
    """The edits that make a NodePort/LoadBalancer Service a ClusterIP one: the type, every
    ``nodePort``, and the spec fields only externally reachable Services may carry."""
    spec = svc.get("spec")
    edits = [retext(svc.get("spec", "type"), "ClusterIP")]
    for port in port_items(svc):
        if ye.get(port, "nodePort"):
            edits.append(ye.delete_key(doc, port, "nodePort"))
    external_ips = svc.get("spec", "externalIPs")
    drop = list(LB_ONLY)
    # externalTrafficPolicy stays valid on a ClusterIP Service only while it has externalIPs
    if not (isinstance(external_ips, SequenceNode) and external_ips.value):
        drop.append("externalTrafficPolicy")
    edits += [ye.delete_key(doc, spec, key) for key in drop if ye.get(spec, key)]
    return edits
