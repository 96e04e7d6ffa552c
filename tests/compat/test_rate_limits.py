"""The compatible endpoints share the native API's limits (requests, running jobs), each in its provider's style."""

from __future__ import annotations

import pytest
from django.test import Client

from api.models import OrganizationApiLimits
from billing.selectors import balance_get
from tests.compat.test_atlascloud import IMAGE
from videogen.models import Generation

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("get", "/v2/requests/req_unknown/status", "x"),
        ("get", "/v2/generate/video/minimax/generation?generation_id=gen_unknown", "bearer"),
        ("get", "/api/v1/model/prediction/pred_unknown", "bearer"),
    ],
)
def test_over_the_limit_is_429_with_retry_after(client: Client, org_a, api_key_a, method, path, headers) -> None:
    OrganizationApiLimits.objects.create(organization=org_a, key_requests_per_minute=2)
    raw = api_key_a[1]
    auth = {"HTTP_X_API_KEY": raw} if headers == "x" else {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    statuses = [getattr(client, method)(path, **auth).status_code for _ in range(2)]
    assert statuses == [404, 404]
    refused = getattr(client, method)(path, **auth)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert refused["Content-Type"].startswith("application/json")


def test_another_organizations_traffic_does_not_count(client: Client, org_a, api_key_a, api_key_b) -> None:
    OrganizationApiLimits.objects.create(organization=org_a, key_requests_per_minute=1)
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
