from __future__ import annotations

import re

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.text import Edit
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import images

from . import _graph
from ._graph import split_port


#: container ports of debuggers (node --inspect, JDWP, debugpy, delve): a developer's tools on the
#: host attach to them, so they stay published
DEBUG_PORTS = frozenset({"9229", "9230", "5005", "5678", "2345"})


class ExposeNotPorts(Transform):
    r"""Expose, don't publish, the ports of services only other services reach.

    What it finds:
        A Compose service that publishes ports (``ports:``, short or long syntax, bound to an
        address or not) although only other services of the project reach it, while a front
        service is published: the service is reached by others (``depends_on``, ``links``, or its
        name as a host in their environment, env files or command URLs) and is either a data
        service (database, cache, broker by the image knowledge) or sits behind a published
        service; a front is a published service nothing else reaches. The whole project counts:
        the override file, files named by ``include``, ``extends`` bases; a user or a front with a
        ``profiles`` entry counts only when it runs whenever the service does. Database admin
        tools (pgadmin, adminer …) are used by people, never changed.

    Why it matters:
        Services of one project reach each other on their network by name; publishing a port
        of an internal service only opens it on the host (and, without a host address, to the
        network), bypassing the front that is meant to be the only way in. ``expose`` documents
        the port for the other services without publishing it.

    Before:
        services:
          web:
            image: nginx:1.27
            ports:
              - "80:80"
            depends_on:
              - api
          api:
            build: ./api
            environment:
              DATABASE_URL: postgres://app:secret@db:5432/app
            ports:
              - "8000:8000"
          db:
            image: postgres:17
            ports:
              - "5432:5432"

    After:
        services:
          web:
            image: nginx:1.27
            ports:
              - "80:80"
            depends_on:
              - api
          api:
            build: ./api
            environment:
              DATABASE_URL: postgres://app:secret@db:5432/app
            expose:
              - "8000"
          db:
            image: postgres:17
            expose:
              - "5432"

    Options:
        None.

    Safety:
        Unsafe: whoever reached the port from the host or the network (a developer's database
        client, a browser on an API port, a service in another project) loses access, and
        connections through config files orchfix cannot read are not seen. ``ports`` becomes
        ``expose`` in place, with the container ports (protocol kept, duplicates merged into an
        existing ``expose`` list), items quoted as the ports were. Debugger ports (9229, 9230,
        5005, 5678, 2345) stay published: a developer's tools attach to them from the host.
        Reported instead: services
        shared through anchors, extended by other services or inheriting ports through
        ``extends``, and projects where a service runs on the host network or reaches others
        through ``host.docker.internal``. Precedence over nw-002: this transform removes the ports
        whether or not nw-002 bound them to 127.0.0.1 (an address binding is still a
        publication), so running both converges on ``expose`` in either order.
    """

    id = "nw-003"
    category = "nw"
    title = "expose, not ports"
    safety = Safety.UNSAFE
    kinds = frozenset({"compose"})
    options: dict = {}
    precheck = re.compile(r"\bports\s*:")

    def check(self, doc):
        graph = _graph.build(self.ctx.workspace, doc)
        if graph is None or graph.own is None:
            return
        members = graph.services
        via_host = [n for n, m in members.items() if m.network_mode == "host"
                    or any("host.docker.internal" in value for _, value in m.values)]
        for service in graph.own.services.values():
            ports = service.get("ports")
            if not isinstance(ports, SequenceNode) or not ports.value:
                continue  # publishes nothing here (ports an anchor merges in are edited where they live)
            if service.node.start_mark.index < service.key.start_mark.index:
                continue  # an alias of another service: reported there
            member = members[service.name]
            if member.role in images.HUMAN_ROLES or member.network_mode == "host":
                continue  # people use admin tools and dev tools' UIs; host networking publishes nothing
            users = graph.users(service.name, active=True)
            if not users:
                continue
            if not member.data and not any(members[u].published for u in users):
                continue  # only unpublished services reach it: it may be a front itself
            fronts = sorted(n for n, m in members.items() if n != service.name and m.published and not m.data
                            and m.role not in images.HUMAN_ROLES and not graph.users(n) and _graph.together(m, member))
            fronts = fronts or sorted(n for n, m in members.items() if n != service.name and m.published
                                      and m.role in images.HUMAN_ROLES and not graph.users(n) and _graph.together(m, member))
            if not fronts:
                continue
            moved = [i for i in ports.value if _target(i) not in DEBUG_PORTS]
            if not moved:
                continue  # only debugger ports: the developer's tools reach them from the host
            line = doc.line_of(ye.get(service.node, "ports")[0].start_mark.index)
            message = (f"{service.name} publishes ports although only {', '.join(sorted(users))} reach it "
                       f"({', '.join(fronts)} is the published front)")
            reason = self._blocked(graph, service, member, via_host)
            items = _expose_items(doc, moved)
            if reason is None and items is None:
                reason = "a port mapping this model cannot read (a variable holding the whole mapping?): " \
                         "replace ports by expose yourself"
            if reason:
                yield self.finding(doc, line, message, reason=reason)
                continue
            edits = _to_expose(doc, service, items, len(moved) < len(ports.value))
            if edits is None:
                yield self.finding(doc, line, message, reason="its expose entry (or its service) is not a block "
                                   "this transform extends: move the ports to expose yourself")
                continue
            yield self.finding(doc, line, message + ": expose them instead", edits)

    def _blocked(self, graph, service, member, via_host) -> str | None:
        """Why the ports cannot be replaced safely here, or None."""
        if _graph.reused(service):
            return "the service is defined through an anchor other services share: an edit here changes them too"
        extending = graph.extended_by(service.name)
        if extending:
            return f"{', '.join(sorted(extending))} extend it and would change with it: replace the ports in each"
        if member.inherits_ports:
            return f"it extends {member.extends or 'a service of another file'}, whose ports it inherits: replace them there"
        if via_host:
            return (f"{', '.join(sorted(via_host))} may reach it through the host (network_mode: host or "
                    "host.docker.internal), which needs the published port")
        return None


def _scalar_text(doc, text: str, style: str | None, flow: bool) -> str:
    """A port value written plain when that loads back as it (a string or its number), else quoted."""
    if style in ("'", '"'):
        return f"{style}{text}{style}"
    try:
        loaded = yaml.safe_load(f"[{text}]" if flow else f"- {text}")
    except yaml.YAMLError:
        loaded = None
    if loaded in ([text], [int(text)] if text.isdigit() else [text]):
        return text
    return f'"{text}"'


def _key(text: str) -> tuple[str, str]:
    target, _, protocol = text.partition("/")
    return target.strip(), (protocol or "tcp").strip().lower()


def _target(item) -> str | None:
    """The container port of a ports item (without protocol), None when unreadable."""
    if isinstance(item, MappingNode):
        return ye.scalar(ye.value(item, "target"))
    spec = split_port(item.value) if isinstance(item, ScalarNode) else None
    return spec.target if spec else None


def _expose_items(doc, ports: list) -> list[tuple[tuple[str, str], str, str | None]] | None:
    """(key, text, quote style) of the container port of every item, without duplicates;
    None when an item is not a port this model reads."""
    found: dict[tuple[str, str], tuple[str, str | None]] = {}
    for item in ports:
        if isinstance(item, MappingNode):
            target = ye.scalar(ye.value(item, "target"))
            protocol = ye.scalar(ye.value(item, "protocol"))
            if not target:
                return None
            text = target + (f"/{protocol}" if protocol and protocol.lower() != "tcp" else "")
            style = ye.value(item, "target").style
        elif isinstance(item, ScalarNode):
            spec = split_port(item.value)
            if spec is None or (spec.published is None and "$" in spec.target and ":" not in item.value):
                return None
            text, style = spec.target + spec.protocol, item.style
        else:
            return None
        found.setdefault(_key(text), (text, style if style in ("'", '"') else None))
    return [(k, text, style) for k, (text, style) in found.items()]


def _lines(doc, column: int, items, newline: str) -> str:
    return "".join(f"{' ' * column}- {_scalar_text(doc, t, s, False)}{newline}" for _, t, s in items)


def _to_expose(doc, service, items, keep: bool) -> list[Edit] | None:
    """Edits that move ``items`` to ``expose``: the whole ``ports`` entry becomes ``expose`` in
    place, or (``keep``: debugger ports stay) the moved items leave ``ports``."""
    text = doc.text
    newline = ye.style_of(doc).newline
    key, ports = ye.get(service.node, "ports")
    existing = ye.get(service.node, "expose")
    if existing is None and not keep:
        # the ports entry becomes the expose entry, in place
        if ports.flow_style:
            body = ", ".join(_scalar_text(doc, t, s, True) for _, t, s in items)
            return [Edit(key.start_mark.index, ports.end_mark.index,
                         "expose" + text[key.end_mark.index:ports.start_mark.index] + f"[{body}]")]
        head_end = text.find("\n", key.end_mark.index) + 1
        lines = _lines(doc, ports.start_mark.column, items, newline)
        end = ye.content_end(doc, ports)
        if not text.endswith("\n", 0, end):
            lines = lines[:-len(newline)]
        return [Edit(key.start_mark.index, end, "expose" + text[key.end_mark.index:head_end] + lines)]
    edits = [ye.delete_key(doc, service.node, "ports")] if not keep else _remove_moved(doc, ports)
    if edits is None:
        return None
    if existing is None:
        if service.node.flow_style or ports.flow_style:
            return None
        at = ye.content_end(doc, service.node)
        entry = " " * key.start_mark.column + "expose:" + newline + _lines(doc, ports.start_mark.column, items, newline)
        if not text.endswith("\n", 0, at):
            entry = newline + entry[:-len(newline)]
        return edits + [Edit.insert(at, entry)]
    expose = existing[1]
    if not isinstance(expose, SequenceNode):
        return None
    have = {_key(str(ye.scalar(n))) for n in expose.value if ye.scalar(n) is not None}
    missing = [(k, t, s) for k, t, s in items if k not in have]
    if not missing:
        return edits
    styles = [n.style for n in expose.value if isinstance(n, ScalarNode)]
    if styles:  # new items are quoted as the list's own
        missing = [(k, t, styles[0] if styles[0] in ("'", '"') else None) for k, t, _ in missing]
    if expose.flow_style or not expose.value:
        close = expose.end_mark.index - 1
        if text[close] != "]":
            return None
        body = ", ".join(_scalar_text(doc, t, s, True) for _, t, s in missing)
        return edits + [Edit.insert(close, (", " if expose.value else "") + body)]
    at = ye.content_end(doc, expose)
    lines = _lines(doc, expose.start_mark.column, missing, newline)
    if not text.endswith("\n", 0, at):
        lines = newline + lines[:-len(newline)]
    return edits + [Edit.insert(at, lines)]


def _remove_moved(doc, ports: SequenceNode) -> list[Edit] | None:
    """Edits removing the items that move to ``expose`` (debugger ports stay)."""
    kept = [i for i in ports.value if _target(i) in DEBUG_PORTS]
    if ports.flow_style:
        body = ", ".join(doc.text[i.start_mark.index:i.end_mark.index] for i in kept)
        return [Edit(ports.start_mark.index, ports.end_mark.index, f"[{body}]")]
    return [ye.remove_item(doc, ports, n) for n, i in enumerate(ports.value) if i not in kept]
