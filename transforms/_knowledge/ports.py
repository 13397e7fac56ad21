"""Well-known ports that do not speak plain HTTP, so an HTTP health probe on them would always fail.

Used by hc-001 (Dockerfile HEALTHCHECK) and meant for hc-002 (Kubernetes probes: httpGet vs
tcpSocket). A port not listed here may be HTTP; nothing here proves that it is.
"""
from __future__ import annotations

NOT_HTTP: dict[int, str] = {
    21: "FTP", 22: "SSH", 23: "telnet", 25: "SMTP", 53: "DNS", 69: "TFTP", 110: "POP3", 111: "rpcbind",
    123: "NTP", 135: "MSRPC", 139: "NetBIOS", 143: "IMAP", 161: "SNMP", 389: "LDAP", 443: "HTTPS (TLS)",
    445: "SMB", 465: "SMTPS", 514: "syslog", 587: "SMTP submission", 636: "LDAPS", 873: "rsync",
    993: "IMAPS", 995: "POP3S", 1080: "SOCKS", 1194: "OpenVPN", 1433: "SQL Server", 1521: "Oracle",
    1883: "MQTT", 2049: "NFS", 2181: "ZooKeeper", 3306: "MySQL", 3389: "RDP", 3478: "STUN",
    4222: "NATS", 4369: "Erlang EPMD", 4444: "Galera SST", 4567: "Galera replication", 4568: "Galera IST",
    5060: "SIP", 5222: "XMPP", 5269: "XMPP server", 5432: "PostgreSQL", 5671: "AMQPS", 5672: "AMQP",
    5900: "VNC", 6379: "Redis", 6667: "IRC", 6697: "IRC over TLS", 7000: "Cassandra inter-node",
    7001: "Cassandra inter-node (TLS)", 7199: "JMX", 8443: "HTTPS (TLS)", 8883: "MQTT over TLS",
    9042: "Cassandra CQL", 9050: "Tor SOCKS", 9092: "Kafka", 9160: "Cassandra Thrift",
    9300: "Elasticsearch transport", 11211: "memcached", 25565: "Minecraft", 27017: "MongoDB",
    50051: "gRPC", 51413: "BitTorrent",
}


def not_http(port: int) -> str | None:
    """The protocol a well-known non-HTTP port speaks, or None when it may be HTTP."""
    return NOT_HTTP.get(port)
