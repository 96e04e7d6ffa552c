"""Webhook fixtures: real HTTP receivers on loopback, a worker stand-in, and fake DNS for *.test names.

Every request a receiver gets is verified with the `standardwebhooks`
package (the reference implementation), never with our own signing code.
"""

from __future__ import annotations

import pydoc
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone
from django_q.models import OrmQ
from django_q.signing import SignedPackage
from standardwebhooks.webhooks import Webhook

from webhooks.delivery import deliveries_sweep
from webhooks.models import Delivery, DeliveryStatus


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int
    body: bytes = b'{"received": true}'
    headers: dict[str, str] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, receiver: Receiver, host: str) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.receiver = receiver
        super().__init__((host, 0), _Handler)

    def verify_request(self, request: object, client_address: object) -> bool:
        with self.receiver.lock:
            self.receiver.connections += 1
        return True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = self.server.receiver.record(Hit(self.command, self.path, headers, body))
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(reply.body)

    do_POST = _handle
    do_GET = _handle


class Receiver:
    """A webhook receiver on a loopback address: answers scripted replies, then 200."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.lock = threading.Lock()
        self.hits: list[Hit] = []
        self.connections = 0
        self.script: list[Reply] = []
        self.server = _Server(self, host)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    def answer(self, *replies: int | Reply) -> None:
        """Queue the next answers (status codes or Replies); after them, 200."""
        self.script.extend(r if isinstance(r, Reply) else Reply(r, b'{"error": "try later"}') for r in replies)

    def record(self, hit: Hit) -> Reply:
        with self.lock:
            self.hits.append(hit)
            return self.script.pop(0) if self.script else Reply(200)

    def verified(self, secret: str) -> list[dict[str, Any]]:
        """Every request received, verified with `secret` by the reference implementation."""
        return [Webhook(secret).verify(hit.body, hit.headers) for hit in self.hits]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def start(host: str = "127.0.0.1") -> Receiver:
        receiver = Receiver(host)
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


@pytest.fixture
def receiver(receivers: Callable[..., Receiver]) -> Receiver:
    return receivers()


@pytest.fixture
def allow_loopback(settings: Any) -> None:
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]


# --- A worker, run by hand ------------------------------------------------------------


def run_queued_tasks(prefix: str | tuple[str, ...] = ("webhooks.", "outbox.")) -> list[Any]:
    """Run the django-q2 tasks queued in the database broker whose function starts with `prefix`, like a worker."""
    results = []
    for queued in OrmQ.objects.order_by("pk"):
        task = SignedPackage.loads(queued.payload)
        if not task["func"].startswith(prefix):
            continue
        queued.delete()
        func = pydoc.locate(task["func"])
        results.append(func(*task["args"], **task["kwargs"]))
    return results


def sweep_due_now() -> int:
    """Make every pending delivery due now and sweep: the next attempt of each, without waiting."""
    Delivery.objects.filter(status=DeliveryStatus.PENDING).update(next_attempt_at=timezone.now())
    return deliveries_sweep()


# --- Fake DNS for *.test names ------------------------------------------------------------


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names ending in .test resolve to the addresses put in the returned dict; others really resolve."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if not name.endswith(".test"):
            return real(host, port, *args, **kwargs)
        if name not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        infos = []
        for address in answers[name]:
            if ":" in address:
                infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, int(port or 0), 0, 0)))
            else:
                infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 0))))
        return infos

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers
