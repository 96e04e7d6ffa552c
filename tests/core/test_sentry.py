"""Errors reach Sentry (a loopback HTTP server stands in for it) only when SENTRY_DSN is set."""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django_q.tasks import async_task

from tests.core.collector import SentryCollector
from tests.core.sentry_urls import MARKER
from tests.live import ROOT, database_url
from tests.videogen.test_worker_e2e import Worker


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    return {**env, "DEBUG": "1", "VIDEOGEN_TESTING": "1", "VAR_DIR": str(tmp_path), "LOG_LEVEL": "WARNING", **extra}


@contextmanager
def web_server(tmp_path: Path, **extra: str) -> Iterator[str]:
    """uvicorn serving the product's settings plus the test's two views (tests/core/sentry_urls.py)."""
    port = _free_port()
    env = _env(tmp_path, DJANGO_SETTINGS_MODULE="tests.core.sentry_site", **extra)
    command = [sys.executable, "-m", "uvicorn", "videogen.asgi:application", "--port", str(port), "--no-access-log"]
    with (tmp_path / "server.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def event_of(envelope: bytes) -> dict:
    """The event of a Sentry envelope: the payload after the item header of type "event"."""
    lines = envelope.splitlines()
    for header, payload in itertools.pairwise(lines[1:]):
        if json.loads(header).get("type") == "event":
            return json.loads(payload)
    raise AssertionError(f"no event in {envelope[:500]!r}")


def test_an_unhandled_error_in_a_view_reaches_sentry(tmp_path: Path) -> None:
    with SentryCollector() as sentry, web_server(tmp_path, SENTRY_DSN=sentry.dsn(), SENTRY_ENVIRONMENT="ci") as url:
        assert httpx.get(f"{url}/sentry").json() == {"active": True}
        assert httpx.get(f"{url}/fails").status_code == 500
        path, envelope = sentry.wait_for(MARKER.encode())

    assert path == "/api/42/envelope/"
    event = event_of(envelope)
    assert event["environment"] == "ci"
    [error] = event["exception"]["values"]
    assert (error["type"], error["value"]) == ("RuntimeError", MARKER)
    assert event["request"]["url"].endswith("/fails")


def test_without_a_dsn_nothing_is_initialised_and_nothing_is_sent(tmp_path: Path) -> None:
    with SentryCollector() as sentry, web_server(tmp_path) as url:
        assert httpx.get(f"{url}/sentry").json() == {"active": False}
        assert httpx.get(f"{url}/fails").status_code == 500
        time.sleep(2)
    assert sentry.envelopes == []


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_task_that_fails_in_the_worker_reaches_sentry_with_its_name(tmp_path: Path) -> None:
    with SentryCollector() as sentry:
        env = _env(
            tmp_path,
            DATABASE_URL=database_url(),
            MEDIA_ROOT=str(settings.MEDIA_ROOT),
            SENTRY_DSN=sentry.dsn(),
            Q_WORKERS="1",
        )
        worker = Worker(env, tmp_path / "worker.log")
        async_task("math.sqrt", -1, task_name="a-failing-task")
        worker.start("qcluster", "manage.py", "qcluster")
        try:
            _, envelope = sentry.wait_for(b"math.sqrt", timeout=60)
        finally:
            worker.stop()

    event = event_of(envelope)
    assert event["message"].startswith("Task math.sqrt failed: math domain error")
    assert event["tags"]["task"] == "a-failing-task"
    assert "ValueError" in event["extra"]["traceback"]
