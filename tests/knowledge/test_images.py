"""Image references and the official-image table."""
from __future__ import annotations

import pytest

from orchfix.transforms._knowledge import images


@pytest.mark.parametrize("text, registry, path, tag, digest", [
    ("node", None, "node", None, None),
    ("node:22-alpine", None, "node", "22-alpine", None),
    ("library/redis:7", None, "library/redis", "7", None),
    ("localhost:5000/app:1.2", "localhost:5000", "app", "1.2", None),
    ("ghcr.io/org/tool@sha256:abc", "ghcr.io", "org/tool", None, "sha256:abc"),
    ("gcr.io/distroless/nodejs22-debian12:nonroot", "gcr.io", "distroless/nodejs22-debian12", "nonroot", None),
    ("bitnami/postgresql:latest", None, "bitnami/postgresql", "latest", None),
])
def test_parse_ref(text, registry, path, tag, digest):
    ref = images.parse_ref(text)
    assert (ref.registry, ref.path, ref.tag, ref.digest) == (registry, path, tag, digest)


def test_official_floating_and_with_tag():
    assert images.parse_ref("node").official and images.parse_ref("docker.io/library/node").official
    assert not images.parse_ref("bitnami/redis").official
    assert images.parse_ref("node:latest").floating and not images.parse_ref("node@sha256:1").floating
    assert images.parse_ref("docker.io/library/node:latest").with_tag("22") == "docker.io/library/node:22"
    assert images.parse_ref("${BASE}:latest").variable


@pytest.mark.parametrize("text, family, shell", [
    ("node:22-alpine", "alpine", True), ("python:3.12-slim-bookworm", "debian", True), ("node", "debian", True),
    ("scratch", "scratch", False), ("gcr.io/distroless/static-debian12", "distroless", False),
    ("gcr.io/distroless/base:debug", "distroless", True),
    ("mongo", "ubuntu", True), ("example.com/unknown", None, None),
])
def test_family_and_shell(text, family, shell):
    ref = images.parse_ref(text)
    assert images.family(ref) == family and images.has_shell(ref) is shell


def test_pins_prefer_user_over_table():
    ref = images.parse_ref("node:latest")
    assert images.pin_for(ref, {}) == images.table()[1]["node"].pin
    assert images.pin_for(ref, {"node": "20.18-alpine"}) == "20.18-alpine"
    assert images.pin_for(images.parse_ref("example.com/x"), {}) is None
