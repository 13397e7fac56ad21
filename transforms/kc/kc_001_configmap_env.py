"""kc-001: plain configuration in container env moves to a ConfigMap read through envFrom."""
from __future__ import annotations

import json
import re

from yaml.nodes import ScalarNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.text import Edit
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import k8s, k8senv, kustomize, secrets
from orchfix.workspace import Workspace

_STR = "tag:yaml.org,2002:str"


def value_text(doc, node) -> ye.Raw:
    """An env value as a ConfigMap value that loads as the same string: the source token when
    it is one line and loads as a string (its quotes kept), else a double-quoted string."""
    if isinstance(node, ScalarNode) and not ye.is_null(node) and node.start_mark.line == node.end_mark.line:
        if node.style in ("'", '"') or (not node.style and node.tag == _STR):
            return ye.Raw(doc.text[node.start_mark.index:node.end_mark.index])
    return ye.Raw(json.dumps("" if ye.is_null(node) else node.value, ensure_ascii=False))


class ConfigMapEnv(Transform):
    r"""Move plain configuration out of container env into a ConfigMap.

    What it finds:
    Containers (and init containers) of every workload kind with ``min`` (default 3) or more
    env entries that carry a literal, non-secret value (``- name: LOG_LEVEL`` /
    ``value: info``). These entries move into a new ConfigMap ``<workload>-config`` written
    as the next document of the same file (same namespace), and the container reads it with
    ``envFrom: [{configMapRef: {name: <workload>-config}}]`` (appended to an existing
    ``envFrom``); the ``env`` key goes when no entry is left. When several containers of one
    workload qualify, each gets ``<workload>-<container>-config``.

    These entries stay inline: secret-like names or values (sc-004 moves those to Secrets),
    ``valueFrom`` entries, values with ``$(VAR)`` references (a ConfigMap value is never
    expanded), names written twice, names an earlier entry references with ``$(NAME)`` (it
    would start expanding), names another ``envFrom`` source of the tree defines too, and
    names a kustomize patch deletes with ``$patch: delete`` (that only works inline).
    Reported without a fix: a kustomize JSON patch that addresses the container's env by
    position, anchored/aliased env lists, a ConfigMap name that is taken.

    Why it matters:
    Configuration written into each pod template is repeated, hard to review and cannot be
    changed without editing the workload. A ConfigMap keeps it in one object that overlays
    and environments can replace, and leaves the template about how the app runs.

    Before:
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: api
        spec:
          selector:
            matchLabels:
              app: api
          template:
            metadata:
              labels:
                app: api
            spec:
              containers:
                - name: api
                  image: example/api:1.4.2
                  env:
                    - name: PORT
                      value: "8080"
                    - name: LOG_LEVEL
                      value: info
                    - name: CACHE_HOST
                      value: redis
                    - name: DB_PASSWORD
                      valueFrom:
                        secretKeyRef:
                          name: api-db
                          key: password

    After:
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: api
        spec:
          selector:
            matchLabels:
              app: api
          template:
            metadata:
              labels:
                app: api
            spec:
              containers:
                - name: api
                  image: example/api:1.4.2
                  env:
                    - name: DB_PASSWORD
                      valueFrom:
                        secretKeyRef:
                          name: api-db
                          key: password
                  envFrom:
                    - configMapRef:
                        name: api-config
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: api-config
        data:
          PORT: "8080"
          LOG_LEVEL: info
          CACHE_HOST: redis

    Options:
    ``min`` (default 3): how many movable literal entries a container needs.

    Safety:
    Safe: the container sees the same variables with the same values. ``env`` entries win
    over ``envFrom`` keys and the new ConfigMap is the last ``envFrom`` source (the last
    source wins), so no precedence changes; entries whose position matters stay inline (see
    above). Values keep their exact text (quoted so they load as strings: ``"8080"``). The
    ConfigMap must be applied with the workload: it sits in the same file, so ``kubectl apply
    -f`` and kustomize ``resources`` pick it up.
    """

    id = "kc-001"
    category = "kc"
    title = "ConfigMap for plain config"
    safety = Safety.SAFE
    kinds = frozenset({"k8s"})
    options = {"min": 3}
    precheck = re.compile(r"^\s*(?:-\s+)?env\s*:", re.M)

    def check(self, doc):
        workspace = self.ctx.workspace or Workspace()
        # kustomize patches hold partial objects that merge into others: not workloads to change
        if kustomize.is_patch(workspace, doc.path):
            return
        index = None
        for obj in k8s.objects(doc):
            # only pod templates have containers; nameless or templated workloads cannot name a ConfigMap
            if obj.kind not in k8s.WORKLOADS or not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", obj.name):
                continue
            plans = []
            for container in obj.containers():
                movable = self._movable_count(container)
                if movable < int(self.opts.get("min", 3)):
                    continue
                index = index or k8s.index(workspace, doc)
                plans.append(self._plan(doc, workspace, index, obj, container))
            plans = [p for p in plans if p]
            if plans:
                yield from self._findings(doc, index, obj, plans)

    # --- what moves --------------------------------------------------------------------------

    def _movable_count(self, container) -> int:
        return sum(1 for e in k8senv.entries(container) if self._plain(e))

    @staticmethod
    def _plain(e: k8senv.EnvEntry) -> bool:
        """A literal, non-secret value a ConfigMap key can hold as it is."""
        if not e.literal or not k8senv.KEY_NAME.match(e.name):
            return False
        if secrets.is_secret_name(e.name) or secrets.secret_reason(e.name, e.text):
            return False  # sc-004's: secrets go to Secret objects, not ConfigMaps
        return not k8senv.expands(e.text)

    def _plan(self, doc, workspace, index, obj, container) -> dict | None:
        items = k8senv.entries(container)
        twice = k8senv.duplicates(items)
        patches = k8senv.patched(workspace, obj, container.name)
        elsewhere = self._envfrom_keys(index, obj, container)
        moved, kept = [], []
        for e in items:
            if not self._plain(e):
                continue
            earlier = set().union(*(k8senv.references(x.text) for x in items[:e.index] if x.literal)) if e.index else set()
            if e.name in twice:
                kept.append(f"{e.name} (written twice)")
            elif e.name in earlier:
                kept.append(f"{e.name} (an earlier entry references $({e.name}))")
            elif e.name in elsewhere:
                kept.append(f"{e.name} (envFrom {elsewhere[e.name]} defines it too)")
            elif e.name in patches.deleted:
                kept.append(f"{e.name} (a kustomize patch deletes it)")
            else:
                moved.append(e)
        plan = {"container": container, "moved": moved, "kept": kept, "reason": None}
        if len(moved) < int(self.opts.get("min", 3)):
            return None
        reason = k8senv.not_editable(doc, container)
        if patches.opaque:
            reason = (f"a kustomize patch in {patches.opaque[0]} edits the env of container {container.name} by "
                      "position or as a whole; moving entries would change what it edits")
        plan["reason"] = reason
        return plan

    @staticmethod
    def _envfrom_keys(index, obj, container) -> dict[str, str]:
        """Keys other envFrom sources of the container define (those the tree holds)."""
        found: dict[str, str] = {}
        sources = container.get("envFrom")
        for src in sources.value if isinstance(sources, SequenceNode) else []:
            prefix = ye.scalar(ye.value(src, "prefix")) or ""
            for ref, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                name = ye.scalar(k8s.path(src, ref, "name"))
                if not name:
                    continue
                for target in index.of_kind(kind):
                    if target.name == name and index.same_namespace(target, obj):
                        for field in ("data", "stringData", "binaryData"):
                            node = target.get(field)
                            for k, _ in node.value if hasattr(node, "value") and isinstance(node.value, list) else []:
                                found[prefix + str(k.value)] = f"{kind} {name}"
        return found

    # --- the fix -----------------------------------------------------------------------------

    def _name(self, index, obj, container, several: bool) -> str | None:
        taken = {o.name for o in index.of_kind("ConfigMap") if index.same_namespace(o, obj)}
        candidates = [f"{obj.name}-{container.name}-config"]
        if not several:
            candidates.insert(0, f"{obj.name}-config")
        return next((n for n in candidates if n not in taken and len(n) <= 253), None)

    def _findings(self, doc, index, obj, plans):
        ready = [p for p in plans if p["reason"] is None]
        for p in plans:
            if p["reason"]:
                names = ", ".join(e.name for e in p["moved"])
                yield self.finding(doc, p["container"].node.start_mark.line + 1,
                                   f"container {p['container'].name} of {obj.kind} {obj.name} has {len(p['moved'])} "
                                   f"plain env values ({names}) that belong in a ConfigMap", reason=p["reason"])
        if not ready:
            return
        edits, documents, parts = [], [], []
        several = len(ready) > 1
        for p in ready:
            container = p["container"]
            name = self._name(index, obj, container, several)
            if name is None:
                yield self.finding(doc, container.node.start_mark.line + 1,
                                   f"container {container.name} of {obj.kind} {obj.name} has plain env values that belong in a ConfigMap",
                                   reason=f"a ConfigMap named {obj.name}-config and {obj.name}-{container.name}-config exists "
                                          "already in the tree; move the values by hand")
                continue
            ref = {"configMapRef": {"name": name}}
            envfrom = ye.get(container.node, "envFrom")
            if envfrom is None:
                edits += k8senv.remove(doc, container, p["moved"], ("envFrom", [ref]))
            else:
                edits += k8senv.remove(doc, container, p["moved"])
                if isinstance(envfrom[1], SequenceNode):
                    edits.append(ye.append_item(doc, envfrom[1], ref))
                else:
                    edits.append(ye.replace_value(doc, envfrom[0], envfrom[1], [ref]))
            data = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
            if obj.namespace:
                data["metadata"]["namespace"] = obj.namespace
            data["data"] = {e.name: value_text(doc, e.value) for e in p["moved"]}
            documents.append(data)
            kept = f"; kept inline: {', '.join(p['kept'])}" if p["kept"] else ""
            parts.append(f"container {container.name}: {', '.join(e.name for e in p['moved'])} → ConfigMap {name}{kept}")
        if not documents:
            return
        first = k8s.insert_document(doc, obj, documents[0])
        style = ye.style_of(doc)
        extra = "".join("---" + style.newline + ye.render_block(d, 0, style) for d in documents[1:])
        edits.append(Edit(first.start, first.end, first.new + extra))
        message = f"{obj.kind} {obj.name}: plain env values move to a ConfigMap read through envFrom (" + "; ".join(parts) + ")"
        yield self.finding(doc, obj.node.start_mark.line + 1, message, k8senv.join_inserts(edits))
