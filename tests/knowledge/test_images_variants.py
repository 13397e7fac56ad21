"""images.py additions: slim variants, variant-keeping pins, versions of tags, the distroless mapping."""
from __future__ import annotations

import pytest

from orchfix.transforms._knowledge import images


@pytest.mark.parametrize(("text", "slim"), [
    ("node:20", "20-slim"), ("node:20.11.1", "20.11.1-slim"), ("node:lts", "lts-slim"),
    ("node:20-bookworm", "20-bookworm-slim"),  # node puts -slim after the codename
    ("python:3.12", "3.12-slim"), ("python:3.12-bookworm", "3.12-slim-bookworm"),  # python before it
    ("ruby:3.3-bullseye", "3.3-slim-bullseye"), ("debian:bookworm", "bookworm-slim"), ("debian:12", "12-slim"),
    ("node:20-slim", None), ("node:20-alpine", None), ("python:3.12-alpine3.20", None), ("python:3.12-windowsservercore", None),
    ("node", None), ("golang:1.22", None), ("example.com/node:20", None),
])
def test_slim_tag(text, slim):
    assert images.slim_tag(images.parse_ref(text)) == slim


@pytest.mark.parametrize(("text", "pins", "tag"), [
    ("node", {}, "22-bookworm"),  # latest is the full image: the slim table pin loses -slim
    ("node:latest", {}, "22-bookworm"),
    ("alpine", {}, "3.22"),
    ("debian", {}, "bookworm"),
    ("node", {"node": "20-alpine"}, "20-alpine"),  # the user's pin as written
    ("docker.io/library/node", {"docker.io/library/node": "21"}, "21"),
    ("ghcr.io/acme/tool", {}, None),
])
def test_same_variant_pin(text, pins, tag):
    assert images.same_variant_pin(images.parse_ref(text), pins) == tag


@pytest.mark.parametrize(("tag", "major", "minor"), [
    ("20-alpine", "20", None), ("3.12.1-slim", "3", "3.12"), ("17.0.9_9-jre", "17", "17.0"),
    ("lts", None, None), (None, None, None), ("alpine", None, None),
])
def test_versions_of_tags(tag, major, minor):
    assert images.major_version(tag) == major and images.minor_version(tag) == minor


@pytest.mark.parametrize(("text", "runtime", "version", "image"), [
    ("node:20-alpine", "node", "20", "gcr.io/distroless/nodejs20-debian12"),
    ("eclipse-temurin:21-jre", "java", "21", "gcr.io/distroless/java21-debian12"),
    ("openjdk:17", "java", "17", "gcr.io/distroless/java17-debian12"),
    ("python:3.11-slim", "python", "3.11", "gcr.io/distroless/python3-debian12"),
    ("alpine:3.20", "static", None, "gcr.io/distroless/static-debian12"),
    ("golang:1.22", "static", None, "gcr.io/distroless/static-debian12"),
    ("node:16", "node", "16", None),  # not published
])
def test_distroless_mapping(text, runtime, version, image):
    mapping = images.distroless_of(images.parse_ref(text))
    assert mapping.runtime == runtime and mapping.image_for(version) == image


def test_distroless_mapping_knows_entrypoints_and_skips_others():
    assert images.distroless_for("java").entrypoint == ("/usr/bin/java", "-jar")
    assert images.distroless_for("node").entrypoint == ("/nodejs/bin/node",)
    assert images.distroless_of(images.parse_ref("nginx")) is None
    assert images.distroless_of(images.parse_ref("example.com/node:20")) is None
    assert set(images.DISTROLESS_USERS) == {"root", "nonroot", "nobody"}


def test_how_images_run():
    table = images.table()[1]
    assert table["postgres"].runs_as == "entrypoint" and table["memcached"].runs_as == "user"
    assert table["nginx"].runs_as == "root-master" and table["node"].runs_as is None
