from __future__ import annotations

import re

from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import k8s

from ._services import Scope, disjoint, is_gateway, service_type, unexpose


class ClusterIpForInternalServices(Transform):
    r"""Reach internal Services through their cluster IP, not a port on every node.

    What it finds:
        Services of ``type: NodePort`` (block or flow style, in multi-document files and ``List``
        kinds). A NodePort Service that is the way into an ingress controller or gateway (by its
        name, its labels or the images of the pods it selects) is reported, not rewritten: on bare
        metal a node port is how such a controller is reached.

    Why it matters:
        A NodePort Service opens the same port on every node of the cluster, from a small shared
        range, outside any Ingress, TLS or authentication in front of the app. Services that only
        other pods call need no more than their cluster IP; what users reach goes through an
        Ingress or a LoadBalancer.

    Before:
        apiVersion: v1
        kind: Service
        metadata:
          name: api
        spec:
          type: NodePort
          selector:
            app: api
          ports:
          - port: 80
            targetPort: 8080
            nodePort: 30080

    After:
        apiVersion: v1
        kind: Service
        metadata:
          name: api
        spec:
          type: ClusterIP
          selector:
            app: api
          ports:
          - port: 80
            targetPort: 8080

    Options:
        None.

    Safety:
        Unsafe: clients outside the cluster that used ``<node>:<nodePort>`` can no longer reach the
        Service. Only the ``type`` value changes and the ``nodePort`` entries go (flow-style ports
        lose just that entry); ``externalTrafficPolicy`` goes too unless the Service has
        ``externalIPs``, since the API server rejects it on a Service nobody reaches from outside.
    """

    id = "ks-001"
    category = "ks"
    title = "ClusterIP for internal services"
    safety = Safety.UNSAFE
    kinds = frozenset({"k8s"})
    options: dict = {}
    precheck = re.compile(r"NodePort")

    def check(self, doc):
        scope = None
        for svc in k8s.objects(doc):
            # only Services carry a type; NodePort is the pattern
            if svc.kind != "Service" or service_type(svc) != "NodePort":
                continue
            line = svc.get("spec", "type").start_mark.line + 1
            scope = scope or Scope(self.ctx.workspace, doc)
            if is_gateway(svc, scope.selected(svc)):
                yield self.finding(doc, line, f"Service {svc.name} is a NodePort",
                                   reason=f"{svc.name} is the way into an ingress controller or gateway; a node port "
                                          "is how it is reached without a cloud load balancer. Use a LoadBalancer "
                                          "Service or hostPorts there, or suppress this finding.")
                continue
            edits = unexpose(doc, svc)
            # adjacent flow entries whose removals touch: fix by hand
            if not disjoint(edits):
                yield self.finding(doc, line, f"Service {svc.name} is a NodePort",
                                   reason="its LoadBalancer-only fields sit next to each other in one flow mapping; "
                                          "set type: ClusterIP and remove nodePort and those fields by hand")
                continue
            yield self.finding(doc, line, f"Service {svc.name} is a NodePort: an internal Service needs only "
                                          "its cluster IP (type ClusterIP, node ports removed)", edits)
