"""Segmind-compatible endpoints: statuses, links and every error in Segmind's codes and shape."""

from __future__ import annotations

import base64

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import ApiKey
from billing import services as billing_services
from billing.selectors import balance_get
from tests.compat.conftest import LIVE, jpeg_bytes, run_pipeline
from videogen.compat import segmind
from videogen.models import Generation, Source, Status

PRICE_FAST_6S = 100_000
FRAME = "data:image/jpeg;base64," + base64.b64encode(jpeg_bytes()).decode()  # hailuo-02-fast animates a first frame


def post(client: Client, path: str, body: dict, key: str | None = None, **headers: str):
    if key:
        headers.setdefault("HTTP_X_API_KEY", key)
    return client.post(path, body, content_type="application/json", **headers)


def get(client: Client, path: str, key: str, **headers: str):
    return client.get(path, HTTP_X_API_KEY=key, **headers)


# --- v2: submit, status, result -------------------------------------------------------------

pytestmark = pytest.mark.django_db


def test_submit_answers_with_absolute_links_on_the_host_the_client_used(client: Client, key_a: str, org_a) -> None:
    start = balance_get(org_a)
    response = post(client, "/v2/hailuo-02-fast", {"prompt": "a red kite", "first_frame_image": FRAME}, key_a)

    assert response.status_code == 200
    body = response.json()
    request_id = body["request_id"]
    assert body["status"] == "QUEUED"
    assert body["status_url"] == f"http://testserver/v2/requests/{request_id}/status"
    assert body["response_url"] == f"http://testserver/v2/requests/{request_id}"
    generation = Generation.objects.get(public_id=request_id)
    assert (generation.source, generation.model, generation.organization) == (Source.SEGMIND, "hailuo-02-fast", org_a)
    assert balance_get(org_a).available_micros == start.available_micros - PRICE_FAST_6S


def test_links_use_public_base_url_when_the_client_came_through_it(client: Client, key_a: str, settings) -> None:
    settings.PUBLIC_BASE_URL = "https://videos.example.com"
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "videos.example.com"]

    body = post(
        client,
        "/v2/hailuo-02-fast",
        {"prompt": "a red kite", "first_frame_image": FRAME},
        key_a,
        HTTP_HOST="videos.example.com",
    ).json()

    assert body["status_url"].startswith("https://videos.example.com/v2/requests/gen_")


def test_status_and_result_follow_the_job_to_its_video(client: Client, key_a: str) -> None:
    request_id = post(client, "/v2/hailuo-02-fast", {"prompt": "a red kite", "first_frame_image": FRAME}, key_a).json()[
        "request_id"
    ]

    assert get(client, f"/v2/requests/{request_id}/status", key_a).json() == {
        "request_id": request_id,
        "status": "QUEUED",
    }
    early = get(client, f"/v2/requests/{request_id}", key_a)
    assert early.status_code == 202
    assert early.json()["output"] is None

    run_pipeline(request_id)

    assert get(client, f"/v2/requests/{request_id}/status", key_a).json()["status"] == "COMPLETED"
    result = get(client, f"/v2/requests/{request_id}", key_a)
    assert result.status_code == 200
    body = result.json()
    assert body["status"] == "COMPLETED"
    assert "/files/" in body["output"]
    assert body["metrics"]["inference_time"] is not None


def test_a_running_job_is_processing(client: Client, key_a: str) -> None:
    request_id = post(
        client, "/v2/hailuo-02-fast", {"prompt": "sandbox:hang", "first_frame_image": FRAME}, key_a
    ).json()["request_id"]
    run_pipeline(request_id, sweeps=1)

    assert get(client, f"/v2/requests/{request_id}/status", key_a).json()["status"] == "PROCESSING"


def test_a_failed_job_is_served_as_422_with_its_error(client: Client, key_a: str, org_a) -> None:
    start = balance_get(org_a)
    request_id = post(client, "/v2/minimax-hailuo-2", {"prompt": "sandbox:fail"}, key_a).json()["request_id"]
    run_pipeline(request_id)

    for path in (f"/v2/requests/{request_id}/status", f"/v2/requests/{request_id}"):
        response = get(client, path, key_a)
        assert response.status_code == 422
        body = response.json()
        assert body["status"] == "FAILED"
        assert "content policy" in body["error"]
    assert balance_get(org_a) == start


def test_unknown_expired_and_other_organizations_requests_are_404(client: Client, key_a: str, api_key_b: tuple) -> None:
    request_id = post(client, "/v2/hailuo-02-fast", {"prompt": "a red kite", "first_frame_image": FRAME}, key_a).json()[
        "request_id"
    ]

    for path in ("/v2/requests/gen_doesnotexist/status", "/v2/requests/gen_doesnotexist"):
        response = get(client, path, key_a)
        assert response.status_code == 404
        assert "gen_doesnotexist" in response.json()["error"]
    for path in (f"/v2/requests/{request_id}/status", f"/v2/requests/{request_id}"):
        assert get(client, path, api_key_b[1]).status_code == 404

    run_pipeline(request_id)
    Generation.objects.filter(public_id=request_id).update(output_deleted_at=timezone.now())
    expired = get(client, f"/v2/requests/{request_id}", key_a)
    assert expired.status_code == 404
    assert "expired" in expired.json()["error"]


def test_submit_errors_use_segmind_codes(client: Client, key_a: str, org_a, alice) -> None:
    unauthorized = post(client, "/v2/hailuo-02-fast", {"prompt": "x", "first_frame_image": FRAME}, None)
    assert unauthorized.status_code == 401
    assert set(unauthorized.json()) == {"error"}
    assert (
        post(client, "/v2/hailuo-02-fast", {"prompt": "x", "first_frame_image": FRAME}, "sk_live_wrong").status_code
        == 401
    )
    assert post(client, "/v2/hailuo-99", {"prompt": "x"}, key_a).status_code == 404

    for slug in ("hailuo-2.3-fast", "hailuo-02-fast"):  # both animate a first frame, as on Segmind's pages
        bad = post(client, f"/v2/{slug}", {"prompt": "x"}, key_a)
        assert bad.status_code == 400
        assert bad.json()["error"].startswith("first_frame_image:")
    bad_image = post(client, "/v2/minimax-hailuo-2", {"prompt": "x", "image_url": "ftp://nope"}, key_a)
    assert bad_image.status_code == 400
    assert bad_image.json()["error"].startswith("image_url:")
    not_json = client.post("/v2/hailuo-02-fast", "{", content_type="application/json", HTTP_X_API_KEY=key_a)
    assert not_json.status_code == 400

    available = balance_get(org_a).available_micros
    billing_services.credits_adjust(organization=org_a, amount_micros=-available, reason="test", staff_user=alice)
    broke = post(client, "/v2/hailuo-02-fast", {"prompt": "x", "first_frame_image": FRAME}, key_a)
    assert broke.status_code == 406
    assert "credit" in broke.json()["error"]
    assert not Generation.objects.filter(organization=org_a).exists()


def test_a_spend_limit_is_406_too(client: Client, key_a: str, api_key_a: tuple) -> None:
    ApiKey.objects.filter(pk=api_key_a[0].pk).update(spend_limit_micros=PRICE_FAST_6S - 1)

    response = post(client, "/v2/hailuo-02-fast", {"prompt": "x", "first_frame_image": FRAME}, key_a)

    assert response.status_code == 406
    assert "spend limit" in response.json()["error"]


def test_bearer_keys_work_too(client: Client, key_a: str) -> None:
    response = client.post(
        "/v2/hailuo-02-fast",
        {"prompt": "x", "first_frame_image": FRAME},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key_a}",
    )
    assert response.status_code == 200


# --- v1: synchronous ------------------------------------------------------------------------


@LIVE
def test_sync_errors_use_segmind_codes(client: Client, key_a: str) -> None:
    assert post(client, "/v1/hailuo-02-fast", {"prompt": "x", "first_frame_image": FRAME}, None).status_code == 401
    assert (
        post(client, "/v1/hailuo-02-fast", {"prompt": "x", "first_frame_image": FRAME}, "sk_live_wrong").status_code
        == 401
    )
    assert post(client, "/v1/hailuo-99", {"prompt": "x"}, key_a).status_code == 404
    assert client.get("/v1/hailuo-02-fast", HTTP_X_API_KEY=key_a).status_code == 405

    bad = post(client, "/v1/hailuo-02-fast", {"prompt": "x", "duration": "7", "first_frame_image": FRAME}, key_a)
    assert bad.status_code == 400
    assert bad.json()["error"].startswith("duration:")


@LIVE
def test_sync_insufficient_credit_is_406(client: Client, key_a: str, org_a, alice) -> None:
    available = balance_get(org_a).available_micros
    billing_services.credits_adjust(organization=org_a, amount_micros=-available, reason="test", staff_user=alice)

    response = post(client, "/v1/hailuo-02-fast", {"prompt": "x", "first_frame_image": FRAME}, key_a)

    assert response.status_code == 406
    assert "credit" in response.json()["error"]


@LIVE
def test_sync_failure_is_a_400_with_the_reason_and_costs_nothing(client: Client, key_a: str, org_a, runner) -> None:
    start = balance_get(org_a)

    response = post(client, "/v1/hailuo-02-fast", {"prompt": "sandbox:fail", "first_frame_image": FRAME}, key_a)

    assert response.status_code == 400
    assert "content policy" in response.json()["error"]
    assert balance_get(org_a) == start


@LIVE
def test_sync_request_not_done_in_time_is_504_canceled_and_not_charged(
    client: Client, key_a: str, org_a, monkeypatch
) -> None:
    monkeypatch.setattr(segmind, "SYNC_WAIT_SECONDS", 1)
    start = balance_get(org_a)

    response = post(client, "/v1/hailuo-02-fast", {"prompt": "sandbox:hang", "first_frame_image": FRAME}, key_a)

    assert response.status_code == 504
    body = response.json()
    generation = Generation.objects.get(public_id=body["request_id"])
    assert generation.status == Status.CANCELED
    assert "timed out" in body["error"]
    assert balance_get(org_a) == start


def test_a_bug_is_a_500_in_segmind_style_without_internals(client: Client, key_a: str, monkeypatch) -> None:
    request_id = post(client, "/v2/hailuo-02-fast", {"prompt": "x", "first_frame_image": FRAME}, key_a).json()[
        "request_id"
    ]
    monkeypatch.setattr(segmind, "job_view", lambda generation: 1 / 0)

    response = get(client, f"/v2/requests/{request_id}/status", key_a)

    assert response.status_code == 500
    assert response.json() == {"error": "Internal server error."}


# --- the seed pages' defaults -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "resolution", "price"),
    [
        ({}, "1080p", 330_000),  # the page's default, at the page's price for it
        ({"duration": 6}, "1080p", 330_000),
        ({"duration": 10}, "768p", 320_000),  # 1080p renders 6 s only
        ({"resolution": "768p"}, "768p", 190_000),
    ],
)
def test_hailuo_23_fast_defaults_to_1080p_as_on_its_page(
    client: Client, key_a: str, frames, body: dict, resolution: str, price: int
) -> None:
    answer = post(
        client, "/v2/hailuo-2.3-fast", {"prompt": "a cardigan", "first_frame_image": frames.first, **body}, key_a
    )

    assert answer.status_code == 200, answer.content
    generation = Generation.objects.get(public_id=answer.json()["request_id"])
    assert (generation.input["resolution"], generation.price_micros) == (resolution, price)


def test_hailuo_02_fast_has_go_fast_off_unless_asked(client: Client, key_a: str, frames) -> None:
    plain = post(client, "/v2/hailuo-02-fast", {"prompt": "a boy singing", "first_frame_image": frames.first}, key_a)
    fast = post(
        client,
        "/v2/hailuo-02-fast",
        {"prompt": "a boy singing", "first_frame_image": frames.first, "go_fast": True},
        key_a,
    )

    inputs = [Generation.objects.get(public_id=r.json()["request_id"]).input for r in (plain, fast)]
    assert [i["go_fast"] for i in inputs] == [False, True]
