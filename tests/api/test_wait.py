"""`Prefer: wait=N` on POST /api/v1/generations and GET /api/v1/generations/{id}."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.db import connection

from tests.api.conftest import Background, job_body, run_pipeline
from videogen.asgi import application
from videogen.models import Generation

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/generations"


def pipeline_for_next_job(prompt: str) -> Background:
    """The worker's part, in a thread: once the job with this prompt exists, run it to the end."""

    def work() -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            job = Generation.objects.filter(input__prompt=prompt).first()
            if job is not None:
                return run_pipeline(job.public_id).status
            time.sleep(0.05)
        raise AssertionError("the job never appeared")

    return Background(work).start()


def test_post_with_prefer_wait_returns_the_finished_job_over_http(live_server, api_key_a) -> None:
    worker = pipeline_for_next_job("a paper boat on a river")
    response = httpx.post(
        f"{live_server.url}{URL}",
        json=job_body(prompt="a paper boat on a river"),
        headers={"Authorization": f"Bearer {api_key_a[1]}", "Prefer": "wait=50"},
        timeout=70,
    )
    assert worker.join() == "succeeded"

    assert response.status_code == 201
    assert response.headers["Preference-Applied"] == "wait=50"
    job = response.json()
    assert job["status"] == "succeeded"
    assert job["output"]["video_url"]
    assert job["price"]["charged"] is True
    assert response.headers["X-RateLimit-Limit"]


def test_get_with_prefer_wait_returns_when_the_job_finishes(api_a) -> None:
    job = api_a.post(URL, job_body(prompt="sandbox:fail a storm"), format="json").json()
    worker = Background(lambda: run_pipeline(job["id"]).status).start()
    response = api_a.get(f"{URL}/{job['id']}", headers={"Prefer": "wait=45"})
    assert worker.join() == "failed"
    assert response.status_code == 200
    assert response["Preference-Applied"] == "wait=45"
    assert response.json()["status"] == "failed"
    assert response.json()["error"]["code"] == "content_policy"
    assert response.json()["price"]["charged"] is False


def test_when_time_is_up_the_current_state_is_returned(api_a) -> None:
    created = api_a.post(URL, job_body(), format="json", headers={"Prefer": "wait=1"})
    assert created.status_code == 201
    assert created["Preference-Applied"] == "wait=1"
    assert created.json()["status"] == "queued"
    fetched = api_a.get(f"{URL}/{created.json()['id']}", headers={"Prefer": "wait=1"})
    assert fetched.status_code == 200
    assert fetched.json()["status"] == "queued"


@pytest.mark.parametrize(
    ("prefer", "applied"),
    [("wait=600", "wait=60"), ("wait", "wait=60"), ("respond-async, wait=7", "wait=7"), ("wait=soon", None)],
)
def test_the_wait_preference_is_read_as_rfc_7240_says(api_a, prefer, applied) -> None:
    job = api_a.post(URL, job_body(), format="json").json()
    run_pipeline(job["id"])
    response = api_a.get(f"{URL}/{job['id']}", headers={"Prefer": prefer})
    assert response.status_code == 200
    assert response.get("Preference-Applied") == applied
    assert response.json()["status"] == "succeeded"


def test_an_idempotent_replay_answers_at_once_with_the_saved_response(api_a) -> None:
    headers = {"Idempotency-Key": "wait-once", "Prefer": "wait=1"}
    first = api_a.post(URL, job_body(), format="json", headers=headers)
    replay = api_a.post(URL, job_body(), format="json", headers=headers)
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"]
    assert "Preference-Applied" not in replay


def test_waiting_on_another_organizations_job_is_404(api_a, api_b) -> None:
    job = api_a.post(URL, job_body(), format="json").json()
    response = api_b.get(f"{URL}/{job['id']}", headers={"Prefer": "wait=30"})
    assert response.status_code == 404


def test_waiting_clients_hold_no_database_connection_while_they_wait(api_key_a, org_a) -> None:
    """Five clients wait at once through the ASGI application: the pool lends none of them a connection meanwhile."""
    from tests.api.conftest import fund

    fund(org_a, 1_000_000)
    connection.ensure_connection()
    pool = connection.pool

    def held() -> int:
        stats = pool.get_stats()
        return stats["pool_size"] - stats["pool_available"]

    async def scenario() -> tuple[int, list[dict]]:
        waiting = []
        for n in range(5):
            headers = [
                (b"authorization", f"Bearer {api_key_a[1]}".encode()),
                (b"content-type", b"application/json"),
                (b"prefer", b"wait=8"),
            ]
            communicator = ApplicationCommunicator(application, asgi_scope("POST", URL, headers))
            body = json.dumps(job_body(prompt=f"waiting client {n}")).encode()
            await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
            waiting.append(communicator)
        deadline = time.monotonic() + 30
        while await sync_to_async(jobs_accepted, thread_sensitive=False)() < 5:
            assert time.monotonic() < deadline, "the jobs were not accepted"
            await asyncio.sleep(0.05)
        await asyncio.sleep(1)  # every request is past its work and asleep
        in_use = held()
        starts = [await communicator.receive_output(30) for communicator in waiting]
        for communicator in waiting:
            await communicator.wait(30)
        return in_use, starts

    in_use, starts = asyncio.run(scenario())
    assert [start["status"] for start in starts] == [201] * 5
    # This test's own connection, and at most the shared look at the waiters' jobs, in progress.
    assert in_use <= 2, in_use


def jobs_accepted() -> int:
    try:
        return Generation.objects.count()
    finally:
        connection.close()


def asgi_scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
