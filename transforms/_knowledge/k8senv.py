"""Container ``env`` entries of Kubernetes manifests: reading them, and the edits that move
entries out of ``env`` (kc-001: into a ConfigMap behind ``envFrom``) or turn a literal
``value`` into a ``valueFrom`` reference (sc-004: a Secret key).

Facts the edits rely on (kubelet's ``makeEnvironmentVariables``):
- ``envFrom`` sources are read first, in order (a later source wins on a duplicate key), then
  the ``env`` entries in order: an ``env`` entry overrides every ``envFrom`` key of its name.
- ``$(VAR)`` in an ``env`` value (and in command/args) expands to a variable defined *before*
  it: every ``envFrom`` key counts as before every ``env`` entry. A ConfigMap or Secret value
  is never expanded, so an entry whose value holds ``$(…)`` must stay inline.
- An entry of a name written twice: the later one wins.

kustomize overlays can edit ``env`` too: a strategic-merge patch names entries (``$patch:
delete`` only works on an inline entry; a patch that sets ``value`` on an entry turned into
``valueFrom`` makes an invalid object) and a JSON 6902 patch addresses them by position.
:func:`patched` says what the tree's patches do to one container's ``env``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.documents.yaml import YamlDocument
from orchfix.text import Edit
from orchfix.workspace import Workspace

from . import k8s, kustomize

#: ``$(VAR)`` references (``$$(VAR)`` is an escaped, literal ``$(VAR)``)
_REF = re.compile(r"(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
#: names a ConfigMap key (and so an ``envFrom`` variable) can have
KEY_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


def references(value: str) -> set[str]:
    """The variables a value expands with ``$(VAR)``."""
    return set(_REF.findall(value))


def expands(value: str) -> bool:
    """Whether a value holds a ``$(…)`` reference (or an escaped ``$$``) the kubelet rewrites."""
    return bool(_REF.search(value)) or "$$" in value


@dataclass
class EnvEntry:
    """One item of a container's ``env`` list."""

    index: int
    node: Node
    name: str | None
    value: Node | None
    value_from: Node | None

    @property
    def literal(self) -> bool:
        """A ``name`` with a scalar ``value`` and no ``valueFrom``."""
        return bool(self.name) and isinstance(self.value, ScalarNode) and self.value_from is None

    @property
    def text(self) -> str:
        """The value as the kubelet sees it ('' for a null value)."""
        return "" if ye.is_null(self.value) else ye.scalar(self.value) or ""


def env_node(container: k8s.Container) -> SequenceNode | None:
    node = container.get("env")
    return node if isinstance(node, SequenceNode) else None


def entries(container: k8s.Container) -> list[EnvEntry]:
    env = env_node(container)
    found = []
    for i, item in enumerate(env.value if env else []):
        if not isinstance(item, MappingNode):
            found.append(EnvEntry(i, item, None, None, None))
            continue
        found.append(EnvEntry(i, item, ye.scalar(ye.value(item, "name")), ye.value(item, "value"),
                              ye.value(item, "valueFrom")))
    return found


def not_editable(doc: YamlDocument, container: k8s.Container) -> str | None:
    """Why the container's ``env`` cannot be edited in place (anchors, aliases, merge keys,
    flow-style containers), or None."""
    found = ye.get(container.node, "env")
    if found is None:
        return None
    key, env = found
    if container.node.flow_style:
        return "the container is written as a flow mapping"
    if env.start_mark.index < key.end_mark.index:
        return "its env is an alias of a list defined elsewhere"
    head_end = env.value[0].start_mark.index if isinstance(env, SequenceNode) and env.value else env.end_mark.index
    if "&" in doc.text[key.end_mark.index:head_end] or "<<" in doc.text[env.start_mark.index:env.end_mark.index]:
        return "its env list is anchored or merges keys (other containers may share it)"
    if any(ye.get(c.node, "<<") for c in [container]):
        return "the container merges keys from an anchor"
    for item in env.value if isinstance(env, SequenceNode) else []:
        if not (env.start_mark.index <= item.start_mark.index < env.end_mark.index):
            return "an env entry is an alias of one defined elsewhere"
        if isinstance(item, MappingNode) and ye.get(item, "<<"):
            return "an env entry merges keys from an anchor"
    return None


def duplicates(items: list[EnvEntry]) -> set[str]:
    """Names written more than once (the later entry wins: moving one would change that)."""
    seen: set[str] = set()
    twice: set[str] = set()
    for e in items:
        if e.name:
            (twice if e.name in seen else seen).add(e.name)
    return twice


# --- kustomize patches -----------------------------------------------------------------------

@dataclass
class Patched:
    """What the tree's kustomize patches do to one container's env."""

    #: names a strategic-merge patch deletes (``$patch: delete``)
    deleted: set[str] = field(default_factory=set)
    #: names a strategic-merge patch sets a ``value`` on
    valued: set[str] = field(default_factory=set)
    #: names a strategic-merge patch sets a ``valueFrom`` on
    value_from: set[str] = field(default_factory=set)
    #: kustomization paths whose patches rewrite the whole list or address entries by position
    opaque: list[str] = field(default_factory=list)

    def names(self) -> set[str]:
        return self.deleted | self.valued | self.value_from


_JSON_ENV = re.compile(r"^/spec(?:/jobTemplate/spec)?(?:/template/spec)?/(?:init)?[cC]ontainers/[^/]+/env(?:/|$)")


def patched(workspace: Workspace | None, workload: k8s.Obj, container: str) -> Patched:
    """The kustomize patches of the tree that touch ``container``'s env in ``workload``
    (matched by kind and name; a patch in any overlay of the tree counts)."""
    found = Patched()
    if workspace is None:
        return found
    for patch in kustomize.patches(workspace):
        if patch.path and kustomize.norm(patch.path) == kustomize.norm(workload.doc.path):
            continue  # the workload is itself this patch
        if not patch.targets(workload.kind, workload.name):
            continue
        if patch.json:
            ops = patch.body if isinstance(patch.body, list) else []
            if any(isinstance(op, dict) and isinstance(op.get("path"), str) and _JSON_ENV.match(op["path"]) for op in ops):
                found.opaque.append(patch.kustomization)
            continue
        for spec in _pod_specs(patch.body):
            for key in ("containers", "initContainers"):
                for c in spec.get(key) or [] if isinstance(spec.get(key), list) else []:
                    if not isinstance(c, dict) or c.get("name") != container or "env" not in c:
                        continue
                    env = c["env"]
                    if not isinstance(env, list):
                        found.opaque.append(patch.kustomization)
                        continue
                    for e in env:
                        if not isinstance(e, dict):
                            continue
                        if e.get("$patch") == "replace" or "name" not in e:
                            found.opaque.append(patch.kustomization)
                        elif e.get("$patch") == "delete":
                            found.deleted.add(str(e["name"]))
                        elif "valueFrom" in e:
                            found.value_from.add(str(e["name"]))
                        else:
                            found.valued.add(str(e["name"]))
    return found


def _pod_specs(body) -> list[dict]:
    """The pod specs of a strategic-merge patch body (any workload shape)."""
    if not isinstance(body, dict):
        return []
    found = []
    spec = body.get("spec")
    for keys in (("template", "spec"), ("jobTemplate", "spec", "template", "spec"), ()):
        node = spec
        for k in keys:
            node = node.get(k) if isinstance(node, dict) else None
        if isinstance(node, dict) and ("containers" in node or "initContainers" in node):
            found.append(node)
    return found


# --- edits -----------------------------------------------------------------------------------

def remove(doc: YamlDocument, container: k8s.Container, moved: list[EnvEntry],
           replacement: tuple[str, object] | None = None) -> list[Edit]:
    """Edits that remove ``moved`` from the container's env, and add the entry ``replacement``
    (key, data) to the container: in place of ``env`` when no entry is left (the ``env`` key
    goes), else right after the ``env`` list. Style (indentation, flow lists) is the file's."""
    found = ye.get(container.node, "env")
    assert found is not None
    key, env = found
    assert isinstance(env, SequenceNode)
    style = ye.style_of(doc)
    column = key.start_mark.column
    entry = ""
    if replacement is not None:
        name, data = replacement
        entry = ye.render_block({name: data}, column, style)
    gone = {e.index for e in moved}
    if gone >= set(range(len(env.value))):
        # nothing left: the env key goes, the new entry takes its place
        start = doc.text.rfind("\n", 0, key.start_mark.index) + 1
        end = ye.content_end(doc, env)
        if doc.text[start:key.start_mark.index].strip():
            # the key shares its line with a sequence dash (``- env: …``): keep the dash
            start = key.start_mark.index
            entry = entry[column:]
        if doc.text[end - 1:end] != "\n" and entry.endswith(style.newline):
            entry = entry[: -len(style.newline)]
        return [Edit(start, end, entry)]
    edits = [ye.remove_item(doc, env, i) for i in sorted(gone, reverse=True)]
    if env.flow_style:
        edits = _flow_removals(doc, env, gone)
    if entry:
        at = ye.content_end(doc, env)
        if doc.text[at - 1:at] != "\n":
            entry = style.newline + entry.rstrip("\r\n")
        edits.append(Edit.insert(at, entry))
    return edits


def _flow_removals(doc: YamlDocument, env: SequenceNode, gone: set[int]) -> list[Edit]:
    """One edit rewriting a flow list's items without the removed ones (adjacent removals of
    ``remove_item`` would share commas)."""
    kept = [doc.text[item.start_mark.index:item.end_mark.index] for i, item in enumerate(env.value) if i not in gone]
    first, last = env.value[0].start_mark.index, env.value[-1].end_mark.index
    return [Edit(first, last, ", ".join(kept))]


def to_value_from(doc: YamlDocument, item: EnvEntry, data: dict) -> list[Edit]:
    """Edits that turn an entry's ``value: …`` into ``valueFrom: <data>`` in place (a trailing
    comment on the value's line is kept)."""
    node = item.node
    assert isinstance(node, MappingNode)
    key, value = ye.get(node, "value")
    if node.flow_style:
        return [Edit(key.start_mark.index, key.end_mark.index, "valueFrom"),
                Edit(value.start_mark.index, value.end_mark.index, ye.render_flow(data))]
    return [Edit(key.start_mark.index, key.end_mark.index, "valueFrom"), ye.replace_value(doc, key, value, data)]


def join_inserts(edits: list[Edit]) -> list[Edit]:
    """Insertions at one point merged into one edit, in list order (the engine would treat two
    insertions at one point as a conflict, and sorting would order them by their text)."""
    merged: list[Edit] = []
    at: dict[int, int] = {}
    for e in edits:
        if e.start == e.end and e.start in at:
            twin = merged[at[e.start]]
            merged[at[e.start]] = Edit(twin.start, twin.end, twin.new + e.new)
            continue
        if e.start == e.end:
            at[e.start] = len(merged)
        merged.append(e)
    return merged
