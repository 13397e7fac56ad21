"""dc-003: developer tools (admin UIs, mail catchers…) in a profile."""
from __future__ import annotations

import pytest

from tests.corpus import needs_corpus
from tests.transforms.compose_cases import fixed, reasons, unchanged, workspace
from tests.transforms.yaml_corpus import check_corpus

ID = "dc-003"
APP = "services:\n  app:\n    image: example/app:1\n"


def _line_ok(old: str | None, new: str | None) -> bool:
    return old is None and new is not None and new.strip().startswith(("profiles:", "- debug"))


@pytest.mark.parametrize("image", [
    "adminer", "adminer:4.8.1", "phpmyadmin:5", "phpmyadmin/phpmyadmin", "dpage/pgadmin4:latest", "mongo-express:1",
    "rediscommander/redis-commander:latest", "redis/redisinsight:2", "provectuslabs/kafka-ui", "obsidiandynamics/kafdrop",
    "mailhog/mailhog", "axllent/mailpit:v1.21", "maildev/maildev:2", "rnwood/smtp4dev", "amir20/dozzle:latest",
    "swaggerapi/swagger-ui", "docker.redpanda.com/redpandadata/console:v2.7", "ghcr.io/kafbat/kafka-ui:main",
    "${ADMINER_IMAGE:-adminer:4}",
])
def test_tools(image):
    before = APP + f"  tool:\n    image: {image}\n    ports:\n      - \"8080:8080\"\n"
    assert fixed(ID, before) == before + "    profiles: [debug]\n"


@pytest.mark.parametrize("image", ["portainer/portainer-ce", "postgres:17", "nginx", "example/adminer-theme", "${TOOL}"])
def test_other_images(image):
    unchanged(ID, APP + f"  tool:\n    image: {image}\n")


def test_profile_option_and_block_style_of_the_file():
    before = APP + "  seed:\n    image: example/seed\n    profiles:\n      - seed\n  pgadmin:\n    image: dpage/pgadmin4\n"
    assert fixed(ID, before, options={"profile": "tools"}) == before + "    profiles:\n      - tools\n"


def test_already_in_a_profile():
    unchanged(ID, APP + "  adminer:\n    image: adminer\n    profiles: [admin]\n")
    unchanged(ID, APP + "  adminer:\n    image: adminer\n    profiles: []\n")
    unchanged(ID, "x-p: &p\n  profiles: [tools]\n" + APP + "  adminer:\n    <<: *p\n    image: adminer\n")


@pytest.mark.parametrize(("extra", "who"), [
    ("    depends_on: [mail]\n", "app"),
    ("    depends_on:\n      mail:\n        condition: service_started\n", "app"),
    ("    links:\n      - mail:smtp\n", "app"),
    ("    environment:\n      SMTP_HOST: mail\n", "app"),
    ("    environment:\n      - MAIL_URL=smtp://mail:1025\n", "app"),
    ("    command: ./run --smtp mail:1025\n", "app"),
    ("    network_mode: service:mail\n", "app"),
    ("    volumes_from:\n      - mail\n", "app"),
])
def test_tools_other_services_use_are_reported(extra, who):
    text = APP + extra + "  mail:\n    image: axllent/mailpit\n"
    [reason] = reasons(ID, text)
    assert reason.startswith(f"{who} uses it")


def test_a_user_in_the_same_profile_is_fine():
    before = APP + "  adminer:\n    image: adminer\n  theme:\n    image: example/theme\n    profiles: [debug]\n    depends_on: [adminer]\n"
    assert fixed(ID, before) == before.replace("image: adminer\n", "image: adminer\n    profiles: [debug]\n")


def test_a_project_of_tools_only_is_reported():
    [reason] = reasons(ID, "services:\n  mail:\n    image: mailhog/mailhog\n")
    assert "nothing but developer tools" in reason


def test_stack_files_and_shared_anchors_are_reported():
    stack = APP + "    deploy:\n      replicas: 2\n  adminer:\n    image: adminer\n"
    assert "swarm stack" in reasons(ID, stack)[0]
    shared = APP + "  a: &tool\n    image: adminer\n  b: *tool\n"
    assert all("anchor" in r for r in reasons(ID, shared))


def test_override_file_counts(tmp_path, monkeypatch):
    base = APP + "  mail:\n    image: mailhog/mailhog\n"
    override = "services:\n  app:\n    environment:\n      SMTP_HOST: mail\n"
    ws = workspace(tmp_path, monkeypatch, {"compose.yaml": base, "compose.override.yaml": override})
    assert reasons(ID, base, workspace=ws)[0].startswith("app uses it")
    # the override only adds ports to the tool: the profile goes where its image is, once
    override = "services:\n  mail:\n    ports: ['8025:8025']\n"
    ws = workspace(tmp_path, monkeypatch, {"compose.yaml": base, "compose.override.yaml": override})
    assert fixed(ID, base, workspace=ws) == base + "    profiles: [debug]\n"
    unchanged(ID, override, path="compose.override.yaml", workspace=ws)


def test_style_is_kept():
    before = "# tools\r\nservices:\r\n    app:\r\n        image: example/app:1\r\n    adminer:   # db ui\r\n        image: \"adminer:4\"\r\n        # port\r\n        ports: [\"8081:8080\"]"
    after = fixed(ID, before)
    assert after == before + "\r\n        profiles: [debug]\r\n"
    flow = "services:\n  app: {image: example/app}\n  adminer: {image: adminer}\n"
    assert fixed(ID, flow, removed_ok=lambda line: "adminer" in line) == flow.replace("{image: adminer}", "{image: adminer, profiles: [debug]}")


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, "compose", line_ok=_line_ok)
    assert counts["applied"] >= 1, counts
