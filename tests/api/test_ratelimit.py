"""Rate limits: requests per minute per key and per organization, jobs running at once, the headers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts import services as account_services
from api import ratelimit
from api.models import RateLimitCounter
from billing.selectors import balance_get
from tests.api.conftest import fund, image_file, job_body, set_limits

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/generations"
ROOT = Path(__file__).resolve().parents[2]


def client_for(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def test_every_authenticated_response_carries_the_rate_limit_headers(api_a, api_b, settings) -> None:
    job = api_a.post(URL, job_body(), format="json").json()
    responses = [
        api_a.get("/api/v1/models"),
        api_a.get(URL),
        api_a.get(f"{URL}/{job['id']}"),
        api_a.get(f"{URL}/gen_unknown"),
        api_a.get(URL, {"limit": "0"}),
        api_a.post(URL, {"model": "nope"}, format="json"),
        api_a.post(f"{URL}/{job['id']}/cancel"),
        api_a.post(f"{URL}/{job['id']}/cancel"),
        api_a.post("/api/v1/uploads", {"file": image_file()}, format="multipart"),
        api_a.post("/api/v1/uploads", {}, format="json"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 404, 400, 400, 200, 409, 201, 415]
    # Reading one generation is a status read, counted in the key's status-read budget; the rest one by one
    # in the key's requests (the create before the list counted too).
    reads, others = responses[2:4], responses[:2] + responses[4:]
    status_limit = settings.API_KEY_STATUS_READS_PER_MINUTE
    assert [(int(r["X-RateLimit-Limit"]), int(r["X-RateLimit-Remaining"])) for r in reads] == [
        (status_limit, status_limit - 1),
        (status_limit, status_limit - 2),
    ]
    assert all(int(r["X-RateLimit-Limit"]) == ratelimit.DEFAULT_KEY_REQUESTS_PER_MINUTE for r in others)
    assert [int(r["X-RateLimit-Remaining"]) for r in others] == list(range(598, 590, -1))
    for response in responses:
        reset = int(response["X-RateLimit-Reset"])
        assert reset % 60 == 0
        assert 0 < reset - time.time() <= 60
    # Another organization's key has its own counters.
    assert int(api_b.get(URL)["X-RateLimit-Remaining"]) == ratelimit.DEFAULT_KEY_REQUESTS_PER_MINUTE - 1


def test_a_key_over_its_requests_per_minute_gets_429_with_retry_after(api_a, org_a, alice) -> None:
    set_limits(org_a, key_requests_per_minute=3)
    statuses = [api_a.get(URL).status_code for _ in range(3)]
    refused = api_a.get(URL)

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert (error["type"], error["code"], error["scope"], error["limit"]) == (
        "rate_limit_error",
        "rate_limit_exceeded",
        "api_key",
        3,
    )
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["X-RateLimit-Limit"] == "3"
    assert refused["X-RateLimit-Remaining"] == "0"
    # POST is limited the same way, and creates nothing.
    assert api_a.post(URL, job_body(), format="json").status_code == 429
    # Another key of the organization has its own per-key budget.
    _, other = account_services.api_key_create(organization=org_a, name="second", created_by=alice)
    assert client_for(other).get(URL).status_code == 200


def test_reading_a_generation_counts_in_the_keys_status_read_budget_not_its_requests(api_a, org_a, settings) -> None:
    """Clients poll a job every second while it runs: those reads do not use up the requests that create jobs."""
    settings.API_KEY_STATUS_READS_PER_MINUTE = 4
    set_limits(org_a, key_requests_per_minute=2, org_requests_per_minute=2)
    stay_in_one_window(5)
    job = api_a.post(URL, job_body(), format="json").json()
    reads = [api_a.get(f"{URL}/{job['id']}") for _ in range(4)]
    assert [r.status_code for r in reads] == [200] * 4
    assert [(r["X-RateLimit-Limit"], r["X-RateLimit-Remaining"]) for r in reads] == [
        ("4", "3"),
        ("4", "2"),
        ("4", "1"),
        ("4", "0"),
    ]
    # The key's requests were not touched by the reads: one more call fits, then its limit holds.
    listed = api_a.get(URL)
    assert (listed.status_code, listed["X-RateLimit-Limit"], listed["X-RateLimit-Remaining"]) == (200, "2", "0")
    assert api_a.get(URL).status_code == 429

    refused = api_a.get(f"{URL}/{job['id']}")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert (refused["X-RateLimit-Limit"], refused["X-RateLimit-Remaining"]) == ("4", "0")
    error = refused.json()["error"]
    assert (error["type"], error["code"]) == ("rate_limit_error", "rate_limit_exceeded")
    assert "status reads" in error["message"]
    assert api_a.get(f"{URL}/gen_unknown").status_code == 429  # every read of a job, found or not, counts


def test_all_keys_of_an_organization_share_its_limit(api_a, org_a, alice) -> None:
    set_limits(org_a, org_requests_per_minute=4)
    _, raw = account_services.api_key_create(organization=org_a, name="second", created_by=alice)
    second = client_for(raw)
    statuses = [c.get(URL).status_code for c in (api_a, second, api_a, second)]
    refused = second.get(URL)
    assert statuses == [200, 200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()["error"]["scope"] == "organization"
    assert refused["X-RateLimit-Limit"] == "4"


def test_limits_not_overridden_keep_their_defaults(api_a, org_a) -> None:
    set_limits(org_a, max_running_jobs=5)
    assert api_a.get(URL)["X-RateLimit-Limit"] == str(ratelimit.DEFAULT_KEY_REQUESTS_PER_MINUTE)


def test_too_many_running_jobs_is_429_until_one_finishes(api_a, org_a) -> None:
    set_limits(org_a, max_running_jobs=2)
    first = api_a.post(URL, job_body(), format="json").json()
    assert api_a.post(URL, job_body(), format="json").status_code == 201
    refused = api_a.post(URL, job_body(), format="json")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_running_jobs"
    assert int(refused["Retry-After"]) > 0
    assert "X-RateLimit-Remaining" in refused

    api_a.post(f"{URL}/{first['id']}/cancel")
    assert api_a.post(URL, job_body(), format="json").status_code == 201


def test_a_job_over_the_running_limit_is_refused_inside_its_transaction_and_nothing_is_kept(org_a) -> None:
    """The limit is checked on the job's own credit hold: the refused job, its hold and its task all roll back."""
    from django_q.models import OrmQ

    from billing.errors import TooManyOpenHolds
    from billing.models import CreditAccount
    from videogen.models import Generation
    from videogen.services.generations import generation_create

    fund(org_a, 1_000_000)
    generation_create(organization=org_a, model="hailuo-02-fast", params=job_body()["input"], max_running=1)
    held, tasks = balance_get(org_a).held_micros, OrmQ.objects.count()
    with pytest.raises(TooManyOpenHolds):
        generation_create(organization=org_a, model="hailuo-02-fast", params=job_body()["input"], max_running=1)
    assert Generation.objects.filter(organization=org_a).count() == 1
    account = CreditAccount.objects.get(organization=org_a)
    assert (account.held_micros, account.open_holds) == (held, 1)
    assert OrmQ.objects.count() == tasks
    generation_create(organization=org_a, model="hailuo-02-fast", params=job_body()["input"], max_running=2)


def test_counters_are_shared_with_other_processes_through_the_database(api_a, api_key_a) -> None:
    """Another web process (a real subprocess here) counts into the same window."""
    stay_in_one_window(15)
    before = int(api_a.get(URL)["X-RateLimit-Remaining"])
    key = api_key_a[0]
    code = (
        "import django, time; django.setup();"
        "from api.ratelimit import counters_bump;"
        f"w = int(time.time() // 60) * 60;"
        f"[counters_bump(['key:{key.pk}', 'org:{key.organization_id}'], w) for _ in range(5)]"
    )
    env = {**os.environ, "DATABASE_URL": _database_url(), "DEBUG": "1", "VIDEOGEN_TESTING": "1"}
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=60)
    after = int(api_a.get(URL)["X-RateLimit-Remaining"])
    assert after == before - 6


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def test_old_windows_are_purged(api_a) -> None:
    api_a.get(URL)
    RateLimitCounter.objects.create(scope="key:999", window_start=60, hits=3)
    assert ratelimit.counters_purge() == 1
    assert RateLimitCounter.objects.filter(window_start=60).count() == 0
    assert RateLimitCounter.objects.count() == 2  # this minute's key and organization counters


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed; the Redis counters need a real Redis")
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tmp_path],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_with_redis_configured_the_counters_live_in_redis(api_a, org_a, settings, redis_url) -> None:
    import redis

    settings.REDIS_URL = redis_url
    set_limits(org_a, key_requests_per_minute=2)
    statuses = [api_a.get(URL).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert not RateLimitCounter.objects.exists()
    keys = sorted(k.decode() for k in redis.Redis.from_url(redis_url).keys(f"{ratelimit.REDIS_PREFIX}*"))
    assert [k.split(":")[2] for k in keys] == ["key", "org"]
    assert all(int(redis.Redis.from_url(redis_url).get(k)) == 3 for k in keys)


def test_when_redis_is_down_requests_go_through_uncounted(api_a, settings) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{_free_port()}/0"
    response = api_a.get(URL)
    assert response.status_code == 200
    assert response["X-RateLimit-Remaining"] == str(ratelimit.DEFAULT_KEY_REQUESTS_PER_MINUTE)


def test_the_admin_edits_an_organizations_limits(org_a, admin_client) -> None:
    response = admin_client.post(
        "/admin/platform_api/organizationapilimits/add/",
        {
            "organization": org_a.pk,
            "key_requests_per_minute": "50",
            "org_requests_per_minute": "",
            "max_running_jobs": "3",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    ratelimit.limits_cache_clear()
    limits = ratelimit.limits_for(org_a.pk)
    assert (limits.key_requests_per_minute, limits.org_requests_per_minute, limits.max_running_jobs) == (
        50,
        ratelimit.DEFAULT_ORG_REQUESTS_PER_MINUTE,
        3,
    )


def stay_in_one_window(seconds: int) -> None:
    """Wait for the next counting window if fewer than `seconds` are left of this one."""
    window = int(time.time() // ratelimit.WINDOW_SECONDS) * ratelimit.WINDOW_SECONDS
    if window + ratelimit.WINDOW_SECONDS - time.time() < seconds:
        time.sleep(window + ratelimit.WINDOW_SECONDS + 1 - time.time())


def _counter(scope: str) -> int:
    window = int(time.time() // ratelimit.WINDOW_SECONDS) * ratelimit.WINDOW_SECONDS
    row = RateLimitCounter.objects.filter(scope=scope, window_start=window).first()
    return row.hits if row else 0


def test_finding_a_key_counts_the_request_once_for_the_key_and_once_for_its_organization(api_key_a, api_key_b) -> None:
    """Every API request starts here."""
    key, raw = api_key_a
    key_scope, org_scope = f"key:{key.pk}", f"org:{key.organization_id}"
    stay_in_one_window(5)
    account_services.api_key_authenticate(raw)  # records last use now, so the next lookups write nothing else
    ratelimit.limits_for(key.organization_id)  # cached for a few seconds: not read again below
    ratelimit.counters_bump([key_scope, org_scope], int(time.time() // 60) * 60)  # the window has rows already
    before = (_counter(key_scope), _counter(org_scope))

    found, state = ratelimit.key_authenticate_counted(raw)
    assert found.pk == key.pk and found.organization.pk == key.organization_id
    after = (_counter(key_scope), _counter(org_scope))
    assert after == (before[0] + 1, before[1] + 1)
    limit = ratelimit.DEFAULT_KEY_REQUESTS_PER_MINUTE
    assert (state.limit, state.remaining, state.exceeded) == (limit, limit - after[0], None)

    other_key, other_raw = api_key_b
    assert ratelimit.key_authenticate_counted(other_raw)[0].organization_id == other_key.organization_id
    assert (_counter(key_scope), _counter(org_scope)) == after  # another organization's key counts elsewhere


def test_a_revoked_or_unknown_key_is_not_found_and_counts_nothing(api_key_a) -> None:
    key, raw = api_key_a
    scopes = (f"key:{key.pk}", f"org:{key.organization_id}")
    stay_in_one_window(5)
    assert ratelimit.key_authenticate_counted(raw) is not None
    counted = tuple(_counter(scope) for scope in scopes)
    assert ratelimit.key_authenticate_counted(raw + "x") is None
    assert ratelimit.key_authenticate_counted("not-a-key") is None
    account_services.api_key_revoke(api_key=key)
    assert ratelimit.key_authenticate_counted(raw) is None
    assert tuple(_counter(scope) for scope in scopes) in {counted, (0, 0)}  # (0, 0): a new window began
