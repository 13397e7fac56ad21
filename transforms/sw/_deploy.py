"""Swarm ``deploy`` sections of stack services: which services have one, whether they hold state,
and the edit that adds a key to their deploy section (sw-003, sw-004).

A file is a swarm stack (:func:`compose.swarm`) when it is named as one (``docker-stack.yml``)
or a service's ``deploy`` uses what only swarm reads: ``placement``, ``update_config``,
``rollback_config``, ``endpoint_mode``, ``mode: global`` (or a job mode). ``replicas``,
``resources`` and ``restart_policy`` alone do not make one: plain ``docker compose`` reads them
too (scaling, CPU/memory/GPU limits, the restart policy), and its files are no swarm stacks.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass

from yaml.nodes import MappingNode, ScalarNode

from orchfix import yamledit as ye
from orchfix.text import Edit

from .._knowledge import compose, images

@dataclass
class Deploy:
    """A service's deploy section: ``key``/``node`` as written; ``editable`` when it can be edited in place."""

    service: compose.Service
    key: ScalarNode
    node: object
    editable: bool


def stack_named(model: compose.ComposeFile) -> bool:
    return "stack" in posixpath.basename(model.doc.path).lower()


def deploys(model: compose.ComposeFile) -> list[Deploy]:
    """The deploy sections (mappings, or empty) of a swarm stack's services."""
    if not compose.swarm(model):
        return []
    found = []
    for service in model.services.values():
        entry = ye.get(service.node, "deploy")
        if entry is None:
            continue
        key, node = entry
        # not a mapping: nothing to add to
        if not isinstance(node, MappingNode) and not ye.is_null(node):
            continue
        editable = not service.shared and compose.owned(model.doc, key, node)
        found.append(Deploy(service, key, node, editable))
    return found


def stateful(service: compose.Service) -> str | None:
    """Why the service keeps state on its node (an image with a data directory, a named volume),
    or None."""
    if service.image:
        ref = images.parse_ref(service.image)
        info = None if ref.variable else images.lookup(ref)
        if info and info.data_dir:
            return f"{ref.name} keeps its data in {info.data_dir}"
    named = [v for v in service.volumes() if v.kind == "volume"]
    if named:
        return f"it mounts the named volume {named[0].source}"
    return None


def host_ports(service: compose.Service) -> bool:
    """Whether it publishes a port in host mode (one task per node can bind it)."""
    for port in service.ports():
        if port.long and ye.scalar(ye.value(port.node, "mode")) == "host":
            return True
    return False


def add(doc, deploy: Deploy, key: str, data, style) -> Edit:
    """The edit that adds ``key: data`` to the deploy section (replacing an empty one)."""
    node = deploy.node
    if ye.is_null(node) or (isinstance(node, MappingNode) and not node.value and not node.flow_style):
        return ye.replace_value(doc, deploy.key, node, {key: data}, style)
    return ye.set_key(doc, node, key, data, style)
