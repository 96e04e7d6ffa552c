"""Many generation requests at once against a limit: credit for exactly twenty, five running.

Each test runs twice: with the server connected straight to PostgreSQL, and through PgBouncer in
transaction mode (`PGBOUNCER_URL`, for example `postgres://postgres@127.0.0.1:6432`, which `.ci/run`
starts from `.ci/pgbouncer.ini`). Without `PGBOUNCER_URL` the second run is skipped, unless
`REQUIRE_PGBOUNCER=1` (CI), where it fails instead.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from api.models import OrganizationApiLimits
from billing.selectors import balance_get
from tests.api.conftest import FAST_6S_PRICE, fund, png_data_url
from tests.live import ROOT, database_url
from videogen.models import Generation

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def pgbouncer_database_url() -> str:
    """The test database reached through PgBouncer; skips (or fails under REQUIRE_PGBOUNCER=1) without one."""
    base = os.environ.get("PGBOUNCER_URL", "").rstrip("/")
    reason = ""
    if not base:
        reason = "PGBOUNCER_URL is not set"
    else:
        parts = urlsplit(base)
        try:
            socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6432), timeout=2).close()
        except OSError as exc:
            reason = f"PgBouncer at {base} does not answer: {exc}"
    if reason:
        if os.environ.get("REQUIRE_PGBOUNCER") == "1":
            pytest.fail(f"REQUIRE_PGBOUNCER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return f"{base}/{connection.settings_dict['NAME']}"


@pytest.fixture(params=["postgresql", "pgbouncer"])
def server(request: pytest.FixtureRequest) -> Iterator[str]:
    """The production server (uvicorn, ASGI) on the test database: it takes 50 connections at once."""
    env = {**os.environ, "DEBUG": "1", "VIDEOGEN_TESTING": "1", "DATABASE_URL": database_url(), "LOG_LEVEL": "WARNING"}
    if request.param == "pgbouncer":
        env["DATABASE_URL"] = pgbouncer_database_url()
        env["DB_DISABLE_SERVER_SIDE_CURSORS"] = "1"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "videogen.asgi:application", "--port", str(port), "--no-access-log"],
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(15)
        if request.param == "pgbouncer":
            pgbouncer_release(env["DATABASE_URL"])


def pgbouncer_release(url: str) -> None:
    """Close PgBouncer's server connections to the test database, so the run can drop it afterwards."""
    parts = urlsplit(url)
    admin = parts._replace(path="/pgbouncer").geturl()
    with psycopg.connect(admin, autocommit=True, cursor_factory=psycopg.ClientCursor) as console:
        console.execute(f"KILL {parts.path.lstrip('/')}")
        console.execute(f"RESUME {parts.path.lstrip('/')}")


def create_at_once(server: str, raw_key: str, count: int) -> list[httpx.Response]:
    """`count` job requests released together, each from its own thread on its own connection."""
    start = threading.Barrier(count)
    frame = png_data_url()  # hailuo-02-fast animates a first frame

    def request(index: int) -> httpx.Response:
        with httpx.Client(base_url=server, timeout=60) as client:
            start.wait()
            return client.post(
                "/api/v1/generations",
                headers={"Authorization": f"Bearer {raw_key}"},
                json={
                    "model": "hailuo-02-fast",
                    "input": {"prompt": f"race {index}", "duration": 6, "first_frame_image": frame},
                },
            )

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(request, range(count)))


def test_fifty_requests_at_once_never_overdraw(server: str, org_a, api_key_a) -> None:
    fund(org_a, 20 * FAST_6S_PRICE - balance_get(org_a).balance_micros)  # credit for exactly 20 runs
    OrganizationApiLimits.objects.create(
        organization=org_a, key_requests_per_minute=1000, org_requests_per_minute=1000, max_running_jobs=1000
    )
    assert balance_get(org_a).available_micros == 20 * FAST_6S_PRICE
    responses = create_at_once(server, api_key_a[1], 50)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 20 + [402] * 30, statuses
    for refused in (r for r in responses if r.status_code == 402):
        error = refused.json()["error"]
        assert error["type"] == "insufficient_credits"
    balance = balance_get(org_a)
    assert balance.held_micros == 20 * FAST_6S_PRICE
    assert balance.available_micros == 0
    assert balance.balance_micros >= 0
    assert Generation.objects.filter(organization=org_a).count() == 20
    call_command("billing_audit")


def test_thirty_requests_at_once_never_exceed_the_running_jobs_limit(server: str, org_a, api_key_a) -> None:
    """Each accepting transaction counts the running jobs after the others committed theirs: exactly five get in."""
    fund(org_a, 100 * FAST_6S_PRICE)
    OrganizationApiLimits.objects.create(
        organization=org_a, key_requests_per_minute=1000, org_requests_per_minute=1000, max_running_jobs=5
    )
    responses = create_at_once(server, api_key_a[1], 30)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 5 + [429] * 25, statuses
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 429} == {"too_many_running_jobs"}
    assert Generation.objects.filter(organization=org_a).count() == 5
    assert balance_get(org_a).held_micros == 5 * FAST_6S_PRICE
    call_command("billing_audit")
