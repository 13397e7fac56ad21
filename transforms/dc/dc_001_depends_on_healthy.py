from __future__ import annotations

import json
import re
from dataclasses import dataclass

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.suppress import suppressed
from orchfix.text import Edit
from orchfix.transform import Transform
from orchfix.transforms._knowledge import compose, compose_view as cv, stateful

_STARTED, _HEALTHY = "service_started", "service_healthy"


@dataclass
class Health:
    """What a dependency offers to wait for: ``state`` is "has" (a healthcheck in the compose file
    or its image), "can" (one can be written: ``command``), "cannot" (a known image without an
    unattended probe: ``reason``), "disabled" or "unknown"."""

    state: str
    command: str | None = None
    reason: str | None = None
    #: the definition a new healthcheck goes in, and the healthcheck mapping to complete (no test)
    service: compose.Service | None = None
    partial: MappingNode | None = None
    kind: str | None = None


@dataclass
class Entry:
    """One dependency of a depends_on value: list item or map entry (with its condition)."""

    name: str
    node: Node
    key: ScalarNode | None = None
    condition: str | None = None


def _entries(node: Node | None) -> list[Entry]:
    if isinstance(node, SequenceNode):
        return [Entry(n.value, n) for n in node.value if isinstance(n, ScalarNode) and n.value]
    if isinstance(node, MappingNode):
        found = []
        for k, v in node.value:
            if isinstance(k, ScalarNode) and k.value != "<<":
                found.append(Entry(k.value, v, k, ye.scalar(ye.value(v, "condition")) if isinstance(v, MappingNode) else None))
        return found
    return []


def _test_disabled(test: Node | None) -> bool:
    first = ye.scalar(test) if isinstance(test, ScalarNode) else ye.scalar(test.value[0]) if isinstance(test, SequenceNode) and test.value else None
    return (first or "").upper() == "NONE"


class DependsOnHealthy(Transform):
    r"""Make services wait until the databases and brokers they depend on are ready, not just started.

    What it finds:
        ``depends_on`` entries (short list or long map, in any file of the project) that wait
        only for the dependency to start (a list entry, ``condition: service_started`` or no
        condition) while the dependency has a healthcheck (in the compose file or its image's
        HEALTHCHECK) or can be given one: PostgreSQL, MySQL, MariaDB, MongoDB, Redis, RabbitMQ and
        Elasticsearch images (also behind ``${VAR:-default}``, ``.env`` values, or a ``build:``
        whose Dockerfile starts FROM one). The dependency gets a healthcheck from the image
        knowledge, using the service's own settings (``pg_isready -U <POSTGRES_USER>``: its
        literal value, else ``$${POSTGRES_USER:-postgres}`` from the container's environment), and
        the entry becomes ``condition: service_healthy``; ``restart``/``required`` and the other
        entries stay (a converted list writes ``condition: service_started`` for them). A
        dependency defined in another file of the project (``compose.override.yaml``) gets its
        healthcheck when that file is fixed, in the same run. Reported without a fix: a
        dependency whose image has no unattended probe (Redis with ``requirepass``,
        Elasticsearch 8+ with security on, a server moved to another port).

    Why it matters:
        ``depends_on`` with a list only orders container starts: the app starts while the
        database is still initialising, fails its first connections and crashes or retries. With
        a healthcheck and ``service_healthy``, Compose starts the app once the database answers.

    Before:
        services:
          web:
            image: nginx:1.27
            depends_on:
              - db
          db:
            image: postgres:17
            environment:
              POSTGRES_USER: app
              POSTGRES_PASSWORD: example

    After:
        services:
          web:
            image: nginx:1.27
            depends_on:
              db:
                condition: service_healthy
          db:
            image: postgres:17
            environment:
              POSTGRES_USER: app
              POSTGRES_PASSWORD: example
            healthcheck:
              test: ["CMD-SHELL", "pg_isready -U app"]
              interval: 10s
              timeout: 5s
              retries: 5
              start_period: 30s

    Options:
        ``interval`` (default ``10s``), ``timeout`` (``5s``), ``retries`` (``5``) and
        ``start_period`` (``30s``) of the healthchecks it writes.

    Safety:
        Safe: the services start in the same order; the dependent one now starts only when its
        dependency reports healthy (and Compose reports an error instead of starting it when the
        dependency never becomes healthy). Dependencies whose image is unknown keep
        ``service_started``: a list is left as it is unless one of its entries can wait for health.
    """

    id = "dc-001"
    category = "dc"
    title = "depends_on waits for health"
    kinds = frozenset({"compose"})
    options = {"interval": "10s", "timeout": "5s", "retries": 5, "start_period": "30s"}
    precheck = re.compile(r"\b(?:depends_on|image|build|extends)\s*:")

    # --- what a dependency offers ----------------------------------------------------------------

    def _health(self, view: cv.View) -> Health:
        workspace = self.ctx.workspace
        found = view.lookup("healthcheck")
        partial = None
        if found is not None:
            value = found[1]
            if isinstance(value, MappingNode):
                if (ye.scalar(cv.lookup(value, "disable")[1]) if cv.lookup(value, "disable") else "").lower() == "true":
                    return Health("disabled")
                test = cv.lookup(value, "test")
                if test is not None:
                    return Health("disabled") if _test_disabled(test[1]) else Health("has")
                partial = value
            elif not ye.is_null(value):
                return Health("unknown")
        if view.problem:
            return Health("unknown")
        image = cv.image_of(workspace, view)
        if image.built:
            doc, stage = image.built
            checks = [i for i in cv.chain(doc, stage) if i.keyword == "HEALTHCHECK"]
            if checks:
                return Health("disabled") if checks[-1].args.strip().upper().startswith("NONE") else Health("has")
        st = stateful.of(image.ref)
        if st is None:
            return Health("unknown")
        env = {**image.env, **view.environment()}
        command, reason = stateful.health(st, env, view.command())
        if command is None:
            return Health("cannot", reason=reason, kind=st.kind)
        # the test completes a healthcheck mapping where it is written, else a new one goes with the image
        service = found[3] if partial is not None else view.primary
        if service not in view.defs:
            return Health("cannot", kind=st.kind, reason=(
                f"its healthcheck is written in {service.file.doc.path}, which it extends; add the test there"))
        if partial is not None and cv.shared(service, partial):
            return Health("cannot", reason="its healthcheck mapping is shared with other services through an anchor", kind=st.kind)
        merged = {o for o in cv.shared(service, service.node) if service.file.services[o].node is not service.node}
        if merged:
            return Health("cannot", kind=st.kind, reason=(
                f"its definition is merged into {', '.join(sorted(merged))} (<<: *anchor), which would inherit the healthcheck; add it by hand"))
        return Health("can", command, service=service, partial=partial, kind=st.kind)

    def _healthcheck(self, command: str) -> dict:
        test = ye.Raw("[" + ", ".join(json.dumps(s, ensure_ascii=False) for s in ("CMD-SHELL", command)) + "]")
        opts = self.opts
        data = {"test": test}
        for key in ("interval", "timeout", "retries", "start_period"):
            if opts.get(key) not in (None, ""):
                data[key] = opts[key]
        return data

    # --- the check --------------------------------------------------------------------------------

    def check(self, doc):
        workspace = self.ctx.workspace
        views = cv.views(workspace, doc)
        file = cv.own_file(workspace, doc)
        if file is None:
            return
        health: dict[str, Health] = {}

        def health_of(name: str) -> Health:
            if name not in health:
                health[name] = self._health(views[name]) if name in views else Health("unknown")
            return health[name]

        # who waits for whom, across the project's files
        wanted: dict[str, list[str]] = {}
        for view in views.values():
            for service in view.defs:
                hit = cv.lookup(service.node, "depends_on")
                for entry in _entries(hit[1] if hit else None):
                    if entry.condition in (None, _STARTED, _HEALTHY):
                        wanted.setdefault(entry.name, []).append(view.name)

        # healthchecks this file gives its dependencies
        giving: set[str] = set()
        adds = []
        for name in wanted:
            h = health_of(name)
            if h.state != "can":
                continue
            line = h.service.key.start_mark.line + 1
            if h.service.file.doc is not doc:
                # another file of the project gets it when it is fixed, in the same run
                if not suppressed(h.service.file.doc.text, line, self.id):
                    giving.add(name)
                continue
            if suppressed(doc.text, line, self.id):
                continue
            giving.add(name)
            if h.partial is not None:
                edit = ye.set_key(doc, h.partial, "test", self._healthcheck(h.command)["test"])
            else:
                edit = ye.set_key(doc, h.service.node, "healthcheck", self._healthcheck(h.command))
            dependents = ", ".join(sorted(set(wanted[name])))
            adds.append(self.finding(doc, line, f"{name} ({h.kind}) has no healthcheck, so {dependents} cannot wait for it "
                                                f"to be ready: check it with `{h.command}`", [edit]))
        yield from adds

        seen: set[int] = set()
        for name, service in file.services.items():
            hit = cv.lookup(service.node, "depends_on")
            if hit is None or id(hit[1]) in seen:
                continue
            seen.add(id(hit[1]))
            key, value = hit[0], hit[1]
            entries = _entries(value)
            ready = [e for e in entries if e.condition in (None, _STARTED)
                     and (health_of(e.name).state == "has" or e.name in giving)]
            for e in entries:
                h = health_of(e.name)
                if e.condition in (None, _STARTED) and h.state == "cannot":
                    yield self.finding(doc, e.node.start_mark.line + 1, f"{name} waits only for {e.name} ({h.kind}) to start",
                                       reason=h.reason)
            if not ready:
                continue
            edits = self._convert(doc, key, value, entries, {e.name for e in ready}, hit[2].flow_style)
            waits = ", ".join(e.name for e in ready)
            yield self.finding(doc, key.start_mark.line + 1,
                               f"{name} waits only for {waits} to start, not to be ready: depend on them with condition: service_healthy",
                               edits)

    # --- edits --------------------------------------------------------------------------------------

    def _convert(self, doc, key: ScalarNode, value: Node, entries: list[Entry], ready: set[str], in_flow: bool) -> list[Edit]:
        style = ye.style_of(doc)
        if isinstance(value, MappingNode):
            edits = []
            for e in entries:
                if e.name not in ready:
                    continue
                if ye.is_null(e.node) and value.flow_style:
                    # `{db: }` / `{db}` / `{db: null}`: the entry rewritten in flow style
                    key_text = doc.text[e.key.start_mark.index:e.key.end_mark.index]
                    end = max(e.node.end_mark.index, e.key.end_mark.index)
                    edits.append(Edit(e.key.start_mark.index, end, f"{key_text}: {{condition: {_HEALTHY}}}"))
                elif ye.is_null(e.node):
                    edits.append(ye.replace_value(doc, e.key, e.node, {"condition": _HEALTHY}, style))
                elif isinstance(e.node, MappingNode):
                    found = ye.get(e.node, "condition")
                    if found:
                        cond = found[1]
                        quote = doc.text[cond.start_mark.index] if cond.style in ("'", '"') else ""
                        edits.append(Edit(cond.start_mark.index, cond.end_mark.index, f"{quote}{_HEALTHY}{quote}"))
                    else:
                        edits.append(ye.set_key(doc, e.node, "condition", _HEALTHY, style))
            return edits
        data = {e.name: {"condition": _HEALTHY if e.name in ready else _STARTED} for e in entries}
        if in_flow:
            # inside a flow mapping (`web: {depends_on: [db]}`) only flow text fits
            return [Edit(value.start_mark.index, value.end_mark.index, ye.render_flow(data))]
        if value.flow_style or len(entries) != len(value.value) or any(n.start_mark.line == key.start_mark.line for n in value.value):
            return [ye.replace_value(doc, key, value, data, style)]
        # a block list: each item line becomes its map entry, comments between items stay
        pad = " " * (key.start_mark.column + style.indent)
        inner = pad + " " * style.indent
        nl = style.newline
        edits = []
        for e in entries:
            item = e.node
            start = doc.text.rfind("\n", 0, item.start_mark.index) + 1
            end = ye.content_end(doc, item)
            written = doc.text[item.start_mark.index:item.end_mark.index]
            rest = doc.text[item.end_mark.index:end].rstrip("\r\n")
            comment = re.match(r"\s*(#.*)?$", rest)
            tail = ("  " + comment.group(1)) if comment and comment.group(1) else ""
            line_end = nl if doc.text[end - 1:end] == "\n" else ""
            condition = _HEALTHY if e.name in ready else _STARTED
            edits.append(Edit(start, end, f"{pad}{written}:{tail}{nl}{inner}condition: {condition}{line_end}"))
        return edits
