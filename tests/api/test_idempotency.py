"""Idempotency-Key on POST /api/v1/generations, Stripe's way."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from api.idempotency import idempotency_purge, lock_timeout, request_fingerprint
from api.models import IdempotencyRecord
from billing.selectors import balance_get
from tests.api.conftest import FAST_6S_PRICE, fund, job_body
from videogen.models import Generation

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/generations"


def post(client: APIClient, body: dict[str, Any], key: str) -> Any:
    return client.post(URL, body, format="json", headers={"Idempotency-Key": key})


def test_the_same_key_and_body_replays_the_first_response_and_creates_nothing(api_a, org_a) -> None:
    body = job_body()
    first = post(api_a, body, "order-42")
    before = balance_get(org_a)
    # Same body, different key order and spacing: the same request.
    frame = body["input"]["first_frame_image"]
    again = api_a.post(
        URL,
        data='{"input": {"duration": 6, "first_frame_image": "' + frame + '", "prompt": "a lighthouse at dusk, waves"},'
        '   "model": "hailuo-02-fast"}',
        content_type="application/json",
        headers={"Idempotency-Key": "order-42"},
    )

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Generation.objects.count() == 1
    assert balance_get(org_a) == before
    assert balance_get(org_a).held_micros == FAST_6S_PRICE


def test_the_same_key_with_another_body_is_a_409_conflict(api_a) -> None:
    assert post(api_a, job_body(), "k1").status_code == 201
    response = post(api_a, job_body(prompt="something else"), "k1")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["type"] == "idempotency_error"
    assert error["code"] == "idempotency_conflict"
    assert error["param"] == "Idempotency-Key"
    assert Generation.objects.count() == 1


def test_keys_belong_to_one_organization(api_a, api_b, org_b) -> None:
    fund(org_b, 1_000_000)
    a = post(api_a, job_body(), "shared-key")
    b = post(api_b, job_body(), "shared-key")
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


def test_a_request_refused_as_invalid_saves_nothing_so_the_key_can_be_retried(api_a) -> None:
    bad = post(api_a, {"model": "hailuo-02-fast", "input": {"duration": 6}}, "retry-me")
    assert bad.status_code == 400
    fixed = post(api_a, job_body(), "retry-me")
    assert fixed.status_code == 201
    assert "Idempotent-Replayed" not in fixed


def test_an_insufficient_credit_refusal_is_saved_and_replayed(api_a, org_a) -> None:
    for n in range(10):
        assert post(api_a, job_body(), f"fill-{n}").status_code == 201
    refused = post(api_a, job_body(), "too-much")
    assert refused.status_code == 402
    fund(org_a, 1_000_000)
    replay = post(api_a, job_body(), "too-much")
    assert replay.status_code == 402
    assert replay.json() == refused.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert post(api_a, job_body(), "a-new-key").status_code == 201


def test_a_request_still_in_progress_gets_a_409_with_retry_after(api_a, org_a) -> None:
    IdempotencyRecord.objects.create(
        organization=org_a, key="busy", request_hash=request_fingerprint("POST", URL, job_body())
    )
    response = post(api_a, job_body(), "busy")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_in_progress"
    assert int(response["Retry-After"]) >= 1
    assert not Generation.objects.exists()


def test_a_claim_abandoned_by_a_dead_request_is_taken_over_within_a_minute(api_a, org_a) -> None:
    assert lock_timeout() == timedelta(seconds=30)  # the default: a retry waits half a minute, not five
    young = timezone.now() - lock_timeout() + timedelta(seconds=5)
    IdempotencyRecord.objects.create(
        organization=org_a,
        key="young",
        request_hash=request_fingerprint("POST", URL, job_body()),
        created_at=young,
        locked_at=young,
    )
    assert post(api_a, job_body(), "young").status_code == 409
    stale = timezone.now() - lock_timeout() - timedelta(seconds=1)
    IdempotencyRecord.objects.create(
        organization=org_a,
        key="orphan",
        request_hash=request_fingerprint("POST", URL, job_body()),
        created_at=stale,
        locked_at=stale,
    )
    response = post(api_a, job_body(), "orphan")
    assert response.status_code == 201
    assert post(api_a, job_body(), "orphan").json()["id"] == response.json()["id"]


def test_keys_expire_after_24_hours_and_the_purge_removes_them(api_a, org_a) -> None:
    first = post(api_a, job_body(), "daily")
    IdempotencyRecord.objects.filter(key="daily").update(created_at=timezone.now() - timedelta(hours=25))
    second = post(api_a, job_body(), "daily")
    assert second.status_code == 201
    assert second.json()["id"] != first.json()["id"]

    IdempotencyRecord.objects.filter(key="daily").update(created_at=timezone.now() - timedelta(hours=25))
    post(api_a, job_body(), "fresh")
    assert idempotency_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]


@pytest.mark.parametrize("key", ["", "   ", "k" * 256])
def test_an_empty_or_overlong_key_is_400(api_a, key) -> None:
    response = post(api_a, job_body(), key)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "Idempotency-Key"


@pytest.mark.postgres
def test_concurrent_requests_with_one_key_create_one_job(api_key_a, org_a) -> None:
    fund(org_a, 10_000_000)
    count = 12
    barrier = threading.Barrier(count)
    responses: list[Any] = [None] * count

    def send(n: int) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_a[1]}")
        try:
            barrier.wait()
            responses[n] = post(client, job_body(), "one-job-only")
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Generation.objects.count() == 1
    job_id = Generation.objects.get().public_id
    outcomes = Counter(r.status_code for r in responses)
    assert set(outcomes) <= {201, 409}
    assert outcomes[201] >= 1
    for response in responses:
        if response.status_code == 201:
            assert response.json()["id"] == job_id
        else:
            assert response.json()["error"]["code"] == "idempotency_in_progress"
            assert response["Retry-After"]
    # Retrying after the rush gets the saved response.
    assert post_again(api_key_a[1]).json()["id"] == job_id
    assert balance_get(org_a).held_micros == FAST_6S_PRICE


def post_again(raw_key: str) -> Any:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return post(client, job_body(), "one-job-only")


def test_the_cleanup_task_purges_old_keys_and_counters(api_a) -> None:
    from api.models import RateLimitCounter
    from api.tasks import api_cleanup

    post(api_a, job_body(), "old")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=30))
    RateLimitCounter.objects.create(scope="key:1", window_start=0, hits=1)
    assert api_cleanup() == {"idempotency_records": 1, "rate_limit_counters": 1}
    assert api_cleanup() == {"idempotency_records": 0, "rate_limit_counters": 0}


def test_a_replay_is_returned_even_at_the_running_jobs_limit(api_a, org_a) -> None:
    from tests.api.conftest import set_limits

    first = post(api_a, job_body(), "at-limit")
    set_limits(org_a, max_running_jobs=1)
    assert api_a.post(URL, job_body(), format="json").status_code == 429
    replay = post(api_a, job_body(), "at-limit")
    assert replay.status_code == 201
    assert replay.json()["id"] == first.json()["id"]
    # A refusal for too many running jobs is not saved: the same key works once there is room.
    refused = post(api_a, job_body(prompt="later"), "room-later")
    assert refused.status_code == 429
    api_a.post(f"{URL}/{first.json()['id']}/cancel")
    assert post(api_a, job_body(prompt="later"), "room-later").status_code == 201
