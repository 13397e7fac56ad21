"""kc-003: ConfigMaps and Secrets become immutable, named by their content."""
from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict

from yaml.constructor import ConstructorError, SafeConstructor

from orchfix import yamledit as ye
from orchfix.text import Edit
from orchfix.transform import Safety, SideChange, Transform
from orchfix.transforms._knowledge import k8s, kustomize
from orchfix.workspace import Workspace

from . import _references as refs

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
#: a name that already ends in a content hash (ours: hex; kustomize's: its own alphabet)
_VERSIONED = re.compile(r"-(?:[0-9a-f]{10}|[2456789bcdfghkmt]{10})$")
#: Secret types a controller writes into after creation
_FILLED_LATER = frozenset({"kubernetes.io/service-account-token", "bootstrap.kubernetes.io/token"})
#: namespaces whose objects cluster components look up by fixed names
_SYSTEM = frozenset({"kube-system", "kube-public", "kube-node-lease"})
_FIELDS = ("data", "binaryData", "stringData")


def content_hash(obj: k8s.Obj) -> str | None:
    """The first 10 hex digits of the SHA-256 of the object's data/binaryData/stringData as
    canonical JSON (sorted keys, no spaces); None when a field cannot be read."""
    content = {}
    for field in _FIELDS:
        node = obj.get(field)
        if node is None or ye.is_null(node):
            continue
        try:
            value = SafeConstructor().construct_document(node)
        except (ConstructorError, TypeError, ValueError):
            return None
        if not isinstance(value, dict):
            return None
        content[field] = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", errors="surrogateescape")).hexdigest()[:10]


def has_content(obj: k8s.Obj) -> bool:
    return any(obj.get(f) is not None and not ye.is_null(obj.get(f)) and getattr(obj.get(f), "value", None)
               for f in _FIELDS)


def retext(node, new: str) -> Edit:
    """Replace a scalar's text, keeping its quotes."""
    start, end = node.start_mark.index, node.end_mark.index
    if node.style in ("'", '"'):
        start, end = start + 1, end - 1
    return Edit(start, end, new)


class ImmutableConfigs(Transform):
    r"""Make ConfigMaps and Secrets immutable, versioned by a content hash in their name.

    What it finds:
    ConfigMaps and Secrets with data and no ``immutable`` field (an explicit ``immutable:
    false`` is a choice and stays). It adds ``immutable: true`` and renames the object to
    ``<name>-<hash>``, where the hash is the first 10 hex digits of the SHA-256 of its
    ``data``/``binaryData``/``stringData`` as canonical JSON, and updates every reference in
    the tree, in every file (same namespace; an object defined more than once belongs to the
    references nearest to it): env ``valueFrom``, ``envFrom``, ``configMap``/``secret``
    volumes, projected volume sources, volume plugins' secret references, ``imagePullSecrets``,
    ServiceAccount ``secrets``, Ingress ``tls.secretName``.

    It does not rename, and reports why, when any mention of the name cannot be updated
    safely: a Helm chart, a manifest that does not parse, a script or workflow naming it, a
    custom resource or kustomization field (operators, inline patches, generators), container
    arguments or annotations (``--configmap=$(POD_NAMESPACE)/name``), RBAC ``resourceNames``,
    a reference whose name is built from a variable, or a reference whose namespace cannot be
    told apart. Marking it immutable without the rename would make every future change of it
    fail, so such objects are left as they are. Names that already end in a content hash
    (kustomize's generated names), kube-system objects, Secrets a controller fills
    (service-account tokens) and empty objects are left alone.

    Why it matters:
    An immutable ConfigMap or Secret cannot be changed by accident under running pods, and
    the API server stops watching it (less load on large clusters). Naming it by its
    content makes every change a new object: the workloads that reference it roll out with
    the new content, and a rollback returns to the old one, as kustomize's generators do.

    Before:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: web-settings
        data:
          LOG_LEVEL: info
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: web
        spec:
          containers:
            - name: web
              image: nginx:1.27
              envFrom:
                - configMapRef:
                    name: web-settings

    After:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: web-settings-05012bdfb8
        data:
          LOG_LEVEL: info
        immutable: true
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: web
        spec:
          containers:
            - name: web
              image: nginx:1.27
              envFrom:
                - configMapRef:
                    name: web-settings-05012bdfb8

    Options:
    ``rename`` (default true): version the name and update the references. With ``false``
    only ``immutable: true`` is written, and the finding says that a change of the data now
    needs a new name (the object cannot be updated in place).

    Safety:
    Unsafe: applying the result creates a new object and rolls out the workloads that use
    it; the old object stays in the cluster until it is deleted or pruned (``kubectl apply
    --prune``). An immutable object can only be deleted and recreated, never edited.
    """

    id = "kc-003"
    category = "kc"
    title = "Immutable ConfigMaps and Secrets"
    safety = Safety.UNSAFE
    kinds = frozenset({"k8s"})
    options = {"rename": True}
    precheck = re.compile(r"^\s*(?:-\s+)?kind:\s*['\"]?(?:ConfigMap|Secret)\b", re.M)

    def check(self, doc):
        workspace = self.ctx.workspace or Workspace()
        # kustomize patches hold partial objects merged into others
        if kustomize.is_patch(workspace, doc.path):
            return
        index = None
        for obj in k8s.objects(doc):
            if obj.kind not in ("ConfigMap", "Secret") or ye.get(obj.node, "immutable") is not None:
                continue
            # a templated or generated name is not the object's real name
            if not _SUBDOMAIN.match(obj.name):
                continue
            # an empty object is filled later (by a controller or by hand): it must stay mutable
            if not has_content(obj):
                continue
            # service-account tokens and bootstrap tokens are written into by controllers
            if obj.kind == "Secret" and (obj.text("type") or "") in _FILLED_LATER:
                continue
            index = index or k8s.index(workspace, doc)
            yield from self._one(doc, workspace, index, obj)

    def _one(self, doc, workspace, index, obj):
        line = obj.node.start_mark.line + 1
        immutable = ye.set_key(doc, obj.node, "immutable", True)
        what = f"{obj.kind} {obj.name}"
        if not self.opts.get("rename", True):
            yield self.finding(doc, line, f"{what}: immutable: true; a change of its data now needs a new name "
                               "(and the references updated), it can no longer be updated in place", [immutable])
            return
        if _VERSIONED.search(obj.name):
            yield self.finding(doc, line, f"{what}: immutable: true (its name already carries a content hash)", [immutable])
            return
        if (obj.namespace or "") in _SYSTEM:
            yield self.finding(doc, line, f"{what} could be immutable and versioned by its content",
                               reason=f"cluster components read objects in {obj.namespace} by their fixed names")
            return
        digest = content_hash(obj)
        if digest is None:
            return  # data that does not load as a mapping: the API server would reject it anyway
        new = f"{obj.name}-{digest}"
        if len(new) > 253:
            yield self.finding(doc, line, f"{what} could be immutable and versioned by its content",
                               reason=f"{new} would be longer than 253 characters")
            return
        found, blockers = self._references(workspace, index, obj, new)
        if blockers:
            more = f" (and {len(blockers) - 3} more)" if len(blockers) > 3 else ""
            yield self.finding(doc, line, f"{what} could be immutable and versioned by its content",
                               reason="not every use of its name can be updated: " + "; ".join(blockers[:3]) + more
                               + "; marking it immutable without renaming would make every future change fail")
            return
        edits = [immutable, retext(obj.get("metadata", "name"), new)]
        side: dict[str, list[Edit]] = defaultdict(list)
        for ref in found:
            if ref.obj.doc.path == doc.path:
                edits.append(retext(ref.node, new))
            else:
                side[ref.obj.doc.path].append(retext(ref.node, new))
        for path, path_edits in side.items():
            if workspace.read(path) != next(r.obj.doc.text for r in found if r.obj.doc.path == path):
                yield self.finding(doc, line, f"{what} could be immutable and versioned by its content",
                                   reason=f"{path} changed while the run read it")
                return
        files = {r.obj.doc.path for r in found}
        where = f" and {len(found)} reference{'s' * (len(found) != 1)} in {len(files)} file{'s' * (len(files) != 1)}" if found else ""
        message = (f"{what}: immutable: true, renamed {new} by its content{where} updated; the old object stays in "
                   "the cluster until it is pruned")
        yield self.finding(doc, line, message, edits, side=[SideChange(p, e) for p, e in side.items()])

    def _references(self, workspace, index, obj, new: str) -> tuple[list[refs.Ref], list[str]]:
        """The reference fields to rewrite, and why the rename cannot be done (if it cannot)."""
        name, kind = obj.name, obj.kind
        pattern = refs.word(name)
        found: list[refs.Ref] = []
        blockers: list[str] = []
        # other definitions of the same object: references belong to the nearest one
        twins = [o for o in index.of_kind(kind) if o.name == name and o.node is not obj.node
                 and (o.namespace or "") == (obj.namespace or "")]
        for objs in _by_doc(index):
            if name not in objs[0].doc.text:
                continue
            for o in objs:
                if o.node is obj.node:
                    continue
                fields = list(refs.reference_fields(o, kind))
                skip = {id(f.node) for f in fields}
                for f in fields:
                    value = f.node.value
                    if value != name:
                        if refs.templated(value):
                            blockers.append(f"{f.what} of {o.kind} {o.name} in {o.doc.path} builds the name from a variable ({value})")
                        continue
                    if (o.namespace or "") != (obj.namespace or ""):
                        if o.namespace and obj.namespace:
                            continue  # another namespace's object of the same name
                        blockers.append(f"{o.kind} {o.name} in {o.doc.path} names it without the same namespace set")
                        continue
                    owner = self._owner(o, obj, twins)
                    if owner is False:
                        continue
                    if owner is None:
                        blockers.append(f"{o.kind} {o.name} in {o.doc.path} is as near to another definition with other content")
                        continue
                    if f.node.style in ("|", ">") or f.node.start_mark.line != f.node.end_mark.line:
                        blockers.append(f"{f.what} of {o.kind} {o.name} in {o.doc.path} is a block scalar")
                        continue
                    found.append(f)
                blockers += refs.mentions(o, pattern, skip)
        blockers += refs.text_mentions(workspace, name, pattern, _manifests(index))
        if (kind, name) in kustomize.generated(workspace):
            blockers.append(f"a kustomize {'configMapGenerator' if kind == 'ConfigMap' else 'secretGenerator'} makes a {kind} of the same name")
        return found, blockers

    @staticmethod
    def _owner(ref_obj: k8s.Obj, obj: k8s.Obj, twins: list[k8s.Obj]) -> bool | None:
        """Whether a reference belongs to ``obj`` (True), to a nearer twin (False), or is as
        near to a twin with other content (None)."""
        if not twins:
            return True
        mine = refs.distance(ref_obj.doc.path, obj.doc.path)
        nearest = min(refs.distance(ref_obj.doc.path, t.doc.path) for t in twins)
        if nearest < mine:
            return False
        if nearest > mine:
            return True
        tied = [t for t in twins if refs.distance(ref_obj.doc.path, t.doc.path) == mine]
        return True if all(content_hash(t) == content_hash(obj) for t in tied) else None


def _by_doc(index: k8s.Index) -> list[list[k8s.Obj]]:
    """The index's objects grouped by document, in order (grouped once per index)."""
    groups = index.__dict__.get("_kc_by_doc")
    if groups is None:
        by_doc: dict[int, list[k8s.Obj]] = defaultdict(list)
        for o in index.objects:
            by_doc[id(o.doc)].append(o)  # the index holds every document: ids stay unique
        groups = index.__dict__["_kc_by_doc"] = list(by_doc.values())
    return groups


def _manifests(index: k8s.Index) -> set[str]:
    """The paths of the documents the index holds objects of (collected once per index)."""
    paths = index.__dict__.get("_kc_manifests")
    if paths is None:
        paths = index.__dict__["_kc_manifests"] = {o.doc.path for o in index.objects}
    return paths
