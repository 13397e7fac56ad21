"""hc-003: a long liveness initialDelaySeconds becomes a startupProbe."""
from __future__ import annotations

import math
import re

from orchfix import yamledit as ye
from orchfix.transform import Safety, Transform

from . import _probes


class StartupProbe(Transform):
    r"""Cover slow starts with a startupProbe, not a long liveness delay.

    What it finds:
        App containers of every workload kind (Pod, Deployment, StatefulSet, DaemonSet,
        ReplicaSet, ReplicationController, Job, CronJob job templates, items of ``List`` kinds)
        whose ``livenessProbe`` waits ``initialDelaySeconds`` of at least ``threshold`` seconds
        and that have no ``startupProbe``. It adds a ``startupProbe`` right after the liveness
        probe, with the same handler (``httpGet``, ``tcpSocket``, ``exec`` or ``grpc``, copied
        with its settings), the liveness probe's ``timeoutSeconds`` when it sets one, its
        ``periodSeconds`` (10 when it sets none) and a ``failureThreshold`` of
        ``ceil(delay / period)`` plus the liveness probe's own ``failureThreshold`` (default 3):
        the old delay is covered, and the container still gets the failures liveness allowed
        after it, so it is never killed earlier than before. The ``initialDelaySeconds`` line
        leaves the liveness probe, which now starts once the start is over.
        Reported without a fix: liveness probes that are YAML anchors or aliases shared with
        other containers, and probes without exactly one handler. Init containers (no probes)
        and kustomize patches (merged into a base) are left alone.

    Why it matters:
        A long initial delay holds every restart for the whole delay, even when the app is up
        in seconds, and a deadlock in the first minutes goes unnoticed until it ends; an app
        that once starts slower than the delay is killed in a loop. A startupProbe checks early
        and often, hands over to liveness the moment the app is up, and gives slow starts the
        full budget.

    Before:
        apiVersion: v1
        kind: Pod
        metadata:
          name: search
        spec:
          containers:
            - name: search
              image: example/search:2.3
              livenessProbe:
                httpGet:
                  path: /healthz
                  port: 8080
                initialDelaySeconds: 120
                periodSeconds: 10

    After:
        apiVersion: v1
        kind: Pod
        metadata:
          name: search
        spec:
          containers:
            - name: search
              image: example/search:2.3
              livenessProbe:
                httpGet:
                  path: /healthz
                  port: 8080
                periodSeconds: 10
              startupProbe:
                httpGet:
                  path: /healthz
                  port: 8080
                periodSeconds: 10
                failureThreshold: 15

    Options:
        ``threshold`` (default ``60``): the liveness ``initialDelaySeconds`` (in seconds) from
        which a start counts as slow.

    Safety:
        Safe: the container gets at least as long to start as before (the startup budget is the
        old delay plus the failures liveness allowed after it), and liveness checks it as before
        once it is up; it is only restarted sooner when it dies after starting, which is the
        point.
    """

    id = "hc-003"
    category = "hc"
    title = "startupProbe for slow starts"
    safety = Safety.SAFE
    kinds = frozenset({"k8s"})
    options = {"threshold": 60}
    precheck = re.compile(r"\binitialDelaySeconds\b")

    def check(self, doc):
        threshold = int(self.opts.get("threshold", 60))
        for obj, container in _probes.containers(doc, self.ctx.workspace):
            # a startup probe already guards the start (whatever its budget: a decision)
            if ye.get(container.node, "startupProbe") is not None:
                continue
            live = _probes.probe(doc, obj, container, "livenessProbe")
            delay = _probes.node_int(ye.value(ye.value(container.node, "livenessProbe"), "initialDelaySeconds"))
            if delay is None or delay < threshold or live is None:
                continue
            line = doc.line_of(container.node.start_mark.index)
            message = f"{_probes.where(obj, container)}: liveness waits {delay}s before its first check"
            if live is False:
                yield self.finding(doc, line, message, reason="its livenessProbe is a YAML anchor or alias shared with "
                                   "other containers: add a startupProbe and remove the delay where it is defined")
                continue
            handler = live.handler
            if handler is None:
                yield self.finding(doc, line, message, reason="its livenessProbe has no single handler to copy")
                continue
            period = live.timing("periodSeconds") or _probes.DEFAULTS["periodSeconds"]
            failures = live.timing("failureThreshold") or _probes.DEFAULTS["failureThreshold"]
            budget = math.ceil(delay / period) + failures
            startup = {handler[0]: handler[1]}
            if isinstance(live.data.get("timeoutSeconds"), int):
                startup["timeoutSeconds"] = live.data["timeoutSeconds"]
            startup.update(periodSeconds=period, failureThreshold=budget)
            style = ye.style_of(doc)
            edits = [ye.delete_key(doc, live.node, "initialDelaySeconds"),
                     ye.insert_key(doc, container.node, "startupProbe", startup, after="livenessProbe", style=style)]
            yield self.finding(doc, line, f"{message}: a startupProbe ({budget} × {period}s) covers the start instead",
                               edits)
