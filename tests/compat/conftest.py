"""Fixtures for the provider-compatible endpoints: a funded key, frame images over HTTP, a running pipeline.

Live-server tests run the real pipeline (sandbox provider, no latency) in a
background thread against the live server's database, the way the worker
would, so jobs progress while the client code under test polls or waits.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from django.db import connection
from django.utils import timezone
from PIL import Image

from accounts.models import Organization
from billing import services as billing_services
from videogen.models import Generation, Status
from videogen.services import pipeline, sweep

# Mark for tests that need committed data: a live server or an async view (other threads read the DB).
# Price rules and routes come back after each flush through tests/conftest.py's `_default_data`.
LIVE = pytest.mark.django_db(transaction=True)


def fund(organization: Organization, usd_micros: int = 20_000_000) -> None:
    billing_services.credits_grant(
        organization=organization,
        amount_micros=usd_micros,
        kind="grant",
        idempotency_key=f"compat-tests:{organization.public_id}",
        reason="test funding",
    )


def jpeg_bytes(width: int = 640, height: int = 360, colour: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    image = Image.new("RGB", (width, height), colour)
    for x in range(0, width, 32):
        for y in range(0, height, 32):
            image.putpixel((x, y), (255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def png_bytes(width: int = 640, height: int = 360) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 90, 160)).save(buffer, format="PNG")
    return buffer.getvalue()


class _FrameHandler(BaseHTTPRequestHandler):
    frames = {"/first.jpeg": jpeg_bytes(), "/last.jpeg": jpeg_bytes(colour=(40, 160, 90))}

    def do_GET(self) -> None:
        body = self.frames.get(self.path)
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "image/jpeg" if body else "text/plain")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FrameServer:
    """First and last frame images on a loopback HTTP server, as a customer's image host."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _FrameHandler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def first(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/first.jpeg"

    @property
    def last(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/last.jpeg"


@pytest.fixture
def frames(settings) -> Iterator[FrameServer]:
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    server = FrameServer()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture(autouse=True)
def _fast_sandbox(settings) -> None:
    settings.SANDBOX_LATENCY_SECONDS = 0
    settings.SANDBOX_ENABLED = True


class PipelineRunner:
    """Submits queued jobs and sweeps running ones in a loop, in its own thread and connection."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, name="pipeline-runner", daemon=True)

    def _run(self) -> None:
        try:
            while not self.stopping.is_set():
                try:
                    self._step()
                except Exception as exc:  # surfaced when the test ends
                    self.errors.append(exc)
                self.stopping.wait(0.05)
        finally:
            connection.close()

    @staticmethod
    def _step() -> None:
        for pk in Generation.objects.filter(status=Status.QUEUED).values_list("pk", flat=True):
            pipeline.generation_submit(pk)
        Generation.objects.filter(status=Status.RUNNING).update(next_poll_at=timezone.now())
        sweep.poll_sweep()


@pytest.fixture
def runner() -> Iterator[PipelineRunner]:
    running = PipelineRunner()
    running.thread.start()
    yield running
    running.stopping.set()
    running.thread.join(timeout=30)
    assert not running.errors, running.errors


@pytest.fixture
def live(live_server, settings, runner: PipelineRunner) -> str:
    """The live server's URL; signed video links point at it too."""
    settings.PUBLIC_BASE_URL = live_server.url
    return live_server.url


@pytest.fixture
def key_a(org_a: Organization, api_key_a: tuple) -> str:
    """Org A's raw API key, with enough credit for several videos."""
    fund(org_a)
    return api_key_a[1]


def download(url: str, tmp_path, name: str = "video.mp4"):
    """Fetch a video link as any client would and keep it as a file for decoding."""
    response = requests.get(url, timeout=30)
    assert response.status_code == 200, response.text[:300]
    path = tmp_path / name
    path.write_bytes(response.content)
    return path


def run_pipeline(public_id: str, sweeps: int = 5) -> Generation:
    """Work one job inline, as the worker would, until it is final (or `sweeps` run out)."""
    generation = Generation.objects.get(public_id=public_id)
    pipeline.generation_submit(generation.pk)
    for _ in range(sweeps):
        Generation.objects.filter(pk=generation.pk, status=Status.RUNNING).update(next_poll_at=timezone.now())
        sweep.poll_sweep()
        generation.refresh_from_db()
        if generation.is_final:
            break
    return generation
