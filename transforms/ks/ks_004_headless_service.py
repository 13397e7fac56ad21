from __future__ import annotations

import re
from dataclasses import dataclass

from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import k8s

from ._services import (Scope, container_ports, identity, int_of, is_headless, is_version_key, join_inserts, retext,
                        service_type)

_RECREATE_SVC = "clusterIP cannot change on a live Service: delete and re-create it when applying"
_RECREATE_STS = ("serviceName cannot change on a live StatefulSet: re-create it when applying "
                 "(kubectl delete statefulset --cascade=orphan, then apply)")


@dataclass
class Plan:
    """What a StatefulSet's governing Service needs: ``headless`` (``svc`` gets clusterIP None),
    ``point`` (serviceName set to an existing headless Service ``name``), ``new`` (a new
    headless Service ``name``) or ``report`` (``reason``)."""

    action: str
    svc: k8s.Obj | None = None
    name: str = ""
    reason: str = ""
    why: str = ""


def _other_uses(scope: Scope, svc: k8s.Obj, sts: k8s.Obj) -> str | None:
    """Why the Service must keep its cluster IP (something else load-balances through it), or None."""
    kind = service_type(svc)
    if kind != "ClusterIP":
        return f"it is a {kind} Service"
    ips = svc.get("spec", "externalIPs")
    if isinstance(ips, SequenceNode) and ips.value:
        return "it has externalIPs"
    if not svc.selector:
        return "it has no selector"
    if not k8s.selects(svc.selector, sts.pod_labels):
        return "it does not select the StatefulSet's pods"
    others = [w for w in scope.selected(svc) if identity(w) != identity(sts)]
    if others:
        return f"it also selects the pods of {others[0].kind} {others[0].name}"
    routes = scope.routed_by(svc)
    if routes:
        return f"Ingress {routes[0].name} routes to it"
    return None


def plan(scope: Scope, sts: k8s.Obj) -> Plan | None:
    """The same answer whichever file (the StatefulSet's or the Service's) asks."""
    name = sts.text("spec", "serviceName") or ""
    services = scope.around(sts, "Service")
    why = ""
    if name:
        svc = next((s for s in services if s.name == name), None)
        if svc is None:
            return Plan("report", reason=f"serviceName {name} names a Service that is not applied with it (same file, "
                        "folder or kustomization); make sure it exists and is headless (clusterIP: None)")
        if is_headless(svc):
            return None
        why = _other_uses(scope, svc, sts)
        if why is None:
            return Plan("headless", svc=svc, name=name)
    else:
        governing = [s for s in services if is_headless(s) and k8s.selects(s.selector, sts.pod_labels)]
        if len(governing) == 1:
            return Plan("point", name=governing[0].name)
    new = f"{sts.name}-headless"
    if not _selector(sts):
        return Plan("report", reason="its pods carry no labels a Service could select; label them first")
    if len(new) > 63:
        return Plan("report", reason=f"{new} is longer than a Service name may be; add a headless Service by hand")
    clash = next((s for s in services if s.name == new), None)
    if clash is not None:
        if is_headless(clash) and k8s.selects(clash.selector, sts.pod_labels):
            return Plan("point", name=new, why=why)
        return Plan("report", reason=f"a Service named {new} exists and is not a headless Service of its pods")
    return Plan("new", name=new, why=why)


def _selector(sts: k8s.Obj) -> dict[str, str]:
    """The new Service's selector: the StatefulSet's own matchLabels (its pods exactly), else its
    pod labels without version labels."""
    return sts.selector or {k: v for k, v in sts.pod_labels.items() if not is_version_key(k)}


def _ports(sts: k8s.Obj) -> list[dict]:
    """Service ports for the containers' containerPorts (named when there are several)."""
    ports: list[dict] = []
    seen = set()
    for p in container_ports(sts):
        number = int_of(ye.value(p, "containerPort"))
        protocol = ye.scalar(ye.value(p, "protocol")) or "TCP"
        if number is None or (number, protocol) in seen:
            continue
        seen.add((number, protocol))
        entry: dict = {}
        name = ye.scalar(ye.value(p, "name"))
        if name:
            entry["name"] = name
        entry["port"] = number
        if protocol != "TCP":
            entry["protocol"] = protocol
        ports.append(entry)
    if len(ports) > 1:
        names = [p.get("name") for p in ports]
        for p in ports:
            # several ports must each have a unique name
            if not p.get("name") or names.count(p["name"]) > 1:
                p["name"] = f"{p.get('protocol', 'TCP').lower()}-{p['port']}"
        ports = [{"name": p["name"], **{k: v for k, v in p.items() if k != "name"}} for p in ports]
    return ports


class HeadlessServiceForStatefulSets(Transform):
    r"""Give every StatefulSet a headless governing Service.

    What it finds:
        StatefulSets without ``serviceName`` (required up to Kubernetes 1.32, optional since
        1.33, but without it the pods get no stable DNS names), and StatefulSets whose
        ``serviceName`` names a Service, applied with them, that has a cluster IP.

    Why it matters:
        A StatefulSet's pods are reached one by one (``db-0.db``, ``db-1.db``) through the DNS
        records of a headless Service (``clusterIP: None``); through a Service with a cluster IP
        they are load-balanced like interchangeable pods, and replication peers cannot find each
        other.

    Before:
        apiVersion: apps/v1
        kind: StatefulSet
        metadata:
          name: db
        spec:
          selector:
            matchLabels:
              app: db
          template:
            metadata:
              labels:
                app: db
            spec:
              containers:
              - name: postgres
                image: postgres:17
                ports:
                - containerPort: 5432
                  name: postgres

    After:
        apiVersion: apps/v1
        kind: StatefulSet
        metadata:
          name: db
        spec:
          selector:
            matchLabels:
              app: db
          serviceName: db-headless
          template:
            metadata:
              labels:
                app: db
            spec:
              containers:
              - name: postgres
                image: postgres:17
                ports:
                - containerPort: 5432
                  name: postgres
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: db-headless
          labels:
            app: db
        spec:
          clusterIP: None
          selector:
            app: db
          ports:
          - name: postgres
            port: 5432

    Options:
        None.

    Safety:
        Safe. The named Service becomes headless (``clusterIP: None``) only when nothing else
        load-balances through it: it selects no other workload's pods, is not a LoadBalancer or
        NodePort, has no externalIPs and no Ingress routes to it. Otherwise, and when
        ``serviceName`` is missing, a new ``<name>-headless`` Service goes right after the
        StatefulSet (selector: its ``matchLabels``; ports: its containers' containerPorts) and
        ``serviceName`` names it; a missing ``serviceName`` is pointed at an existing headless
        Service of its pods when there is exactly one. Re-pointing a ``serviceName`` that was set
        changes the pods' DNS names, so that fix is unsafe. On a live cluster ``clusterIP`` and
        ``serviceName`` cannot change in place: the object must be re-created (the finding says so).
    """

    id = "ks-004"
    category = "ks"
    title = "Headless service for StatefulSets"
    safety = Safety.SAFE
    kinds = frozenset({"k8s"})
    options: dict = {}
    precheck = re.compile(r"StatefulSet|\bService\b")

    def check(self, doc):
        scope = Scope(self.ctx.workspace, doc)
        mine = scope.mine()
        for obj in mine:
            if obj.kind == "StatefulSet" and not scope.is_patch(obj):
                finding = self._statefulset(doc, scope, obj)
            elif obj.kind == "Service" and not is_headless(obj):
                finding = self._service(doc, scope, obj)
            else:
                continue
            if finding:
                yield finding

    def _statefulset(self, doc, scope: Scope, sts):
        spec = sts.get("spec")
        # not a StatefulSet anyone could apply
        if not isinstance(spec, MappingNode) or not spec.value:
            return None
        p = plan(scope, sts)
        # nothing to do, or the Service's own file makes it headless
        if p is None or p.action == "headless":
            return None
        line = sts.node.start_mark.line + 1
        current = sts.text("spec", "serviceName")
        if not current:
            message = f"StatefulSet {sts.name} has no serviceName"
        elif p.why:
            message = f"StatefulSet {sts.name}'s serviceName {current} is not a headless Service ({p.why})"
        else:
            message = f"StatefulSet {sts.name}'s serviceName {current} names no Service applied with it"
        if p.action == "report":
            return self.finding(doc, line, message, reason=p.reason)
        edits = [self._service_name(doc, spec, p.name)]
        if p.action == "new":
            data = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": p.name}}
            if sts.namespace:
                data["metadata"]["namespace"] = sts.namespace
            selector = _selector(sts)
            data["metadata"]["labels"] = selector
            data["spec"] = {"clusterIP": "None", "selector": selector}
            ports = _ports(sts)
            if ports:
                data["spec"]["ports"] = ports
            edits.append(k8s.insert_document(doc, sts, data))
            done = f"a headless Service {p.name} added and serviceName set to it"
        else:
            done = f"serviceName set to the headless Service {p.name}"
        safety = Safety.UNSAFE if current else None
        dns = "; the pods' DNS names change" if current else ""
        return self.finding(doc, line, f"{message}: {done}{dns} ({_RECREATE_STS})", join_inserts(edits), safety=safety)

    @staticmethod
    def _service_name(doc, spec: MappingNode, name: str):
        found = ye.get(spec, "serviceName")
        if found and isinstance(found[1], ScalarNode) and not ye.is_null(found[1]):
            return retext(found[1], name)
        if found:
            return ye.replace_value(doc, found[0], found[1], name)
        selector = ye.get(spec, "selector")
        if selector and spec.value[-1][0] is not selector[0]:
            return ye.insert_key(doc, spec, "serviceName", name, after="selector")
        return ye.set_key(doc, spec, "serviceName", name)

    def _service(self, doc, scope: Scope, svc):
        for sts in scope.around(svc, "StatefulSet"):
            if sts.text("spec", "serviceName") != svc.name:
                continue
            p = plan(scope, sts)
            if p is None or p.action != "headless" or p.svc is not svc:
                continue
            spec = svc.get("spec")
            # a Service without a spec mapping is not one to fix
            if not isinstance(spec, MappingNode) or not (spec.value or spec.flow_style):
                return None
            found = ye.get(spec, "clusterIP")
            if found and isinstance(found[1], ScalarNode) and not ye.is_null(found[1]):
                edits = [retext(found[1], "None")]
            elif found:
                edits = [ye.replace_value(doc, found[0], found[1], "None")]
            else:
                edits = [ye.set_key(doc, spec, "clusterIP", "None")]
            if ye.get(spec, "clusterIPs"):
                edits.append(ye.delete_key(doc, spec, "clusterIPs"))
            return self.finding(doc, svc.node.start_mark.line + 1,
                                f"Service {svc.name} governs StatefulSet {sts.name} but is not headless: its pods get "
                                f"no stable DNS names; clusterIP: None set ({_RECREATE_SVC})", edits)
        return None
