from __future__ import annotations

import re

from yaml.nodes import MappingNode

from orchfix import yamledit as ye
from orchfix.transform import Safety, Transform
from orchfix.transforms.nw import _graph


class NetworkIsolation(Transform):
    r"""Put public services and data services on separate networks.

    What it finds:
        Compose projects with three or more services, all on the default network, where a
        published (front) service could reach a database, cache or broker (by the image
        knowledge) directly although it does not use it. Who talks to whom comes from
        ``depends_on``, ``links`` and host names in environment values, env files and command
        URLs, across the project (override file, ``include``, ``extends``).

    Why it matters:
        On one network every container reaches every other: a compromised front end (the part
        the internet talks to) can connect straight to the database. With a ``frontend`` and a
        ``backend`` network, only the services that need the data reach it.

    Before:
        services:
          proxy:
            image: nginx:1.27
            ports:
              - "80:80"
            depends_on:
              - api
          api:
            build: ./api
            environment:
              DATABASE_URL: postgres://app:secret@db:5432/app
          db:
            image: postgres:17

    After:
        services:
          proxy:
            image: nginx:1.27
            ports:
              - "80:80"
            depends_on:
              - api
            networks:
              - frontend
          api:
            build: ./api
            environment:
              DATABASE_URL: postgres://app:secret@db:5432/app
            networks:
              - frontend
              - backend
          db:
            image: postgres:17
            networks:
              - backend
        networks:
          frontend: {}
          backend: {}

    Options:
        ``frontend`` (default ``"frontend"``) and ``backend`` (default ``"backend"``): the names of
        the two networks.

    Safety:
        Unsafe: connections orchfix cannot see (host names in mounted config files such as an
        nginx.conf ``proxy_pass``, names computed at run time) break when the two ends end up on
        different networks. Data services go on the backend network; published services on the
        frontend one (and on both when they reach a data service themselves); database admin
        tools on the backend (and the frontend when published); every other service on the
        networks of the services it talks to and that talk to it, and on both when nothing is
        known of it. Files whose services already choose networks (or ``network_mode``) are left
        alone. Reported instead: projects with a data service no service is known to reach (its
        clients are hidden in code or config files), services defined in other files, a configured
        ``default`` network, services shared through anchors, and network names already taken.
    """

    id = "dc-004"
    category = "dc"
    title = "Explicit network isolation"
    safety = Safety.UNSAFE
    kinds = frozenset({"compose"})
    options = {"frontend": "frontend", "backend": "backend"}
    precheck = re.compile(r"\bservices\s*:")

    def check(self, doc):
        graph = _graph.build(self.ctx.workspace, doc)
        if graph is None or graph.own is None or not graph.own.services:
            return
        members = graph.services
        if len(members) < 3:
            return  # two services talk to each other anyway
        if any(m.networks or m.network_mode for m in members.values()):
            return  # the project chooses its networks already
        front, back = str(self.opts["frontend"]), str(self.opts["backend"])
        nets = assign(graph, front, back)
        data = sorted(n for n, m in members.items() if m.data)
        exposed = sorted(n for n, m in members.items() if m.published and not m.data and back not in nets[n])
        if not data or not exposed:
            return  # no published service that could reach a data service it does not use
        line = doc.line_of(ye.get(graph.own.root, "services")[0].start_mark.index)
        message = (f"{len(members)} services share the default network: {', '.join(exposed)} (published) could "
                   f"reach {', '.join(data)} directly")
        reason = self._blocked(graph, front, back, data)
        if reason:
            yield self.finding(doc, line, message, reason=reason)
            return
        style = ye.style_of(doc)
        edits = [ye.set_key(doc, service.node, "networks", [n for n in (front, back) if n in nets[name]], style)
                 for name, service in graph.own.services.items()]
        top = graph.own.top("networks")
        if top is None:
            edits.append(ye.set_key(doc, graph.own.root, "networks", {front: {}, back: {}}, style))
        elif isinstance(top, MappingNode) and top.value:
            edits += [ye.set_key(doc, top, front, {}, style), ye.set_key(doc, top, back, {}, style)]
        else:
            edits.append(ye.replace_value(doc, ye.get(graph.own.root, "networks")[0], top, {front: {}, back: {}}, style))
        yield self.finding(doc, line, message + f": separate them with {front}/{back} networks", _graph.merge_inserts(edits))

    def _blocked(self, graph, front, back, data) -> str | None:
        """Why the networks cannot be added here safely, or None."""
        unused = [d for d in data if not graph.users(d)]
        if unused:
            return (f"nothing in the project is known to reach {', '.join(unused)}: its clients name it in code or "
                    "config files orchfix cannot read, so their networks are unknown; place the services yourself")
        elsewhere = graph.elsewhere()
        if elsewhere:
            return (f"{', '.join(sorted(elsewhere))} are defined in other files of the project: add the networks "
                    "to every file's services together")
        for compose_file in graph.files:
            top = compose_file.top("networks")
            if ye.get(top, "default") is not None:
                return "the project configures its default network (networks.default): moving services off it " \
                       "changes what that configuration applies to"
            taken = [n for n in (front, back) if ye.get(top, n) is not None]
            if taken:
                return f"a network named {', '.join(taken)} is defined already: choose other names (options frontend/backend)"
        shared = sorted(s.name for s in graph.own.services.values() if _graph.reused(s))
        if shared:
            return f"{', '.join(shared)} share one definition through an anchor: give each its networks yourself"
        return None


def assign(graph, front: str, back: str) -> dict[str, set[str]]:
    """The networks of every service: data services on ``back``, published ones on ``front``,
    admin tools on ``back`` (and ``front`` when published), the rest on the networks of the services
    they talk with, both when nothing is known; then every pair that talks shares a network."""
    members = graph.services
    nets: dict[str, set[str]] = {n: set() for n in members}
    fixed = set()
    for name, member in members.items():
        if member.data:
            nets[name] = {back}
        elif member.role == "admin":
            nets[name] = {back, front} if member.published else {back}
        elif member.published:
            nets[name] = {front}
        else:
            continue
        fixed.add(name)
    edges = sorted((a, b) for a, m in members.items() for b in m.talks)
    changed = True
    while changed:
        changed = False
        for a, b in edges:
            if nets[a] & nets[b] or not (nets[a] or nets[b]):
                continue
            # the service that is free to move joins the other's networks; between two placed
            # services, the caller joins the network of the one it calls
            gains, source = (b, a) if b not in fixed and a in fixed else (a, b)
            if not nets[source]:
                gains, source = source, gains
            before = set(nets[gains])
            nets[gains] |= nets[source]
            changed = changed or nets[gains] != before
        if not changed:
            unknown = [n for n in members if not nets[n]]
            for name in unknown[:1]:  # one at a time: its neighbours may place the rest
                nets[name] = {front, back}
                changed = True
    return nets

