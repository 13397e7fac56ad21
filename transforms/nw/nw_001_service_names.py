from __future__ import annotations

import ipaddress
import re

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.text import Edit
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import images, k8s

from . import _graph

_IP = re.compile(r"(?<![\w.])((?:\d{1,3}\.){3}\d{1,3})(?![\w.])")
_PRIVATE = tuple(map(ipaddress.ip_network, ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")))
#: the ranges Docker allocates container networks from by default (default-address-pools)
_DOCKER_POOLS = tuple(map(ipaddress.ip_network, ("172.17.0.0/16", "172.18.0.0/15", "172.20.0.0/14", "172.24.0.0/13",
                                                 "192.168.0.0/16")))
#: variables whose value must be an address, not a name (DNS servers, bind addresses, subnets, allow lists)
_NEEDS_IP = re.compile(r"DNS|NAMESERVER|RESOLVER|SUBNET|CIDR|NETMASK|IP(?:S|V4|V6)?(?:$|_)|BIND|LISTEN|ALLOW|TRUST|"
                       r"WHITELIST|PROXIES|GATEWAY|ROUTER|ADVERTISE|EXTERNAL|PUBLIC", re.I)
#: variables whose value is not an address at all (a version 10.2.0.1)
_NOT_ADDRESS = re.compile(r"VERSION|(?:^|_)VER(?:$|_)|TAG|RELEASE|BUILD", re.I)
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*)://", re.I)
_ROLE_WORDS = {"DB": "database", "DATABASE": "database", "SQL": "database", "CACHE": "cache", "BROKER": "broker",
               "MQ": "broker", "QUEUE": "broker"}
#: words of a variable name (or a URL scheme) that name an image, by the names of those images
_IMAGE_WORDS = {
    "POSTGRES": ("postgres", "postgresql", "postgis", "timescaledb", "timescaledb-ha"),
    "MYSQL": ("mysql", "mariadb", "mysql-server", "percona", "percona-server"),
    "MONGO": ("mongo", "mongodb", "mongodb-community-server"),
    "REDIS": ("redis", "redis-stack", "redis-stack-server", "redismod", "valkey", "keydb", "dragonfly"),
    "MEMCACHED": ("memcached",),
    "RABBITMQ": ("rabbitmq",),
    "KAFKA": ("kafka", "cp-kafka", "cp-server", "redpanda"),
    "ZOOKEEPER": ("zookeeper", "cp-zookeeper"),
    "ELASTICSEARCH": ("elasticsearch", "opensearch"),
    "NATS": ("nats",),
    "MSSQL": ("mssql/server", "azure-sql-edge"),
}
_ALIASES = {"PG": "POSTGRES", "POSTGRESQL": "POSTGRES", "PSQL": "POSTGRES", "MARIADB": "MYSQL", "MONGODB": "MONGO",
            "MEMCACHE": "MEMCACHED", "RABBIT": "RABBITMQ", "AMQP": "RABBITMQ", "AMQPS": "RABBITMQ", "ZK": "ZOOKEEPER",
            "ES": "ELASTICSEARCH", "ELASTIC": "ELASTICSEARCH", "REDISS": "REDIS", "SQLSERVER": "MSSQL"}
_HOST_SUFFIX = re.compile(r"(HOST|ADDR|ADDRESS|URL|URI|SERVER|DSN)S?$")


def private_ips(raw: str) -> list[re.Match]:
    """Private IPv4 host addresses in a text (not networks: CIDR suffixes, .0 and .255 left out)."""
    found = []
    for match in _IP.finditer(raw):
        try:
            ip = ipaddress.ip_address(match.group(1))
        except ValueError:
            continue
        if not any(ip in net for net in _PRIVATE) or match.group(1).endswith((".0", ".255")):
            continue
        before = raw[:match.start()]
        if re.match(r"/\d{1,2}(?!\d)", raw[match.end():]) and not before.endswith(("://", "@")):
            continue  # a network in CIDR notation
        found.append(match)
    return found


def _words(name: str) -> set[str]:
    """Image and role words a variable name holds (``PGHOST`` → POSTGRES)."""
    words = set()
    for word in re.split(r"[^A-Z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).upper()):
        stem = _HOST_SUFFIX.sub("", word) or word
        for w in {word, stem}:
            words.add(_ALIASES.get(w, w))
    return words


def _matches(member, words: set[str]) -> bool:
    if member.role and any(_ROLE_WORDS.get(w) == member.role for w in words):
        return True
    if not member.image:
        return False
    ref = images.parse_ref(member.image)
    return any(ref.name.lower() in _IMAGE_WORDS.get(w, ()) or ref.path.lower() in _IMAGE_WORDS.get(w, ()) for w in words)


def _norm(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).upper()


class ServiceNames(Transform):
    r"""Reach services by name, not by hard-coded private IP addresses.

    What it finds:
        Private IPv4 addresses (10/8, 172.16/12, 192.168/16) in environment values and URLs
        that belong to a service of the project. Compose: a service of the project holds that
        fixed ``ipv4_address`` on a network the referring service is on, or the address lies in
        the project's networks (Docker's default pools when it defines none) and the variable
        clearly names one service (``DB_HOST`` with exactly one database, ``REDIS_URL`` with one
        redis, ``AUTH_API_URL`` with a service ``auth-api``, a ``postgres://`` URL with one
        postgres). Kubernetes: a container's ``env`` value holding the fixed ``spec.clusterIP`` of
        a Service anywhere in the tree. Anything else is reported with the reason.

    Why it matters:
        Container and cluster addresses change when networks are recreated, projects are
        renamed or Services re-created; names resolve through Docker's and the cluster's DNS
        wherever the project runs. A fixed address also pins the network layout (ipam subnets,
        ``ipv4_address``) the project would otherwise not need.

    Before:
        services:
          api:
            image: example/api:1.4
            environment:
              DATABASE_URL: postgres://app:secret@172.28.0.5:5432/app
              CACHE: redis://172.28.0.6:6379/0
            networks: [back]
          db:
            image: postgres:17
            networks:
              back:
                ipv4_address: 172.28.0.5
          cache:
            image: redis:7
            networks:
              back:
                ipv4_address: 172.28.0.6
        networks:
          back:
            ipam:
              config:
                - subnet: 172.28.0.0/16

    After:
        services:
          api:
            image: example/api:1.4
            environment:
              DATABASE_URL: postgres://app:secret@db:5432/app
              CACHE: redis://cache:6379/0
            networks: [back]
          db:
            image: postgres:17
            networks:
              back:
                ipv4_address: 172.28.0.5
          cache:
            image: redis:7
            networks:
              back:
                ipv4_address: 172.28.0.6
        networks:
          back:
            ipam:
              config:
                - subnet: 172.28.0.0/16

    Options:
        None.

    Safety:
        Unsafe: the name must resolve where the value is used (a program that only accepts
        addresses, a TLS certificate issued for the address). Only the address changes: scheme,
        credentials, port and path stay. Variables that must hold an address (DNS servers,
        bind/listen addresses, subnets, allow lists, advertised or public addresses), a
        service's own address, an address two services claim, a service not on the network
        of the address, and addresses outside the project's networks are reported. In
        Kubernetes the name is ``<service>`` in the same namespace and ``<service>.<namespace>``
        otherwise: both resolve through the pod's DNS search path and, unlike the
        ``.svc.cluster.local`` form, do not depend on the cluster's domain; a Service without a
        namespace referred to from a namespaced workload is reported (where it lands is only
        known at deploy time). ``extra_hosts``, ``dns`` and fixed addresses themselves are not
        touched: they are the definitions, not the uses; nor are values in env files or in
        anchors that services merge (an edit there reaches every service that reads them).
    """

    id = "nw-001"
    category = "nw"
    title = "Service names, not IPs"
    safety = Safety.UNSAFE
    kinds = frozenset({"compose", "k8s"})
    options: dict = {}
    precheck = re.compile(r"(?<![\w.])(?:10|172\.(?:1[6-9]|2\d|3[01])|192\.168)\.\d{1,3}\.\d{1,3}(?![\w])")

    def check(self, doc):
        if doc.kind == "k8s":
            yield from self._k8s(doc)
        else:
            yield from self._compose(doc)

    def _finding(self, doc, offset, var, ip, target=None, reason=None):
        if target is None:
            return self.finding(doc, doc.line_of(offset), f"{var} holds the private address {ip}", reason=reason)
        return self.finding(doc, doc.line_of(offset), f"{var} holds the address {ip} of {target}: use the name",
                            [Edit(offset, offset + len(ip), target)])

    # Compose -------------------------------------------------------------------------------

    def _compose(self, doc):
        graph = _graph.build(self.ctx.workspace, doc)
        if graph is None or graph.own is None:
            return
        addresses = _fixed_addresses(graph)
        subnets = _subnets(graph)
        for service in graph.own.services.values():
            if service.node.start_mark.index < service.key.start_mark.index:
                continue  # an alias of another service: its values are that one's
            env = service.get("environment")
            for var, node, skip in _env_values(doc, env):
                raw = doc.text[node.start_mark.index:node.end_mark.index]
                if _NOT_ADDRESS.search(var):
                    continue  # a version or tag, not an address
                for match in private_ips(raw[skip:]):
                    ip, offset = match.group(1), node.start_mark.index + skip + match.start(1)
                    target, reason = self._compose_target(graph, service.name, var, raw[skip:], ip, addresses, subnets)
                    if target and isinstance(env, MappingNode) and node.style is None and not _stays_string(raw, skip + match.start(1), ip, target):
                        target, reason = None, f"{target} in place of the address would not read as text here: quote the value first"
                    yield self._finding(doc, offset, var, ip, target, reason)

    def _compose_target(self, graph, name, var, value, ip, addresses, subnets):
        """(service, None) for the service the address belongs to, or (None, why it is not known)."""
        if _NEEDS_IP.search(var):
            return None, (f"{var} takes an address (DNS server, bind or listen address, subnet, allow list, advertised "
                          "address): a service name may not be accepted there; check, then use the service's name")
        members = graph.services
        own_nets = members[name].networks or {"default"}
        owners = sorted({(s, net) for s, net, addr in addresses if addr == ip})
        if owners:
            services = sorted({s for s, _ in owners})
            if name in services:
                return None, "it is the service's own fixed address"
            if len(services) > 1:
                return None, f"{', '.join(services)} all claim this address"
            shared = [net for _, net in owners if net in own_nets]
            if not shared:
                return None, (f"{name} is not on {owners[0][1]}, where {services[0]} has this address: join that "
                              f"network, then use the name {services[0]}")
            return services[0], None
        address = ipaddress.ip_address(ip)
        if not any(address in net for net in (subnets or _DOCKER_POOLS)):
            return None, ("no service of the project has this address and it lies outside the project's networks "
                          "(an outside host?): if it is a service, use its name; else give it a name (extra_hosts, DNS)")
        words = _words(var) | {_ALIASES.get(s.upper(), s.upper()) for s in _SCHEME.findall(value)}
        # a service with fixed addresses has others than this one
        others = {n: m for n, m in members.items() if n != name and not any(s == n for s, _, _ in addresses)}
        by_name = [n for n in others if _norm(n) == _norm(var) or _norm(var).startswith(_norm(n) + "_")]
        by_image = [n for n, m in others.items() if _matches(m, words)]
        candidates = by_name if len(by_name) == 1 else by_image
        if len(candidates) != 1:
            named = f"could name {', '.join(sorted(candidates))}" if candidates else "names no service of the project"
            return None, (f"no service has the fixed address {ip} and {var} {named}: "
                          "replace the address with the service's name yourself")
        target = candidates[0]
        if not (members[target].networks or {"default"}) & own_nets:
            return None, f"{name} and {target} share no network: connect them, then use the name {target}"
        return target, None

    # Kubernetes ----------------------------------------------------------------------------

    def _k8s(self, doc):
        index = k8s.index(self.ctx.workspace, doc) if self.ctx.workspace is not None else k8s.Index(k8s.objects(doc))
        cluster_ips: dict[str, list] = {}
        for service in index.of_kind("Service"):
            ips = [service.text("spec", "clusterIP")] + [ye.scalar(n) for n in _graph._items(service.get("spec", "clusterIPs"))]
            for ip in {i for i in ips if i and _IP.fullmatch(i)}:
                cluster_ips.setdefault(ip, []).append(service)
        for obj in k8s.objects(doc):
            for container in obj.containers():
                for item in _graph._items(container.get("env")):
                    var, value = ye.scalar(ye.value(item, "name")) or "", ye.value(item, "value")
                    if not isinstance(value, ScalarNode) or _NOT_ADDRESS.search(var):
                        continue
                    raw = doc.text[value.start_mark.index:value.end_mark.index]
                    for match in private_ips(raw):
                        ip, offset = match.group(1), value.start_mark.index + match.start(1)
                        target, reason = self._k8s_target(obj, var, ip, cluster_ips.get(ip, []))
                        if target and value.style is None and not _stays_string(raw, match.start(1), ip, target):
                            target, reason = None, f"{target} in place of the address would not read as text here: quote the value first"
                        yield self._finding(doc, offset, var, ip, target, reason)

    def _k8s_target(self, workload, var, ip, services):
        if _NEEDS_IP.search(var):
            return None, (f"{var} takes an address (DNS server, bind or listen address, subnet, allow list, advertised "
                          "address): a Service name may not be accepted there; check, then use the Service's DNS name")
        if not services:
            return None, (f"no Service in the tree has the clusterIP {ip}: if it is a cluster Service, use its DNS name "
                          "(<service>.<namespace>)")
        names = sorted({(s.namespace, s.name) for s in services}, key=lambda t: (t[0] or "", t[1]))
        if len(names) > 1:
            return None, f"Services {', '.join(f'{n}.{ns}' if ns else n for ns, n in names)} all claim this clusterIP"
        namespace, name = names[0]
        if namespace == workload.namespace:
            return name, None
        if namespace is None:
            return None, (f"the Service {name} has no namespace while {workload.kind} {workload.name} is in "
                          f"{workload.namespace}: its DNS name depends on where it is deployed")
        return f"{name}.{namespace}", None


def _env_values(doc, env):
    """(variable, value node, offset in the node's text where the value starts) of an
    ``environment`` mapping or list."""
    if isinstance(env, MappingNode):
        for key, value in env.value:
            if isinstance(key, ScalarNode) and isinstance(value, ScalarNode) and key.value != "<<":
                yield key.value, value, 0
    elif isinstance(env, SequenceNode):
        for item in env.value:
            if isinstance(item, ScalarNode) and "=" in item.value:
                raw = doc.text[item.start_mark.index:item.end_mark.index]
                yield item.value.split("=", 1)[0].strip(), item, raw.index("=") + 1


def _stays_string(raw: str, at: int, ip: str, target: str) -> bool:
    """Whether a plain scalar still loads as a string once ``target`` replaces ``ip`` at ``at``."""
    try:
        return isinstance(yaml.safe_load(raw[:at] + target + raw[at + len(ip):]), str)
    except yaml.YAMLError:
        return False


def _fixed_addresses(graph) -> list[tuple[str, str, str]]:
    """(service, network, address) of every fixed ``ipv4_address`` of the project."""
    found = []
    for name, member in graph.services.items():
        for service in member.defs:
            networks = _graph.lookup(service.node, "networks")
            if isinstance(networks, MappingNode):
                for key, settings in networks.value:
                    address = ye.scalar(ye.value(settings, "ipv4_address"))
                    if isinstance(key, ScalarNode) and address:
                        found.append((name, key.value, address))
    return found


def _subnets(graph) -> list:
    """The IPv4 subnets the project's networks declare (``ipam.config[].subnet``)."""
    found = []
    for compose_file in graph.files:
        networks = compose_file.top("networks")
        if not isinstance(networks, MappingNode):
            continue
        for _, settings in networks.value:
            for config in _graph._items(k8s.path(settings, "ipam", "config")):
                try:
                    found.append(ipaddress.ip_network(ye.scalar(ye.value(config, "subnet")) or "", strict=False))
                except ValueError:
                    continue
    return [n for n in found if n.version == 4]
