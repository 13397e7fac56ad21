"""``docker stack config``: the docker CLI's own stack loader (its compose schema, interpolation and
env-file reader), as an oracle for what ``docker stack deploy`` would read. Tests skip without it."""
from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest
import yaml


@lru_cache(maxsize=1)
def available() -> bool:
    exe = shutil.which("docker")
    if not exe:
        return False
    probe = subprocess.run([exe, "stack", "config", "--help"], capture_output=True, text=True)
    return probe.returncode == 0


needs_docker_stack = pytest.mark.skipif(not available(), reason="docker CLI with `docker stack config` is absent")


def stack_config(folder: Path, name: str = "docker-stack.yml") -> dict:
    """The stack file ``folder/name`` as docker stack deploy loads it (raises AssertionError with
    the CLI's message when it refuses the file)."""
    proc = subprocess.run(["docker", "stack", "config", "-c", name], cwd=folder, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return yaml.load(proc.stdout, Loader=yaml.BaseLoader)  # every scalar as the text docker printed
