from __future__ import annotations

import re

from yaml.nodes import SequenceNode

from orchfix import yamledit as ye
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import compose, images
from orchfix.transforms.nw import _graph

#: image roles (images.toml) of services only development needs
TOOL_ROLES = {"admin": "a database admin UI", "devtool": "a developer tool"}


class DebugProfiles(Transform):
    r"""Put optional developer tools in a profile.

    What it finds:
        Services whose image is a developer tool (the ``role`` of the image knowledge, images.toml:
        database admin UIs such as adminer, phpmyadmin, pgadmin, mongo-express, redis-commander,
        redisinsight, kafka-ui, kafdrop, akhq; mail catchers such as mailhog, mailpit, maildev,
        smtp4dev; dozzle, swagger-ui …) with no ``profiles`` anywhere in the project, that no
        other service needs: none of the project's services (its override file and ``include``d
        files too) depends on it, links to it, shares its network, IPC, PID namespace or volumes,
        extends it, or names it as a host in its environment, env files or command URLs. It adds
        ``profiles: [debug]`` where the service's image is defined, as a flow list, or as a block
        list when the file writes its profiles so.
        Reported without a fix: tools another service needs (a mail catcher the app sends mail
        to), projects that run nothing but such tools, services defined through an anchor other
        services share, swarm stack files (``docker stack deploy`` rejects ``profiles``).

    Why it matters:
        Admin UIs and mail catchers are handy while developing, but started by every
        ``docker compose up`` they use memory, open ports and widen the attack surface in every
        environment the file runs in. In a profile they start only on request
        (``docker compose --profile debug up``).

    Before:
        services:
          app:
            build: .
            depends_on:
              - db
          db:
            image: postgres:17
          adminer:
            image: adminer:4
            ports:
              - "8081:8080"
            depends_on:
              - db
          mail:
            image: axllent/mailpit:v1.21

    After:
        services:
          app:
            build: .
            depends_on:
              - db
          db:
            image: postgres:17
          adminer:
            image: adminer:4
            ports:
              - "8081:8080"
            depends_on:
              - db
            profiles: [debug]
          mail:
            image: axllent/mailpit:v1.21
            profiles: [debug]

    Options:
        ``profile`` (default ``"debug"``): the profile to put the tools in.

    Safety:
        Unsafe: ``docker compose up`` no longer starts the tools; start them with
        ``--profile debug`` (or ``COMPOSE_PROFILES=debug``). Something outside the file that
        relies on them (a proxy's config naming the host, a script opening the UI) loses them
        until the profile is enabled.
    """

    id = "dc-003"
    category = "dc"
    title = "Profiles for optional services"
    safety = Safety.UNSAFE
    kinds = frozenset({"compose"})
    options = {"profile": "debug"}
    precheck = re.compile(r"image")

    def check(self, doc):
        graph = _graph.build(self.ctx.workspace, doc)
        if graph is None or graph.own is None:
            return
        profile = str(self.opts["profile"])
        block = _block_profiles(graph.own)
        for service in graph.own.services.values():
            node = graph.services[service.name]
            what = _tool(node)
            image = _graph.lookup(service.node, "image")
            if what is None or image is None or _graph.lookup(service.node, "profiles") is not None:
                continue  # not a tool, its image is defined in another file, or it has profiles
            if node.profiles or (node.extends in graph.services and graph.services[node.extends].profiles):
                continue  # profiles given elsewhere in the project (another file, the base it extends)
            line = doc.line_of(service.key.start_mark.index)
            message = f"{service.name} ({what}) starts with every `docker compose up`"
            reason = self._blocked(graph, service.name, profile)
            if reason:
                yield self.finding(doc, line, message, reason=reason)
                continue
            data = [profile] if block else ye.Flow([profile])
            yield self.finding(doc, line, message + f": put it in the {profile!r} profile",
                               [ye.set_key(doc, service.node, "profiles", data)])

    def _blocked(self, graph, name: str, profile: str) -> str | None:
        """Why the service cannot go into the profile, or None."""
        if graph.own.stack:
            return "a swarm stack file: `docker stack deploy` does not accept profiles"
        if _graph.reused(graph.own.services[name]):
            return "the service is defined through an anchor other services share: an edit here changes them too"
        users = {u for u in graph.users(name) | graph.extended_by(name) | set(compose.references(graph.files, name))
                 if profile not in graph.services[u].profiles}
        if users:
            return (f"{', '.join(sorted(users))} {'uses' if len(users) == 1 else 'use'} it: put "
                    f"{'that service' if len(users) == 1 else 'those services'} in the {profile!r} profile too, "
                    "or keep it running")
        others = [n for n, s in graph.services.items() if n != name and not s.profiles and _tool(s) is None]
        if not others:
            return "the project runs nothing but developer tools: they are what it is for"
        return None


def _tool(node) -> str | None:
    """What kind of developer tool a project service is, or None."""
    if not node.image or compose.has_variables(node.image):
        return None
    return TOOL_ROLES.get(images.role(images.parse_ref(node.image)) or "")


def _block_profiles(model) -> bool:
    """Whether the file writes its ``profiles`` lists as block sequences (more often than flow)."""
    styles = [v.flow_style for s in model.services.values() if isinstance(v := s.get("profiles"), SequenceNode) and v.value]
    return bool(styles) and styles.count(False) > styles.count(True)
