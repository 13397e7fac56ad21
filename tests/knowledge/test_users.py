"""users.py: who a final stage runs as and how to make it non-root (shared by sc-001 and cm-002)."""
from __future__ import annotations

import pytest

from orchfix import documents
from orchfix.transforms._knowledge import users


def doc(text):
    return documents.load("Dockerfile", "dockerfile", text)


@pytest.mark.parametrize(("value", "root"), [
    ("root", True), ("0", True), ("root:root", True), ("0:0", True), ("root:staff", True),
    ("app", False), ("1000", False), ("1000:0", False), ("rooty", False), ("10", False),
])
def test_is_root(value, root):
    assert users.is_root(value) is root


@pytest.mark.parametrize(("text", "family"), [
    ("FROM alpine:3.20\n", "alpine"), ("FROM node:20\n", "debian"), ("FROM node:20-alpine\n", "alpine"),
    ("FROM ubuntu:24.04\n", "ubuntu"), ("FROM busybox\n", "busybox"),
    ("FROM example.com/x\nRUN apk add curl\n", "alpine"),
    ("FROM example.com/x\nRUN apt-get -y install curl\n", "debian"),
    ("FROM example.com/x\nRUN dnf install -y curl\n", "rhel"),
    ("FROM registry.k8s.io/debian-base:0.3\n", "debian"),
    ("FROM mcr.microsoft.com/dotnet/aspnet:6.0\n", "debian"),
    ("ARG B=alpine:3.20\nFROM $B\n", "alpine"),
    ("FROM example.com/x\n", None), ("FROM ${B}\n", None),
])
def test_family_of(text, family):
    d = doc(text)
    assert users.family_of(d, d.stages[-1]) == family


@pytest.mark.parametrize(("run", "name"), [
    ("useradd -m -u 1000 -s /bin/bash dev", "dev"),
    ("adduser -D -g '' svc", "svc"),
    ("adduser --disabled-password --gecos '' web", "web"),
    ("groupadd -r g && useradd -r -g g worker", "worker"),
    ("addgroup -S app && adduser -S -G app app", "app"),
    ("apk add shadow && useradd $NAME", None),
    ("echo useradd", None),
])
def test_created_user(run, name):
    d = doc(f"FROM alpine\nRUN {run}\n")
    assert users.created_user(d, d.stages[-1]) == name


@pytest.mark.parametrize(("run", "names"), [
    ("addgroup -S app && adduser -S -G app app", {"app"}),
    ("groupadd --system app && useradd --system --gid app --no-create-home app", {"app"}),
    ("useradd -u 1000 dev", {"dev"}),
    ("useradd dev && chown dev /data", None),
    ("apk add curl", None),
    ("useradd $U", None),
])
def test_creates_only(run, names):
    d = doc(f"FROM alpine\nRUN {run}\n")
    assert users.creates_only(d.instructions[1]) == names


def test_plan_creation_commands_per_family():
    for family, command in users.CREATE_USER.items():
        assert command.format(user="app").count("app") >= 3, family
    plan = users.plan(doc("FROM alpine:3.20\nCOPY x /x\nCMD [\"/x\"]\n"), "svc")
    assert plan.user == "svc" and plan.line == 1 and plan.reason is None
    assert [e.new for e in plan.edits] == ["RUN addgroup -S svc && adduser -S -G svc svc\nUSER svc\n"]


@pytest.mark.parametrize("text", [
    "FROM alpine\nUSER app\n",
    "FROM redis:7\n",
    "FROM gcr.io/distroless/base-debian12:nonroot\n",
    "FROM mcr.microsoft.com/windows/nanoserver:ltsc2022\n",
])
def test_plan_none_when_not_root(text):
    assert users.plan(doc(text)) is None


def test_plan_reason_for_unknown_images():
    plan = users.plan(doc("FROM example.com/x:1\nCOPY a /a\n"))
    assert plan.edits is None and "does not know its distro" in plan.reason
