"""ec-001: literal environment entries of a Compose service move to an env file."""
from __future__ import annotations

import posixpath
import re

from orchfix import yamledit as ye
from orchfix.transform import SideChange, Safety, Transform

from .._knowledge import compose, envfile, images, secrets
from . import _compose_env as ce


class EnvFiles(Transform):
    r"""Move a service's literal environment into an env file of its own.

    What it finds:
    A Compose service whose ``environment`` holds many literal entries (``min`` or more) or
    any secret-like one (a password, token or key by its name or its value's shape). The
    literal entries (all of them, or only the secret ones when there are fewer than ``min``)
    move to ``<service>.env`` beside the compose file, and the service reads it through
    ``env_file:`` (added, or appended after the env files it already lists, so the moved
    values keep winning over theirs). What stays inline: mode switches (``NODE_ENV``,
    ``RAILS_ENV``, ``APP_ENV``, ``*_ENV``…), entries taken from the shell (``FOO:`` / ``- FOO``),
    interpolated values (``${VAR}``: moved into an env file they would be resolved at another
    time, or not at all, depending on the Compose release), numbers and booleans whose text YAML
    readers spell differently (``1.10``, ``yes``), and values no env-file line can hold so every
    reader gets them back (see Safety). An entry already in the env file with the same value is
    only removed from the compose file; with another value it stays inline and is reported.
    Comments of a moved entry go with it. An env file that holds secrets is added to the
    folder's ``.gitignore`` and to the ``.dockerignore`` of a build context that contains it.

    The file is ``<service>.env``, not the ``.env`` beside the compose file: Compose reads
    ``.env`` to *interpolate the compose file* (``${TAG}``, ``COMPOSE_PROJECT_NAME``…), not to
    set a container's environment, and one file shared by every service would hand each
    service the others' variables. A per-service file changes neither.

    Why it matters:
    Credentials written into a compose file are committed and shared with everyone who can
    read the repository; an env file can stay out of git (commit a ``<service>.env.example``
    without the values instead) and differ per machine. Long inline environments also drown
    the settings that matter when reading the service.

    Before:
        services:
          web:
            image: node:22-bookworm-slim
            environment:
              NODE_ENV: production
              DB_HOST: db
              DB_USER: app
              # rotated every quarter
              DB_PASSWORD: s3cr3t-Pw
              SMTP_HOST: mail

    After:
        services:
          web:
            image: node:22-bookworm-slim
            environment:
              NODE_ENV: production
            env_file: web.env

    Options:
    ``min`` (default 4): how many literal entries make an environment "many".
    ``file`` (default ``"{service}.env"``): the env file's name, beside the compose file;
    ``{service}`` is the service name. A file another service reads already gets no new variables
    (they would reach that service too): name another file. ``.env`` would also make the values
    interpolation variables of the project.

    Safety:
    Unsafe: the service now needs the env file at run time; a fresh clone without it fails to
    start (the finding says so). Values are written so Compose reads them back identical:
    unquoted when they hold no ``#``, ``$``, leading quote or surrounding space; else in single
    quotes (literal in every Compose release); a value that would need escapes (a quote or a
    backslash as well) stays inline. In a stack file (read by ``docker stack deploy``, which
    takes env-file values literally, quotes included) only unquoted values move. Services
    defined through anchors, merge keys or ``extends``, or also defined in another file of the
    project, are reported, not changed.
    """

    id = "ec-001"
    category = "ec"
    title = ".env files in Compose"
    safety = Safety.UNSAFE
    kinds = frozenset({"compose"})
    options = {"min": 4, "file": "{service}.env"}
    precheck = re.compile(r"^[ \t]*environment[ \t]*:", re.M)
    example_side = {"web.env": "DB_HOST=db\nDB_USER=app\n# rotated every quarter\nDB_PASSWORD=s3cr3t-Pw\nSMTP_HOST=mail\n",
                    ".gitignore": "/web.env\n"}

    def check(self, doc):
        model = compose.load(doc)
        workspace = self.ctx.workspace
        # without services there is no environment; without a workspace no file to write
        if model is None or workspace is None:
            return
        files = compose.project(workspace, doc)
        for service in model.services.values():
            yield from self._service(doc, model, files, service)

    def _service(self, doc, model, files, service):
        found = ye.get(service.node, "environment")
        if found is None:
            return
        env_key, env_node = found
        entries = service.environment()
        literal, staying = [], {}
        for var in entries:
            value, why = envfile.container_value(var)
            if value is not None and not envfile.is_mode_switch(var.name):
                literal.append((var, value))
            else:
                staying[var.name] = "a mode switch" if value is not None else why.split(" ", 1)[1]
        secret = [(v, value) for v, value in literal if secrets.secret_reason(v.name, value)]
        if len(literal) < int(self.opts["min"]) and not secret:
            return
        wanted = literal if len(literal) >= int(self.opts["min"]) else secret
        line = env_key.start_mark.line + 1
        what = f"{service.name}: {len(wanted)} literal environment entr{'y' if len(wanted) == 1 else 'ies'}" + (
            " (secrets among them)" if secret else "")
        name = str(self.opts["file"]).format(service=service.name)
        path = ce.norm(posixpath.join(model.folder, name))
        blocked = self._blocked(doc, model, files, service, env_key, env_node, name, path)
        if blocked:
            yield self.finding(doc, line, what + " could move to an env file", reason=blocked)
            return
        workspace = self.ctx.workspace
        existing = envfile.read(workspace.read(path))
        if existing is None:
            yield self.finding(doc, line, what + f" could move to {name}",
                               reason=f"{name} exists and Compose cannot read it; fix it first")
            return
        listed = path in ce.env_files(service)
        foreign = sorted(k for k in existing if k not in {v.name for v in entries})
        if foreign and not listed:
            yield self.finding(doc, line, what + f" could move to {name}", reason=(
                f"{name} exists and sets {', '.join(foreign[:5])}, which {service.name} does not: reading it would "
                "change the service's environment; set the `file` option to another name"))
            return
        file_secrets = [k for k, e in existing.items()
                        if e.value is not None and not e.interpolated and secrets.secret_reason(k, e.value)]
        moved, kept, lines_by_node = self._split(doc, model, service, env_node, wanted, existing, name)
        others = [f"{f}:{s}" if f != doc.path else s for f, s in ce.readers(workspace, model, path)
                  if not (f == doc.path and s == service.name)]
        if lines_by_node and others:
            yield self.finding(doc, line, what + f" could move to {name}", reason=(
                f"{name} is also read by {', '.join(others)}, which would get the new variables; "
                "set the `file` option to another name"))
            return
        if not moved:
            yield self.finding(doc, line, what + f" could move to {name}", reason="; ".join(kept))
            return
        removal = ce.remove_entries(doc, service, env_key, env_node, [v.node for v in moved])
        if removal is None:
            yield self.finding(doc, line, what + f" could move to {name}",
                               reason="the environment is a flow collection with comments inside; move it by hand")
            return
        style = ye.style_of(doc)
        edits = list(removal.edits)
        if not listed:
            edits.append(ce.add_env_file(doc, service, name, style))
        lines = []
        for var in moved:
            text = lines_by_node.get(id(var.node))
            if text:
                lines.extend(removal.comments.get(id(var.node), []))
                lines.append(text)
        side = [SideChange(path, [envfile.append(workspace.read(path), lines, style.newline)])] if lines else []
        holds_secret = any(v in moved for v, _ in secret) or bool(file_secrets)
        message = f"{what} moved to {name} (env_file)"
        notes = [f"{n} ({staying[n]})" for n in staying] + kept
        if notes:
            message += "; inline: " + "; ".join(notes)
        if holds_secret:
            side.extend(ce.ignore_changes(workspace, files, path, style.newline))
            message += (f"; {name} holds secrets and is left out of git and of the build context: commit "
                        f"{name}.example without the values so a fresh clone knows what to set")
        else:
            message += f"; {name} must exist wherever the project runs"
        yield self.finding(doc, line, message, edits, side=side)

    def _split(self, doc, model, service, env_node, wanted, existing, name):
        """The wanted entries that move (with the env-file line of each that is not there yet) and
        why the others stay."""
        names = [v.name for v in service.environment()]
        ref = images.parse_ref(service.image) if service.image else None
        info = images.lookup(ref) if ref and not ref.variable else None
        swarm = compose.swarm(model)
        moved, kept, lines_by_node = [], [], {}
        for var, value in wanted:
            # a stack file may be read by docker stack deploy, which takes env-file values literally
            why = envfile.unwritable(var.name, value, stack=model.stack)
            if names.count(var.name) > 1:
                why = f"{var.name} is set twice in the environment"
            elif not _own_entry(doc, env_node, var):
                why = f"the value of {var.name} is a YAML anchor or alias"
            elif swarm and info and var.name in info.file_env and secrets.secret_reason(var.name, value):
                why = f"{var.name} can become a swarm secret ({var.name}_FILE, sw-002)"
            elif var.name in existing:
                if envfile.same(existing[var.name], value):
                    moved.append(var)  # the value is there already: only the inline entry goes
                    continue
                why = f"{var.name} is already set to another value in {name}"
            if why:
                kept.append(why)
                continue
            moved.append(var)
            lines_by_node[id(var.node)] = envfile.render(var.name, value, stack=model.stack)
        return moved, kept, lines_by_node

    def _blocked(self, doc, model, files, service, env_key, env_node, name, path) -> str | None:
        """Why the service's environment cannot move safely (None: it can)."""
        if service.shared or not compose.owned(doc, env_key, env_node):
            return ("the service or its environment is defined through a YAML anchor, merge key or extends: "
                    "its entries may live elsewhere or be shared; move them where they are written")
        others = [f.doc.path for f in files if f.doc.path != doc.path and service.name in f.services
                  and any(f.services[service.name].get(key) is not None for key in ("environment", "env_file"))]
        if others:
            return (f"{service.name} is also defined in {', '.join(others)}, whose environment merges with this one; "
                    "move the entries by hand")
        extended = [s for s in compose.references(files, service.name)
                    if any(f.services.get(s) and f.services[s].get("extends") is not None for f in files)]
        if extended:
            return f"{', '.join(extended)} extend{'s' if len(extended) == 1 else ''} {service.name} and inherit its environment"
        listed = ce.env_files(service)
        if path in listed and listed[-1] != path:
            return f"{name} is listed before other env files of {service.name}, which would override the moved values"
        return None


def _own_entry(doc, env_node, var) -> bool:
    """Whether an entry's value is written inside the environment and anchors nothing."""
    node = var.node
    if not env_node.start_mark.index <= node.start_mark.index < env_node.end_mark.index:
        return False
    if var.key is not None:
        return compose.owned(doc, var.key, node)
    return not doc.text.startswith(("&", "*"), node.start_mark.index)
