"""hc-002: liveness and readiness probes that differ (or exist at all) for containers serving ports."""
from __future__ import annotations

import re

from yaml.nodes import MappingNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.text import Edit
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import images, mounts, ports, workloads

from . import _probes

#: new probes: liveness lenient (a restart only after a minute of failures, slow answers allowed)
LIVENESS = {"periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 6}
#: new probes: readiness quick (out of the Service's endpoints after 15 s of failures)
READINESS = {"periodSeconds": 5, "failureThreshold": 3}
#: identical probes: the floor of each liveness timing and the ceiling of each readiness one
LIVENESS_AT_LEAST = {"periodSeconds": 10, "failureThreshold": 6}
READINESS_AT_MOST = {"periodSeconds": 5, "failureThreshold": 3}
#: port numbers web apps listen on by convention (frameworks' and images' defaults)
HTTP_PORTS = frozenset({80, 3000, 4000, 5000, 8000, 8008, 8080, 8081, 8082, 8088, 8888})
_HTTP_NAME = re.compile(r"(?:http(?!s)|web)(?:[-_].*)?$|.*[-_](?:http|web)$", re.I)


class DistinctProbes(Transform):
    r"""Give containers distinct liveness and readiness probes.

    What it finds:
        App containers of long-running workloads (Pod, Deployment, StatefulSet, DaemonSet,
        ReplicaSet, ReplicationController, items of ``List`` kinds) whose ``livenessProbe`` and
        ``readinessProbe`` are identical (same handler and same timings), or that serve ports
        (``containerPort``, TCP) and have neither probe.

        Identical probes keep their handler (the app serves it; no path is invented) and only
        their timings change, and only where they are outside the profile: readiness becomes
        quick (``periodSeconds`` at most 5, ``failureThreshold`` at most 3), liveness lenient
        (``periodSeconds`` at least 10, ``failureThreshold`` at least 6). A timing left out
        counts as the Kubernetes default.

        Containers without probes get both, on the first port that tells what it speaks:
        ``httpGet`` on an HTTP-looking port (named ``http``/``web``/``http-*``, or 80, 3000,
        4000, 5000, 8000, 8008, 8080-8082, 8088, 8888) with the ``liveness_path`` and
        ``readiness_path`` options; ``grpc`` on a gRPC port (named ``grpc*``, or 50051), which
        asks the standard gRPC health service; otherwise ``tcpSocket`` on the first TCP port
        (databases, brokers, well-known non-HTTP ports: the honest check is that the port
        accepts connections). Official web server images on their own port (nginx, httpd) have
        no health route: liveness is ``tcpSocket``, readiness ``httpGet /``. New liveness probes
        check every 10 s with a 5 s timeout and restart after 6 failures; new readiness probes
        check every 5 s and take the pod out after 3.

        Reported without a fix: probes that are YAML anchors or aliases (one shared mapping
        cannot differ from itself), timings that are not integers. Left alone: init containers
        (no probes), Jobs and CronJobs (pods that run to completion), containers with only one
        of the two probes, ports that are only UDP, kustomize patches.

    Why it matters:
        Readiness answers "send me traffic?", liveness "restart me?". With identical probes a
        pod that is only busy (a slow dependency, a full queue) is restarted instead of briefly
        taken out of the Service, which turns a slowdown into an outage; with no probes at all,
        a pod receives traffic before it listens and a hung process is never restarted
        (checkov CKV_K8S_8, CKV_K8S_9).

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
                  image: example/api:1.4
                  ports:
                    - name: http
                      containerPort: 8080
                - name: cache
                  image: redis:7.4
                  ports:
                    - containerPort: 6379
                  readinessProbe:
                    exec:
                      command: ["redis-cli", "ping"]
                    periodSeconds: 10
                  livenessProbe:
                    exec:
                      command: ["redis-cli", "ping"]
                    periodSeconds: 10

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
                  image: example/api:1.4
                  ports:
                    - name: http
                      containerPort: 8080
                  livenessProbe:
                    httpGet:
                      path: /healthz
                      port: 8080
                    periodSeconds: 10
                    timeoutSeconds: 5
                    failureThreshold: 6
                  readinessProbe:
                    httpGet:
                      path: /ready
                      port: 8080
                    periodSeconds: 5
                    failureThreshold: 3
                - name: cache
                  image: redis:7.4
                  ports:
                    - containerPort: 6379
                  readinessProbe:
                    exec:
                      command: ["redis-cli", "ping"]
                    periodSeconds: 5
                  livenessProbe:
                    exec:
                      command: ["redis-cli", "ping"]
                    periodSeconds: 10
                    failureThreshold: 6

    Options:
        ``liveness_path`` (default ``"/healthz"``) and ``readiness_path`` (default ``"/ready"``):
        the paths new ``httpGet`` probes ask. Liveness should answer as long as the process can
        work (no dependency checks), readiness only when it can serve now.

    Safety:
        Unsafe: new probes act on the pod. An ``httpGet`` probe on a path the app does not
        serve fails, so the pod never becomes ready and is restarted after a minute: set the
        path options (or edit the probe) to what the app serves. A ``grpc`` probe needs the app
        to implement the gRPC health service. Changed timings only move when a pod is taken
        out of traffic (sooner) or restarted (later).
    """

    id = "hc-002"
    category = "hc"
    title = "Liveness differs from readiness"
    safety = Safety.UNSAFE
    kinds = frozenset({"k8s"})
    options = {"liveness_path": "/healthz", "readiness_path": "/ready"}
    precheck = re.compile(r"\b(?:containerPort|livenessProbe)\b")

    def check(self, doc):
        for obj, container in _probes.containers(doc, self.ctx.workspace):
            # pods that run to completion: readiness means nothing, restarts are the job's
            if obj.kind in _probes.BATCH:
                continue
            has_live = ye.get(container.node, "livenessProbe") is not None
            has_ready = ye.get(container.node, "readinessProbe") is not None
            if has_live and has_ready:
                finding = self._identical(doc, obj, container)
            elif not has_live and not has_ready:
                finding = self._missing(doc, obj, container)
            else:
                continue  # one probe: a decision this pattern does not second-guess
            if finding is not None:
                yield finding

    def _identical(self, doc, obj, container):
        live = _probes.probe(doc, obj, container, "livenessProbe")
        ready = _probes.probe(doc, obj, container, "readinessProbe")
        if live is None or ready is None:
            return None  # a null probe: none
        line = doc.line_of(container.node.start_mark.index)
        message = f"{_probes.where(obj, container)} has identical liveness and readiness probes"
        if live is False or ready is False:
            same = workloads.data_of(ye.value(container.node, "livenessProbe")) == workloads.data_of(
                ye.value(container.node, "readinessProbe"))
            if not same:
                return None
            return self.finding(doc, line, message, reason="they are a YAML anchor and its alias (or shared with other "
                                "containers): write them out separately, readiness quick and liveness lenient")
        if live.data != ready.data:
            return None
        ready_set = _clamp(ready, READINESS_AT_MOST, ceiling=True)
        live_set = _clamp(live, LIVENESS_AT_LEAST, ceiling=False)
        if ready_set is None or live_set is None:
            return self.finding(doc, line, message, reason="their timings are not integers orchfix can compare: set "
                                "readiness quick (periodSeconds 5, failureThreshold 3) and liveness lenient by hand")
        edits = _timing_edits(doc, ready, ready_set) + _timing_edits(doc, live, live_set)
        parts = [f"readiness {_describe(ready_set)}" if ready_set else "", f"liveness {_describe(live_set)}" if live_set else ""]
        return self.finding(doc, line, f"{message}: {' and '.join(p for p in parts if p)}", edits)

    def _missing(self, doc, obj, container):
        served = _tcp_ports(container)
        if not served:
            return None  # no TCP port: nothing to probe from outside (a worker, a UDP server)
        number, name = _pick(served)
        ref = images.parse_ref(container.image) if container.image else None
        info = images.lookup(ref) if ref and not ref.variable else None
        if _web_server(ref) and info is not None and info.port == number:
            # the image's own web server: no health route, but it serves /
            live = {"tcpSocket": {"port": number}}
            ready = {"httpGet": {"path": "/", "port": number}}
            how = f"tcpSocket {number} and httpGet / on {number}"
        elif _grpc(number, name):
            live = ready = {"grpc": {"port": number}}
            how = f"grpc on {number}"
        elif _http(number, name):
            live = {"httpGet": {"path": str(self.opts["liveness_path"]), "port": number}}
            ready = {"httpGet": {"path": str(self.opts["readiness_path"]), "port": number}}
            how = f"httpGet {live['httpGet']['path']} and {ready['httpGet']['path']} on {number}"
        else:
            live = ready = {"tcpSocket": {"port": number}}
            how = f"tcpSocket on {number}"
        data = {"livenessProbe": {**live, **LIVENESS}, "readinessProbe": {**ready, **READINESS}}
        line = doc.line_of(container.node.start_mark.index)
        return self.finding(doc, line, f"{_probes.where(obj, container)} serves port {number} with no probes: "
                            f"add liveness and readiness probes ({how})", [ye.add_keys(doc, container.node, data)])


def _clamp(probe: _probes.Probe, bounds: dict[str, int], ceiling: bool) -> dict[str, int] | None:
    """The timings to write so the probe keeps within ``bounds`` (ceilings when ``ceiling``, else
    floors); None when a timing is not an integer."""
    found = {}
    for key, bound in bounds.items():
        value = probe.timing(key)
        if value is None:
            return None
        if (value > bound) if ceiling else (value < bound):
            found[key] = bound
    return found


def _timing_edits(doc, probe: _probes.Probe, values: dict[str, int]) -> list[Edit]:
    style = ye.style_of(doc)
    edits, new = [], {}
    for key, value in values.items():
        found = ye.get(probe.node, key)
        if found is not None and not ye.is_null(found[1]):
            edits.append(ye.replace_value(doc, found[0], found[1], value, style))
        else:
            new[key] = value
    if new:
        edits.append(ye.add_keys(doc, probe.node, new, style))
    return edits


def _describe(values: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in values.items())


def _tcp_ports(container) -> list[tuple[int, str]]:
    """(number, name) of the container's TCP ports, in order."""
    node = container.get("ports")
    found = []
    for item in node.value if isinstance(node, SequenceNode) else []:
        if not isinstance(item, MappingNode):
            continue
        number = _probes.node_int(ye.value(item, "containerPort"))
        protocol = (ye.scalar(ye.value(item, "protocol")) or "TCP").upper()
        if number and protocol == "TCP":
            found.append((number, ye.scalar(ye.value(item, "name")) or ""))
    return found


def _pick(served: list[tuple[int, str]]) -> tuple[int, str]:
    """The port that tells what the container speaks: the first HTTP or gRPC one, else the first."""
    for number, name in served:
        if _grpc(number, name) or _http(number, name):
            return number, name
    return served[0]


def _grpc(number: int, name: str) -> bool:
    return "grpc" in name.lower() or ports.not_http(number) == "gRPC"


def _http(number: int, name: str) -> bool:
    return bool(name and _HTTP_NAME.match(name)) or (number in HTTP_PORTS and not ports.not_http(number))


def _web_server(ref) -> bool:
    """An official web server image serving its own content (nginx, httpd…)."""
    if ref is None or ref.variable or not ref.official:
        return False
    return ref.name in mounts.WEB_SERVERS
