"""Kubernetes container probes, shared by hc-002 (distinct liveness and readiness) and hc-003
(startupProbe for slow starts): their handlers, timings (with the API's defaults), and whether a
probe's mapping can be edited in place."""
from __future__ import annotations

from dataclasses import dataclass

from yaml.nodes import MappingNode, Node, ScalarNode

from orchfix import yamledit as ye
from orchfix.documents.yaml import YamlDocument
from orchfix.transforms._knowledge import compose, k8s, workloads

#: the ways a probe checks a container (exactly one per probe)
HANDLERS = ("httpGet", "tcpSocket", "exec", "grpc")
#: timing fields and the values Kubernetes uses when they are left out
DEFAULTS = {"initialDelaySeconds": 0, "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1,
            "failureThreshold": 3}
#: workloads whose pods run to completion: readiness means nothing there, restarts are the job's
BATCH = frozenset({"Job", "CronJob"})


@dataclass
class Probe:
    """A container's probe: its key and mapping nodes, and its value as data."""

    key: ScalarNode
    node: MappingNode
    data: dict

    @property
    def handler(self) -> tuple[str, object] | None:
        """(handler name, its settings); None without exactly one handler."""
        found = [(name, self.data[name]) for name in HANDLERS if name in self.data]
        return found[0] if len(found) == 1 else None

    def timing(self, name: str) -> int | None:
        """A timing field's value (the default when left out); None when it is not an integer."""
        value = self.data.get(name, DEFAULTS.get(name))
        return value if isinstance(value, int) and not isinstance(value, bool) else None


def probe(doc: YamlDocument, obj: k8s.Obj, container: k8s.Container, name: str) -> Probe | None | bool:
    """The container's probe ``name``: a :class:`Probe` when it is a mapping written in place (not
    an alias, not an anchor others alias, no merge key), None when absent, False when present but
    not editable (an alias, anchor, template placeholder)."""
    found = ye.get(container.node, name)
    if found is None or ye.is_null(found[1]):
        return None
    key, node = found
    if not isinstance(node, MappingNode) or not workloads.owned(obj, node) or not compose.owned(doc, key, node):
        return False
    data = workloads.data_of(node)
    return Probe(key, node, data) if isinstance(data, dict) else False


def where(obj: k8s.Obj, container: k8s.Container) -> str:
    return f"{obj.kind} {obj.name}: container {container.name or '?'}"


def containers(doc: YamlDocument, workspace) -> list[tuple[k8s.Obj, k8s.Container]]:
    """The (workload, container) pairs whose probes a transform may edit: app containers (init
    containers take no probes), each once, written inside their object; none of a kustomize patch
    (its containers merge into a base that has its own probes)."""
    if workloads.in_patch(workspace, doc):
        return []
    found = []
    for obj in k8s.objects(doc):
        if obj.kind not in k8s.WORKLOADS:
            continue
        seen: set[int] = set()
        for container in obj.containers(init=False):
            if id(container.node) in seen or not workloads.owned(obj, container.node) or workloads.merges(container.node):
                continue
            seen.add(id(container.node))
            found.append((obj, container))
    return found


def node_int(node: Node | None) -> int | None:
    text = ye.scalar(node)
    return int(text) if text is not None and text.isdigit() else None
