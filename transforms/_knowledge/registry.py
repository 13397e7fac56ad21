"""The digest of an image tag, read from its registry (Docker Registry HTTP API v2), stdlib only.

``digest(ref, tag)`` asks ``HEAD /v2/<repository>/manifests/<tag>`` with the OCI and Docker
manifest(-list) media types and returns the ``Docker-Content-Digest`` header: the digest of the
multi-platform index when the tag has one, so a pin stays valid on every platform. A registry
that answers 401 names a token service in ``WWW-Authenticate: Bearer realm=…,service=…,scope=…``;
an anonymous pull token is fetched from it and the request repeated. Registries that leave the
header out of HEAD answers are asked with GET and the body's sha256 is the digest.

Only io-001 calls this, and only when its ``resolve_digests`` option is on: orchfix never goes on
the network by default. ``base_url`` replaces the registry's address (a mirror, or a test server).
"""
from __future__ import annotations

import hashlib
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from functools import lru_cache

from orchfix.transforms._knowledge.images import ImageRef, parse_ref

DOCKER_HUB = "https://registry-1.docker.io"
_HUB_NAMES = {None, "docker.io", "index.docker.io", "registry-1.docker.io"}
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_PARAM = re.compile(r'(\w+)="([^"]*)"')
USER_AGENT = "orchfix (digest lookup)"


class RegistryError(Exception):
    """The registry could not be reached or did not give a digest; the message says why."""


def endpoint(ref: ImageRef, base_url: str | None = None) -> tuple[str, str]:
    """(registry base URL, repository path) of a reference: Docker Hub's official images live
    under ``library/``."""
    path = ref.path
    if ref.registry in _HUB_NAMES and "/" not in path:
        path = f"library/{path}"
    if base_url:
        return base_url.rstrip("/"), path
    if ref.registry in _HUB_NAMES:
        return DOCKER_HUB, path
    return f"https://{ref.registry}", path


def digest(ref: ImageRef, tag: str, *, base_url: str | None = None, timeout: float = 10.0) -> str:
    """The ``sha256:…`` digest ``tag`` of ``ref``'s repository points at; raises RegistryError."""
    base, path = endpoint(ref, base_url)
    if not base.startswith(("https://", "http://")):
        raise RegistryError(f"not an http(s) registry address: {base}")
    return _digest(base, path, tag, timeout)


@lru_cache(maxsize=256)
def _digest(base: str, path: str, tag: str, timeout: float) -> str:
    url = f"{base}/v2/{path}/manifests/{urllib.parse.quote(tag, safe='')}"
    token = None
    for method in ("HEAD", "GET"):
        try:
            status, headers, body = _request(url, method, token, timeout)
            if status == 401:
                token = _token(headers.get("WWW-Authenticate", ""), path, timeout)
                status, headers, body = _request(url, method, token, timeout)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise RegistryError(f"{base} did not answer: {getattr(exc, 'reason', exc)}") from None
        if status == 404:
            raise RegistryError(f"{path}:{tag} does not exist on {base}")
        if status != 200:
            raise RegistryError(f"{base} answered HTTP {status} for {path}:{tag}")
        found = headers.get("Docker-Content-Digest", "")
        if _DIGEST.fullmatch(found):
            return found
        if method == "GET" and body:
            return "sha256:" + hashlib.sha256(body).hexdigest()
    raise RegistryError(f"{base} gave no digest for {path}:{tag}")


def _request(url: str, method: str, token: str | None, timeout: float) -> tuple[int, dict[str, str], bytes]:
    headers = {"Accept": ", ".join(MANIFEST_TYPES), "User-Agent": USER_AGENT}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only (checked by callers)
            return response.status, dict(response.headers.items()), response.read() if method == "GET" else b""
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()) if exc.headers else {}, b""


def _token(challenge: str, path: str, timeout: float) -> str:
    """An anonymous pull token from the realm a ``Bearer`` challenge names."""
    scheme, _, params_text = challenge.partition(" ")
    if scheme.lower() != "bearer":
        raise RegistryError(f"the registry wants {scheme or 'unknown'} authentication; anonymous pulls only")
    params = dict(_PARAM.findall(params_text))
    realm = params.pop("realm", "")
    if not realm.startswith(("https://", "http://")):
        raise RegistryError("the registry's token realm is not an http(s) URL")
    params.setdefault("scope", f"repository:{path}:pull")
    url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(params)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            data = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raise RegistryError(f"the token service answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise RegistryError(f"the token service did not answer: {getattr(exc, 'reason', exc)}") from None
    token = data.get("token") or data.get("access_token") if isinstance(data, dict) else None
    if not token:
        raise RegistryError("the token service gave no token")
    return token


def clear_cache() -> None:
    """Forget looked-up digests (tests; a long-lived process that wants fresh answers)."""
    _digest.cache_clear()


def with_digest(pinned: str, *, base_url: str | None = None) -> tuple[str, str]:
    """``repository:tag`` with its digest appended (``…@sha256:…``) and an empty note; when the
    lookup fails, the reference unchanged and a note saying why (`` (digest not resolved: …)``)."""
    ref = parse_ref(pinned)
    if ref.digest or not ref.tag:
        return pinned, ""
    try:
        return f"{pinned}@{digest(ref, ref.tag, base_url=base_url)}", ""
    except RegistryError as exc:
        return pinned, f" (digest not resolved: {exc})"
