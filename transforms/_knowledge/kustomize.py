"""kustomize folders: which kustomization builds a folder, what it lists, generates and patches,
and edits that add a resource or a generator to it in the file's own style.

A kustomization is ``kustomization.yaml``/``kustomization.yml``/``Kustomization`` (kinds
``Kustomization`` and ``Component`` alike). Edits go through :mod:`orchfix.yamledit`, so the
rest of the file stays byte for byte; a kustomization that does not exist yet is written by
:func:`new_kustomization`. Patches are read from ``patches``, ``patchesStrategicMerge`` and
``patchesJson6902`` (inline or in files), so transforms can tell whether an overlay edits the
object they are about to change.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.documents import ParseError
from orchfix.documents.yaml import YamlDocument
from orchfix.text import Edit
from orchfix.workspace import Workspace

NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

try:
    _Loader = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _Loader = yaml.SafeLoader


def is_kustomization(path: str) -> bool:
    return posixpath.basename(path) in NAMES


def norm(path: str) -> str:
    """A tree path in one spelling (``a/./b/../c.yaml`` → ``a/c.yaml``)."""
    return posixpath.normpath(path) if path else path


@dataclass
class Kustomization:
    """A kustomization file: its path, folder and ``resources`` (normalised tree paths)."""

    path: str
    folder: str
    resources: list[str]
    data: dict


def read(workspace: Workspace | None, path: str) -> Kustomization | None:
    """The kustomization at ``path``, or None when it is missing or no mapping."""
    if workspace is None:
        return None
    data = load(workspace, path)
    if data is None:
        return None
    folder = posixpath.dirname(path)
    entries = [norm(posixpath.join(folder, r)) for r in _list(data, "resources") if isinstance(r, str)]
    return Kustomization(path, folder, entries, data)


def in_folder(workspace: Workspace | None, folder: str) -> Kustomization | None:
    """The kustomization that builds ``folder``, or None."""
    if workspace is None:
        return None
    path = kustomization_in(workspace, norm(folder) if folder else folder)
    return read(workspace, path) if path else None


def listing(workspace: Workspace | None, path: str) -> list[Kustomization]:
    """The kustomizations whose ``resources`` name the file ``path``."""
    if workspace is None:
        return []
    target = norm(path)
    found = [read(workspace, k) for k in kustomizations(workspace)]
    return [k for k in found if k is not None and target in k.resources]


def is_patch(workspace: Workspace | None, path: str) -> bool:
    """Whether the file ``path`` is a kustomize patch (partial objects merged into others)."""
    return workspace is not None and norm(path) in _patch_files(workspace)


def kustomization_in(workspace: Workspace, folder: str) -> str | None:
    """The kustomization file of ``folder`` (as the run sees it, staged files included), or None."""
    for name in NAMES:
        path = posixpath.join(folder, name) if folder else name
        if workspace.exists(path):
            return path
    return None


def _per_state(workspace: Workspace, name: str, compute):
    """``compute(workspace)``, once until something is staged (then again)."""
    version = workspace.staged.version
    cached = workspace.__dict__.get(name)
    if cached is None or cached[0] is not version or cached[1] != len(workspace.files):
        cached = workspace.__dict__[name] = (version, len(workspace.files), compute(workspace))
    return cached[2]


def kustomizations(workspace: Workspace) -> list[str]:
    """Every kustomization file of the tree (new ones staged by this run included)."""
    return list(_per_state(workspace, "_kustomizations", _kustomizations))


def _kustomizations(workspace: Workspace) -> list[str]:
    found = {p for p in workspace.files if is_kustomization(p)}
    found |= {p for p in workspace.staged if is_kustomization(p)}
    return sorted(found)


def load(workspace: Workspace, path: str) -> dict | None:
    """A kustomization's data, or None when it is missing or is not a mapping. Read once per
    text (the data is shared: callers must not change it)."""
    text = workspace.read(path)
    if text is None:
        return None
    cache = workspace.__dict__.setdefault("_kustomize_loaded", {})  # path → (text, data)
    hit = cache.get(path)
    if hit is not None and (hit[0] is text or hit[0] == text):
        return hit[1]
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError:
        data = None
    else:
        data = data if isinstance(data, dict) else ({} if data is None else None)
    cache[path] = (text, data)
    return data


def _list(data: dict, key: str) -> list:
    value = data.get(key)
    return value if isinstance(value, list) else []


def resources(workspace: Workspace, path: str) -> list[str]:
    """The ``resources`` entries of a kustomization, as paths relative to the tree (normalised)."""
    data = load(workspace, path) or {}
    folder = posixpath.dirname(path)
    return [posixpath.normpath(posixpath.join(folder, r)) for r in _list(data, "resources") if isinstance(r, str)]


def builds(workspace: Workspace, kustomization: str, manifest: str) -> bool:
    """Whether ``kustomization`` lists the file ``manifest`` in its ``resources``."""
    return posixpath.normpath(manifest) in resources(workspace, kustomization)


def generated(workspace: Workspace) -> set[tuple[str, str]]:
    """(kind, name) of every ConfigMap/Secret a generator of the tree makes."""
    return set(_per_state(workspace, "_kustomize_generated", _generated))


def _generated(workspace: Workspace) -> set[tuple[str, str]]:
    found = set()
    for path in kustomizations(workspace):
        data = load(workspace, path) or {}
        for key, kind in (("configMapGenerator", "ConfigMap"), ("secretGenerator", "Secret")):
            for entry in _list(data, key):
                if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                    found.add((kind, entry["name"]))
    return found


# --- patches -----------------------------------------------------------------------------------

@dataclass
class Patch:
    """One patch of a kustomization: what it targets and its body (a strategic-merge object, or
    the operations of a JSON 6902 patch)."""

    kustomization: str
    kind: str | None
    name: str | None
    json: bool
    body: Any
    #: the patch file, when it is one
    path: str | None = None

    def targets(self, kind: str, name: str) -> bool:
        return (self.kind in (None, kind)) and (self.name in (None, name))


def _patch(kpath: str, folder: str, workspace: Workspace, text: str | None, file: str | None,
           target: Any, json_hint: bool) -> list[Patch]:
    if text is None:
        return []
    try:
        bodies = [b for b in yaml.load_all(text, Loader=_Loader) if b is not None]
    except yaml.YAMLError:
        return []
    found = []
    target = target if isinstance(target, dict) else {}
    for body in bodies:
        is_json = json_hint or (isinstance(body, list) and all(isinstance(op, dict) and "op" in op for op in body))
        kind, name = target.get("kind"), target.get("name")
        if not is_json and isinstance(body, dict):
            kind = kind or body.get("kind")
            name = name or (body.get("metadata") or {}).get("name")
        found.append(Patch(kpath, kind if isinstance(kind, str) else None, name if isinstance(name, str) else None,
                           is_json, body, file))
    return found


def patches(workspace: Workspace) -> list[Patch]:
    """Every patch of every kustomization of the tree."""
    key = workspace.staged.version  # a new object whenever something is staged
    cached = getattr(workspace, "_kustomize_patches", None)
    if cached and cached[0] is key:
        return cached[1]
    found: list[Patch] = []
    for kpath in kustomizations(workspace):
        data = load(workspace, kpath) or {}
        folder = posixpath.dirname(kpath)

        def read(rel: Any) -> tuple[str | None, str | None]:
            if not isinstance(rel, str):
                return None, None
            file = norm(posixpath.join(folder, rel))
            return workspace.read(file), file

        for item in _list(data, "patches"):
            if not isinstance(item, dict):
                continue
            text, file = (item["patch"], None) if isinstance(item.get("patch"), str) else read(item.get("path"))
            found += _patch(kpath, folder, workspace, text, file, item.get("target"), False)
        for item in _list(data, "patchesStrategicMerge"):
            if isinstance(item, str) and "\n" not in item and ":" not in item:
                text, file = read(item)
            else:
                text, file = (item if isinstance(item, str) else None), None
            found += _patch(kpath, folder, workspace, text, file, None, False)
        for item in _list(data, "patchesJson6902"):
            if not isinstance(item, dict):
                continue
            text, file = (item["patch"], None) if isinstance(item.get("patch"), str) else read(item.get("path"))
            found += _patch(kpath, folder, workspace, text, file, item.get("target"), True)
    workspace._kustomize_patches = (key, found)
    return found


def patch_files(workspace: Workspace) -> set[str]:
    """Files the tree's kustomizations use as patches (partial objects, not manifests to fix)."""
    return set(_patch_files(workspace))


def _patch_files(workspace: Workspace) -> frozenset[str]:
    found = patches(workspace)
    cached = workspace.__dict__.get("_kustomize_patch_files")
    if cached is None or cached[0] is not found:
        cached = workspace.__dict__["_kustomize_patch_files"] = (found, frozenset(p.path for p in found if p.path))
    return cached[1]


# --- edits -------------------------------------------------------------------------------------

def _document(workspace: Workspace, path: str) -> YamlDocument | None:
    text = workspace.read(path)
    if text is None:
        return None
    try:
        return YamlDocument(path, text, None, "k8s")
    except ParseError:
        return None


def _add_item(workspace: Workspace, path: str, key: str, item: Any) -> list[Edit]:
    """Append ``item`` to the list ``key`` of the kustomization at ``path`` (the key added when missing)."""
    doc = _document(workspace, path)
    if doc is None:
        raise ValueError(f"{path} does not parse")
    roots = [n for n in doc.nodes if n is not None]
    if not roots:
        style = ye.style_of(doc)
        lead = "" if not doc.text or doc.text.endswith("\n") else style.newline
        return [Edit.insert(len(doc.text), lead + ye.render_block({key: [item]}, 0, style))]
    root = roots[0]
    if not isinstance(root, MappingNode):
        raise ValueError(f"{path} is not a mapping")
    found = ye.get(root, key)
    if found is None or ye.is_null(found[1]):
        return [ye.set_key(doc, root, key, [item])]
    if not isinstance(found[1], SequenceNode):
        raise ValueError(f"{path}: {key} is not a list")
    return [ye.append_item(doc, found[1], item)]


def add_resource(workspace: Workspace, path: str, resource: str) -> list[Edit]:
    """Edits that append ``resource`` (relative to the kustomization's folder) to its ``resources``."""
    return _add_item(workspace, path, "resources", resource)


def add_config_map_generator(workspace: Workspace, path: str, entry: dict) -> list[Edit]:
    """Edits that append a ``configMapGenerator`` entry (name, files, literals, options…)."""
    return _add_item(workspace, path, "configMapGenerator", entry)


def new_kustomization(resources: list[str], config_map_generators: list[dict] | None = None,
                      newline: str = "\n") -> str:
    """The text of a new kustomization.yaml listing ``resources`` (and generators)."""
    data: dict = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resources}
    if config_map_generators:
        data["configMapGenerator"] = config_map_generators
    return ye.render_block(data, 0, ye.Style(2, 0, newline))


def image_tags(workspace: Workspace | None) -> dict[str, str]:
    """Image names whose tag a kustomization of the tree sets (``images:`` entries with ``newTag``
    or ``digest``) → that tag or digest: the manifests may leave those images untagged."""
    if workspace is None:
        return {}
    return dict(_per_state(workspace, "_kustomize_image_tags", _image_tags))


def _image_tags(workspace: Workspace) -> dict[str, str]:
    found: dict[str, str] = {}
    for path in kustomizations(workspace):
        for entry in _list(load(workspace, path) or {}, "images"):
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                tag = entry.get("digest") or entry.get("newTag")
                if tag is not None and str(tag).strip():
                    found[entry["name"]] = str(tag)
    return found
