"""Stateful images: data directories and health commands for Compose."""
from __future__ import annotations

import pytest

from orchfix.transforms._knowledge import stateful


@pytest.mark.parametrize("image, kind", [
    ("postgres:16", "postgres"), ("docker.io/library/mysql:8.4", "mysql"), ("postgis/postgis:16-3.4", "postgres"),
    ("docker.elastic.co/elasticsearch/elasticsearch:8.15.0", "elasticsearch"), ("redislabs/redismod", "redis"),
])
def test_known_images(image, kind):
    assert stateful.of(image).kind == kind


@pytest.mark.parametrize("image", ["nginx", "memcached:1.6", "bitnami/postgresql:16", "${DB_IMAGE}", None, "app:1"])
def test_not_stateful_or_unknown(image):
    assert stateful.of(image) is None


@pytest.mark.parametrize("image, env, command, path", [
    ("postgres:17", {}, [], "/var/lib/postgresql/data"),
    ("postgres:18-alpine", {}, [], "/var/lib/postgresql"),
    ("postgres", {}, [], "/var/lib/postgresql"),
    ("postgres:17", {"PGDATA": "/pg/data/"}, [], "/pg/data"),
    ("mysql:8.4", {}, ["--datadir=/srv/db"], "/srv/db"),
    ("mongo:7", {}, ["mongod", "--dbpath", "/db"], "/db"),
    ("redis:7", {}, ["redis-server", "--dir", "/r"], "/r"),
    ("elasticsearch:7.17.0", {"path.data": "/es"}, [], "/es"),
])
def test_data_dir(image, env, command, path):
    assert stateful.data_dir(stateful.of(image), env, command) == (path, None)


def test_data_dir_unknown():
    assert stateful.data_dir(stateful.of("postgres:17"), {"PGDATA": "${X}"}, [])[0] is None
    assert stateful.data_dir(stateful.of("timescale/timescaledb:2.14.2"), {}, [])[0] is None
    assert stateful.data_dir(stateful.of("timescale/timescaledb:2.14.2-pg16"), {}, []) == ("/var/lib/postgresql/data", None)


def test_health_fills_the_services_user_and_escapes_dollars():
    pg = stateful.of("postgres:17")
    assert stateful.health(pg, {"POSTGRES_USER": "app"}, []) == ("pg_isready -U app", None)
    assert stateful.health(pg, {"POSTGRES_USER": "${U}"}, [])[0] == "pg_isready -U $${POSTGRES_USER:-postgres}"
    assert stateful.health(pg, {}, ["-c", "port=5433"])[0] is None


def test_health_per_version_and_unattended_cases():
    assert stateful.health(stateful.of("mongo:4.4"), {}, [])[0].startswith("mongo --quiet")
    assert stateful.health(stateful.of("mariadb:11.4.2"), {}, [])[0] == "mariadb-admin ping -h 127.0.0.1 --silent"
    assert stateful.health(stateful.of("redis:7"), {}, ["redis-server", "--requirepass", "x"])[0] is None
    assert stateful.health(stateful.of("elasticsearch:8.15.0"), {}, [])[0] is None
    assert stateful.health(stateful.of("elasticsearch:8.15.0"), {"xpack.security.enabled": "false"}, [])[0]


def test_redis_as_a_cache():
    redis = stateful.of("redis:7")
    assert not stateful.persists(redis, ["redis-server", "--save", "", "--appendonly", "no"])
    assert stateful.persists(redis, ["redis-server", "--save", "", "--appendonly", "yes"])
    assert stateful.persists(redis, [])
