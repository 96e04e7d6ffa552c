"""Web app fixtures: images, running jobs inline, and for browser tests Chromium, a live server and a real worker.

The shared fixtures (alice, bob, carol, org_a, org_b, web_alice, web_carol, ...) come from tests/conftest.py.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import io
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.apps import apps as django_apps
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone
from PIL import Image

from accounts.models import Organization
from videogen import catalog
from videogen.models import Generation
from videogen.services import generations, pipeline, sweep

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
ARTIFACTS = Path(django_settings.BASE_DIR) / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
LOGS = ARTIFACTS / "logs"
WORKER_LATENCY_SECONDS = 2


def png_bytes(width: int = 640, height: int = 360, color: tuple[int, int, int] = (40, 120, 200)) -> bytes:
    """A real PNG with a little texture, so the sandbox's video has something to show."""
    image = Image.new("RGB", (width, height), color)
    for x in range(0, width, 32):
        for y in range(0, height, 32):
            image.paste((250, 250, 250), (x, y, x + 6, y + 6))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def png_data_url(width: int = 640, height: int = 360) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(width, height)).decode()


@pytest.fixture
def fast_sandbox(settings) -> None:
    settings.SANDBOX_LATENCY_SECONDS = 0
    settings.SANDBOX_ENABLED = True


def generation_make(organization: Organization, prompt: str = "a lighthouse at dusk", **params) -> Generation:
    """Accept a job the way the generate page does (the sign-up grant pays for it)."""
    model = params.pop("model", "hailuo-02-fast")
    if catalog.MODELS[model].first_frame == "required":
        params.setdefault("first_frame_image", png_data_url())
    return generations.generation_create(
        organization=organization, model=model, params={"prompt": prompt, "duration": 6, **params}, source="web"
    )


def run_to_end(generation: Generation, sweeps: int = 5) -> Generation:
    """Work a job on the sandbox without a worker: submit, then sweep until it is final."""
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


# --- Browser tests ------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; Django would then refuse the
    # test's own database calls (fixtures, flush) as if they ran inside async code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server) -> Iterator:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    """Saved for reviewers under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _worker_database_url() -> str:
    """The test database (not the development one) as a DATABASE_URL for the worker process."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or "localhost"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}@{host}{port}/{quote(db['NAME'], safe='')}"


# Data migrations whose rows the app needs (prices, providers and routes, the worker's schedules).
SEED_MIGRATIONS = [
    ("billing.migrations.0002_default_price_rules", "add_rules"),
    ("videogen.migrations.0002_default_providers_and_schedules", "forwards"),
]


@pytest.fixture
def seeded(transactional_db: None) -> None:
    """Write the data migrations' rows again: transactional tests that ran earlier flushed them.

    (serialized_rollback would restore them too, but breaks when an earlier transactional test's
    flush re-created content types under new ids.)
    """
    for module, function in SEED_MIGRATIONS:
        getattr(importlib.import_module(module), function)(django_apps, None)


@pytest.fixture
def worker(live_server, seeded: None, settings, request: pytest.FixtureRequest) -> Iterator[subprocess.Popen]:
    """A real `manage.py qcluster` and `manage.py poll` on the test database, sharing media with the live server."""
    settings.PUBLIC_BASE_URL = live_server.url
    env = {
        **os.environ,
        "DEBUG": "1",
        "VIDEOGEN_TESTING": "1",
        "DATABASE_URL": _worker_database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SANDBOX_DIR": str(settings.SANDBOX_DIR),
        "SANDBOX_ENABLED": "1",
        "SANDBOX_LATENCY_SECONDS": str(WORKER_LATENCY_SECONDS),
        "PUBLIC_BASE_URL": live_server.url,
        "Q_WORKERS": "2",
        "POLL_CONCURRENCY": "2",
        "REDIS_URL": "",
        "STORAGE_BACKEND": "local",
        "MINIMAX_API_KEY": "",
        "SEGMIND_API_KEY": "",
        "AIMLAPI_API_KEY": "",
        "ATLASCLOUD_API_KEY": "",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    LOGS.mkdir(parents=True, exist_ok=True)
    log_path = LOGS / f"worker-{request.node.name}.log"
    with open(log_path, "wb") as log:
        process, poller = (
            subprocess.Popen(
                [sys.executable, "manage.py", command],
                cwd=django_settings.BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: teardown stops the cluster's children too
            )
            for command in ("qcluster", "poll")
        )
    try:
        yield process
    finally:
        _stop(poller)
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM lets qcluster stop its children; SIGKILL then takes whatever of the group is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
