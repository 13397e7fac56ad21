"""The workspace: which files a run covers and what kind each one is."""
from __future__ import annotations

import os
from pathlib import PurePosixPath

import pytest

from orchfix import kinds
from orchfix.workspace import Workspace


@pytest.mark.parametrize("path, head, kind", [
    ("Dockerfile", b"", "dockerfile"), ("api.Dockerfile", b"", "dockerfile"), ("Dockerfile.dev", b"", "dockerfile"),
    ("Containerfile", b"", "dockerfile"), ("x/.dockerignore", b"", "dockerignore"),
    ("compose.yaml", b"", "compose"), ("docker-compose.prod.yml", b"", "compose"), ("stack.yml", b"services:\n", "compose"),
    ("deploy/app.yaml", b"apiVersion: v1\nkind: Service\n", "k8s"), ("app.yaml", b"services:\n  a: {}\n", "compose"),
    (".github/workflows/ci.yml", b"on: push\n", "workflow"), ("run", b"#!/usr/bin/env bash\n", "shell"),
    ("build.sh", b"", "shell"), ("Makefile", b"", "makefile"), ("rules.mk", b"", "makefile"),
    ("build.xml", b"", "ant"), ("build.gradle.kts", b"", "gradle"), ("package.json", b"{}", "package.json"),
    ("values.txt", b"", "other"), ("conf.yaml", b"a: 1\n", "yaml"),
])
def test_classify(path, head, kind):
    assert kinds.classify(PurePosixPath(path), head, chart_root=False) == kind


@pytest.mark.parametrize("path, head, kind", [
    ("chart/templates/deploy.yaml", b"apiVersion: v1\nkind: Pod\n", "helm"),
    ("chart/crds/crd.yaml", b"apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n", "k8s"),
    ("chart/values.yaml", b"replicaCount: 1\n", "helm"), ("chart/README.md", b"", "helm"),
    ("chart/Makefile", b"", "makefile"),
])
def test_classify_in_chart(path, head, kind):
    assert kinds.classify(PurePosixPath(path), head, chart_root=True) == kind


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("build/\n*.generated.yaml\n")
    for rel in ("Dockerfile", "build/Dockerfile", "app/compose.yaml", "app/x.generated.yaml", "app/keep/Dockerfile",
                "node_modules/pkg/Dockerfile"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("FROM a\n" if "Dockerfile" in rel else "services: {}\n")
    (tmp_path / "app/.gitignore").write_text("keep/\n")
    return tmp_path


def test_gitignore_files_are_honoured_from_the_repo_top(tree):
    assert sorted(Workspace.scan(["."]).files) == ["Dockerfile", "app/compose.yaml"]
    # scanning a subfolder still honours the top-level .gitignore
    assert sorted(Workspace.scan(["app"]).files) == ["app/compose.yaml"]


def test_exclude_patterns(tree):
    assert sorted(Workspace.scan(["."], exclude=["app/"]).files) == ["Dockerfile"]


def test_symlinks_are_not_followed(tree, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "Dockerfile").write_text("FROM a\n")
    os.symlink(outside, tree / "linked")
    os.symlink(outside / "Dockerfile", tree / "other.Dockerfile")
    assert sorted(Workspace.scan(["."]).files) == ["Dockerfile", "app/compose.yaml"]


def test_binary_and_oversized_files_are_noted(tree, monkeypatch):
    (tree / "bin.Dockerfile").write_bytes(b"FROM a\0\0")
    monkeypatch.setattr("orchfix.workspace.MAX_FILE_SIZE", 10)
    (tree / "big.Dockerfile").write_text("FROM alpine\n" * 2)
    ws = Workspace.scan(["."])
    assert ("bin.Dockerfile", "binary file, skipped") in ws.notes
    assert any(path == "big.Dockerfile" and "larger than" in why for path, why in ws.notes)


def test_missing_path_is_an_error(tree):
    with pytest.raises(FileNotFoundError):
        Workspace.scan(["nope"])
