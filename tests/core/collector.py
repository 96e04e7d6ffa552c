"""An HTTP server on loopback standing in for Sentry: it keeps the body of every envelope posted to it."""

from __future__ import annotations

import gzip
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        with self.server.owner.lock:
            self.server.owner.envelopes.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: SentryCollector


class SentryCollector:
    def __init__(self) -> None:
        self.envelopes: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.port = self._server.server_address[1]

    def dsn(self, project: int = 42) -> str:
        return f"http://publickey@127.0.0.1:{self.port}/{project}"

    def wait_for(self, needle: bytes, timeout: float = 30) -> tuple[str, bytes]:
        """The first envelope that contains `needle`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [e for e in self.envelopes if needle in e[1]]
            if found:
                return found[0]
            time.sleep(0.1)
        raise AssertionError(f"nothing containing {needle!r} reached the collector: {self.envelopes}")

    def __enter__(self) -> SentryCollector:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
