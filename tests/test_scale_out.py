"""The scale-out configuration, live: two web processes, two task workers and two pollers on one database.

Redis is the task broker and the shared cache, as the README's "Running at scale"
asks. Jobs are created through both web processes, a task worker and a poller
are killed with SIGKILL while the jobs are in flight, and every job still ends
with its video, charged exactly once, readable through either web process.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.core.management import call_command
from django_q.models import OrmQ, Task

from billing.models import LedgerEntry
from tests.api.conftest import fund, png_data_url
from tests.live import Processes, database_url, free_port, redis_or_skip, wait_healthy
from videogen.media import probe_video
from videogen.models import Generation, Status

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REDIS = "redis://127.0.0.1:6379/12"
JOBS = 12


@pytest.fixture
def redis_url() -> str:
    redis_or_skip(REDIS, "the scale-out test needs a real Redis broker")
    return REDIS


@pytest.fixture
def fleet(redis_url: str, tmp_path: Path) -> Iterator[Processes]:
    env = {
        **os.environ,
        "DEBUG": "1",
        "VIDEOGEN_TESTING": "1",
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        # A queue of its own in Redis, so nothing else on this Redis takes these tasks.
        "Q_CLUSTER_NAME": f"scale-{uuid.uuid4().hex[:10]}",
        "Q_WORKERS": "1",
        "MEDIA_ROOT": str(settings.STORAGES["default"]["OPTIONS"]["location"]),
        "SANDBOX_DIR": str(settings.SANDBOX_DIR),
        "SANDBOX_ENABLED": "1",
        "SANDBOX_LATENCY_SECONDS": "3",
        "POLL_SWEEP_MS": "200",
        "SUBMIT_STUCK_SECONDS": "5",
        "LOG_LEVEL": "WARNING",
    }
    running = Processes(env, tmp_path / "fleet.log")
    yield running
    running.stop()
    print(running.log.read_text(errors="replace")[-20000:])


def test_two_web_processes_two_workers_and_two_pollers_share_one_database(fleet: Processes, org_a, api_key_a) -> None:
    fund(org_a, 10_000_000)
    ports = [free_port(), free_port()]
    # The address customers reach the site at (a load balancer would stand there): signed links point at it.
    fleet.env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{ports[0]}"
    for index, port in enumerate(ports):
        fleet.start(f"web{index}", "-m", "uvicorn", "videogen.asgi:application", "--port", str(port), "--no-access-log")
    for index in range(2):
        fleet.start(f"worker{index}", "manage.py", "qcluster")
        fleet.start(f"poller{index}", "manage.py", "poll")
    servers = [f"http://127.0.0.1:{port}" for port in ports]
    for url in servers:
        wait_healthy(url)
    headers = {"Authorization": f"Bearer {api_key_a[1]}"}

    frame = png_data_url()
    ids = []
    for index in range(JOBS):
        response = httpx.post(
            f"{servers[index % 2]}/api/v1/generations",
            headers={**headers, "Idempotency-Key": f"scale-{index}"},
            json={
                "model": "hailuo-02-fast",
                "input": {"prompt": f"boat number {index}", "duration": 6, "first_frame_image": frame},
            },
            timeout=30,
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    # One of each kind dies without cleaning up while the jobs are in flight; the others carry on.
    time.sleep(1)
    fleet.kill("worker0")
    fleet.kill("poller0")

    deadline = time.monotonic() + 180
    statuses: dict[str, str] = {}
    while time.monotonic() < deadline:
        for index, public_id in enumerate(ids):
            answer = httpx.get(f"{servers[index % 2]}/api/v1/generations/{public_id}", headers=headers, timeout=10)
            assert answer.status_code == 200, answer.text
            statuses[public_id] = answer.json()["status"]
        if all(status in ("succeeded", "failed", "canceled", "timed_out") for status in statuses.values()):
            break
        time.sleep(1)
    assert set(statuses.values()) == {"succeeded"}, statuses

    # Each video decodes, fetched through the web process that did not create the job.
    for index, public_id in enumerate(ids):
        job = httpx.get(f"{servers[(index + 1) % 2]}/api/v1/generations/{public_id}", headers=headers, timeout=10)
        video_url = job.json()["output"]["video_url"]
        video = httpx.get(video_url, timeout=30)
        assert video.status_code == 200
        if index == 0:
            path = Path(fleet.env["MEDIA_ROOT"]) / "probe.mp4"
            path.write_bytes(video.content)
            info = probe_video(path)
            assert abs(info.duration_s - 6) < 0.1
    for job in Generation.objects.filter(public_id__in=ids):
        assert job.status == Status.SUCCEEDED
        assert LedgerEntry.objects.filter(reference=job.public_id, kind="capture").count() == 1
    call_command("billing_audit")
    # The tasks went through Redis: the database broker's table never held one of this site's.
    assert not OrmQ.objects.filter(key=fleet.env["Q_CLUSTER_NAME"]).exists()
    assert Task.objects.filter(func="videogen.tasks.generation_submit").count() >= 1
