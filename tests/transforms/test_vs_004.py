"""vs-004: tmpfs for temporary data (volumes at temp paths, read-only services without /tmp)."""
from __future__ import annotations

import pytest
import yaml

from tests.corpus import needs_corpus
from tests.helpers import compose_errors
from tests.transforms.compose_cases import fixed, reasons, run_all, unchanged, workspace
from tests.transforms.stack_oracle import needs_docker_stack, stack_config
from tests.transforms.yaml_corpus import check_corpus

ID = "vs-004"


def _removed_ok(line: str) -> bool:
    """Lines vs-004 may remove or rewrite: volume items (both syntaxes), an emptied ``volumes:``
    key, top-level declarations, a ``tmpfs``/``volumes`` key that gains entries."""
    stripped = line.strip()
    return (stripped.startswith(("-", "tmpfs:", "volumes:", "type:", "target:"))
            or stripped.endswith(":") or stripped.endswith(": {}"))


def tmpfs_fixed(before: str, **kw) -> str:
    return fixed(ID, before, removed_ok=_removed_ok, **kw)


def test_anonymous_tmp_volume_becomes_a_tmpfs_entry():
    before = "services:\n  app:\n    image: python:3.13-slim\n    volumes:\n      - .:/app\n      - /tmp\n    command: python app.py\n"
    after = "services:\n  app:\n    image: python:3.13-slim\n    volumes:\n      - .:/app\n    command: python app.py\n    tmpfs:\n      - /tmp:size=64m\n"
    assert tmpfs_fixed(before) == after


def test_the_last_volume_removes_the_key():
    before = "services:\n  app:\n    image: example/app:1\n    volumes:\n      - /var/tmp\n"
    assert tmpfs_fixed(before) == "services:\n  app:\n    image: example/app:1\n    tmpfs:\n      - /var/tmp:size=64m\n"


def test_named_volume_used_once_goes_with_its_declaration():
    before = (
        "services:\n"
        "  app:\n"
        "    image: example/app:1\n"
        "    volumes:\n"
        "      - app-tmp:/app/tmp\n"
        "      - data:/data\n"
        "volumes:\n"
        "  app-tmp:\n"
        "  data:\n"
    )
    after = (
        "services:\n"
        "  app:\n"
        "    image: example/app:1\n"
        "    volumes:\n"
        "      - data:/data\n"
        "    tmpfs:\n"
        "      - /app/tmp:size=64m\n"
        "volumes:\n"
        "  data:\n"
    )
    assert tmpfs_fixed(before) == after
    # the only declaration: the whole top-level section goes
    alone = "services:\n  app:\n    image: example/app:1\n    volumes:\n      - scratch:/tmp\n\nvolumes:\n  scratch: {}\n"
    assert tmpfs_fixed(alone) == "services:\n  app:\n    image: example/app:1\n    tmpfs:\n      - /tmp:size=64m\n\n"


@pytest.mark.parametrize("target", ["/tmp", "/var/tmp", "/tmp/uploads", "/app/tmp", "/srv/app/temp", "/usr/src/app/tmp/"])
def test_temp_paths(target):
    before = f"services:\n  app:\n    image: example/app:1\n    volumes:\n      - ./src:/src\n      - {target}\n"
    after = tmpfs_fixed(before)
    assert yaml.safe_load(after)["services"]["app"]["tmpfs"] == [f"{target}:size=64m"]


def test_image_temp_dirs_count_as_temp_paths():
    before = "services:\n  web:\n    image: nginx:1.27\n    volumes:\n      - /var/cache/nginx\n      - ./site:/usr/share/nginx/html:ro\n"
    after = tmpfs_fixed(before)
    assert after == "services:\n  web:\n    image: nginx:1.27\n    volumes:\n      - ./site:/usr/share/nginx/html:ro\n    tmpfs:\n      - /var/cache/nginx:size=64m\n"


@pytest.mark.parametrize("volumes", [
    # caches survive restarts on purpose; data; dependency shields
    "      - cache:/root/.cache\n", "      - target:/code/target\n", "      - /app/cache\n", "      - /data\n",
    "      - /app/node_modules\n", "      - /var/cache/nginx\n",  # not nginx: unknown cache
    # binds and tmpfs already
    "      - ./tmp:/tmp\n", "      - type: tmpfs\n        target: /tmp\n",
    # named volumes shared, configured or external
    "      - shared:/tmp\n", "      - ext:/tmp\n", "      - mem:/tmp\n", "      - undeclared:/tmp\n",
])
def test_near_misses(volumes):
    text = (
        "services:\n  app:\n    image: example/app:1\n    volumes:\n" + volumes
        + "  other:\n    image: example/other:1\n    volumes:\n      - shared:/exchange\n"
        + "volumes:\n  cache:\n  target:\n  shared:\n  ext:\n    external: true\n"
        + "  mem:\n    driver_opts:\n      type: tmpfs\n      device: tmpfs\n"
    )
    unchanged(ID, text)


def test_long_syntax_anonymous_volume():
    before = "services:\n  app:\n    image: example/app:1\n    volumes:\n      - type: volume\n        target: /tmp\n      - .:/app\n"
    assert tmpfs_fixed(before) == "services:\n  app:\n    image: example/app:1\n    volumes:\n      - .:/app\n    tmpfs:\n      - /tmp:size=64m\n"


def test_several_temp_volumes_in_successive_passes():
    before = "services:\n  app:\n    image: example/app:1\n    volumes: [/tmp, ./x:/x, /app/tmp]\n"
    after = tmpfs_fixed(before)
    assert after == "services:\n  app:\n    image: example/app:1\n    volumes: [./x:/x]\n    tmpfs:\n      - /tmp:size=64m\n      - /app/tmp:size=64m\n"


def test_read_only_services_get_tmp_and_the_image_temp_dirs():
    before = "services:\n  web:\n    image: nginx:1.27\n    read_only: true\n  db:\n    image: postgres:17\n    read_only: true\n    volumes:\n      - db:/var/lib/postgresql/data\nvolumes:\n  db:\n"
    after = tmpfs_fixed(before)
    data = yaml.safe_load(after)["services"]
    assert data["web"]["tmpfs"] == ["/tmp:size=64m", "/var/cache/nginx:size=64m", "/var/run:size=64m"]
    assert data["db"]["tmpfs"] == ["/tmp:size=64m", "/var/run/postgresql:size=64m"]


@pytest.mark.parametrize(("tmpfs", "after"), [
    ("    tmpfs: /run\n", "    tmpfs:\n      - /run\n      - /tmp:size=64m\n      - /var/cache/nginx:size=64m\n"),
    ("    tmpfs: \"/run\"  # pid\n", "    tmpfs:  # pid\n      - \"/run\"\n      - /tmp:size=64m\n      - /var/cache/nginx:size=64m\n"),
    ("    tmpfs:\n      - /tmp\n", "    tmpfs:\n      - /tmp\n      - /var/cache/nginx:size=64m\n      - /var/run:size=64m\n"),
    ("    tmpfs: [/var/run:size=1m]\n", "    tmpfs: [/var/run:size=1m, /tmp:size=64m, /var/cache/nginx:size=64m]\n"),
])
def test_entries_merge_into_an_existing_tmpfs_key_without_duplicates(tmpfs, after):
    head = "services:\n  web:\n    image: nginx:1.27\n    read_only: true\n"
    assert tmpfs_fixed(head + tmpfs) == head + after


def test_read_only_near_misses():
    unchanged(ID, "services:\n  web:\n    image: nginx:1.27\n    read_only: false\n")
    unchanged(ID, "services:\n  web:\n    image: nginx:1.27\n    read_only: ${RO:-true}\n")
    unchanged(ID, "services:\n  app:\n    image: example/app:1\n    read_only: true\n    volumes:\n      - scratch:/tmp\n      - scratch:/srv\nvolumes:\n  scratch:\n")
    unchanged(ID, "services:\n  app:\n    image: example/app:1\n    read_only: true\n    volumes:\n      - type: tmpfs\n        target: /tmp\n")
    unchanged(ID, "services:\n  app:\n    image: example/app:1\n    read_only: true\n    volumes:\n      - ./scratch:/tmp\n")


def test_size_option():
    before = "services:\n  app:\n    image: example/app:1\n    volumes:\n      - ./src:/src\n      - /tmp\n"
    assert yaml.safe_load(tmpfs_fixed(before, options={"size": ""}))["services"]["app"]["tmpfs"] == ["/tmp"]
    assert yaml.safe_load(tmpfs_fixed(before, options={"size": "256m"}))["services"]["app"]["tmpfs"] == ["/tmp:size=256m"]


def test_stack_files_keep_tmpfs_as_volumes():
    before = (
        "services:\n"
        "  app:\n"
        "    image: example/app:1\n"
        "    read_only: true\n"
        "    volumes:\n"
        "      - /app/tmp\n"
        "    deploy:\n"
        "      replicas: 2\n"
    )
    after = tmpfs_fixed(before, path="docker-stack.yml")
    assert after == (
        "services:\n"
        "  app:\n"
        "    image: example/app:1\n"
        "    read_only: true\n"
        "    volumes:\n"
        "      - type: tmpfs\n"
        "        target: /app/tmp\n"
        "        tmpfs:\n"
        "          size: 67108864\n"
        "      - type: tmpfs\n"
        "        target: /tmp\n"
        "        tmpfs:\n"
        "          size: 67108864\n"
        "    deploy:\n"
        "      replicas: 2\n"
    )


def test_crlf_four_spaces_and_flush_sequences():
    before = "services:\r\n    app:\r\n        image: example/app:1\r\n        volumes:\r\n        - ./src:/src\r\n        - /tmp\r\n        read_only: true\r\n"
    after = tmpfs_fixed(before)
    assert after == "services:\r\n    app:\r\n        image: example/app:1\r\n        volumes:\r\n        - ./src:/src\r\n        read_only: true\r\n        tmpfs:\r\n        - /tmp:size=64m\r\n"


def test_anchors_and_extends_are_reported():
    aliased = "services:\n  a: &a\n    image: example/app:1\n    volumes:\n      - /tmp\n  b: *a\n"
    assert "anchor" in reasons(ID, aliased)[0]
    extends = "services:\n  base:\n    image: example/app:1\n  app:\n    extends: base\n    volumes:\n      - /tmp\n"
    assert "extends" in reasons(ID, extends)[0]
    merged = "x-ro: &ro\n  read_only: true\n  tmpfs: [/run]\nservices:\n  app:\n    <<: *ro\n    image: nginx:1.27\n"
    assert "merged anchor" in reasons(ID, merged)[0]


def test_merge_keys_are_read_and_x_fields_survive():
    before = (
        "x-ro: &ro\n"
        "  read_only: true\n"
        "x-note: keep me\n"
        "services:\n"
        "  app:\n"
        "    <<: *ro\n"
        "    image: example/app:1\n"
    )
    assert tmpfs_fixed(before) == before + "    tmpfs:\n      - /tmp:size=64m\n"


def test_volumes_shared_through_volumes_from_stay():
    unchanged(ID, "services:\n  app:\n    image: example/app:1\n    volumes:\n      - /tmp\n  sidecar:\n    image: busybox\n    volumes_from:\n      - app\n")


def test_a_named_volume_the_override_file_also_mounts_stays(tmp_path, monkeypatch):
    base = "services:\n  app:\n    image: example/app:1\n    volumes:\n      - scratch:/tmp\nvolumes:\n  scratch:\n"
    override = "services:\n  debug:\n    image: busybox\n    volumes:\n      - scratch:/inspect\n"
    ws = workspace(tmp_path, monkeypatch, {"compose.yaml": base, "compose.override.yaml": override})
    unchanged(ID, base, workspace=ws)
    ws = workspace(tmp_path, monkeypatch, {"compose.yaml": base, "compose.override.yaml": "services:\n  app:\n    ports: ['80:80']\n"})
    assert tmpfs_fixed(base, workspace=ws) == "services:\n  app:\n    image: example/app:1\n    tmpfs:\n      - /tmp:size=64m\n"


@pytest.mark.parametrize("order", [["vs-004", "sc-003"], ["sc-003", "vs-004"]])
def test_with_sc_003_one_tmpfs_list_without_duplicates(order):
    before = (
        "services:\n"
        "  web:\n"
        "    image: nginx:1.27\n"
        "    volumes:\n"
        "      - /tmp\n"
        "      - ./site:/usr/share/nginx/html:ro\n"
        "  cache:\n"
        "    image: redis:7.4\n"
        "    volumes:\n"
        "      - cache:/data\n"
        "      - /var/tmp\n"
        "volumes:\n"
        "  cache:\n"
    )
    after = run_all(order, before)
    assert run_all(order, after) == after
    assert not compose_errors(after)
    web, cache = yaml.safe_load(after)["services"]["web"], yaml.safe_load(after)["services"]["cache"]
    assert web["read_only"] is True and cache["read_only"] is True
    assert sorted(web["tmpfs"]) == ["/tmp:size=64m", "/var/cache/nginx:size=64m", "/var/run:size=64m"]
    assert sorted(cache["tmpfs"]) == ["/tmp:size=64m", "/var/tmp:size=64m"]
    assert web["volumes"] == ["./site:/usr/share/nginx/html:ro"] and cache["volumes"] == ["cache:/data"]


@needs_corpus
def test_corpus():
    # the corpus keeps no temp data in volumes and sets read_only only on volumes (0 findings at
    # the time of writing): the check is the promises (no errors, idempotent, valid, lines)
    check_corpus(ID, "compose", line_ok=lambda old, new: old is None or _removed_ok(old))


@needs_docker_stack
def test_docker_stack_reads_the_stack_output(tmp_path):
    before = "services:\n  app:\n    image: example/app:1\n    read_only: true\n    volumes: [/app/tmp]\n    deploy:\n      replicas: 2\n"
    (tmp_path / "docker-stack.yml").write_text(tmpfs_fixed(before, path="docker-stack.yml"))
    app = stack_config(tmp_path)["services"]["app"]
    assert [(v["type"], v["target"]) for v in app["volumes"]] == [("tmpfs", "/app/tmp"), ("tmpfs", "/tmp")]


@pytest.mark.parametrize(("before", "after"), [
    ("services:\n  app:\n    image: x/app\n    volumes:\n      - ./a:/a\n      - /tmp",
     "services:\n  app:\n    image: x/app\n    volumes:\n      - ./a:/a\n    tmpfs:\n      - /tmp:size=64m\n"),
    ("services:\r\n  app:\r\n    image: x/app\r\n    volumes:\r\n      - /tmp",
     "services:\r\n  app:\r\n    image: x/app\r\n    tmpfs:\r\n      - /tmp:size=64m\r\n"),
])
def test_no_final_newline(before, after):
    assert tmpfs_fixed(before) == after


def test_a_volumes_list_shared_through_an_anchor_is_reported():
    text = "x-vols: &vols\n  - /tmp\nservices:\n  a:\n    image: example/a:1\n    volumes: *vols\n  b:\n    image: example/b:1\n    volumes: *vols\n"
    assert all("anchor" in r for r in reasons(ID, text))
