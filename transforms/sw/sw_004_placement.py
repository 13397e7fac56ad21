"""sw-004: stateful swarm services are pinned to the nodes that hold their data."""
from __future__ import annotations

import re

from orchfix import yamledit as ye
from orchfix.transform import Safety, Transform

from .._knowledge import compose
from . import _deploy


class Placement(Transform):
    r"""Give stateful swarm services placement constraints.

    What it finds:
    A service of a stack file that keeps state on its node (an official image with a data
    directory such as postgres, mysql, mongo, redis; or a named volume) and has a ``deploy``
    section without ``placement``. It adds ``placement.constraints`` (default
    ``node.role == manager``), and ``placement.preferences`` spread over node labels only when
    the ``spread`` option names some. Only swarm stacks are read: files named so
    (``docker-stack.yml``) or whose deploy sections use what only swarm reads (``placement``,
    ``update_config``, ``mode: global``…); ``replicas``, ``resources`` and ``restart_policy`` are
    docker compose settings too.

    Why it matters:
    A swarm task may be rescheduled to any node, and a named volume is local to the node it was
    created on: a database that moves comes back with an empty volume on the new node. A
    constraint keeps it where its data is (on a single-manager swarm, ``node.role == manager``
    is one known node; with several, constrain on a node label instead, see Options).

    Before:
        services:
          web:
            image: example/web:1.4
            deploy:
              mode: global
          db:
            image: postgres:17-bookworm
            volumes:
              - db-data:/var/lib/postgresql/data
            deploy:
              replicas: 1
        volumes:
          db-data:

    After:
        services:
          web:
            image: example/web:1.4
            deploy:
              mode: global
          db:
            image: postgres:17-bookworm
            volumes:
              - db-data:/var/lib/postgresql/data
            deploy:
              replicas: 1
              placement:
                constraints:
                  - node.role == manager
        volumes:
          db-data:

    Options:
    ``constraints`` (default ``["node.role == manager"]``): the constraints to add, e.g.
    ``["node.labels.db == true"]`` on a swarm with several managers.
    ``spread`` (default ``[]``): node labels to spread tasks over, written as
    ``preferences: [{spread: <label>}]`` (e.g. ``["node.labels.zone"]``); none by default, since
    spreading a single stateful task has no effect and a label must exist on the nodes.

    Safety:
    Unsafe: it changes where swarm schedules the service; a constraint no node satisfies leaves
    the service pending. Services defined through YAML anchors or merge keys, or whose deploy
    section is shared through one, are reported.
    """

    id = "sw-004"
    category = "sw"
    title = "Placement constraints"
    safety = Safety.UNSAFE
    kinds = frozenset({"compose"})
    options = {"constraints": ["node.role == manager"], "spread": []}
    precheck = re.compile(r"^[ \t]*deploy[ \t]*:", re.M)

    def check(self, doc):
        model = compose.load(doc)
        # not a compose file with services
        if model is None:
            return
        style = None
        for deploy in _deploy.deploys(model):
            service = deploy.service
            # placement chosen already (constraints or preferences): the user's
            if ye.get(deploy.node, "placement") is not None:
                continue
            why = _deploy.stateful(service)
            # a stateless service may run anywhere
            if why is None:
                continue
            line = deploy.key.start_mark.line + 1
            constraints = [str(c) for c in self.opts["constraints"] or []]
            spread = [str(s) for s in self.opts["spread"] or []]
            message = f"{service.name} keeps state ({why}) but may be scheduled on any node"
            if not constraints and not spread:
                yield self.finding(doc, line, message, reason="the `constraints` and `spread` options are both empty; "
                                   "set one to the node(s) that hold the data")
                continue
            if not deploy.editable:
                yield self.finding(doc, line, message, reason="the service or its deploy section is defined through a YAML "
                                   "anchor or merge key; add placement where it is written")
                continue
            data: dict = {}
            if constraints:
                data["constraints"] = constraints
            if spread:
                data["preferences"] = [{"spread": label} for label in spread]
            style = style or ye.style_of(doc)
            message += ": placement " + ", ".join(constraints + [f"spread over {s}" for s in spread]) + " added"
            yield self.finding(doc, line, message, [_deploy.add(doc, deploy, "placement", data, style)])
