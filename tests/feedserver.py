"""A real HTTP server on 127.0.0.1 in a thread, for feed tests and the refresh benchmark.

Files are served with an ETag and a Last-Modified header and answer conditional requests with 304; routes
are plain functions for the misbehaving cases (slow, failing, redirecting, oversized). Every request is
recorded with its headers."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

CONTENT_TYPES = {".xml": "application/xml", ".rss": "application/rss+xml", ".atom": "application/atom+xml",
                 ".rdf": "application/rdf+xml", ".json": "application/feed+json", ".html": "text/html"}
Route = Callable[["Handler"], None]


class Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 - the http.server naming
        owner = self.server.owner
        with owner.lock:
            owner.requests.append((self.path, dict(self.headers.items())))
        route = owner.routes.get(self.path)
        if route is not None:
            route(self)
        elif self.path in owner.files:
            owner.serve_file(self, self.path)
        else:
            self.reply(404, b"not found", "text/plain")

    def reply(self, status: int, body: bytes = b"", content_type: str = "text/plain",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence the access log
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FeedServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and left is the point of some tests


class FeedServer:
    def __init__(self, *, etags: bool = True, last_modified: bool = True) -> None:
        self.files: dict[str, bytes] = {}
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.etags = etags
        self.last_modified = last_modified
        self.lock = threading.Lock()
        self._stamps: dict[str, str] = {}
        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.owner = self
        # poll_interval: shutdown() waits up to one interval; the default 0.5 s cost ~20 s a run of the fast tier.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="feedserver", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add_file(self, path: str, data: bytes) -> str:
        """Serve `data` at `path`; serving new bytes at the same path moves its Last-Modified on."""
        if self.files.get(path) != data:
            self._stamps[path] = formatdate(1_700_000_000 + len(self._stamps) * 60, usegmt=True)
        self.files[path] = data
        return self.url(path)

    def add_dir(self, folder: Path, *, prefix: str = "/") -> dict[Path, str]:
        """Serve every file under `folder`; returns file -> URL."""
        out = {}
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            out[file] = self.add_file(prefix + file.relative_to(folder).as_posix(), file.read_bytes())
        return out

    def hits(self, path: str) -> list[dict[str, str]]:
        with self.lock:
            return [h for p, h in self.requests if p == path]

    def serve_file(self, handler: Handler, path: str) -> None:
        body = self.files[path]
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        headers: dict[str, str] = {}
        if self.etags:
            headers["ETag"] = etag
        if self.last_modified:
            headers["Last-Modified"] = self._stamps[path]
        if (self.etags and handler.headers.get("If-None-Match") == etag) or (
                self.last_modified and not self.etags and handler.headers.get("If-Modified-Since") == self._stamps[path]):
            handler.send_response(304)
            for key, value in headers.items():
                handler.send_header(key, value)
            handler.end_headers()
            return
        suffix = Path(path).suffix.lower()
        handler.reply(200, body, CONTENT_TYPES.get(suffix, "application/octet-stream"), headers)

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
