"""The compatible endpoints share the native API's limits (requests, running jobs), each in its provider's style."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from api import ratelimit
from api.models import OrganizationApiLimits
from billing.selectors import balance_get
from tests.compat.test_atlascloud import IMAGE
from videogen.models import Generation

pytestmark = pytest.mark.django_db


def stay_in_one_window(seconds: int) -> None:
    """Wait for the next counting window if fewer than `seconds` are left of this one."""
    window = int(time.time() // ratelimit.WINDOW_SECONDS) * ratelimit.WINDOW_SECONDS
    if window + ratelimit.WINDOW_SECONDS - time.time() < seconds:
        time.sleep(window + ratelimit.WINDOW_SECONDS + 1 - time.time())


STATUS_READS = [
    ("/v2/requests/req_unknown/status", "x"),
    ("/v2/requests/req_unknown", "x"),
    ("/v2/generate/video/minimax/generation?generation_id=gen_unknown", "bearer"),
    ("/v2/video/generations?generation_id=gen_unknown", "bearer"),
    ("/api/v1/model/prediction/pred_unknown", "bearer"),
]
CREATES = [
    ("/v2/hailuo-02-fast", "x"),
    ("/v2/generate/video/minimax/generation", "bearer"),
    ("/api/v1/model/generateVideo", "bearer"),
]


def auth(raw: str, headers: str) -> dict[str, str]:
    return {"HTTP_X_API_KEY": raw} if headers == "x" else {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.mark.parametrize(("path", "headers"), STATUS_READS)
def test_status_reads_past_their_own_budget_are_429_with_retry_after(
    client: Client, org_a, api_key_a, settings, path, headers
) -> None:
    settings.API_KEY_STATUS_READS_PER_MINUTE = 2
    stay_in_one_window(5)
    given = auth(api_key_a[1], headers)
    answers = [client.get(path, **given) for _ in range(2)]
    assert [(r.status_code, r["X-RateLimit-Limit"], r["X-RateLimit-Remaining"]) for r in answers] == [
        (404, "2", "1"),
        (404, "2", "0"),
    ]
    refused = client.get(path, **given)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert (refused["X-RateLimit-Limit"], refused["X-RateLimit-Remaining"]) == ("2", "0")
    assert refused["Content-Type"].startswith("application/json")
    assert "status reads" in refused.content.decode()


@pytest.mark.parametrize(("path", "headers"), STATUS_READS)
def test_status_reads_do_not_use_the_keys_request_limit(client: Client, org_a, api_key_a, path, headers) -> None:
    """SDKs poll once a second while a job runs (Segmind's wait() gives up at the first 429)."""
    OrganizationApiLimits.objects.create(organization=org_a, key_requests_per_minute=2)
    stay_in_one_window(5)
    given = auth(api_key_a[1], headers)
    reads = [client.get(path, **given) for _ in range(5)]
    assert {r.status_code for r in reads} == {404}
    assert reads[-1]["X-RateLimit-Limit"] == "1800"
    # The key's requests are all still there for creating jobs (a bad body: 400, not 429), then its limit holds.
    for create_path, create_headers in CREATES[:2]:
        answer = client.post(create_path, {}, content_type="application/json", **auth(api_key_a[1], create_headers))
        assert (answer.status_code != 429, answer["X-RateLimit-Limit"]) == (True, "2"), answer.content
    path, headers = CREATES[2]
    assert client.post(path, {}, content_type="application/json", **auth(api_key_a[1], headers)).status_code == 429


def test_an_organization_given_a_raised_request_limit_polls_under_it_too(
    client: Client, org_a, api_key_a, settings
) -> None:
    settings.API_KEY_STATUS_READS_PER_MINUTE = 2
    stay_in_one_window(5)
    given = auth(api_key_a[1], "bearer")
    path = "/v2/video/generations?generation_id=gen_unknown"
    # The default request limit leaves the status-read budget as set.
    assert client.get(path, **given)["X-RateLimit-Limit"] == "2"
    OrganizationApiLimits.objects.create(organization=org_a, key_requests_per_minute=5000)
    ratelimit.limits_cache_clear()
    answers = [client.get(path, **given) for _ in range(3)]
    assert [(r.status_code, r["X-RateLimit-Limit"]) for r in answers] == [(404, "5000")] * 3


# Replicate's prediction read and fal's status and result reads, with each package's own auth scheme.
PACKAGE_STATUS_READS = [
    ("/v1/predictions/pred_unknown", "Token", "/v1/models"),
    ("/fal-ai/minimax/requests/req_unknown/status", "Key", "/fal-ai/minimax/requests/req_unknown/cancel"),
    ("/fal-ai/minimax/requests/req_unknown", "Key", "/fal-ai/minimax/requests/req_unknown/cancel"),
]


@pytest.mark.django_db(transaction=True)  # fal's status read is async: the key is read on another thread
@pytest.mark.parametrize(("path", "scheme", "other"), PACKAGE_STATUS_READS)
def test_replicate_and_fal_status_reads_do_not_use_the_keys_request_limit(
    client: Client, org_a, api_key_a, path, scheme, other
) -> None:
    OrganizationApiLimits.objects.create(organization=org_a, key_requests_per_minute=2)
    ratelimit.limits_cache_clear()
    stay_in_one_window(5)
    given = {"HTTP_AUTHORIZATION": f"{scheme} {api_key_a[1]}"}
    reads = [client.get(path, **given) for _ in range(4)]
    assert [r.status_code for r in reads] == [404] * 4, reads[-1].content
    assert (reads[-1]["X-RateLimit-Limit"], reads[-1]["X-RateLimit-Remaining"]) == ("1800", "1796")
    # Every other call still counts in the key's two requests a minute.
    method = client.get if other == "/v1/models" else client.put
    assert [method(other, **given).status_code == 429 for _ in range(3)] == [False, False, True]


@pytest.mark.parametrize(("path", "headers"), CREATES)
def test_creates_past_the_keys_limit_are_429_with_retry_after(client: Client, org_a, api_key_a, path, headers) -> None:
    OrganizationApiLimits.objects.create(organization=org_a, key_requests_per_minute=2)
    stay_in_one_window(5)
    given = auth(api_key_a[1], headers)
    statuses = [client.post(path, {}, content_type="application/json", **given).status_code for _ in range(2)]
    assert 429 not in statuses
    refused = client.post(path, {}, content_type="application/json", **given)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert refused["Content-Type"].startswith("application/json")


def test_another_organizations_traffic_does_not_count(client: Client, org_a, api_key_a, api_key_b, settings) -> None:
    settings.API_KEY_STATUS_READS_PER_MINUTE = 1
    stay_in_one_window(5)
    path = "/v2/requests/req_unknown/status"
    assert client.get(path, HTTP_X_API_KEY=api_key_a[1]).status_code == 404
    assert client.get(path, HTTP_X_API_KEY=api_key_a[1]).status_code == 429
    assert client.get(path, HTTP_X_API_KEY=api_key_b[1]).status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "headers"),
    [
        ("/v2/hailuo-02-fast", {"prompt": "a red kite", "first_frame_image": IMAGE}, "x"),
        ("/v2/generate/video/minimax/generation", {"model": "minimax/hailuo-02", "prompt": "a red kite"}, "bearer"),
        (
            "/api/v1/model/generateVideo",
            {"model": "minimax/hailuo-02/fast", "prompt": "waves", "image": IMAGE},  # /fast requires an image
            "bearer",
        ),
    ],
)
def test_a_job_past_the_running_jobs_limit_is_429_and_holds_nothing(
    client: Client, org_a, key_a, path, body, headers
) -> None:
    OrganizationApiLimits.objects.create(organization=org_a, max_running_jobs=1)
    auth = {"HTTP_X_API_KEY": key_a} if headers == "x" else {"HTTP_AUTHORIZATION": f"Bearer {key_a}"}
    assert client.post(path, body, content_type="application/json", **auth).status_code in (200, 201)
    held = balance_get(org_a).held_micros
    refused = client.post(path, body, content_type="application/json", **auth)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert "queued or running" in refused.content.decode()
    assert balance_get(org_a).held_micros == held
    assert Generation.objects.filter(organization=org_a).count() == 1
