"""Image roles: which images are internal services (database, cache, broker, admin tool)."""
from __future__ import annotations

import pytest

from orchfix.transforms._knowledge import images


@pytest.mark.parametrize(("ref", "role"), [
    ("postgres:17", "database"), ("docker.io/library/mysql:8", "database"), ("mariadb", "database"),
    ("bitnami/postgresql:16", "database"), ("circleci/postgres:12", "database"), ("postgis/postgis:16-3.4", "database"),
    ("mcr.microsoft.com/mssql/server:2022-latest", "database"), ("mcr.microsoft.com/azure-sql-edge:1.0.4", "database"),
    ("ghcr.io/documentdb/documentdb/documentdb-local:pg17", "database"), ("elasticsearch:8.15.0", "database"),
    ("redis:7-alpine", "cache"), ("redislabs/redismod", "cache"), ("valkey/valkey:8", "cache"), ("memcached", "cache"),
    ("rabbitmq:4-management", "broker"), ("confluentinc/cp-kafka:7.6.0", "broker"), ("bitnami/kafka", "broker"),
    ("docker.redpanda.com/vectorized/redpanda:v22.2.2", "broker"),
    ("dpage/pgadmin4", "admin"), ("adminer:4", "admin"), ("phpmyadmin/phpmyadmin", "admin"), ("mongo-express", "admin"),
    ("nginx:1.27", None), ("example/app", None), ("eclipse-mosquitto:2", None), ("${DB_IMAGE}", None), ("grafana/grafana", None),
])
def test_role(ref, role):
    assert images.role(images.parse_ref(ref)) == role


def test_roles_are_the_documented_ones():
    known = images.INTERNAL_ROLES | {"devtool"}
    assert {info.role for info in images.table()[1].values() if info.role} <= known
    assert set(images._data()["roles"]) <= known
    assert images.DATA_ROLES < images.INTERNAL_ROLES
