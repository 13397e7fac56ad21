"""vs-003: read-only bind mounts for configuration and static content."""
from __future__ import annotations

import re

import pytest

from tests.corpus import needs_corpus
from tests.transforms.compose_cases import fixed, unchanged, workspace
from tests.transforms.yaml_corpus import check_corpus

ID = "vs-003"


def _svc(image: str, *items: str) -> str:
    body = "".join(f"      - {item}\n" for item in items)
    return f"services:\n  web:\n    image: {image}\n    volumes:\n{body}"


def _line_ok(old: str | None, new: str | None) -> bool:
    """A volume line that gained ``:ro`` (or ``ro,`` before its options), or a new ``read_only: true``."""
    if old is None:
        return new is not None and new.strip() == "read_only: true"
    return new is not None and re.sub(r":ro(?=[\"']?\s*(?:#.*)?$)|(?<=:)ro,", "", new, count=1) == old


def ro_lines(before: str) -> str:
    """``before`` after vs-003, asserting only volume lines changed."""
    return fixed(ID, before, removed_ok=lambda line: "- " in line)


@pytest.mark.parametrize(("item", "after"), [
    # configuration files, by extension, wherever they go
    ("./nginx.conf:/etc/nginx/nginx.conf", "./nginx.conf:/etc/nginx/nginx.conf:ro"),
    ("./my.cnf:/etc/mysql/conf.d/my.cnf", "./my.cnf:/etc/mysql/conf.d/my.cnf:ro"),
    ("./app.yaml:/app/config/app.yaml", "./app.yaml:/app/config/app.yaml:ro"),
    ("./settings.json:/srv/settings.json", "./settings.json:/srv/settings.json:ro"),
    ("./pipeline.config:/usr/share/logstash/pipeline/x.config", "./pipeline.config:/usr/share/logstash/pipeline/x.config:ro"),
    ("./default.conf:/tmp/default.conf", "./default.conf:/tmp/default.conf:ro"),
    ("./server.xml:/usr/local/tomcat/conf/server.xml", "./server.xml:/usr/local/tomcat/conf/server.xml:ro"),
    # anything under /etc, files and folders
    ("./prometheus:/etc/prometheus", "./prometheus:/etc/prometheus:ro"),
    ("/etc/localtime:/etc/localtime", "/etc/localtime:/etc/localtime:ro"),
    # init scripts, certificates, secrets
    ("./init:/docker-entrypoint-initdb.d", "./init:/docker-entrypoint-initdb.d:ro"),
    ("./seed.sql:/docker-entrypoint-initdb.d/seed.sql", "./seed.sql:/docker-entrypoint-initdb.d/seed.sql:ro"),
    ("./tls/server.pem:/certs/server.pem", "./tls/server.pem:/certs/server.pem:ro"),
    ("./tls/app.key:/app/app.key", "./tls/app.key:/app/app.key:ro"),
    ("./secrets:/run/secrets", "./secrets:/run/secrets:ro"),
    # quoting and other options are kept
    ('"./nginx.conf:/etc/nginx/nginx.conf"', '"./nginx.conf:/etc/nginx/nginx.conf:ro"'),
    ("'./nginx.conf:/etc/nginx/nginx.conf'", "'./nginx.conf:/etc/nginx/nginx.conf:ro'"),
    ("./nginx.conf:/etc/nginx/nginx.conf:z", "./nginx.conf:/etc/nginx/nginx.conf:ro,z"),
    ("./nginx.conf:/etc/nginx/nginx.conf:cached", "./nginx.conf:/etc/nginx/nginx.conf:ro,cached"),
    ("./nginx.conf:/etc/nginx/nginx.conf  # the site", "./nginx.conf:/etc/nginx/nginx.conf:ro  # the site"),
    # variables with defaults (their colons are not separators); Windows drive letters
    ("${CONF_DIR:-./conf}/nginx.conf:/etc/nginx/nginx.conf", "${CONF_DIR:-./conf}/nginx.conf:/etc/nginx/nginx.conf:ro"),
    ("./conf:${CONF_TARGET:-/etc/app}", "./conf:${CONF_TARGET:-/etc/app}:ro"),
    ("C:\\conf\\app.ini:/etc/app.ini", "C:\\conf\\app.ini:/etc/app.ini:ro"),
    ("~/.config/app.toml:/etc/app.toml", "~/.config/app.toml:/etc/app.toml:ro"),
])
def test_short_syntax(item, after):
    assert ro_lines(_svc("example/app:1", item)) == _svc("example/app:1", after)


@pytest.mark.parametrize(("image", "target"), [
    ("nginx:1.27", "/usr/share/nginx/html"),
    ("nginx:1.27-alpine", "/usr/share/nginx/html/docs"),
    ("nginxinc/nginx-unprivileged:1.27", "/usr/share/nginx/html"),
    ("httpd:2.4", "/usr/local/apache2/htdocs/"),
    ("caddy:2", "/usr/share/caddy"),
    ("docker.io/library/nginx", "/var/www/html"),
    ("${WEB_IMAGE:-nginx:1.27}", "/usr/share/nginx/html"),
])
def test_web_roots_of_web_servers(image, target):
    assert ro_lines(_svc(image, f"./site:{target}")) == _svc(image, f"./site:{target}:ro")


@pytest.mark.parametrize(("image", "target"), [
    ("php:8.3-apache", "/var/www/html"),  # PHP apps write their web root (uploads, caches)
    ("wordpress:6", "/var/www/html"),
    ("example/app:1", "/usr/share/nginx/html"),  # not a web server image: unknown use
    ("${IMAGE}", "/usr/share/nginx/html"),
])
def test_web_roots_of_other_images_are_left_alone(image, target):
    unchanged(ID, _svc(image, f"./site:{target}"))


def test_web_root_of_a_service_built_on_nginx(tmp_path, monkeypatch):
    text = "services:\n  web:\n    build: ./web\n    volumes:\n      - ./site:/usr/share/nginx/html\n"
    ws = workspace(tmp_path, monkeypatch, {"compose.yaml": text, "web/Dockerfile": "FROM nginx:1.27-alpine\nCOPY x /x\n"})
    assert fixed(ID, text, workspace=ws, removed_ok=lambda line: "- " in line) == text.replace("html\n", "html:ro\n")
    ws = workspace(tmp_path, monkeypatch, {"compose.yaml": text, "web/Dockerfile": "FROM php:8.3-apache\n"})
    unchanged(ID, text, workspace=ws)
    inline = "services:\n  web:\n    build:\n      dockerfile_inline: |\n        FROM httpd:2.4\n    volumes:\n      - ./site:/usr/local/apache2/htdocs\n"
    assert ro_lines(inline) == inline.replace("htdocs\n", "htdocs:ro\n")


@pytest.mark.parametrize("item", [
    # source code and data
    ".:/app", "./src:/app/src", "./backend:/usr/src/app", "./data:/var/lib/postgresql/data", "./logs:/var/log/nginx",
    "db-data:/var/lib/mysql", "/srv/media:/media",
    # config-looking files that are data or that tools rewrite
    "./data/settings.json:/app/data/settings.json", "./db.json:/data/db.json", "./store.json:/var/lib/app/store.json",
    "./package.json:/app/package.json", "./package-lock.json:/app/package-lock.json", "./composer.json:/app/composer.json",
    "./pyproject.toml:/app/pyproject.toml", "./acme.json:/acme.json", "./logs/app.json:/srv/logs/app.json",
    # env files, sockets, devices
    "./.env:/app/.env", "/var/run/docker.sock:/var/run/docker.sock", "/run/user/1000/podman.sock:/var/run/docker.sock",
    # /etc folders images write
    "/etc/pihole/:/etc/pihole/", "./letsencrypt:/etc/letsencrypt", "./certs:/etc/nginx/certs",
    # an explicit mode is a decision
    "./nginx.conf:/etc/nginx/nginx.conf:rw", "./nginx.conf:/etc/nginx/nginx.conf:ro", "./nginx.conf:/etc/nginx/nginx.conf:rw,z",
    "./nginx.conf:/etc/nginx/nginx.conf:${MODE}",
    # named and anonymous volumes, variables without a value
    "config:/etc/app", "/etc/app", "${CONF}:${TARGET}",
])
def test_near_misses(item):
    unchanged(ID, _svc("example/app:1", item))


def test_services_of_images_that_write_for_others_are_left_alone():
    unchanged(ID, _svc("certbot/certbot:v2", "./conf/nginx.conf:/etc/nginx/nginx.conf", "./www:/var/www/certbot"))
    unchanged(ID, _svc("nginxproxy/nginx-proxy:1.6", "./conf.d:/etc/nginx/conf.d"))


def test_nginx_conf_d_stays_writable_beside_mounted_templates():
    text = _svc("nginx:1.27", "./templates:/etc/nginx/templates", "./conf.d:/etc/nginx/conf.d")
    assert ro_lines(text) == text.replace("templates\n", "templates:ro\n")


def test_long_syntax_gains_read_only_in_its_own_style():
    before = (
        "services:\n"
        "  web:\n"
        "    image: nginx:1.27\n"
        "    volumes:\n"
        "      - type: bind\n"
        "        source: ./proxy/nginx.conf\n"
        "        target: /etc/nginx/conf.d/default.conf\n"
        "      - {type: bind, source: ./site, target: /usr/share/nginx/html}\n"
        "      - type: bind\n"
        "        source: ./cache\n"
        "        target: /var/cache/nginx\n"
        "      - type: bind\n"
        "        source: ./x.conf\n"
        "        target: /etc/x.conf\n"
        "        read_only: false\n"
    )
    after = ro_lines(before)
    assert after == before.replace(
        "default.conf\n", "default.conf\n        read_only: true\n").replace(
        "target: /usr/share/nginx/html}", "target: /usr/share/nginx/html, read_only: true}")


def test_four_space_indent_crlf_and_no_final_newline():
    before = "services:\r\n    web:\r\n        image: nginx\r\n        volumes:\r\n        -   ./a.conf:/etc/a.conf\r\n        -   type: bind\r\n            source: ./b\r\n            target: /etc/b"
    after = ro_lines(before)
    assert after == before.replace("/etc/a.conf\r\n", "/etc/a.conf:ro\r\n") + "\r\n            read_only: true\r\n"


def test_anchors_shared_volume_lists_and_merge_keys():
    before = (
        "x-conf: &conf\n"
        "  - ./app.yaml:/etc/app/app.yaml\n"
        "  - ./data:/data\n"
        "x-base: &base\n"
        "  image: example/app:1\n"
        "  volumes:\n"
        "    - ./base.ini:/etc/base.ini\n"
        "services:\n"
        "  a:\n"
        "    image: example/app:1\n"
        "    volumes: *conf\n"
        "  b:\n"
        "    image: example/app:1\n"
        "    volumes: *conf\n"
        "  c:\n"
        "    <<: *base\n"
    )
    after = fixed(ID, before, removed_ok=lambda line: "- " in line)
    assert after == before.replace("app.yaml\n", "app.yaml:ro\n").replace("base.ini\n", "base.ini:ro\n")


def test_a_shared_item_is_fixed_only_when_every_user_agrees():
    before = (
        "x-site: &site\n"
        "  - ./site:/usr/share/nginx/html\n"
        "services:\n"
        "  web:\n"
        "    image: nginx:1.27\n"
        "    volumes: *site\n"
        "  app:\n"
        "    image: php:8.3-apache\n"
        "    volumes: *site\n"
    )
    unchanged(ID, before)


def test_comments_blank_lines_and_other_keys_stay():
    before = (
        "# project\n"
        "services:\n"
        "\n"
        "  web:   # front\n"
        "    image: \"nginx:1.27\"\n"
        "    volumes:\n"
        "      # config first\n"
        "      - ./nginx.conf:/etc/nginx/nginx.conf   # main config\n"
        "\n"
        "      - ./html:/usr/share/nginx/html\n"
        "    x-note: keep\n"
    )
    after = ro_lines(before)
    assert after == before.replace("nginx.conf   #", "nginx.conf:ro   #").replace("/html\n", "/html:ro\n")


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, "compose", line_ok=_line_ok)
    assert counts["applied"] >= 5, counts


def test_flow_sequences():
    before = "services:\n  web:\n    image: nginx\n    volumes: [./a.conf:/etc/a.conf, '.:/app', \"./b.ini:/srv/b.ini:z\"]\n"
    after = fixed(ID, before, removed_ok=lambda line: "volumes:" in line)
    assert after == before.replace("/etc/a.conf,", "/etc/a.conf:ro,").replace("b.ini:z", "b.ini:ro,z")
