"""sw-002: plain-text credentials in stack files become external swarm secrets."""
from __future__ import annotations

import re

from yaml.nodes import MappingNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.text import Edit
from orchfix.transform import Safety, Transform

from .._knowledge import compose, images, secrets

_OLD_FORMAT = re.compile(r"(?:[12](?:\.\d+)?|3(?:\.0)?)\Z")


class SwarmSecrets(Transform):
    r"""Move plain-text credentials of a stack file into external swarm secrets.

    What it finds:
    An ``environment`` entry of a stack service that holds a credential in plain text (a
    password, token or key by its name, or a value shaped like one; ``${VAR}`` references are
    not plain text). When the service's image reads that variable from a file too (the
    official images' ``<VAR>_FILE`` convention: postgres ``POSTGRES_PASSWORD_FILE``,
    mysql/mariadb ``MYSQL_ROOT_PASSWORD_FILE``, mongo, elasticsearch…), the entry becomes
    ``<VAR>_FILE: /run/secrets/<service>_<var>``, the service lists that secret, and the
    top-level ``secrets`` declares it ``external: true``. The finding prints the command that
    creates the secret, with a placeholder for the value:
    ``printf '%s' '<value>' | docker secret create db_postgres_password -``.
    The value itself is written nowhere: not into a file, not into a message.

    Images that read the variable only from their environment and images orchfix does not know
    are reported with what to do instead. Only swarm stacks are read: files named so
    (``docker-stack.yml``) or whose deploy sections use what only swarm reads (``placement``,
    ``update_config``, ``mode: global``…); docker compose cannot mount external secrets.

    Why it matters:
    A credential in a stack file is in the repository, in every clone and in ``docker service
    inspect`` output of every node. A swarm secret is stored encrypted in the swarm's raft log
    and mounted only into the tasks that need it, as a file under ``/run/secrets``.

    Before:
        services:
          db:
            image: postgres:17-bookworm
            environment:
              POSTGRES_USER: app
              POSTGRES_PASSWORD: s3cr3t-Pw
            deploy:
              placement:
                constraints:
                  - node.role == manager

    After:
        services:
          db:
            image: postgres:17-bookworm
            environment:
              POSTGRES_USER: app
              POSTGRES_PASSWORD_FILE: /run/secrets/db_postgres_password
            deploy:
              placement:
                constraints:
                  - node.role == manager
            secrets:
              - db_postgres_password
        secrets:
          db_postgres_password:
            external: true

    Options:
    None.

    Safety:
    Unsafe: the stack no longer deploys until the secret exists (``docker secret create``), and
    clients that connect with the old credential need the same value in the secret. The
    credential stays in the repository's history: rotate it. Files that declare a Compose
    format older than 3.1 (no secrets) and services defined through YAML anchors or merge keys
    are reported, not changed.
    """

    id = "sw-002"
    category = "sw"
    title = "Swarm secrets"
    safety = Safety.UNSAFE
    kinds = frozenset({"compose"})
    options: dict = {}
    precheck = re.compile(r"^[ \t]*environment[ \t]*:", re.M)

    def check(self, doc):
        model = compose.load(doc)
        # not a swarm stack: docker compose runs it, and cannot mount external secrets (ec-001 moves
        # its credentials to an env file instead)
        if model is None or not compose.swarm(model):
            return
        for service in model.services.values():
            yield from self._service(doc, model, service)

    def _service(self, doc, model, service):
        creds = [v for v in service.environment() if v.value is not None and secrets.secret_reason(v.name, v.value)]
        if not creds:
            return
        line = creds[0].node.start_mark.line + 1
        names = ", ".join(v.name for v in creds)
        plural = len(creds) > 1
        what = f"{service.name}: {names} {'are' if plural else 'is a'} plain-text credential{'s' * plural} in a stack file"
        blocked = self._blocked(doc, model, service)
        if blocked:
            yield self.finding(doc, line, what, reason=blocked)
            return
        ref = images.parse_ref(service.image) if service.image else None
        info = images.lookup(ref) if ref and not ref.variable else None
        env_names = {v.name for v in service.environment()}
        top = ye.value(model.root, "secrets")
        declared = {k.value: v for k, v in top.value} if isinstance(top, MappingNode) else {}
        moved, kept = [], []
        for var in creds:
            secret = re.sub(r"[^a-z0-9_.-]", "_", f"{service.name}_{var.name}".lower())
            if info is None or var.name not in info.file_env:
                image = ref.name if ref else "its image"
                kept.append(f"{image} reads {var.name} only from its environment: make the app read "
                            f"/run/secrets/{secret} (or an entrypoint that exports it), then attach the secret")
            elif var.name + "_FILE" in env_names:
                kept.append(f"{var.name}_FILE is set as well")
            elif not _own(doc, var):
                kept.append(f"the value of {var.name} is a YAML anchor or alias")
            elif secret in declared and ye.scalar(ye.value(declared[secret], "external")) not in ("true", "True"):
                kept.append(f"a secret named {secret} is declared already, not as external")
            else:
                moved.append((var, secret))
        if not moved:
            yield self.finding(doc, line, what, reason="; ".join(kept))
            return
        style = ye.style_of(doc)
        edits = [self._replace(var, secret) for var, secret in moved]
        new = [s for _, s in moved]
        attached = self._attach(doc, service, new, style)
        if attached is None:
            yield self.finding(doc, line, what, reason=f"{service.name}'s secrets is not a list; attach {', '.join(new)} by hand")
            return
        edits.extend(attached)
        declare = [s for s in new if s not in declared]
        if declare:
            data = {s: {"external": True} for s in declare}
            if top is None:
                edits.append(ye.set_key(doc, model.root, "secrets", data, style))
            elif isinstance(top, MappingNode) and top.value:
                edits.append(ye.add_keys(doc, top, data, style))
            elif ye.is_null(top) or isinstance(top, MappingNode):
                edits.append(ye.replace_value(doc, ye.get(model.root, "secrets")[0], top, data, style))
            else:
                yield self.finding(doc, line, what, reason="the top-level secrets is not a mapping")
                return
        commands = "; ".join(f"printf '%s' '<value>' | docker secret create {s} -" for s in new)
        message = (f"{what}: moved to external secret{'s' * (len(new) > 1)} {', '.join(new)} "
                   f"({', '.join(f'{v.name}_FILE' for v, _ in moved)}); create {'them' if len(new) > 1 else 'it'} before "
                   f"deploying, with the current value or a new one (then update the clients): {commands}; "
                   "the old value stays in the repository's history: rotate it")
        if kept:
            message += f" (left inline: {'; '.join(kept)})"
        yield self.finding(doc, line, message, _merge_inserts(edits))

    def _blocked(self, doc, model, service) -> str | None:
        version = ye.scalar(ye.value(model.root, "version"))
        if version and _OLD_FORMAT.match(version.strip()):
            return f"the file declares Compose format {version}, which has no secrets (3.1 or later has); raise it first"
        env = ye.get(service.node, "environment")
        if service.shared or (env and not compose.owned(doc, *env)):
            return ("the service or its environment is defined through a YAML anchor, merge key or extends; "
                    "move the credential where it is written")
        return None

    @staticmethod
    def _replace(var, secret: str) -> Edit:
        path = f"/run/secrets/{secret}"
        if var.listed:
            return Edit(var.node.start_mark.index, var.node.end_mark.index, ye.render_scalar(f"{var.name}_FILE={path}"))
        entry = f"{ye.render_scalar(var.name + '_FILE')}: {ye.render_scalar(path)}"
        return Edit(var.key.start_mark.index, var.node.end_mark.index, entry)

    @staticmethod
    def _attach(doc, service, names: list[str], style) -> list[Edit] | None:
        found = ye.get(service.node, "secrets")
        if found is None:
            return [ye.set_key(doc, service.node, "secrets", names, style)]
        key, node = found
        if ye.is_null(node):
            return [ye.replace_value(doc, key, node, names, style)]
        if not isinstance(node, SequenceNode):
            return None
        have = {ye.scalar(i) if not isinstance(i, MappingNode) else ye.scalar(ye.value(i, "source")) for i in node.value}
        missing = [n for n in names if n not in have]
        return [ye.append_items(doc, node, missing, style)] if missing else []


def _own(doc, var) -> bool:
    node = var.node
    if var.key is not None:
        return compose.owned(doc, var.key, node)
    return not doc.text.startswith(("&", "*"), node.start_mark.index)


def _merge_inserts(edits: list[Edit]) -> list[Edit]:
    """Insertions at one offset joined into one edit, in the order they were made (the engine
    would otherwise order them by their text)."""
    out: list[Edit] = []
    for edit in edits:
        same = next((i for i, e in enumerate(out) if e.start == e.end == edit.start == edit.end), None)
        if same is None:
            out.append(edit)
        else:
            out[same] = Edit.insert(edit.start, out[same].new + edit.new)
    return out
