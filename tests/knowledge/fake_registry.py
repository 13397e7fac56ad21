"""A registry speaking just enough of the Docker Registry HTTP API v2 for digest lookups, on
127.0.0.1 in a thread: tests never go to the internet."""
from __future__ import annotations

import hashlib
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIGEST = "sha256:" + "ab" * 32
TOKEN = "anonymous-pull-token"
INDEX = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}).encode()


class FakeRegistry:
    """``with FakeRegistry() as fake``: ``fake.url``; ``fake.asked`` lists (method, path) of manifest
    requests; ``tags`` maps ``repository:tag`` to a digest (None: answer without the header)."""

    def __init__(self, tags: dict[str, str | None] | None = None, auth: str = "bearer"):
        self.tags = tags if tags is not None else {"library/node:22-bookworm": DIGEST}
        self.auth = auth
        self.asked: list[tuple[str, str]] = []
        self.token_queries: list[dict[str, list[str]]] = []
        self.accept: list[str] = []

    def __enter__(self) -> "FakeRegistry":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_HEAD(self):
                self._manifest(body=False)

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                if url.path == "/token":
                    fake.token_queries.append(urllib.parse.parse_qs(url.query))
                    self._send(200, {"Content-Type": "application/json"}, json.dumps({"token": TOKEN}).encode())
                    return
                self._manifest(body=True)

            def _manifest(self, body: bool):
                fake.asked.append((self.command, self.path))
                fake.accept.append(self.headers.get("Accept", ""))
                if fake.auth == "basic":
                    self._send(401, {"WWW-Authenticate": 'Basic realm="fake"'})
                    return
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    realm = f"http://127.0.0.1:{fake.port}/token"
                    self._send(401, {"WWW-Authenticate": f'Bearer realm="{realm}",service="fake-registry"'})
                    return
                parts = self.path.split("/")  # /v2/<repo...>/manifests/<tag>
                key = "/".join(parts[2:-2]) + ":" + parts[-1]
                if key not in fake.tags:
                    self._send(404, {"Content-Type": "application/json"}, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
                    return
                headers = {"Content-Type": "application/vnd.oci.image.index.v1+json"}
                if fake.tags[key]:
                    headers["Docker-Content-Digest"] = fake.tags[key]
                self._send(200, headers, INDEX if body else b"", length=len(INDEX))

            def _send(self, status, headers, payload=b"", length=None):
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload) if length is None else length))
                self.end_headers()
                if payload:
                    self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def body_digest() -> str:
    return "sha256:" + hashlib.sha256(INDEX).hexdigest()
