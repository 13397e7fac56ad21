"""The Kubernetes model: objects of multi-document files, workloads and their pod templates,
containers, selectors, and one index of the whole tree for cross-object relations.

Every Kubernetes transform reads manifests through here, so ``List`` kinds, CronJob job
templates, init containers and label selection are understood once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterator

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.documents.yaml import YamlDocument
from orchfix.text import Edit
from orchfix.workspace import Workspace

#: kinds that run pods, and where their pod template's spec sits
POD_SPEC_PATH = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
WORKLOADS = frozenset(POD_SPEC_PATH)
#: workloads that keep several replicas running
REPLICATED = frozenset({"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"})


def path(node: Node | None, *keys: str) -> Node | None:
    for key in keys:
        node = ye.value(node, key)
    return node


def labels_of(node: Node | None) -> dict[str, str]:
    """A ``labels``/``matchLabels``/``selector`` mapping as a dict of strings."""
    if not isinstance(node, MappingNode):
        return {}
    return {k.value: v.value for k, v in node.value if isinstance(k, ScalarNode) and isinstance(v, ScalarNode)}


@dataclass
class Obj:
    """One Kubernetes object: the ``index``-th document of ``doc`` (or an item of a ``List``)."""

    doc: YamlDocument
    index: int
    node: MappingNode
    in_list: bool = False

    def get(self, *keys: str) -> Node | None:
        return path(self.node, *keys)

    def text(self, *keys: str) -> str | None:
        return ye.scalar(self.get(*keys))

    @cached_property
    def kind(self) -> str:
        return self.text("kind") or ""

    @cached_property
    def api_version(self) -> str:
        return self.text("apiVersion") or ""

    @cached_property
    def name(self) -> str:
        return self.text("metadata", "name") or ""

    @cached_property
    def namespace(self) -> str | None:
        return self.text("metadata", "namespace")

    @cached_property
    def labels(self) -> dict[str, str]:
        return labels_of(self.get("metadata", "labels"))

    # workloads -------------------------------------------------------------------------

    @cached_property
    def pod_spec(self) -> MappingNode | None:
        keys = POD_SPEC_PATH.get(self.kind)
        node = path(self.node, *keys) if keys else None
        return node if isinstance(node, MappingNode) else None

    @cached_property
    def pod_labels(self) -> dict[str, str]:
        """The labels of the pods it runs (a Pod's own, a template's metadata labels)."""
        if self.kind == "Pod":
            return self.labels
        keys = POD_SPEC_PATH.get(self.kind)
        return labels_of(path(self.node, *keys[:-1], "metadata", "labels")) if keys else {}

    @cached_property
    def selector(self) -> dict[str, str]:
        """What it selects: a Service's ``spec.selector``, a workload's/PDB's ``matchLabels``."""
        node = self.get("spec", "selector")
        if self.kind in ("Service", "ReplicationController"):
            return labels_of(node)
        return labels_of(ye.value(node, "matchLabels"))

    @cached_property
    def replicas(self) -> int | None:
        """Declared replicas (1 when a replicated workload omits it); None for other kinds."""
        if self.kind not in REPLICATED:
            return None
        text = self.text("spec", "replicas")
        if text is None:
            return 1
        return int(text) if text.isdigit() else None

    def containers(self, init: bool = True) -> list["Container"]:
        spec = self.pod_spec
        found = []
        for key in ("initContainers", "containers") if init else ("containers",):
            items = ye.value(spec, key)
            if isinstance(items, SequenceNode):
                found += [Container(self, n, key == "initContainers") for n in items.value if isinstance(n, MappingNode)]
        return found

    @cached_property
    def ref(self) -> tuple[str, str | None, str]:
        return self.kind, self.namespace, self.name


@dataclass
class Container:
    owner: Obj
    node: MappingNode
    init: bool

    @property
    def name(self) -> str:
        return ye.scalar(ye.value(self.node, "name")) or ""

    @property
    def image(self) -> str | None:
        return ye.scalar(ye.value(self.node, "image"))

    def get(self, *keys: str) -> Node | None:
        return path(self.node, *keys)


def objects(doc: YamlDocument) -> list[Obj]:
    """Every object of a manifest file (items of ``List`` kinds included), in file order."""
    found = []
    for index, node in enumerate(doc.nodes):
        if not isinstance(node, MappingNode):
            continue
        kind = ye.scalar(ye.value(node, "kind")) or ""
        items = ye.value(node, "items")
        if kind.endswith("List") and isinstance(items, SequenceNode):
            found += [Obj(doc, index, item, in_list=True) for item in items.value if isinstance(item, MappingNode)]
        elif ye.value(node, "apiVersion") is not None:
            found.append(Obj(doc, index, node))
    return found


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """Whether a non-empty equality selector matches a label set."""
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


@dataclass
class Index:
    """Every object of the tree's manifests, for relations across documents and files."""

    objects: list[Obj] = field(default_factory=list)

    @cached_property
    def _by_kind(self) -> dict[str, list[Obj]]:
        split = self.__dict__.get("_split")
        if split is not None:  # the other files' objects are grouped once (see index())
            others, own = split
            mine: dict[str, list[Obj]] = {}
            for o in own:
                mine.setdefault(o.kind, []).append(o)
            by_kind = dict(others.by_kind)
            for kind, objs in mine.items():
                by_kind[kind] = by_kind.get(kind, []) + objs
            return by_kind
        by_kind: dict[str, list[Obj]] = {}
        for o in self.objects:
            by_kind.setdefault(o.kind, []).append(o)
        return by_kind

    def of_kind(self, *kinds: str) -> list[Obj]:
        if len(kinds) == 1:
            return list(self._by_kind.get(kinds[0], ()))
        return [o for o in self.objects if o.kind in kinds]

    def same_namespace(self, a: Obj, b: Obj) -> bool:
        return (a.namespace or "default") == (b.namespace or "default")

    def selecting(self, workload: Obj, *kinds: str) -> list[Obj]:
        """Objects of ``kinds`` (Service, PodDisruptionBudget…) whose selector picks its pods."""
        labels = workload.pod_labels
        return [o for o in self.of_kind(*kinds) if self.same_namespace(o, workload) and selects(o.selector, labels)]

    def selected_by(self, selector_owner: Obj) -> list[Obj]:
        """Workloads whose pods ``selector_owner`` (a Service, PDB…) selects."""
        sel = selector_owner.selector
        return [w for w in self.of_kind(*WORKLOADS) if self.same_namespace(w, selector_owner) and selects(sel, w.pod_labels)]

    def targeting(self, workload: Obj, kind: str) -> list[Obj]:
        """Objects of ``kind`` whose ``scaleTargetRef``/``targetRef`` names the workload (HPA, VPA)."""
        found = []
        for o in self.of_kind(kind):
            ref = o.get("spec", "scaleTargetRef") or o.get("spec", "targetRef")
            if ye.scalar(ye.value(ref, "name")) == workload.name and ye.scalar(ye.value(ref, "kind")) == workload.kind:
                found.append(o)
        return found


def index(workspace: Workspace, current: YamlDocument) -> Index:
    """Every manifest object of the workspace, with ``current`` (the document being fixed, as it
    is now) in place of its file on disk. Each file is parsed once per worker and again only
    when a staged edit changes it; the index is reused while nothing changes."""
    version = workspace.staged.version  # a new object whenever something is staged
    cached = workspace.__dict__.get("_k8s_index")
    if cached and cached[0] is current and cached[1] is version:
        return cached[2]
    others = _others(workspace, current.path)
    own = objects(current)
    built = Index(others.objects + own)
    built.__dict__["_split"] = (others, own)
    workspace.__dict__["_k8s_index"] = (current, version, built)
    return built


class Tree:
    """Every manifest object of the workspace in one staged state: in index order, where each
    file's objects sit, and grouped by kind (each file's objects are one run in every group)."""

    def __init__(self, by_path: dict[str, list[Obj]]):
        self.by_path = by_path
        self.objects: list[Obj] = []
        self.spans: dict[str, tuple[int, int]] = {}
        for path, objs in by_path.items():
            start = len(self.objects)
            self.objects += objs
            self.spans[path] = (start, len(self.objects))
        #: derived data other modules keep here
        self.derived: dict = {}

    @cached_property
    def by_kind(self) -> dict[str, list[Obj]]:
        by_kind: dict[str, list[Obj]] = {}
        for o in self.objects:
            by_kind.setdefault(o.kind, []).append(o)
        return by_kind

    @cached_property
    def kind_spans(self) -> dict[str, dict[str, tuple[int, int]]]:
        """Path → kind → where the file's objects of that kind sit in ``by_kind[kind]``."""
        spans: dict[str, dict[str, tuple[int, int]]] = {}
        seen: dict[str, int] = {}
        for path, objs in self.by_path.items():
            mine: dict[str, tuple[int, int]] = {}
            for o in objs:
                at = seen.get(o.kind, 0)
                start = mine[o.kind][0] if o.kind in mine else at
                mine[o.kind] = (start, at + 1)
                seen[o.kind] = at + 1
            spans[path] = mine
        return spans

    def without(self, path: str) -> "Others":
        start, end = self.spans.get(path, (0, 0))
        return Others(self.objects[:start] + self.objects[end:] if end > start else self.objects, self, path)


class Others:
    """The objects of every manifest but one file's, in index order, with what is derived from
    them alone (shared by the indexes of that file's successive texts while nothing is staged)."""

    def __init__(self, objects: list[Obj], tree: Tree | None = None, path: str | None = None):
        self.objects = objects
        #: the whole tree and the file left out (when made by :meth:`Tree.without`)
        self.tree, self.path = tree, path
        #: derived data other modules keep here (grouped by path, by document…)
        self.derived: dict = {}

    @cached_property
    def by_kind(self) -> dict[str, list[Obj]]:
        if self.tree is not None:
            by_kind = dict(self.tree.by_kind)
            for kind, (start, end) in self.tree.kind_spans.get(self.path, {}).items():
                group = by_kind[kind][:start] + by_kind[kind][end:]
                if group:
                    by_kind[kind] = group
                else:
                    del by_kind[kind]
            return by_kind
        by_kind: dict[str, list[Obj]] = {}
        for o in self.objects:
            by_kind.setdefault(o.kind, []).append(o)
        return by_kind


def _others(workspace: Workspace, path: str) -> Others:
    version = workspace.staged.version
    cached = workspace.__dict__.get("_k8s_others")
    if cached and cached[0] == path and cached[1] is version:
        return cached[2]
    others = _tree(workspace).without(path)
    workspace.__dict__["_k8s_others"] = (path, version, others)
    return others


def _tree(workspace: Workspace) -> Tree:
    by_path = _manifest_objects(workspace)
    cached = workspace.__dict__.get("_k8s_tree")
    if cached is None or cached.by_path is not by_path:
        cached = workspace.__dict__["_k8s_tree"] = Tree(by_path)
    return cached


def split(index: Index) -> tuple[Others, list[Obj]] | None:
    """(the other files' objects, the current document's) of an index :func:`index` built."""
    return index.__dict__.get("_split")


def _manifest_objects(workspace: Workspace) -> dict[str, list[Obj]]:
    """Path → objects of every manifest (staged edits and new staged manifests included), in
    the order the index lists them; rebuilt only when something was staged since."""
    version = workspace.staged.version
    cached = workspace.__dict__.get("_k8s_objects")
    if cached and cached[0] is version:
        return cached[1]
    parsed = workspace.__dict__.setdefault("_k8s_parsed", {})  # path → (staged text or None, objects)
    manifests = workspace.__dict__.get("_k8s_entries")
    if manifests is None or manifests[0] != len(workspace.files):
        manifests = workspace.__dict__["_k8s_entries"] = (len(workspace.files), [e.path for e in workspace.of_kind("k8s")])
    by_path: dict[str, list[Obj]] = {}
    for path in manifests[1]:
        staged = workspace.staged.get(path)
        hit = parsed.get(path)
        if hit is None or hit[0] is not staged:
            doc = workspace.document(path)
            hit = parsed[path] = (staged, objects(doc) if isinstance(doc, YamlDocument) else [])
        by_path[path] = hit[1]
    new = workspace.__dict__.setdefault("_k8s_new", {})  # path → (staged text, objects)
    for path, text in workspace.staged.items():
        if path in workspace.files or not path.endswith((".yaml", ".yml")):
            continue
        hit = new.get(path)
        if hit is None or hit[0] is not text:
            try:
                found = objects(YamlDocument(path, text, kind="k8s"))
            except ValueError:  # a staged file that does not parse (ParseError) holds no objects
                found = []
            hit = new[path] = (text, found)
        by_path[path] = hit[1]  # a new file: after the scanned ones
    if cached and list(cached[1]) == list(by_path) and all(cached[1][p] is objs for p, objs in by_path.items()):
        by_path = cached[1]  # what was staged is no manifest: the same objects (and what is built on them)
    workspace.__dict__["_k8s_objects"] = (version, by_path)
    return by_path


def walk_containers(doc: YamlDocument) -> Iterator[Container]:
    for obj in objects(doc):
        yield from obj.containers()


def document_end(doc: YamlDocument, obj: Obj) -> int:
    """Offset after the last content line of the object's document (where a new ``---`` goes)."""
    return ye.content_end(doc, doc.nodes[obj.index])


def insert_document(doc: YamlDocument, obj: Obj, data: dict) -> Edit:
    """A new document right after ``obj``'s, in the file's style (``---`` separated)."""
    style = ye.style_of(doc)
    at = document_end(doc, obj)
    lead = "" if doc.text[at - 1:at] == "\n" else style.newline
    return Edit.insert(at, lead + "---" + style.newline + ye.render_block(data, 0, style))


def insert_after(doc: YamlDocument, obj: Obj, data: dict) -> Edit:
    """A new object right after ``obj``: the next item of its ``List`` (block lists), else a new
    document after its own (:func:`insert_document`)."""
    items = ye.value(doc.nodes[obj.index], "items") if obj.in_list else None
    if not isinstance(items, SequenceNode) or items.flow_style:
        return insert_document(doc, obj, data)
    style = ye.style_of(doc)
    at = ye.content_end(doc, obj.node)
    lead = "" if doc.text[at - 1:at] == "\n" else style.newline
    return Edit.insert(at, lead + ye.render_block([data], items.start_mark.column, style))
