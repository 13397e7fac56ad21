from __future__ import annotations

import re

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.text import Edit
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import compose, mounts
from orchfix.transforms._knowledge.compose import Service, Volume


class ReadOnlyBinds(Transform):
    r"""Mount configuration and static content read-only.

    What it finds:
        Bind mounts without an access mode whose content the container only reads:
        configuration files (``.conf``, ``.cnf``, ``.cfg``, ``.config``, ``.ini``, ``.yaml``/``.yml``,
        ``.json``, ``.toml``, ``.properties``, ``.xml``), anything under ``/etc/``, the web root
        of a web-server image (``/usr/share/nginx/html``, ``/usr/local/apache2/htdocs``,
        ``/var/www/html`` for nginx, httpd, caddy, openresty; the image is the service's
        ``image`` or the base of the Dockerfile its ``build`` names), database init scripts
        (``/docker-entrypoint-initdb.d``), certificates and keys (``.pem``, ``.crt``, ``.key``…)
        and ``/run/secrets``. Short syntax (``- ./a:/b``, quoted or not, ``${VAR:-default}``
        parts) and long syntax (``type: bind``), in services and in anchors they share.
        Left alone: source code and data (``.:/app``, ``./src:/app/src``, data folders such as
        ``/data`` or ``/var/lib/...``, a config-looking file inside a ``data``/``db``/``logs``
        folder), files apps write (``acme.json``, ``db.json``, ``package.json`` and other
        dependency manifests and lockfiles), ``/etc`` folders their images write
        (``/etc/pihole``, ``/etc/letsencrypt``, ``/etc/nginx/conf.d`` beside mounted nginx
        templates…), services of images that write for others (certbot, nginx-proxy,
        acme-companion), ``.env`` files, sockets (``/var/run/docker.sock``: ``:ro`` on a socket
        restricts nothing, API calls still write), named volumes, and any mount with an explicit
        mode (``:rw`` is a decision).

    Why it matters:
        A writable bind mount lets a compromised or buggy container change files on the host:
        its own configuration, the site it serves, the scripts that initialise a database. A
        read-only mount keeps them as the project ships them.

    Before:
        services:
          web:
            image: nginx:1.27
            volumes:
              - ./nginx.conf:/etc/nginx/nginx.conf
              - "./site:/usr/share/nginx/html:z"
              - ./logs:/var/log/nginx
              - type: bind
                source: ./certs/server.pem
                target: /certs/server.pem
          db:
            image: postgres:17
            volumes:
              - ./init:/docker-entrypoint-initdb.d
              - db-data:/var/lib/postgresql/data
          app:
            build: .
            volumes:
              - .:/app
        volumes:
          db-data:

    After:
        services:
          web:
            image: nginx:1.27
            volumes:
              - ./nginx.conf:/etc/nginx/nginx.conf:ro
              - "./site:/usr/share/nginx/html:ro,z"
              - ./logs:/var/log/nginx
              - type: bind
                source: ./certs/server.pem
                target: /certs/server.pem
                read_only: true
          db:
            image: postgres:17
            volumes:
              - ./init:/docker-entrypoint-initdb.d:ro
              - db-data:/var/lib/postgresql/data
          app:
            build: .
            volumes:
              - .:/app
        volumes:
          db-data:

    Options:
        None.

    Safety:
        Safe: the container only reads these paths. An app that does write there (saves its
        settings to its config file, rewrites a web root at start) fails to; mark such a mount
        ``:rw`` and orchfix leaves it alone. The short syntax keeps its quoting and other options
        (``:z`` becomes ``:ro,z``); only the volume's own line changes (the long syntax gains a
        ``read_only: true`` line).
    """

    id = "vs-003"
    category = "vs"
    title = "Read-only bind mounts"
    safety = Safety.SAFE
    kinds = frozenset({"compose"})
    precheck = re.compile(r"volumes")

    def check(self, doc):
        model = compose.load(doc)
        if model is None:
            return
        # a volume list an anchor shares is one set of nodes: each item is decided for every user
        users: dict[int, tuple[Node, list[Service]]] = {}
        for service in model.services.values():
            for item in _items(service):
                users.setdefault(id(item), (item, []))[1].append(service)
        for item, services in users.values():
            volume = compose.parse_volume(item)
            if volume is None or volume.kind != "bind" or volume.read_only:
                continue
            if not _modeless(item, volume):
                continue  # an explicit mode (rw) or read_only: false is the user's decision
            reasons = {mounts.config_reason(volume, mounts.service_image(s, self.ctx.workspace), mounts.mounted(s))
                       for s in services}
            if len(reasons) != 1 or None in reasons:
                continue  # written, or not the same content for every service sharing it
            edit = _edit(doc, item, volume)
            if edit is None:
                continue  # a scalar written with escapes or over several lines: not spliced
            yield self.finding(doc, doc.line_of(item.start_mark.index),
                               f"{volume.target} holds {reasons.pop()} and is mounted writable: mount it read-only",
                               [edit])


def _items(service: Service) -> list[Node]:
    node = mounts.lookup(service.node, "volumes")
    return list(node.value) if isinstance(node, SequenceNode) else []


def _modeless(item: Node, volume: Volume) -> bool:
    """No access mode given: no ``rw``/``ro`` in the short syntax's options, no ``read_only`` key."""
    if isinstance(item, MappingNode):
        return ye.get(item, "read_only") is None
    options = (volume.mode or "").split(",")
    return "rw" not in options and "$" not in (volume.mode or "")


def _edit(doc, item: Node, volume: Volume) -> Edit | None:
    if isinstance(item, MappingNode):
        return ye.set_key(doc, item, "read_only", True)
    if not isinstance(item, ScalarNode):
        return None
    raw = doc.text[item.start_mark.index:item.end_mark.index]
    quote = raw[0] if item.style in ("'", '"') else ""
    inner = raw[len(quote):len(raw) - len(quote)]
    if inner != item.value:
        return None
    start = item.start_mark.index + len(quote)
    if volume.mode is None:
        return Edit.insert(start + len(inner), ":ro")
    if not inner.endswith(":" + volume.mode):
        return None
    return Edit.insert(start + len(inner) - len(volume.mode), "ro," if volume.mode else "ro")
