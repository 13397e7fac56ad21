"""io-001: specific base image tags (and the optional digest pin, against a local fake registry)."""
from __future__ import annotations

import pytest

from orchfix import documents
from orchfix.fixer import fix_document
from orchfix.registry import all_transforms
from orchfix.transform import Context
from orchfix.transforms._knowledge import registry
from orchfix.workspace import Workspace
from tests.corpus import needs_corpus
from tests.helpers import fix, hadolint_codes, hadolint_parses, run
from tests.knowledge.fake_registry import DIGEST, FakeRegistry
from tests.transforms.dockerfile_corpus import check_corpus

ID = "io-001"


@pytest.mark.parametrize(("before", "after"), [
    ("FROM alpine\n", "FROM alpine:3.22\n"),
    ("FROM alpine:latest\n", "FROM alpine:3.22\n"),
    # latest is the full image: the slim table pin loses -slim (cm-002 decides about slim)
    ("FROM node\nCMD [\"node\"]\n", "FROM node:22-bookworm\nCMD [\"node\"]\n"),
    ("FROM python:latest\n", "FROM python:3.13-bookworm\n"),
    ("FROM debian\n", "FROM debian:bookworm\n"),
    ("FROM docker.io/library/node\n", "FROM docker.io/library/node:22-bookworm\n"),
    ("FROM library/redis:latest\n", "FROM library/redis:7.4-bookworm\n"),
    ("FROM --platform=$BUILDPLATFORM golang AS build\n", "FROM --platform=$BUILDPLATFORM golang:1.25-bookworm AS build\n"),
    ("from alpine as Base\nfrom Base\n", "from alpine:3.22 as Base\nfrom Base\n"),
    ("FROM alpine\r\nRUN true\r\n", "FROM alpine:3.22\r\nRUN true\r\n"),
    ("FROM \\\n    alpine \\\n    AS x\n", "FROM \\\n    alpine:3.22 \\\n    AS x\n"),
    ("# escape=`\nFROM `\n  busybox\n", "# escape=`\nFROM `\n  busybox:1.37\n"),
    ("FROM golang:1.22 AS build\nFROM alpine\nCOPY --from=build /x /x\n",
     "FROM golang:1.22 AS build\nFROM alpine:3.22\nCOPY --from=build /x /x\n"),
    ("FROM nginx", "FROM nginx:1.28-alpine"),
])
def test_pins_from_the_table(before, after):
    assert fix(ID, before) == after
    assert hadolint_parses(after)


def test_hadolint_rules_drop():
    text = "FROM alpine\nFROM ubuntu:latest\n"
    assert {"DL3006", "DL3007"} <= hadolint_codes(text)
    assert not {"DL3006", "DL3007"} & hadolint_codes(fix(ID, text))


def test_user_pins_win_over_the_table():
    text = "FROM node\nFROM ghcr.io/acme/tool:latest\nFROM docker.io/library/alpine\n"
    outcome = _run_with_pins(text, {"node": "20.11-bookworm", "ghcr.io/acme/tool": "1.4.2", "library/alpine": "3.20"})
    assert outcome.text == "FROM node:20.11-bookworm\nFROM ghcr.io/acme/tool:1.4.2\nFROM docker.io/library/alpine:3.20\n"


def _run_with_pins(text, pins, options=None):
    """Like tests.helpers.run, with the configuration's [pins] (run() has no pins parameter)."""
    cls = all_transforms()[ID]
    ctx = Context(options={**cls.options, **(options or {})}, workspace=Workspace(), pins=pins)
    return fix_document(documents.load("Dockerfile", "dockerfile", text), [cls(ctx)], unsafe_ok=True)


@pytest.mark.parametrize("before", [
    "FROM alpine:3.20\n",
    "FROM node:20-alpine AS build\n",
    "FROM node@sha256:" + "a" * 64 + "\n",
    "FROM node:latest@sha256:" + "a" * 64 + "\n",  # a digest pins, whatever the tag says
    "FROM scratch\n",
    "FROM SCRATCH\n",
    "FROM golang:1.22 AS Build\nFROM build\n",  # stage names are case-insensitive
    "ARG NODE_VERSION=20\nFROM node:${NODE_VERSION}\n",  # the tag is set by the build argument
    "ARG BASE\nFROM ${BASE}\n",  # no default: whoever builds chooses
    "ARG BASE=alpine:3.20\nFROM $BASE\n",
    "FROM localhost:5000/app:1.2\n",
])
def test_near_misses(before):
    outcome = run(ID, before)
    assert outcome.text == before and not outcome.remaining


@pytest.mark.parametrize(("before", "image"), [
    ("FROM gcr.io/distroless/static\n", '"gcr.io/distroless/static"'),
    ("FROM ghcr.io/acme/tool:latest\n", '"ghcr.io/acme/tool"'),
    ("FROM bitnami/redis\n", '"bitnami/redis"'),
    ("FROM centos\n", "centos"),
])
def test_reports_when_no_pin_is_known(before, image):
    outcome = run(ID, before)
    assert outcome.text == before
    [finding] = outcome.remaining
    assert finding.fix is None and finding.message.startswith("no pin known for ")
    assert finding.reason == f'set [pins] {image} = "..."'


def test_reports_arg_defaults_that_float():
    text = "ARG IMAGE=alpine\nARG TAG=latest\nFROM ${IMAGE}:${TAG}\n"
    outcome = run(ID, text)
    assert outcome.text == text
    [finding] = outcome.remaining
    assert finding.fix is None and "ARG IMAGE, TAG" in finding.reason and "alpine:latest" in finding.message


def test_unsafe_only_with_unsafe():
    text = "FROM alpine\n"
    outcome = run(ID, text, unsafe=False)
    assert outcome.text == text and outcome.remaining[0].fix is not None


# -- digests (resolve_digests) against a fake registry on 127.0.0.1 ------------------------------

@pytest.fixture
def fake():
    registry.clear_cache()
    with FakeRegistry() as server:
        yield server
    registry.clear_cache()


def test_resolves_the_digest_of_the_pinned_tag(fake):
    options = {"resolve_digests": True, "registry_url": fake.url}
    after = fix(ID, "FROM --platform=linux/amd64 node AS app\n", options=options)
    assert after == f"FROM --platform=linux/amd64 node:22-bookworm@{DIGEST} AS app\n"
    assert fake.asked == [("HEAD", "/v2/library/node/manifests/22-bookworm")] * 2  # 401, then with the token
    assert hadolint_parses(after) and not {"DL3006", "DL3007"} & hadolint_codes(after)


def test_lookup_failure_keeps_the_tag_pin(fake):
    outcome = run(ID, "FROM alpine\n", options={"resolve_digests": True, "registry_url": fake.url})
    assert outcome.text == "FROM alpine:3.22\n"
    [applied] = outcome.applied
    assert "digest not resolved" in applied.message and "does not exist" in applied.message


def test_network_failure_keeps_the_tag_pin():
    registry.clear_cache()
    outcome = run(ID, "FROM alpine\n", options={"resolve_digests": True, "registry_url": "http://127.0.0.1:9"})
    assert outcome.text == "FROM alpine:3.22\n"
    assert "did not answer" in outcome.applied[0].message


def test_no_network_by_default(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("io-001 went on the network without resolve_digests")
    monkeypatch.setattr(registry, "digest", boom)
    assert fix(ID, "FROM alpine\n") == "FROM alpine:3.22\n"


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, {"FROM"})
    assert counts["applied"] > 50 and counts["report-only"] > 0
