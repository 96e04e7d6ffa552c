"""POST/GET /api/v1/generations, GET /api/v1/generations/{id}, POST .../cancel."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.models import ApiKey
from billing.models import Hold
from billing.selectors import balance_get
from tests.api.conftest import FAST_6S_PRICE, fund, image_file, job_body, run_pipeline
from videogen.models import Generation

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/generations"


def create(client: APIClient, body: dict[str, Any] | None = None, **headers: str) -> Any:
    return client.post(URL, body if body is not None else job_body(), format="json", headers=headers)


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"type", "code", "message", "param"} <= set(body["error"])
    return body["error"]


# --- Creating -----------------------------------------------------------------------------


def test_creating_a_generation_returns_the_queued_job_and_reserves_its_price(api_a, org_a) -> None:
    before = balance_get(org_a)
    response = create(api_a, {**job_body(), "metadata": {"order": "A-17"}})

    assert response.status_code == 201
    job = response.json()
    assert job["id"].startswith("gen_")
    assert job["object"] == "generation"
    assert job["status"] == "queued"
    assert job["model"] == "hailuo-02-fast"
    assert job["input"]["prompt"] == "a lighthouse at dusk, waves"
    assert job["input"]["resolution"] == "512p"
    assert job["price"] == {"amount": "0.10", "amount_micros": FAST_6S_PRICE, "currency": "usd", "charged": False}
    assert job["metadata"] == {"order": "A-17"}
    assert job["output"] is None and job["error"] is None
    assert balance_get(org_a).available_micros == before.available_micros - FAST_6S_PRICE
    generation = Generation.objects.get(public_id=job["id"])
    assert generation.source == "api"
    assert generation.api_key.organization == org_a
    assert Hold.objects.get(reference=job["id"]).amount_micros == FAST_6S_PRICE


def test_parameters_may_be_given_at_the_top_level(api_a) -> None:
    response = create(api_a, {"model": "hailuo-02", "prompt": "a fox in snow", "duration": "10"})
    assert response.status_code == 201
    assert response.json()["input"]["duration"] == 10
    assert response.json()["input"]["resolution"] == "768p"


def test_the_x_api_key_header_works_too(api_key_a) -> None:
    client = APIClient()
    response = client.post(URL, job_body(), format="json", headers={"x-api-key": api_key_a[1]})
    assert response.status_code == 201


def test_a_webhook_and_its_events_filter_are_kept_on_the_job(api_a, settings) -> None:
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    body = {**job_body(), "webhook": "http://127.0.0.1:8999/v", "webhook_events_filter": ["generation.succeeded"]}
    response = create(api_a, body)
    assert response.status_code == 201, response.json()
    generation = Generation.objects.get(public_id=response.json()["id"])
    assert generation.webhook_url == "http://127.0.0.1:8999/v"
    assert generation.webhook_events == ["generation.succeeded"]
    unknown = create(api_a, {**body, "webhook_events_filter": ["generation.exploded"]})
    assert unknown.status_code == 400
    assert error_of(unknown)["param"] == "webhook_events_filter"


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"input": {"prompt": "x"}}, "model", "required"),
        ({"model": "hailuo-99", "input": {"prompt": "x"}}, "model", "unknown_model"),
        ({"model": 7, "input": {"prompt": "x"}}, "model", "type"),
        ({"model": "hailuo-02-fast", "input": {"duration": 6}}, "prompt", "required"),
        ({"model": "hailuo-02-fast", "input": {"prompt": "p" * 2001}}, "prompt", "max_length"),
        ({"model": "hailuo-02-fast", "input": {"prompt": "x", "duration": 8}}, "duration", "allowed_values"),
        (
            {"model": "hailuo-02", "input": {"prompt": "x", "duration": 10, "resolution": "1080p"}},
            "duration",
            "resolution_duration",
        ),
        ({"model": "hailuo-2.3-fast", "input": {"prompt": "x"}}, "first_frame_image", "required"),
        ({"model": "hailuo-02-fast", "input": {"prompt": "x"}}, "first_frame_image", "required"),
        (
            {"model": "hailuo-02-fast", "input": {"prompt": "x", "first_frame_image": None}},
            "first_frame_image",
            "required",
        ),
        ({"model": "hailuo-02-fast", "input": {"prompt": "x", "durration": 6}}, "durration", "unknown_parameter"),
        ({"model": "hailuo-02-fast", "input": "a cat"}, "input", "type"),
        ({"model": "hailuo-02-fast", "input": {"prompt": "x"}, "extra": 1}, "extra", "unknown_parameter"),
        ({**job_body(), "metadata": ["not", "an", "object"]}, "metadata", "type"),
        ({**job_body(), "webhook": "ftp://example.com/x"}, "webhook", None),
        (
            {**job_body(), "webhook_events_filter": ["generation.succeeded"]},
            "webhook_events_filter",
            "requires_webhook",
        ),
        ({"model": "hailuo-02-fast", "input": {"prompt": "x", "first_frame_image": "bm90IGFuIGltYWdl"}}, None, None),
        (
            {"model": "hailuo-02-fast", "input": {"prompt": "x", "last_frame_image": "ø"}},
            "last_frame_image",
            "encoding",
        ),
    ],
)
def test_invalid_requests_are_400_naming_the_field_and_charge_nothing(api_a, org_a, body, param, code) -> None:
    before = balance_get(org_a)
    response = create(api_a, body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["type"] == "invalid_request_error"
    if param is not None:
        assert error["param"] == param
    else:
        assert error["param"] in {"first_frame_image", "webhook"}
    if code is not None:
        assert error["code"] == code
    assert balance_get(org_a) == before
    assert not Generation.objects.exists()


def test_a_body_that_is_not_json_is_400_and_another_content_type_is_415(api_a) -> None:
    broken = api_a.post(URL, data="{not json", content_type="application/json")
    assert broken.status_code == 400
    assert error_of(broken)["code"] == "invalid_json"
    form = api_a.post(URL, {"model": "hailuo-02-fast", "prompt": "x"})  # multipart form
    assert form.status_code == 415
    assert error_of(form)["code"] == "unsupported_media_type"


def test_a_body_over_the_size_limit_is_413(api_a) -> None:
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000):
        response = create(api_a, job_body(prompt="x" * 1500))
    assert response.status_code == 413
    assert error_of(response)["code"] == "request_too_large"


def test_insufficient_credit_is_402_with_price_and_available(api_a, org_a) -> None:
    for _ in range(10):  # the $1.00 sign-up grant covers ten $0.10 jobs
        assert create(api_a).status_code == 201
    response = create(api_a)
    assert response.status_code == 402
    error = error_of(response)
    assert error["type"] == "insufficient_credits"
    assert error["price"] == "0.10"
    assert error["available"] == "0.00"
    assert Generation.objects.filter(organization=org_a).count() == 10


def test_a_key_over_its_spend_limit_is_402(api_a, api_key_a) -> None:
    ApiKey.objects.filter(pk=api_key_a[0].pk).update(spend_limit_micros=50_000)
    response = create(api_a)
    assert response.status_code == 402
    assert error_of(response)["type"] == "spend_limit_exceeded"


def test_an_upload_of_another_organization_is_not_found(api_a, api_b, org_a) -> None:
    carols = api_b.post("/api/v1/uploads", {"file": image_file()}, format="multipart").json()
    response = create(api_a, job_body(first_frame_image=carols["id"]))
    assert response.status_code == 404
    error = error_of(response)
    assert error["param"] == "first_frame_image"
    # Exactly what a made-up id gets: nothing says the upload exists elsewhere.
    made_up = error_of(create(api_a, job_body(first_frame_image="upl_000000000000000000000000")))
    assert error["message"].replace(carols["id"], "ID") == made_up["message"].replace(
        "upl_000000000000000000000000", "ID"
    )
    assert not Generation.objects.filter(organization=org_a).exists()


# --- Auth -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer vg_not_a_real_key"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"x-api-key": "nonsense"},
    ],
)
def test_requests_without_a_valid_key_are_401_json(db, headers) -> None:
    client = APIClient()
    for method, url in [("post", URL), ("get", URL), ("get", f"{URL}/gen_x"), ("post", f"{URL}/gen_x/cancel")]:
        response = getattr(client, method)(url, headers=headers)
        assert response.status_code == 401
        assert response["Content-Type"] == "application/json"
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'
        assert error_of(response)["type"] == "authentication_error"
        assert "X-RateLimit-Limit" not in response


def test_a_revoked_key_is_401(api_a, api_key_a) -> None:
    from accounts.services import api_key_revoke

    api_key_revoke(api_key=api_key_a[0])
    assert create(api_a).status_code == 401


def test_an_unsupported_method_is_405_with_allow(api_a) -> None:
    response = api_a.delete(URL)
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
    assert error_of(response)["code"] == "method_not_allowed"


# --- Reading -----------------------------------------------------------------------------------


def test_a_job_is_read_back_by_its_id(api_a) -> None:
    job = create(api_a).json()
    response = api_a.get(f"{URL}/{job['id']}")
    assert response.status_code == 200
    assert response.json()["id"] == job["id"]
    assert response.json()["status"] == "queued"
    assert "Preference-Applied" not in response


def test_a_finished_job_has_its_output_links_and_timings(api_a, org_a) -> None:
    job = create(api_a).json()
    run_pipeline(job["id"])
    body = api_a.get(f"{URL}/{job['id']}").json()
    assert body["status"] == "succeeded"
    assert body["price"]["charged"] is True
    assert body["output"]["video_url"].startswith("http")
    assert body["output"]["height"] == 512
    assert body["timings"]["generation_seconds"] is not None
    video = APIClient().get(urlparse(body["output"]["video_url"]).path)
    assert video.status_code == 200
    assert b"ftyp" in b"".join(video.streaming_content)[:64]


def test_an_unknown_id_is_404(api_a) -> None:
    response = api_a.get(f"{URL}/gen_000000000000000000000000")
    assert response.status_code == 404
    assert error_of(response)["type"] == "not_found"


def test_another_organizations_job_is_404_to_read_and_to_cancel(api_a, api_b, org_a) -> None:
    job = create(api_a).json()
    assert api_b.get(f"{URL}/{job['id']}").status_code == 404
    response = api_b.post(f"{URL}/{job['id']}/cancel")
    assert response.status_code == 404
    assert error_of(response)["type"] == "not_found"
    assert Generation.objects.get(public_id=job["id"]).status == "queued"
    assert api_b.get(URL).json()["data"] == []


# --- Cancelling ---------------------------------------------------------------------------------


def test_cancelling_a_queued_job_releases_its_reserved_credit(api_a, org_a) -> None:
    before = balance_get(org_a)
    job = create(api_a).json()
    response = api_a.post(f"{URL}/{job['id']}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    assert response.json()["error"]["code"] == "canceled"
    assert balance_get(org_a) == before


def test_a_finished_job_is_not_cancelable(api_a, org_a) -> None:
    fund(org_a, 1_000_000)
    job = create(api_a).json()
    run_pipeline(job["id"])
    response = api_a.post(f"{URL}/{job['id']}/cancel")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "not_cancelable"
    assert error["status"] == "succeeded"
    assert api_a.post(f"{URL}/{job['id']}/cancel").status_code == 409


def test_cancel_takes_only_post(api_a) -> None:
    job = create(api_a).json()
    response = api_a.get(f"{URL}/{job['id']}/cancel")
    assert response.status_code == 405
    assert response["Allow"] == "POST"


# --- Errors never leak ---------------------------------------------------------------------------


def test_an_unexpected_failure_is_a_500_without_internals(api_a, monkeypatch) -> None:
    from videogen.api import views

    def broken(generation: Any) -> Any:
        raise RuntimeError("secret database password is hunter2")

    monkeypatch.setattr(views, "generation_to_dict", broken)
    job = create(api_a)
    assert job.status_code == 500
    error = error_of(job)
    assert error == {
        "type": "api_error",
        "code": "internal_error",
        "message": "Something went wrong on our side; it has been logged.",
        "param": None,
    }
    assert "hunter2" not in job.content.decode()
    assert "X-RateLimit-Limit" in job
    # The job did not half-happen: the failure rolled its creation back.
    assert not Generation.objects.exists()


def test_text_no_database_can_store_is_a_400_naming_the_field(api_a) -> None:
    nul = create(api_a, job_body(prompt="a cat\u0000"))
    assert nul.status_code == 400
    assert error_of(nul)["param"] == "prompt"
    surrogate = api_a.post(
        URL,
        data='{"model": "hailuo-02-fast", "input": {"prompt": "x"}, "metadata": {"k": "\\ud800"}}',
        content_type="application/json",
    )
    assert surrogate.status_code == 400
    assert error_of(surrogate)["param"] == "metadata.k"
    cursor = api_a.get(URL, {"cursor": "gen_\u0000"})
    assert cursor.status_code == 400
    assert error_of(cursor)["param"] == "cursor"
    assert api_a.get(f"{URL}/gen_%00").status_code == 404
    assert api_a.post(f"{URL}/gen_%00/cancel").status_code == 404
    assert not Generation.objects.exists()
