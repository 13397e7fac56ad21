"""The registry client (digest lookups), only ever against a fake registry on 127.0.0.1."""
from __future__ import annotations

import pytest

from orchfix.transforms._knowledge import registry
from orchfix.transforms._knowledge.images import parse_ref
from tests.knowledge.fake_registry import DIGEST, FakeRegistry, body_digest


@pytest.fixture(autouse=True)
def fresh_cache():
    registry.clear_cache()
    yield
    registry.clear_cache()


@pytest.mark.parametrize(("text", "base", "path"), [
    ("node", registry.DOCKER_HUB, "library/node"),
    ("docker.io/library/node", registry.DOCKER_HUB, "library/node"),
    ("bitnami/redis", registry.DOCKER_HUB, "bitnami/redis"),
    ("ghcr.io/acme/tool", "https://ghcr.io", "acme/tool"),
    ("gcr.io/distroless/static-debian12", "https://gcr.io", "distroless/static-debian12"),
    ("localhost:5000/app", "https://localhost:5000", "app"),
])
def test_endpoint(text, base, path):
    assert registry.endpoint(parse_ref(text)) == (base, path)


def test_endpoint_override_keeps_the_repository_path():
    assert registry.endpoint(parse_ref("node"), "http://127.0.0.1:1/") == ("http://127.0.0.1:1", "library/node")


def test_token_flow_and_accept_headers():
    with FakeRegistry() as fake:
        assert registry.digest(parse_ref("node"), "22-bookworm", base_url=fake.url) == DIGEST
    assert fake.asked == [("HEAD", "/v2/library/node/manifests/22-bookworm")] * 2
    [query] = fake.token_queries
    assert query == {"service": ["fake-registry"], "scope": ["repository:library/node:pull"]}
    for media_type in ("application/vnd.oci.image.index.v1+json",
                       "application/vnd.docker.distribution.manifest.list.v2+json",
                       "application/vnd.docker.distribution.manifest.v2+json"):
        assert media_type in fake.accept[-1]


def test_answers_are_cached():
    with FakeRegistry() as fake:
        for _ in range(3):
            registry.digest(parse_ref("node"), "22-bookworm", base_url=fake.url)
    assert len(fake.asked) == 2


def test_digest_of_the_body_when_the_header_is_missing():
    with FakeRegistry({"acme/tool:1.0": None}) as fake:
        assert registry.digest(parse_ref("acme/tool"), "1.0", base_url=fake.url) == body_digest()
    assert [m for m, _ in fake.asked] == ["HEAD", "HEAD", "GET"]  # the GET reuses the token


def test_unknown_tag():
    with FakeRegistry() as fake, pytest.raises(registry.RegistryError, match="does not exist"):
        registry.digest(parse_ref("node"), "99", base_url=fake.url)


def test_basic_auth_is_not_attempted():
    with FakeRegistry(auth="basic") as fake, pytest.raises(registry.RegistryError, match="Basic"):
        registry.digest(parse_ref("node"), "22-bookworm", base_url=fake.url)


def test_unreachable_registry():
    with pytest.raises(registry.RegistryError, match="did not answer"):
        registry.digest(parse_ref("node"), "22", base_url="http://127.0.0.1:9", timeout=2)


def test_only_http_urls():
    with pytest.raises(registry.RegistryError, match="http"):
        registry.digest(parse_ref("node"), "22", base_url="file:///etc")
