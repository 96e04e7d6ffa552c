"""A web process that dies while a client waits for its video: what happens to the job and its charge.

The job was committed with its credit hold before the wait began, so it runs on
with the task worker and the poller, is charged once when its video is stored,
and stays readable: the same `Idempotency-Key` gives the same job back, never a
second one, and the job is in the organization's list (README, "Interrupted
requests").
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.core.management import call_command

from billing.models import LedgerEntry
from tests.api.conftest import fund, png_data_url
from tests.live import Processes, database_url, free_port, wait_healthy
from videogen.models import Generation, Status

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

FRAME = png_data_url()  # hailuo-02-fast animates a first frame


class Site(Processes):
    """One web process (restartable), a task worker and a poller on the test database."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(
            {
                **os.environ,
                "DEBUG": "1",
                "VIDEOGEN_TESTING": "1",
                "DATABASE_URL": database_url(),
                "PUBLIC_BASE_URL": self.url,
                "MEDIA_ROOT": str(settings.STORAGES["default"]["OPTIONS"]["location"]),
                "SANDBOX_DIR": str(settings.SANDBOX_DIR),
                "SANDBOX_ENABLED": "1",
                "SANDBOX_LATENCY_SECONDS": "4",
                "POLL_SWEEP_MS": "200",
                "Q_WORKERS": "1",
                "LOG_LEVEL": "WARNING",
            },
            tmp_path / "site.log",
        )

    def start_web(self) -> None:
        self.start("web", "-m", "uvicorn", "videogen.asgi:application", "--port", str(self.port))
        wait_healthy(self.url)

    def start_workers(self) -> None:
        self.start("worker", "manage.py", "qcluster")
        self.start("poller", "manage.py", "poll")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    running = Site(tmp_path)
    yield running
    running.stop()
    print(running.log.read_text(errors="replace")[-10000:])


def in_background(send) -> threading.Thread:
    """Send a waiting request from a thread; the test kills the server under it."""

    def run() -> None:
        # The server dies under it: an error is what a client sees when the process serving it goes.
        with contextlib.suppress(httpx.HTTPError):
            send()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def wait_for_job(org, count: int) -> list[Generation]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        jobs = list(Generation.objects.filter(organization=org))
        if len(jobs) >= count:
            return jobs
        time.sleep(0.1)
    raise AssertionError("the job was not created")


def wait_succeeded(public_id: str) -> Generation:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = Generation.objects.get(public_id=public_id)
        if job.is_final:
            return job
        time.sleep(0.5)
    raise AssertionError(f"{public_id} did not finish")


def test_a_wait_cut_by_a_dead_server_keeps_its_job_and_its_idempotency_key(site: Site, org_a, api_key_a) -> None:
    fund(org_a, 5_000_000)
    headers = {"Authorization": f"Bearer {api_key_a[1]}", "Prefer": "wait=60", "Idempotency-Key": "boat-1"}
    body = {"model": "hailuo-02-fast", "input": {"prompt": "a paper boat", "duration": 6, "first_frame_image": FRAME}}
    site.start_web()
    thread = in_background(lambda: httpx.post(f"{site.url}/api/v1/generations", headers=headers, json=body, timeout=90))
    [job] = wait_for_job(org_a, 1)
    site.kill("web")  # mid-wait: the client gets nothing
    thread.join(10)
    assert Generation.objects.get(pk=job.pk).status == Status.QUEUED  # nothing ran it yet

    site.start_web()
    site.start_workers()
    again = httpx.post(f"{site.url}/api/v1/generations", headers=headers, json=body, timeout=90)
    assert again.status_code == 201, again.text
    assert again.json()["id"] == job.public_id  # the same job, replayed
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert Generation.objects.filter(organization=org_a).count() == 1

    done = wait_succeeded(job.public_id)
    assert done.status == Status.SUCCEEDED
    assert LedgerEntry.objects.filter(reference=job.public_id, kind="capture").count() == 1
    listed = httpx.get(f"{site.url}/api/v1/generations", headers={"Authorization": headers["Authorization"]})
    assert [item["id"] for item in listed.json()["data"]] == [job.public_id]
    call_command("billing_audit")


def test_a_synchronous_segmind_request_cut_by_a_dead_server_still_delivers_its_video(
    site: Site, org_a, api_key_a
) -> None:
    fund(org_a, 5_000_000)
    site.start_web()
    site.start_workers()
    send = lambda: httpx.post(  # noqa: E731
        f"{site.url}/v1/hailuo-02-fast",
        headers={"x-api-key": api_key_a[1]},
        json={"prompt": "a kite over the dunes", "duration": 6, "first_frame_image": FRAME},
        timeout=90,
    )
    thread = in_background(send)
    [job] = wait_for_job(org_a, 1)
    site.kill("web")
    thread.join(10)

    # Nobody is left to cancel it: the job runs to the end, its video stored and charged once,
    # and the customer finds it in the history and the native API.
    done = wait_succeeded(job.public_id)
    assert done.status == Status.SUCCEEDED
    assert done.video
    assert LedgerEntry.objects.filter(reference=job.public_id, kind="capture").count() == 1
    site.start_web()
    answer = httpx.get(f"{site.url}/api/v1/generations/{job.public_id}", headers={"x-api-key": api_key_a[1]})
    assert answer.json()["status"] == "succeeded"
    call_command("billing_audit")
