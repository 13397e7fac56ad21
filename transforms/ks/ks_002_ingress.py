from __future__ import annotations

import re

from yaml.nodes import MappingNode, ScalarNode

from orchfix import yamledit as ye
from orchfix.text import Edit
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import k8s

from ._services import (Scope, disjoint, http_paths, ingress_backends, int_of, is_gateway, port_items,
                        retext, service_type, unexpose)

#: Ingress API versions Kubernetes 1.22 removed
LEGACY = frozenset({"extensions/v1beta1", "networking.k8s.io/v1beta1"})
V1 = "networking.k8s.io/v1"
#: ``kubernetes.io/ingress.class`` values whose controller installs an IngressClass of that name
CLASSES_WITH_OBJECT = frozenset({"nginx", "traefik", "haproxy", "kong", "contour", "alb"})
#: GKE's classes: its controller reads the annotation (no IngressClass) and its paths are not prefixes
GCE = frozenset({"gce", "gce-internal"})
#: annotations that make ingress-nginx read paths as regular expressions
_REGEX_ANNOTATIONS = ("nginx.ingress.kubernetes.io/use-regex", "nginx.ingress.kubernetes.io/rewrite-target",
                      "ingress.kubernetes.io/rewrite-target")
_REGEX_PATH = re.compile(r"[*()\[\]{}$^+?|\\]")
# what the API server refuses in a Prefix/Exact path
_NOT_A_PREFIX = re.compile(r"//|/\./|/\.\./|%2f|/\.\.?$", re.I)
_DNS = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_COMMENT = re.compile(r"[ \t]+(#.*)$")
HTTP_PORTS = frozenset({80, 8080})


def _port_kind(port: MappingNode) -> str | None:
    """'http' or 'https' for a Service port that speaks it (by number, name or appProtocol)."""
    number = int_of(ye.value(port, "port"))
    name = (ye.scalar(ye.value(port, "name")) or "").lower()
    app = (ye.scalar(ye.value(port, "appProtocol")) or "").lower()
    if number == 443 or name == "https" or name.startswith("https-") or app == "https":
        return "https"
    if number in HTTP_PORTS or name == "http" or name.startswith("http-") or app == "http":
        return "http"
    return None


def http_port(svc) -> int | None:
    """The port an Ingress routes to: the first HTTP one, when every port speaks HTTP(S)."""
    ports = port_items(svc)
    kinds = [_port_kind(p) for p in ports]
    if not ports or None in kinds or "http" not in kinds:
        return None
    return int_of(ye.value(ports[kinds.index("http")], "port"))


def _comment(doc, node) -> str:
    """A ``# comment`` after a scalar on its line ('' when none), with its leading spaces."""
    end = node.end_mark.index
    stop = doc.text.find("\n", end)
    rest = doc.text[end:len(doc.text) if stop < 0 else stop].rstrip("\r")
    return rest if _COMMENT.match(rest) else ""


def _common_prefix(names: list[str]) -> str:
    parts = [n.split("-") for n in names]
    prefix = []
    for words in zip(*parts):
        if len(set(words)) != 1:
            break
        prefix.append(words[0])
    return "-".join(prefix)


class IngressForHttpRouting(Transform):
    r"""Route HTTP through one Ingress; move Ingresses off removed API versions.

    What it finds:
        1. Two or more LoadBalancer Services of one namespace, applied together, that serve HTTP:
           every port is 80/8080 or named ``http``/``http-*`` (or ``appProtocol: http``), or HTTPS
           (443, ``https``). Services of ingress controllers and gateways, and Services an Ingress
           already routes to, are left alone.
        2. Ingress objects on ``extensions/v1beta1`` or ``networking.k8s.io/v1beta1``, which
           Kubernetes 1.22 removed.

    Why it matters:
        Every LoadBalancer Service pays for its own cloud load balancer and public IP and
        terminates no TLS; one Ingress routes many HTTP apps by host name behind a single one.
        Ingresses on removed API versions are refused by any current cluster.

    Before:
        apiVersion: extensions/v1beta1
        kind: Ingress
        metadata:
          name: shop
          annotations:
            kubernetes.io/ingress.class: nginx
        spec:
          backend:
            serviceName: web
            servicePort: 80
          rules:
          - host: shop.example.com
            http:
              paths:
              - path: /api
                backend:
                  serviceName: api
                  servicePort: http

    After:
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: shop
        spec:
          defaultBackend:
            service:
              name: web
              port:
                number: 80
          rules:
          - host: shop.example.com
            http:
              paths:
              - path: /api
                pathType: Prefix
                backend:
                  service:
                    name: api
                    port:
                      name: http
          ingressClassName: nginx

    Options:
        ``domain`` (default unset): the DNS domain of the new Ingress's hosts, each Service
        getting ``<service>.<domain>``. Without it LoadBalancer Services are reported, not
        rewritten (set ``[transforms.ks-002] domain = "example.com"``).
        ``ingress_class`` (default ``"nginx"``): ``spec.ingressClassName`` of the new Ingress;
        empty leaves it to the cluster's default class.

    Safety:
        Unsafe. The Services lose their external IPs (clients must use the new host names, which
        need DNS records, and HTTPS ports need a ``tls`` section on the Ingress);
        ``loadBalancerIP``, ``loadBalancerSourceRanges``, ``externalTrafficPolicy`` and the other
        fields only externally reachable Services may carry are removed with ``nodePort``.
        The migration changes only the lines it is about: ``serviceName``/``servicePort`` become
        ``service.name`` and ``port.number`` (a number) or ``port.name``, ``spec.backend`` becomes
        ``spec.defaultBackend``, and each path without ``pathType`` gets ``Prefix``, or
        ``ImplementationSpecific`` (what v1beta1 meant) where the path is a regular expression,
        is not a clean prefix, or the controller reads paths its own way (ingress-nginx
        ``use-regex``/``rewrite-target``, GKE's ``gce`` classes). A ``kubernetes.io/ingress.class``
        annotation becomes ``spec.ingressClassName`` when that class exists as an IngressClass
        (in the tree, or installed by its controller: nginx, traefik, haproxy, kong, contour,
        alb); other values (GKE) keep the annotation, which v1 still honours.
    """

    id = "ks-002"
    category = "ks"
    title = "Ingress for HTTP routing"
    safety = Safety.UNSAFE
    kinds = frozenset({"k8s"})
    options = {"domain": "", "ingress_class": "nginx"}
    precheck = re.compile(r"LoadBalancer|v1beta1")

    def check(self, doc):
        scope = Scope(self.ctx.workspace, doc)
        mine = scope.mine()
        classes = {o.name for o in scope.index.of_kind("IngressClass")}
        for ing in mine:
            if ing.kind == "Ingress" and ing.api_version in LEGACY:
                yield self._migrate(doc, ing, classes)
        yield from self._consolidate(doc, scope, mine)

    # legacy Ingresses ------------------------------------------------------------------------

    def _migrate(self, doc, ing, classes: set[str]):
        line = ing.get("apiVersion").start_mark.line + 1
        message = f"Ingress {ing.name} uses {ing.api_version}, which Kubernetes 1.22 removed"
        edits = [retext(ing.get("apiVersion"), V1)]
        spec = ing.get("spec")
        annotations = k8s.labels_of(ing.get("metadata", "annotations"))
        cls = annotations.get("kubernetes.io/ingress.class")
        regex = any(annotations.get(k, "false") != "false" for k in _REGEX_ANNOTATIONS) or cls in GCE
        kept = ""
        if isinstance(spec, MappingNode):
            found = ye.get(spec, "backend")
            if found and not ye.get(spec, "defaultBackend"):
                edits.append(retext(found[0], "defaultBackend"))
            for backend in ingress_backends(ing):
                rewritten = self._backend(doc, backend)
                # a backend written in a way these edits cannot follow: migrate it by hand
                if rewritten is None:
                    return self.finding(doc, line, message, reason="a backend's serviceName does not start its own "
                                        "line; rewrite it as service.name/port.number by hand")
                edits += rewritten
            for item in http_paths(ing):
                if ye.get(item, "pathType"):
                    continue
                path = ye.scalar(ye.value(item, "path"))
                kind = "Prefix"
                if path is None or regex or _REGEX_PATH.search(path) or _NOT_A_PREFIX.search(path) or not path.startswith("/"):
                    kind = "ImplementationSpecific"
                if ye.get(item, "path"):
                    edits.append(ye.insert_key(doc, item, "pathType", kind, after="path"))
                else:
                    edits.append(ye.set_key(doc, item, "pathType", kind))
            if cls and not ye.get(spec, "ingressClassName"):
                if cls in CLASSES_WITH_OBJECT or cls in classes:
                    edits.append(ye.set_key(doc, spec, "ingressClassName", cls))
                    edits.append(self._drop_annotation(doc, ing))
                else:
                    kept = (f"; its kubernetes.io/ingress.class annotation ({cls}) stays: no IngressClass named "
                            f"{cls} is known, and v1 still honours the annotation")
        # edits that would touch each other (entries packed in one flow mapping): by hand
        if not disjoint(edits):
            return self.finding(doc, line, message, reason="its flow-style entries are packed too tightly to migrate "
                                "line by line; migrate it by hand")
        return self.finding(doc, line, f"{message}; migrated to {V1}{kept}", edits)

    @staticmethod
    def _drop_annotation(doc, ing) -> Edit:
        metadata = ing.get("metadata")
        annotations = ye.value(metadata, "annotations")
        if len(annotations.value) == 1:
            return ye.delete_key(doc, metadata, "annotations")
        return ye.delete_key(doc, annotations, "kubernetes.io/ingress.class")

    @staticmethod
    def _backend(doc, backend: MappingNode) -> list[Edit] | None:
        """``serviceName``/``servicePort`` as ``service.name`` and ``port.number``/``port.name``."""
        name = ye.get(backend, "serviceName")
        port = ye.get(backend, "servicePort")
        # a resource backend, or one already in the v1 shape
        if name is None or not isinstance(name[1], ScalarNode):
            return []
        port_text = ye.scalar(port[1]) if port else None
        port_entry = None
        if port_text is not None:
            digits = port_text.strip().isdigit()
            port_entry = ("number", int(port_text)) if digits else ("name", port_text)
        if backend.flow_style:
            service = {"name": name[1].value}
            if port_entry:
                service["port"] = dict([port_entry])
            rest = [doc.text[k.start_mark.index:v.end_mark.index] for k, v in backend.value
                    if ye.scalar(k) not in ("serviceName", "servicePort")]
            body = ", ".join([f"service: {ye.render_flow(service)}", *rest])
            return [Edit(backend.start_mark.index, backend.end_mark.index, "{" + body + "}")]
        key = name[0]
        start = doc.text.rfind("\n", 0, key.start_mark.index) + 1
        if doc.text[start:key.start_mark.index].strip():
            return None
        style = ye.style_of(doc)
        pad, step, nl = " " * key.start_mark.column, " " * style.indent, style.newline
        lines = f"{pad}service:{nl}{pad}{step}name: {doc.text[name[1].start_mark.index:name[1].end_mark.index]}"
        lines += _comment(doc, name[1]) + nl
        if port_entry:
            value = str(port_entry[1]) if port_entry[0] == "number" else ye.render_scalar(port_entry[1])
            lines += f"{pad}{step}port:{nl}{pad}{step}{step}{port_entry[0]}: {value}{_comment(doc, port[1])}{nl}"
        end = ye.content_end(doc, name[1])
        if doc.text[end - 1:end] != "\n":
            lines = lines[:-len(nl)]
        edits = [Edit(start, end, lines)]
        if port:
            edits.append(ye.delete_key(doc, backend, "servicePort"))
        return edits

    # LoadBalancer Services -------------------------------------------------------------------

    def _qualifies(self, scope: Scope, svc) -> int | None:
        """The HTTP port of a LoadBalancer Service an Ingress could front, or None."""
        if svc.kind != "Service" or service_type(svc) != "LoadBalancer" or scope.is_patch(svc):
            return None
        port = http_port(svc)
        if port is None or is_gateway(svc, scope.selected(svc)) or scope.routed_by(svc):
            return None
        return port

    def _consolidate(self, doc, scope: Scope, mine):
        done: set[int] = set()
        for svc in mine:
            if id(svc) in done or self._qualifies(scope, svc) is None:
                continue
            group = [s for s in scope.around(svc, "Service") if self._qualifies(scope, s) is not None]
            group.sort(key=lambda s: (s.doc.path, s.index, s.node.start_mark.index))
            done |= {id(s) for s in group}
            # one HTTP LoadBalancer alone gains nothing from an Ingress
            if len(group) < 2:
                continue
            here = [s for s in group if scope.in_file(s)]
            names = ", ".join(s.name for s in group)
            line = here[0].get("spec", "type").start_mark.line + 1
            message = f"LoadBalancer Services {names} serve HTTP, each behind its own load balancer"
            domain = str(self.opts.get("domain") or "").strip().lower()
            if not domain:
                yield self.finding(doc, line, message, reason="no host names are known for an Ingress: set "
                                   '[transforms.ks-002] domain = "example.com" (hosts <service>.<domain>)')
                continue
            if not _DNS.match(domain):
                yield self.finding(doc, line, message, reason=f"[transforms.ks-002] domain = {domain!r} is not a DNS name")
                continue
            name = (_common_prefix([s.name for s in group]) + "-ingress").lstrip("-")
            # the Ingress name is taken: the user chooses another
            if any(i.name == name for i in scope.around(svc, "Ingress")):
                yield self.finding(doc, line, message, reason=f"an Ingress named {name} already exists; route the "
                                   "Services through it by hand")
                continue
            edits = [e for s in here for e in unexpose(doc, s)]
            last = group[-1]
            if scope.in_file(last):
                edits.append(k8s.insert_document(doc, last, self._ingress(group, name, domain)))
            if not disjoint(edits):
                yield self.finding(doc, line, message, reason="their LoadBalancer-only fields are packed in one flow "
                                   "mapping; convert them by hand")
                continue
            hosts = ", ".join(f"{s.name}.{domain}" for s in group)
            tls = " Add a tls section (certificate Secret) to the Ingress: their HTTPS ports are no longer exposed." \
                if any(_port_kind(p) == "https" for s in group for p in port_items(s)) else ""
            yield self.finding(doc, line, f"{message}: one Ingress {name} routes {hosts} to them and they become "
                                          f"ClusterIP (point DNS for those hosts at the ingress controller).{tls}", edits)

    def _ingress(self, group, name: str, domain: str) -> dict:
        metadata = {"name": name}
        if group[0].namespace:
            metadata["namespace"] = group[0].namespace
        spec: dict = {}
        if self.opts.get("ingress_class"):
            spec["ingressClassName"] = str(self.opts["ingress_class"])
        spec["rules"] = [{
            "host": f"{s.name}.{domain}",
            "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                "service": {"name": s.name, "port": {"number": http_port(s)}}}}]},
        } for s in group]
        return {"apiVersion": V1, "kind": "Ingress", "metadata": metadata, "spec": spec}
