"""Fixtures of the native API tests.

Waiting requests (`Prefer: wait`) look at their jobs from other threads, so
these tests use committed data: modules mark themselves django_db(transaction=True).
"""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from PIL import Image

from accounts.models import Organization
from api import ratelimit
from api.models import OrganizationApiLimits
from billing import services as billing_services
from videogen.models import Generation
from videogen.services import pipeline, sweep

FAST_6S_PRICE = 100_000  # hailuo-02-fast, 6 s: $0.10


@pytest.fixture(autouse=True)
def _fresh_limits() -> Iterator[None]:
    ratelimit.limits_cache_clear()
    yield
    ratelimit.limits_cache_clear()


@pytest.fixture(autouse=True)
def _fast_sandbox(settings: Any) -> None:
    settings.SANDBOX_LATENCY_SECONDS = 0
    settings.SANDBOX_ENABLED = True
    # Sign-ups in fixtures hash passwords; the default hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def fund(organization: Organization, usd_micros: int, key: str = "api-tests") -> None:
    """Add credit on top of the sign-up grant."""
    billing_services.credits_grant(
        organization=organization,
        amount_micros=usd_micros,
        kind="grant",
        idempotency_key=f"{key}:{organization.public_id}",
        reason="test funding",
    )


def set_limits(organization: Organization, **limits: int) -> None:
    OrganizationApiLimits.objects.update_or_create(organization=organization, defaults=limits)
    ratelimit.limits_cache_clear()


def png_bytes(width: int = 640, height: int = 360, fmt: str = "PNG") -> bytes:
    image = Image.new("RGB", (width, height), (30, 110, 190))
    for x in range(0, width, 32):
        for y in range(0, height, 32):
            image.putpixel((x, y), (250, 250, 250))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def image_file(data: bytes | None = None, name: str = "frame.png") -> io.BytesIO:
    """A PNG as a file for multipart uploads."""
    handle = io.BytesIO(data if data is not None else png_bytes())
    handle.name = name
    return handle


def png_data_url(width: int = 640, height: int = 360) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(width, height)).decode()


def job_body(prompt: str = "a lighthouse at dusk, waves", **input_params: Any) -> dict[str, Any]:
    """A hailuo-02-fast job (6 s, $0.10); the model animates a first frame, so one is given unless the test says."""
    input_params.setdefault("first_frame_image", png_data_url())
    return {"model": "hailuo-02-fast", "input": {"prompt": prompt, "duration": 6, **input_params}}


def run_pipeline(public_id: str, sweeps: int = 6) -> Generation:
    """Drive a job on the sandbox as the worker would: submit, then poll until it ends."""
    generation = Generation.objects.get(public_id=public_id)
    pipeline.generation_submit(generation.pk)
    for _ in range(sweeps):
        Generation.objects.filter(pk=generation.pk, status__in=["queued", "running"]).update(
            next_poll_at=timezone.now()
        )
        sweep.poll_sweep()
        generation.refresh_from_db()
        if generation.is_final:
            break
    return generation


class Background:
    """Run a function in a thread with its own database connection; re-raise its error on join."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self.work = work
        self.error: BaseException | None = None
        self.result: Any = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.result = self.work()
        except BaseException as exc:  # reported by join()
            self.error = exc
        finally:
            connection.close()

    def start(self) -> Background:
        self.thread.start()
        return self

    def join(self, timeout: float = 60) -> Any:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "background work did not finish"
        if self.error is not None:
            raise self.error
        return self.result
