"""Where the tree names a ConfigMap or Secret: the reference fields Kubernetes resolves by name
(kc-003 renames through them), and every other mention that may or may not be a reference
(kc-003 then does not rename).

Reference fields (same namespace as the referring object):
- pod specs of every workload shape (containers, init and ephemeral containers):
  ``env[].valueFrom.configMapKeyRef/secretKeyRef.name``, ``envFrom[].configMapRef/secretRef.name``,
  volumes ``configMap.name``, ``secret.secretName``, projected ``sources[].configMap/secret.name``,
  the secret references of volume plugins (csi ``nodePublishSecretRef``, cephfs/rbd/iscsi/
  flexVolume/scaleIO/storageos ``secretRef``, azureFile ``secretName``), ``imagePullSecrets``;
- ServiceAccount ``secrets`` and ``imagePullSecrets``; Ingress ``tls[].secretName``.

Mentions: the name as a whole word in any other value of any object (container args such as
``--configmap=$(POD_NAMESPACE)/name``, annotations, another ConfigMap's values, RBAC
``resourceNames``, every field of custom resources and kustomizations (inline patches,
generators, replacements)), and in the text of files that are not plain manifests: Helm
charts, manifests that do not parse, scripts, Makefiles, workflows.
"""
from __future__ import annotations

import bisect
import posixpath
import re
from dataclasses import dataclass
from typing import Iterator

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.transforms._knowledge import k8s, kustomize
from orchfix.workspace import Workspace

_VOLUME_SECRET_REFS = (
    ("csi", "nodePublishSecretRef", "name"), ("cephfs", "secretRef", "name"), ("rbd", "secretRef", "name"),
    ("iscsi", "secretRef", "name"), ("flexVolume", "secretRef", "name"), ("scaleIO", "secretRef", "name"),
    ("storageos", "secretRef", "name"), ("azureFile", "secretName"),
)
#: kinds whose schema orchfix knows: only their free-form values can hide a reference
BUILTIN = frozenset(k8s.WORKLOADS) | {
    "Service", "ServiceAccount", "Ingress", "IngressClass", "ConfigMap", "Secret", "Namespace", "PodTemplate",
    "PersistentVolumeClaim", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "Endpoints",
    "EndpointSlice", "LimitRange", "ResourceQuota", "PriorityClass", "Role", "ClusterRole", "RoleBinding",
    "ClusterRoleBinding",
}
#: fields of built-in kinds that hold names of other things (containers, ports, volumes, images…)
_NOT_REFERENCES = frozenset({
    "name", "image", "mountPath", "subPath", "path", "key", "claimName", "serviceName", "serviceAccountName",
    "serviceAccount", "kind", "apiVersion", "containerName", "hostname", "subdomain", "schedulerName",
    "priorityClassName", "runtimeClassName", "storageClassName", "volumeName", "ingressClassName", "namespace",
    "topologyKey", "mountPropagation", "protocol", "type", "imagePullPolicy", "restartPolicy", "dnsPolicy",
})
#: subtrees of built-in kinds that only hold labels
_LABELS = frozenset({"labels", "matchLabels", "selector", "podSelector", "namespaceSelector", "nodeSelector"})
#: files whose text is searched when they name the object
_TEXT_KINDS = ("helm", "shell", "makefile", "workflow")
_TEMPLATED = re.compile(r"\$\(|\$\{|\{\{|%\{")


def word(name: str) -> re.Pattern[str]:
    return re.compile(_word_source(name))


def _word_source(name: str) -> str:
    return r"(?<![\w.-])" + re.escape(name) + r"(?![\w-])(?!\.\w)"


def _search(pattern: re.Pattern[str], text: str, name: str) -> re.Match[str] | None:
    """``pattern.search(text)``; for :func:`word`'s pattern of ``name``, tried only where the
    name occurs (a match starts there), which spares a scan that cannot skip ahead."""
    if pattern.pattern != _word_source(name) or pattern.flags != re.UNICODE:
        return pattern.search(text)
    at = text.find(name)
    while at >= 0:
        match = pattern.match(text, at)
        if match:
            return match
        at = text.find(name, at + 1)
    return None


@dataclass
class Ref:
    """A reference field naming a ConfigMap/Secret: the scalar to rewrite and where it is."""

    obj: k8s.Obj
    node: ScalarNode
    what: str


def _pod_specs(obj: k8s.Obj) -> list[MappingNode]:
    spec = obj.pod_spec
    if spec is None and obj.kind == "PodTemplate":
        spec = obj.get("template", "spec")
    return [spec] if isinstance(spec, MappingNode) else []


def _items(node: Node | None) -> list[Node]:
    return node.value if isinstance(node, SequenceNode) else []


def reference_fields(obj: k8s.Obj, kind: str) -> Iterator[Ref]:
    """Every reference field of ``obj`` that names an object of ``kind`` (ConfigMap or Secret)."""
    cm = kind == "ConfigMap"
    for spec in _pod_specs(obj):
        for key in ("initContainers", "containers", "ephemeralContainers"):
            for c in _items(ye.value(spec, key)):
                for e in _items(ye.value(c, "env")):
                    ref = k8s.path(e, "valueFrom", "configMapKeyRef" if cm else "secretKeyRef", "name")
                    if isinstance(ref, ScalarNode):
                        yield Ref(obj, ref, "env valueFrom")
                for e in _items(ye.value(c, "envFrom")):
                    ref = k8s.path(e, "configMapRef" if cm else "secretRef", "name")
                    if isinstance(ref, ScalarNode):
                        yield Ref(obj, ref, "envFrom")
        for vol in _items(ye.value(spec, "volumes")):
            paths = [("configMap", "name")] if cm else [("secret", "secretName"), *_VOLUME_SECRET_REFS]
            for p in paths:
                ref = k8s.path(vol, *p)
                if isinstance(ref, ScalarNode):
                    yield Ref(obj, ref, "volume")
            for src in _items(k8s.path(vol, "projected", "sources")):
                ref = k8s.path(src, "configMap" if cm else "secret", "name")
                if isinstance(ref, ScalarNode):
                    yield Ref(obj, ref, "projected volume")
        if not cm:
            for item in _items(ye.value(spec, "imagePullSecrets")):
                ref = ye.value(item, "name")
                if isinstance(ref, ScalarNode):
                    yield Ref(obj, ref, "imagePullSecrets")
    if not cm and obj.kind == "ServiceAccount":
        for key in ("secrets", "imagePullSecrets"):
            for item in _items(obj.get(key)):
                ref = ye.value(item, "name")
                if isinstance(ref, ScalarNode):
                    yield Ref(obj, ref, f"ServiceAccount {key}")
    if not cm and obj.kind == "Ingress":
        for tls in _items(obj.get("spec", "tls")):
            ref = ye.value(tls, "secretName")
            if isinstance(ref, ScalarNode):
                yield Ref(obj, ref, "Ingress tls")


def templated(value: str) -> bool:
    return bool(_TEMPLATED.search(value))


def _scalars(node: Node | None, key: str | None, builtin: bool, skip: set[int]) -> Iterator[tuple[str | None, ScalarNode]]:
    """(key, scalar) of every value below ``node`` that may hide a reference."""
    if node is None or id(node) in skip:
        return
    if isinstance(node, ScalarNode):
        if not (builtin and key in _NOT_REFERENCES):
            yield key, node
    elif isinstance(node, MappingNode):
        for k, v in node.value:
            name = ye.scalar(k)
            if builtin and name in _LABELS:
                continue
            if not builtin and name in ("kind", "apiVersion"):
                continue
            yield from _scalars(v, name, builtin, skip)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            yield from _scalars(item, key, builtin, skip)


def _scalar_view(obj: k8s.Obj, builtin: bool) -> tuple[list[tuple[str | None, ScalarNode]], set[int]]:
    """What :func:`_scalars` yields for the whole object, and the ids of the mappings and
    sequences it walks through: worked out once per object."""
    memo = obj.__dict__.setdefault("_kc_scalars", {})
    if builtin not in memo:
        containers: set[int] = set()

        def walk(node: Node | None, key: str | None) -> Iterator[tuple[str | None, ScalarNode]]:
            if isinstance(node, (MappingNode, SequenceNode)):
                containers.add(id(node))
            if isinstance(node, MappingNode):
                for k, v in node.value:
                    name = ye.scalar(k)
                    if (builtin and name in _LABELS) or (not builtin and name in ("kind", "apiVersion")):
                        continue
                    yield from walk(v, name)
            elif isinstance(node, SequenceNode):
                for item in node.value:
                    yield from walk(item, key)
            elif isinstance(node, ScalarNode) and not (builtin and key in _NOT_REFERENCES):
                yield key, node

        memo[builtin] = (list(walk(obj.node, None)), containers)
    return memo[builtin]


def mentions(obj: k8s.Obj, pattern: re.Pattern[str], skip: set[int]) -> list[str]:
    """Fields of ``obj`` (other than the reference fields in ``skip``) whose value names the object."""
    builtin = obj.kind in BUILTIN and not obj.api_version.startswith("kustomize.")
    scalars, containers = _scalar_view(obj, builtin)
    if skip & containers:  # a whole mapping or sequence left out: walked again without it
        scalars = list(_scalars(obj.node, None, builtin, skip))
    elif skip:
        scalars = [(key, node) for key, node in scalars if id(node) not in skip]
    found = []
    for key, node in scalars:
        if pattern.search(node.value):
            found.append(f"{obj.kind} {obj.name or '?'} ({key or 'a list item'}) in {obj.doc.path}:{node.start_mark.line + 1}")
    return found


def text_mentions(workspace: Workspace, name: str, pattern: re.Pattern[str], manifests: set[str]) -> list[str]:
    """Files outside the parsed manifests (charts, scripts, unparsable manifests, kustomizations
    that are no manifests) whose text names the object."""
    found = []
    for entry, text in _containing(workspace, name):
        if entry.path in manifests:
            continue
        match = _search(pattern, text, name)
        if match:
            line = text.count("\n", 0, match.start()) + 1
            what = "a Helm chart" if entry.kind == "helm" else "a manifest that does not parse" if entry.kind == "k8s" else f"a {entry.kind} file"
            found.append(f"{what}: {entry.path}:{line}")
    return found


def _containing(workspace: Workspace, name: str) -> Iterator[tuple]:
    """(entry, text) of the searched files whose text contains ``name``, in workspace order."""
    for chunk in _searchable(workspace):
        if name not in chunk.known:  # one search per name and state of the chunk's files
            holding = []
            at = chunk.joined.find(name)
            while at >= 0:
                i = bisect.bisect_right(chunk.starts, at) - 1  # the file holding the hit (a hit never spans a NUL)
                if chunk.texts[i]:
                    holding.append(i)
                at = chunk.joined.find(name, chunk.starts[i + 1]) if i + 1 < len(chunk.starts) else -1
            chunk.known[name] = holding
        for i in chunk.known[name]:
            yield chunk.entries[i], chunk.texts[i]


#: files per chunk of the joined texts (a staged file makes only its chunk be joined and searched again)
_CHUNK = 64


@dataclass
class _Chunk:
    entries: list
    #: the staged texts of the entries when it was joined (held: compared by value)
    key: tuple
    texts: list[str]
    joined: str
    starts: list[int]
    #: name → indexes of the texts that contain it
    known: dict[str, list[int]]


def _searchable(workspace: Workspace) -> list[_Chunk]:
    """The files :func:`text_mentions` searches, in chunks whose texts are joined by NULs (one
    substring search finds every file of a chunk naming an object); a chunk is joined again
    when one of its files is staged."""
    cached = workspace.__dict__.get("_kc_searchable")
    version = workspace.staged.version
    if cached is not None and cached[0] is version:
        return cached[1]
    if cached is not None and cached[2] is workspace.files and cached[3] == len(workspace.files):
        entries, chunks = cached[4], cached[1]
    else:
        entries = [e for e in workspace.files.values()
                   if e.kind in _TEXT_KINDS or e.kind == "k8s" or kustomize.is_kustomization(e.path)]
        chunks = []
    staged = workspace.staged
    fresh = []
    for n, at in enumerate(range(0, len(entries), _CHUNK)):
        part = entries[at:at + _CHUNK]
        key = tuple(staged.get(e.path) for e in part)
        if n < len(chunks) and chunks[n].key == key:
            fresh.append(chunks[n])
            continue
        texts = [_text(workspace, e.path) or "" for e in part]
        starts, offset = [], 0
        for text in texts:
            starts.append(offset)
            offset += len(text) + 1
        fresh.append(_Chunk(part, key, texts, "\0".join(texts), starts, {}))
    workspace.__dict__["_kc_searchable"] = (version, fresh, workspace.files, len(workspace.files), entries)
    return fresh


def _text(workspace: Workspace, path: str) -> str | None:
    if path in workspace.staged:
        return workspace.staged[path]
    cache = workspace.__dict__.setdefault("_kc_texts", {})
    if path not in cache:
        cache[path] = workspace.read_disk(path)
    return cache[path]


def distance(a: str, b: str) -> int:
    """How far two files are apart in the tree (0: the same file)."""
    if kustomize.norm(a) == kustomize.norm(b):
        return 0
    da, db = posixpath.dirname(kustomize.norm(a)).split("/"), posixpath.dirname(kustomize.norm(b)).split("/")
    common = 0
    for x, y in zip(da, db):
        if x != y:
            break
        common += 1
    return len(da) + len(db) - 2 * common + 1
