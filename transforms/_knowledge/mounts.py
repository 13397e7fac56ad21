"""What the mounts of a Compose service hold, and the tmpfs entries a service needs.

- :func:`config_reason`: why a bind mount holds configuration or static content that the
  container only reads (vs-003), or None.
- :func:`temp_path`: whether a path holds temporary data (vs-004).
- :func:`service_image`: the image a service runs (its ``image``, or the base of the Dockerfile
  its ``build`` names), :func:`tmp_needs`: the paths a read-only root filesystem needs as tmpfs
  (``/tmp`` plus the image's ``tmp_dirs`` from images.toml) that no mount covers yet.
- :func:`tmpfs_edits`: the edits that add tmpfs entries to a service. vs-004 and sc-003 both
  write through it, so their entries merge into one ``tmpfs`` key without duplicates.

Keys are read where they live: a service's own entry first, then what it merges (``<<: *x``).
"""
from __future__ import annotations

import posixpath
import re
from typing import Any

from yaml.nodes import Node, ScalarNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.documents.yaml import YamlDocument
from orchfix.text import Edit
from orchfix.transforms._knowledge import compose, images, stacks
from orchfix.transforms._knowledge import compose_view as cv
from orchfix.transforms._knowledge.compose import Service, Volume
from orchfix.workspace import Workspace

# --- configuration and static content (vs-003) ---------------------------------------------------

CONFIG_EXTENSIONS = frozenset({".conf", ".cnf", ".cfg", ".config", ".ini", ".yaml", ".yml", ".json", ".toml",
                               ".properties", ".xml"})
CERT_EXTENSIONS = frozenset({".pem", ".crt", ".cer", ".cert", ".key", ".p12", ".pfx", ".jks"})
#: images that serve static files, by repository path (or its last part) → their web roots
WEB_SERVERS = {
    "nginx": ("/usr/share/nginx/html", "/var/www/html"),
    "nginxinc/nginx-unprivileged": ("/usr/share/nginx/html", "/var/www/html"),
    "httpd": ("/usr/local/apache2/htdocs", "/var/www/html"),
    "caddy": ("/usr/share/caddy", "/var/www/html"),
    "openresty/openresty": ("/usr/local/openresty/nginx/html", "/usr/share/nginx/html", "/var/www/html"),
}
#: files apps write although their extension says configuration: ACME state, json-server's
#: database, dependency manifests and lockfiles (package managers rewrite them)
WRITTEN_FILES = frozenset({"acme.json", "db.json"} | {m for s in stacks.STACKS for m in s.manifests if not m.endswith("/")})
#: folders under /etc that their images write to (state, issued certificates, generated config)
WRITTEN_ETC = ("/etc/pihole", "/etc/dnsmasq.d", "/etc/letsencrypt", "/etc/acme.sh", "/etc/gitlab", "/etc/ssh",
               "/etc/wireguard", "/etc/openvpn", "/etc/nginx/certs", "/etc/nginx/vhost.d", "/etc/nginx/dhparam")
#: a folder written when another mount exists: nginx renders /etc/nginx/templates into conf.d
WRITTEN_WHEN = {"/etc/nginx/conf.d": "/etc/nginx/templates"}
#: images whose job is writing files other services read (certificates, generated config)
WRITER_IMAGES = frozenset({"certbot", "acme-companion", "letsencrypt-nginx-proxy-companion", "nginx-proxy", "docker-gen"})
#: where data lives: a config-looking file there is data (a json store, a settings file the app saves)
DATA_PREFIXES = ("/data", "/var/lib", "/var/log", "/var/cache", "/var/spool", "/var/backups", "/var/mail")
_DATA_WORD = re.compile(r"(?:^|[-_.])(?:data|db|database|storage|uploads?|logs?|state|backups?)(?:[-_.]|$)", re.I)


def norm(path: str) -> str:
    """A container path compared by its meaning: normalized, ``/var/run`` as ``/run`` (a symlink)."""
    path = posixpath.normpath(path) if path else path
    return "/run" + path[len("/var/run"):] if path == "/var/run" or path.startswith("/var/run/") else path


def under(path: str, folder: str) -> bool:
    path, folder = norm(path), norm(folder)
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def config_reason(volume: Volume, image: str | None, targets: list[str]) -> str | None:
    """What a bind mount holds that its container only reads ("a configuration file", "the web
    root of nginx"…), or None when it may be written (source code, data, sockets, state). ``image``
    is the service's image (None when unknown), ``targets`` every mount target of the service."""
    target = compose.interpolate(volume.target)
    source = compose.interpolate(volume.source or "")
    if not target.startswith("/"):
        return None  # a variable without a default, or not an absolute path
    name = posixpath.basename(target.rstrip("/"))
    ext = posixpath.splitext(name)[1].lower() or posixpath.splitext(posixpath.basename(source.rstrip("/")))[1].lower()
    # a socket is not content: ro on it restricts nothing (connecting still works)
    if name.endswith(".sock") or source.endswith(".sock"):
        return None
    ref = images.parse_ref(image) if image else None
    if ref and (ref.name in WRITER_IMAGES or ref.path in WRITER_IMAGES):
        return None
    if name in WRITTEN_FILES:
        return None
    if under(target, "/docker-entrypoint-initdb.d"):
        return "database init scripts"
    if under(target, "/run/secrets"):
        return "a secret"
    if ext in CERT_EXTENSIONS:
        return "a certificate or key"
    if any(under(target, folder) for folder in WRITTEN_ETC):
        return None
    for folder, when in WRITTEN_WHEN.items():
        if under(target, folder) and any(under(t, when) for t in targets):
            return None
    if under(target, "/etc") and norm(target) != "/etc":
        return "configuration under /etc"
    roots = _web_roots(ref)
    if any(under(target, root) for root in roots):
        return f"the web root of {ref.name}"
    if ext in CONFIG_EXTENSIONS:
        info = images.lookup(ref) if ref else None
        data = [*DATA_PREFIXES, *([info.data_dir] if info and info.data_dir else [])]
        if any(under(target, d) for d in data) or any(_DATA_WORD.search(part) for part in target.split("/")[:-1]):
            return None
        return "a configuration file"
    return None


def _web_roots(ref: images.ImageRef | None) -> tuple[str, ...]:
    if ref is None or ref.variable:
        return ()
    path = ref.path.removeprefix("library/")
    return WEB_SERVERS.get(path) or (WEB_SERVERS.get(ref.name, ()) if ref.official or "/" not in path else ())


# --- temporary data (vs-004, sc-003) --------------------------------------------------------------

TMP = "/tmp"
_TEMP_NAMES = frozenset({"tmp", "temp", ".tmp"})


def temp_path(target: str, info: images.ImageInfo | None) -> bool:
    """A path for temporary data: /tmp, /var/tmp and what is below them, an app's ``tmp``/``temp``
    folder, and the image's own ``tmp_dirs`` (nginx's /var/cache/nginx). Cache folders in general
    are not: a cache volume is there to survive restarts."""
    path = norm(target)
    if under(path, "/tmp") or under(path, "/var/tmp") or posixpath.basename(path) in _TEMP_NAMES:
        return True
    return bool(info and info.tmp_dirs and path in {norm(d) for d in info.tmp_dirs})


def service_image(service: Service, workspace: Workspace | None) -> str | None:
    """The image a service runs: its ``image`` (``${VAR:-default}`` filled in), or for a
    ``build`` the base of the stage its Dockerfile builds (read from the workspace;
    ``dockerfile_inline`` too); None when unknown."""
    return cv.image_of(workspace, cv.View(service.name, [service])).ref


def lookup(mapping: Node | None, key: str) -> Node | None:
    """The value of ``key``: the mapping's own entry, else the first mapping it merges (``<<``)."""
    hit = cv.lookup(mapping, key)
    return hit[1] if hit else None


def image_info(image: str | None) -> images.ImageInfo | None:
    ref = images.parse_ref(image) if image else None
    return images.lookup(ref) if ref and not ref.variable else None


def mounted(service: Service) -> list[str]:
    """Every path the service mounts something at: its volumes (both syntaxes) and tmpfs entries."""
    paths = [v.target for v in volumes(service)]
    return [*paths, *tmpfs_paths(service)]


def volumes(service: Service) -> list[Volume]:
    node = lookup(service.node, "volumes")
    items = node.value if isinstance(node, SequenceNode) else []
    return [v for v in map(compose.parse_volume, items) if v]


def tmpfs_paths(service: Service) -> list[str]:
    node = lookup(service.node, "tmpfs")
    entries = [node] if isinstance(node, ScalarNode) else node.value if isinstance(node, SequenceNode) else []
    return [compose.split_colons(text)[0] for text in map(ye.scalar, entries) if text]


def covered(path: str, paths: list[str]) -> bool:
    return any(under(path, compose.interpolate(p)) for p in paths if p)


def tmp_needs(service: Service, info: images.ImageInfo | None) -> list[str]:
    """The tmpfs paths a read-only root filesystem needs (``/tmp`` and the image's ``tmp_dirs``)
    that no mount of the service covers yet."""
    wanted = [TMP, *((info.tmp_dirs or ()) if info else ())]
    have = mounted(service)
    return [p for p in wanted if not covered(p, have)]


def is_true(node: Node | None) -> bool:
    return isinstance(node, ScalarNode) and node.value.lower() == "true"


def not_editable(service: Service) -> str | None:
    """Why tmpfs entries cannot be added to a service's own keys, or None."""
    if cv.anchor_used(service):
        return "the service is defined through an anchor other services share: an edit here changes them too"
    if ye.get(service.node, "extends") is not None:
        return "the service extends another, whose tmpfs and volumes merge with its own: make the change in the base service"
    return None


def tmpfs_entry(path: str, size: str | None) -> str:
    """A ``tmpfs`` list entry: the path, with ``:size=…`` when a size is set."""
    return f"{path}:size={size}" if size else path


def tmpfs_volume(path: str, size: str | None) -> dict[str, Any]:
    """The long-syntax volume of a tmpfs (what a swarm stack reads): its size in bytes."""
    return {"type": "tmpfs", "target": path, **({"tmpfs": {"size": size_bytes(size)}} if size else {})}


def size_bytes(size: str) -> int | str:
    """``64m`` as 67108864 (the units Docker reads: b, k, m, g); anything else as written."""
    match = re.fullmatch(r"(\d+)\s*([kmg]?)b?", size.strip().lower())
    return int(match.group(1)) * 1024 ** " kmg".index(match.group(2) or " ") if match else size


def tmpfs_edits(doc: YamlDocument, service: Service, paths: list[str], size: str | None,
                add: dict[str, Any] | None = None, swarm: bool = False) -> list[Edit] | str:
    """Edits that add ``paths`` to the service's ``tmpfs`` (creating the key, appending to a list,
    turning a single string into a list) and the new keys ``add`` (``read_only: true``) after the
    service's last entry; a reason (str) when the service's keys cannot be edited in place. In a
    file that may be deployed as a swarm stack (``swarm``), which ignores the service-level
    ``tmpfs``, the paths become long-syntax ``volumes`` of ``type: tmpfs`` instead."""
    style = ye.style_of(doc)
    name = "volumes" if swarm else "tmpfs"
    entries = [tmpfs_volume(p, size) if swarm else tmpfs_entry(p, size) for p in paths]
    add = dict(add or {})
    found = ye.get(service.node, name)
    edits: list[Edit] = []
    if found is None:
        if lookup(service.node, name) is not None:
            return f"its {name} list comes from a merged anchor (<<): add the tmpfs entries there or give the service its own list"
        if entries:
            add[name] = entries
    elif entries:
        key, value = found
        if isinstance(value, SequenceNode):
            edits.append(ye.append_items(doc, value, entries, style))
        elif isinstance(value, ScalarNode) and not ye.is_null(value) and not swarm:
            raw = ye.Raw(doc.text[value.start_mark.index:value.end_mark.index])
            edits.append(ye.replace_value(doc, key, value, [raw, *entries], style))
        elif ye.is_null(value):
            edits.append(ye.replace_value(doc, key, value, entries, style))
        else:
            return f"its {name} is not a list"
    if add:
        edits.append(ye.add_keys(doc, service.node, add, style))
    return _merged(edits)


def _merged(edits: list[Edit]) -> list[Edit]:
    """Insertions at one offset joined into one edit in list order; of two that each start with
    the line break a file without a final newline needs, the second drops it."""
    out: list[Edit] = []
    for edit in edits:
        prev = next((e for e in out if e.start == e.end == edit.start == edit.end), None)
        if prev is None:
            out.append(edit)
            continue
        new = edit.new
        if prev.new.endswith("\n") and new.startswith(("\r\n", "\n")):
            new = _drop_newline(new)
        out[out.index(prev)] = Edit(prev.start, prev.end, prev.new + new)
    return out


def after_removal(text: str, edits: list[Edit]) -> list[Edit]:
    """``edits`` where an insertion at the end of a file without a final newline follows whole
    lines another edit removes up to there: it needs no line break of its own."""
    cut = {e.end for e in edits if e.start < e.end == len(text) and not e.new and text[e.start - 1:e.start] in ("", "\n")}
    return [Edit(e.start, e.end, _drop_newline(e.new)) if e.start == e.end and e.start in cut
            and e.new.startswith(("\r\n", "\n")) else e for e in edits]


def _drop_newline(text: str) -> str:
    return text[2:] if text.startswith("\r\n") else text[1:]
