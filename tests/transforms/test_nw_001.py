"""nw-001: service names, not hard-coded private IPs (Compose and Kubernetes env values)."""
from __future__ import annotations

import pytest

from tests.corpus import needs_corpus
from tests.helpers import compose_errors, fix, k8s_errors, reason_of, run
from tests.transforms.crossfile import project
from tests.transforms.yaml_corpus import check_corpus

ID = "nw-001"

FIXED = ("  db:\n    image: postgres:17\n    networks:\n      back:\n        ipv4_address: 172.28.0.5\n"
         "networks:\n  back:\n    ipam:\n      config:\n        - subnet: 172.28.0.0/16\n")


def app(env: str, networks: str = "    networks: [back]\n") -> str:
    return f"services:\n  app:\n    image: example/app:1\n    environment:\n{env}{networks}{FIXED}"


def fixed(text: str, **kw) -> str:
    out = fix(ID, text, kind="compose", **kw)
    assert not compose_errors(out)
    return out


@pytest.mark.parametrize(("env", "after"), [
    ("      DB_HOST: 172.28.0.5\n", "      DB_HOST: db\n"),
    ("      DATABASE_URL: postgres://u:p@172.28.0.5:5432/app?sslmode=disable\n",
     "      DATABASE_URL: postgres://u:p@db:5432/app?sslmode=disable\n"),
    ('      JDBC: "jdbc:postgresql://172.28.0.5:5432/app"  # main\n', '      JDBC: "jdbc:postgresql://db:5432/app"  # main\n'),
    ("      - DB_HOST=172.28.0.5\n", "      - DB_HOST=db\n"),
    ('      - "PGHOST=172.28.0.5"\n', '      - "PGHOST=db"\n'),
    ("      DB: ${DB_HOST:-172.28.0.5}:5432\n", "      DB: ${DB_HOST:-db}:5432\n"),
    ("      HOSTS: 172.28.0.5:5432,172.28.0.5:5433\n", "      HOSTS: db:5432,db:5433\n"),
])
def test_fixed_ipv4_address_becomes_the_service_name(env, after):
    assert fixed(app(env)) == app(after)


@pytest.mark.parametrize(("services", "env", "after"), [
    # no fixed address, but the variable and image name exactly one service (Docker's default pools)
    ("  pg:\n    image: postgres:16\n  web:\n    image: nginx\n", "DB_HOST: 172.20.0.5", "DB_HOST: pg"),
    ("  pg:\n    image: bitnami/postgresql\n  cache:\n    image: redis\n", "PG_URL: postgresql://172.20.0.5/x",
     "PG_URL: postgresql://pg/x"),
    ("  kv:\n    image: redis:7\n  db:\n    image: postgres\n", "CACHE_URL: redis://192.168.16.3:6379", "CACHE_URL: redis://kv:6379"),
    ("  auth-api:\n    build: .\n  db:\n    image: postgres\n", "AUTH_API_URL: http://172.19.0.7:8080/v1",
     "AUTH_API_URL: http://auth-api:8080/v1"),
    ("  broker:\n    image: rabbitmq:4\n", "CELERY: amqp://guest:guest@172.18.0.2:5672//", "CELERY: amqp://guest:guest@broker:5672//"),
])
def test_variable_and_image_name_one_service(services, env, after):
    before = f"services:\n  app:\n    build: .\n    environment:\n      {env}\n{services}"
    assert fixed(before) == before.replace(env, after)


@pytest.mark.parametrize(("text", "reason"), [
    (app("      DB_HOST: 172.28.0.9\n"), "replace the address"),  # in the subnet, no owner, names no one
    (app("      DB_HOST: 10.1.2.3\n"), "outside the project's networks"),
    (app("      DNS_SERVER: 172.28.0.5\n"), "takes an address"),
    (app("      - PIHOLE_DNS_=172.28.0.5#5054;1.1.1.1\n"), "takes an address"),
    (app("      BIND_ADDRESS: 172.28.0.5\n"), "takes an address"),
    (app("      DB_HOST: 172.28.0.5\n", networks=""), "not on back"),
    ("services:\n  app:\n    build: .\n    environment:\n      DB_HOST: 172.20.0.5\n  a:\n    image: postgres\n"
     "  b:\n    image: mysql\n", "could name a, b"),
])
def test_reports_unknown_targets(text, reason):
    result = run(ID, text, kind="compose")
    assert result.text == text and reason in reason_of(result)


def test_own_address_and_two_owners_are_reported():
    own = FIXED.replace("    networks:\n      back:", "    environment:\n      LISTEN_ON: 172.28.0.5\n      SELF: 172.28.0.5\n"
                        "    networks:\n      back:", 1)
    text = "services:\n" + own
    result = run(ID, text, kind="compose")
    assert result.text == text
    assert sorted(f.reason.split(" (")[0][:24] for f in result.remaining) == [
        "LISTEN_ON takes an addre", "it is the service's own "]


@pytest.mark.parametrize("env", [
    "      VERSION: 10.2.0.1\n",  # a version, not an address
    "      SUBNET: 172.28.0.0/16\n",  # a network
    "      NET: 172.28.0.0\n",
    "      LOCAL: 127.0.0.1\n      ANY: 0.0.0.0\n      PUBLIC_DNS: 8.8.8.8\n",
    "      TEXT: version 172.28.0.5.1\n",
])
def test_near_misses(env):
    text = app(env)
    result = run(ID, text, kind="compose")
    assert result.text == text and not result.remaining


def test_extra_hosts_dns_and_the_fixed_addresses_stay():
    text = app("      MODE: prod\n").replace("    networks: [back]\n", "    networks: [back]\n    extra_hosts:\n"
                                              "      - \"legacy:172.28.0.5\"\n    dns: [172.28.0.5]\n")
    result = run(ID, text, kind="compose")
    assert result.text == text and not result.remaining


def test_anchors_extension_fields_and_crlf():
    before = ("x-env: &env\n  TZ: UTC\nservices:\r\n  app:\r\n    image: example/app\r\n    environment:\r\n"
              "      <<: *env\r\n      REDIS_HOST: 172.28.0.6\r\n    networks: [back]\r\n    x-owner: me\r\n"
              "  redis:\r\n    image: redis\r\n    networks:\r\n      back:\r\n        ipv4_address: 172.28.0.6\r\n"
              "networks:\r\n  back: {}\r\n").replace("\r\n", "\n").replace("\n", "\r\n")
    assert fixed(before) == before.replace("REDIS_HOST: 172.28.0.6", "REDIS_HOST: redis")


def test_project_files_are_read_together(tmp_path, monkeypatch):
    layout = {
        "compose.yaml": "services:\n  app:\n    build: .\n    environment:\n      CACHE_HOST: 172.28.0.6\n",
        "compose.override.yaml": ("services:\n  cache:\n    image: redis\n    networks:\n      default:\n"
                                  "        ipv4_address: 172.28.0.6\nnetworks:\n  default:\n    ipam:\n      config:\n"
                                  "        - subnet: 172.28.0.0/24\n"),
    }
    ws = project(tmp_path, monkeypatch, layout)
    out = fix(ID, layout["compose.yaml"], kind="compose", path="compose.yaml", workspace=ws)
    assert out == layout["compose.yaml"].replace("172.28.0.6", "cache")


# Kubernetes ------------------------------------------------------------------------------------

SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: db
  namespace: {ns}
spec:
  clusterIP: 10.96.0.50
  selector:
    app: db
  ports:
    - port: 5432
"""

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: {ns}
spec:
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
    spec:
      initContainers:
        - name: wait
          image: busybox:1.37
          env:
            - name: DB
              value: "10.96.0.50:5432"
      containers:
        - name: api
          image: example/api:1
          env:
            - name: DATABASE_URL
              value: postgres://app:secret@10.96.0.50:5432/app
            - name: OTHER
              value: 10.0.0.9
"""


@pytest.mark.parametrize(("svc_ns", "app_ns", "name"), [("shop", "shop", "db"), ("data", "shop", "db.data")])
def test_k8s_cluster_ip_becomes_the_service_dns_name(svc_ns, app_ns, name):
    before = SERVICE.format(ns=svc_ns) + "---\n" + DEPLOYMENT.format(ns=app_ns)
    result = run(ID, before, kind="k8s")
    assert result.text == before.replace("10.96.0.50", "<IP>").replace("clusterIP: <IP>", "clusterIP: 10.96.0.50").replace("<IP>", name)
    assert not k8s_errors(result.text)
    [left] = result.remaining
    assert "no Service in the tree has the clusterIP 10.0.0.9" in left.reason
    assert run(ID, result.text, kind="k8s").text == result.text


def test_k8s_service_in_another_file(tmp_path, monkeypatch):
    layout = {"db.yaml": SERVICE.replace("  namespace: {ns}\n", ""),
              "api.yaml": DEPLOYMENT.replace("  namespace: {ns}\n", "").replace("            - name: OTHER\n              value: 10.0.0.9\n", "")}
    ws = project(tmp_path, monkeypatch, layout)
    out = fix(ID, layout["api.yaml"], kind="k8s", path="api.yaml", workspace=ws)
    assert out == layout["api.yaml"].replace("10.96.0.50", "db")
    assert not k8s_errors(out)


def test_k8s_service_without_namespace_from_a_namespaced_workload_is_reported():
    before = SERVICE.replace("  namespace: {ns}\n", "") + "---\n" + DEPLOYMENT.format(ns="shop")
    result = run(ID, before, kind="k8s")
    assert result.text == before
    assert sum("depends on where it is deployed" in f.reason for f in result.remaining) == 2


def test_k8s_list_and_cronjob():
    before = """apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata:
      name: cache
    spec:
      clusterIP: 10.96.0.7
      ports:
        - port: 6379
  - apiVersion: batch/v1
    kind: CronJob
    metadata:
      name: flush
    spec:
      schedule: "0 * * * *"
      jobTemplate:
        spec:
          template:
            spec:
              restartPolicy: Never
              containers:
                - name: flush
                  image: redis:7
                  env:
                    - name: REDIS_HOST
                      value: 10.96.0.7
"""
    out = fix(ID, before, kind="k8s")
    assert out == before.replace("value: 10.96.0.7", "value: cache")
    assert not k8s_errors(out)


def test_k8s_headless_and_dns_variables():
    before = SERVICE.format(ns="a").replace("clusterIP: 10.96.0.50", "clusterIP: None") + "---\n" + DEPLOYMENT.format(ns="a")
    result = run(ID, before, kind="k8s")
    assert result.text == before and all(f.fix is None for f in result.remaining)
    dns = SERVICE.format(ns="a") + "---\n" + DEPLOYMENT.format(ns="a").replace("name: DATABASE_URL", "name: NAMESERVER")
    result = run(ID, dns, kind="k8s")
    assert "NAMESERVER takes an address" in " ".join(f.reason or "" for f in result.remaining)


@needs_corpus
def test_corpus_compose():
    counts = check_corpus(ID, "compose", line_ok=lambda old, new: False)
    assert counts["reported: PIHOLE_DNS_ takes an address (DNS server,"] == 1 and not counts["applied"]


@needs_corpus
def test_corpus_k8s():
    counts = check_corpus(ID, "k8s", line_ok=lambda old, new: False)
    assert not counts["applied"]  # no corpus manifest fixes a clusterIP; commented-out values are not values
