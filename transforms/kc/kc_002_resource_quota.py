"""kc-002: every Namespace the tree creates gets a ResourceQuota."""
from __future__ import annotations

import json
import re

from orchfix import yamledit as ye
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import k8s, kustomize
from orchfix.workspace import Workspace

#: namespaces the cluster itself runs in: quotas there can starve system components
_SYSTEM = re.compile(r"^(?:kube-.*|default)$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
#: option → ResourceQuota ``spec.hard`` key, in the order they are written
HARD = (("requests_cpu", "requests.cpu"), ("requests_memory", "requests.memory"),
        ("limits_cpu", "limits.cpu"), ("limits_memory", "limits.memory"), ("pods", "pods"))
_RESOURCES = {"requests.cpu": ("requests", "cpu"), "requests.memory": ("requests", "memory"),
              "limits.cpu": ("limits", "cpu"), "limits.memory": ("limits", "memory")}


def _quantity(value) -> str:
    """A quantity as a string that loads as one (``"4"``, not the number 4)."""
    text = str(value)
    return text if ye.render_scalar(text) == text else ye.Raw(json.dumps(text))


class ResourceQuotaPerNamespace(Transform):
    r"""Give each Namespace a ResourceQuota.

    What it finds:
    ``Namespace`` objects for which no ResourceQuota of the tree (any file) lives in that
    namespace. It writes a ResourceQuota ``<namespace>-quota`` as the next document of the same
    file, with hard limits on requested and limited CPU and memory and on the pod count.
    System namespaces (``kube-*``, ``default``) are left alone.

    Why it matters:
    Without a quota one team's runaway Deployment, a crash-looping Job or a mis-set replica
    count can take every node's capacity, and nothing says how much a namespace may use.
    A quota caps the namespace as a whole and makes the scheduler refuse what goes beyond it.

    Before:
        apiVersion: v1
        kind: Namespace
        metadata:
          name: shop

    After:
        apiVersion: v1
        kind: Namespace
        metadata:
          name: shop
        ---
        apiVersion: v1
        kind: ResourceQuota
        metadata:
          name: shop-quota
          namespace: shop
        spec:
          hard:
            requests.cpu: "4"
            requests.memory: 8Gi
            limits.cpu: "8"
            limits.memory: 16Gi
            pods: "50"

    Options:
    ``requests_cpu`` (default ``"4"``), ``requests_memory`` (``"8Gi"``), ``limits_cpu``
    (``"8"``), ``limits_memory`` (``"16Gi"``), ``pods`` (``"50"``): the hard limits. The
    defaults fit a small team's namespace on a shared cluster (a few services with 100m–500m
    CPU and 128–512Mi each, limits at twice the requests, room for a rolling update); set an
    option to an empty string to leave that limit out.

    Safety:
    Unsafe: once a quota limits ``requests.*``/``limits.*``, the API server rejects every pod of
    the namespace whose containers do not declare those requests/limits (unless a LimitRange
    supplies defaults), and pods beyond the limits are not created. The finding names the
    workloads of the tree in that namespace that lack them (kp-002 adds them).
    """

    id = "kc-002"
    category = "kc"
    title = "ResourceQuota per namespace"
    safety = Safety.UNSAFE
    kinds = frozenset({"k8s"})
    options = {"requests_cpu": "4", "requests_memory": "8Gi", "limits_cpu": "8", "limits_memory": "16Gi", "pods": "50"}
    precheck = re.compile(r"^\s*kind:\s*['\"]?Namespace\b", re.M)

    def check(self, doc):
        workspace = self.ctx.workspace or Workspace()
        # a kustomize patch of a Namespace is no Namespace of its own
        if kustomize.is_patch(workspace, doc.path):
            return
        index = None
        for obj in k8s.objects(doc):
            # only real, named namespaces; the cluster's own are not ours to cap
            if obj.kind != "Namespace" or not _DNS_LABEL.match(obj.name) or _SYSTEM.match(obj.name):
                continue
            index = index or k8s.index(workspace, doc)
            if any(q.namespace == obj.name for q in index.of_kind("ResourceQuota")):
                continue
            hard = {key: _quantity(self.opts.get(opt)) for opt, key in HARD if self.opts.get(opt) not in (None, "")}
            # every limit switched off: nothing to write
            if not hard:
                continue
            name = f"{obj.name}-quota"
            data = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": name, "namespace": obj.name},
                    "spec": {"hard": hard}}
            message = f"Namespace {obj.name} has no ResourceQuota: add {name} (" + ", ".join(f"{k} {v}" for k, v in hard.items()) + ")"
            lacking = self._lacking(index, obj.name, hard)
            if lacking:
                message += ("; pods without those requests/limits will be rejected in this namespace: "
                            + ", ".join(lacking[:8]) + (" …" if len(lacking) > 8 else "") + " (kp-002 adds them)")
            yield self.finding(doc, obj.node.start_mark.line + 1, message, [k8s.insert_document(doc, obj, data)])

    @staticmethod
    def _lacking(index, namespace: str, hard: dict) -> list[str]:
        """Workloads of the namespace with a container missing a request/limit the quota caps."""
        keys = [_RESOURCES[k] for k in hard if k in _RESOURCES]
        found = []
        for w in index.of_kind(*k8s.WORKLOADS):
            if w.namespace != namespace:
                continue
            for c in w.containers():
                if any(k8s.path(c.node, "resources", group, res) is None for group, res in keys):
                    found.append(f"{w.kind} {w.name}")
                    break
        return found
