"""Replicate-compatible endpoints over plain HTTP: input translation and its refusals, pages, waiting, webhooks."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from replicate.webhook import Webhooks, WebhookSigningSecret

from accounts import services as account_services
from api.models import OrganizationApiLimits
from billing import services as billing_services
from billing.selectors import balance_get
from tests.compat.conftest import LIVE, run_pipeline
from tests.webhooks.conftest import Hit, Receiver, sweep_due_now
from videogen.compat import replicate
from videogen.models import Generation, Source, Status
from webhooks.models import Delivery

# The create and list views are async: they read the key on another thread, so the data must be committed.
pytestmark = LIVE

CREATE = "/v1/models/minimax/{}/predictions"


def auth(key: str, scheme: str = "Bearer") -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"{scheme} {key}"}


def create(client: Client, key: str, body: dict[str, Any], model: str = "hailuo-02", **headers: str):
    return client.post(CREATE.format(model), body, content_type="application/json", **auth(key), **headers)


# --- Creating: Replicate's inputs as our parameters ------------------------------------------


def test_a_prediction_is_created_in_replicates_shape_with_replicates_defaults(client: Client, key_a: str) -> None:
    response = create(client, key_a, {"input": {"prompt": "a red kite"}})

    assert response.status_code == 201
    body = response.json()
    generation = Generation.objects.get(public_id=body["id"])
    assert (generation.source, generation.model) == (Source.REPLICATE, "hailuo-02")
    # Replicate's hailuo-02 renders 1080p unless asked otherwise.
    assert generation.input["resolution"] == "1080p"
    assert body["status"] == "starting"
    assert body["model"] == "minimax/hailuo-02"
    assert body["version"] == replicate.VERSIONS["hailuo-02"]
    assert body["input"]["resolution"] == "1080p"
    assert (body["output"], body["error"], body["logs"]) == (None, None, "")
    assert body["urls"] == {
        "get": f"http://testserver/v1/predictions/{body['id']}",
        "cancel": f"http://testserver/v1/predictions/{body['id']}/cancel",
    }


def test_ten_seconds_of_hailuo_02_default_to_768p_the_only_resolution_that_renders_them(
    client: Client, key_a: str
) -> None:
    body = create(client, key_a, {"input": {"prompt": "a red kite", "duration": 10}}).json()

    assert Generation.objects.get(public_id=body["id"]).input["resolution"] == "768p"


def test_minimax_hailuo_2_takes_a_resolution_and_picks_the_mode_that_renders_it(client: Client, key_a: str) -> None:
    body = create(client, key_a, {"input": {"prompt": "a red kite", "resolution": "1080p"}}, model="hailuo-2").json()

    generation = Generation.objects.get(public_id=body["id"])
    assert (generation.model, generation.input["mode"], generation.input["resolution"]) == (
        "minimax-hailuo-2",
        "pro",
        "1080p",
    )


def test_the_token_scheme_works_like_bearer(client: Client, key_a: str) -> None:
    response = client.post(
        CREATE.format("hailuo-02"), {"input": {"prompt": "x"}}, content_type="application/json", **auth(key_a, "Token")
    )

    assert response.status_code == 201
    assert response["X-RateLimit-Remaining"]


@pytest.mark.parametrize(
    ("model", "body", "field", "words"),
    [
        ("hailuo-02", {"input": {"prompt": "x", "duration": 7}}, "input.duration", "6, 10"),
        ("hailuo-02", {"input": {"prompt": "x", "resolution": "4k"}}, "input.resolution", "768p, 1080p"),
        ("hailuo-02", {"input": {"prompt": "x", "resolution": "512p"}}, "input.resolution", "minimax/hailuo-02-fast"),
        ("hailuo-02", {"input": {"prompt": "x", "duration": 10, "resolution": "1080p"}}, "input.duration", "1080p"),
        ("hailuo-02", {"input": {"prompt": "x", "seed": 4}}, "input.seed", "is not an input of minimax/hailuo-02"),
        ("hailuo-02", {"input": {"prompt": ""}}, "input.prompt", "required"),
        ("hailuo-02", {"input": "a red kite"}, "input", "object"),
        ("hailuo-2.3-fast", {"input": {"prompt": "x"}}, "input.first_frame_image", "first frame"),
        ("hailuo-02-fast", {"input": {"prompt": "x"}}, "input.first_frame_image", "first frame"),
        ("hailuo-2.3-fast", {"input": {"prompt": "x", "last_frame_image": "x"}}, "input.last_frame_image", "inputs"),
        ("hailuo-02", {"input": {"prompt": "x"}, "webhook": "ftp://example.com/h"}, "webhook", "http"),
        ("hailuo-02", {"input": {"prompt": "x"}, "webhook": 5}, "webhook", "URL"),
        (
            "hailuo-02",
            {"input": {"prompt": "x"}, "webhook": "https://example.com/h", "webhook_events_filter": ["done"]},
            "webhook_events_filter",
            "start, output, logs, completed",
        ),
        ("hailuo-02", {"input": {"prompt": "x"}, "webhook_events_filter": ["start"]}, "webhook_events_filter", "URL"),
        ("hailuo-02", {"input": {"prompt": "x"}, "stream": True}, "stream", "streaming is not offered"),
    ],
)
def test_invalid_input_is_a_422_naming_the_field_and_creates_nothing(
    client: Client, key_a: str, org_a, model: str, body: dict[str, Any], field: str, words: str
) -> None:
    before = balance_get(org_a)

    response = create(client, key_a, body, model=model)

    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert (problem["status"], problem["title"]) == (422, "Input validation failed")
    assert problem["detail"].startswith(f"{field}:")
    assert words in problem["detail"]
    assert problem["invalid_fields"][0]["field"] == field
    assert not Generation.objects.exists()
    assert balance_get(org_a) == before


def test_a_body_that_is_not_json_is_a_400(client: Client, key_a: str) -> None:
    response = client.post(CREATE.format("hailuo-02"), b"{not json", content_type="application/json", **auth(key_a))

    assert response.status_code == 400
    assert response.json()["title"] == "Bad request"


def test_a_model_we_do_not_offer_is_a_404(client: Client, key_a: str) -> None:
    response = create(client, key_a, {"input": {"prompt": "x"}}, model="hailuo-2.3")

    assert response.status_code == 404
    assert "minimax/hailuo-2.3" in response.json()["detail"]
    assert client.get("/v1/models/minimax/hailuo-2.3", **auth(key_a)).status_code == 404


@pytest.mark.parametrize(
    ("version", "status"),
    [
        ("minimax/hailuo-02", 201),
        (f"minimax/hailuo-02:{replicate.VERSIONS['hailuo-02']}", 201),
        (replicate.VERSIONS["hailuo-02"], 201),
        ("minimax/hailuo-02:0000", 422),
        ("stability-ai/sdxl", 422),
        ("", 422),
    ],
)
def test_post_predictions_takes_a_model_or_version_in_version(
    client: Client, key_a: str, version: str, status: int
) -> None:
    body = {"version": version, "input": {"prompt": "a red kite", "resolution": "768p"}}

    response = client.post("/v1/predictions", body, content_type="application/json", **auth(key_a))

    assert response.status_code == status, response.content
    if status == 201:
        assert response.json()["model"] == "minimax/hailuo-02"
    else:
        assert response.json()["invalid_fields"][0]["field"] == "version"


def test_a_wrong_key_is_a_401_problem(client: Client) -> None:
    response = create(client, "sk_live_nope", {"input": {"prompt": "x"}})

    assert response.status_code == 401
    assert response.json() == {"title": "Unauthenticated", "detail": response.json()["detail"], "status": 401}


def test_insufficient_credit_is_a_402(client: Client, key_a: str, org_a, alice) -> None:
    available = balance_get(org_a).available_micros
    billing_services.credits_adjust(organization=org_a, amount_micros=-available, reason="test", staff_user=alice)

    response = create(client, key_a, {"input": {"prompt": "x", "resolution": "768p"}})

    assert response.status_code == 402
    assert response.json()["title"] == "Insufficient credit"
    assert not Generation.objects.exists()


def test_past_the_keys_request_limit_is_a_429_with_retry_after(client: Client, org_a, api_key_a) -> None:
    # (A prediction's own read counts in the key's status-read budget instead: tests/compat/test_rate_limits.py.)
    OrganizationApiLimits.objects.create(organization=org_a, key_requests_per_minute=2)
    for _ in range(2):
        assert client.get("/v1/models", **auth(api_key_a[1])).status_code == 200

    refused = client.get("/v1/models", **auth(api_key_a[1]))

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert refused.json()["status"] == 429


# --- Reading, listing, cancelling -------------------------------------------------------------


def test_a_finished_prediction_reads_succeeded_with_its_video_and_metrics(client: Client, key_a: str) -> None:
    prediction_id = create(client, key_a, {"input": {"prompt": "a red kite", "resolution": "768p"}}).json()["id"]
    run_pipeline(prediction_id)

    body = client.get(f"/v1/predictions/{prediction_id}", **auth(key_a)).json()

    assert body["status"] == "succeeded"
    assert "/files/" in body["output"]
    assert body["metrics"]["predict_time"] >= 0
    assert body["started_at"] and body["completed_at"]
    # Cancelling a finished prediction changes nothing and says how it ended.
    canceled = client.post(f"/v1/predictions/{prediction_id}/cancel", **auth(key_a))
    assert (canceled.status_code, canceled.json()["status"]) == (200, "succeeded")


def test_a_failed_prediction_reads_failed_with_its_reason(client: Client, key_a: str) -> None:
    prediction_id = create(client, key_a, {"input": {"prompt": "sandbox:fail x", "resolution": "768p"}}).json()["id"]
    run_pipeline(prediction_id)

    body = client.get(f"/v1/predictions/{prediction_id}", **auth(key_a)).json()

    assert (body["status"], body["output"]) == ("failed", None)
    assert "content policy" in body["error"]


def test_another_organizations_prediction_is_404_to_read_and_to_cancel(client: Client, key_a: str, carol, org_b):
    prediction_id = create(client, key_a, {"input": {"prompt": "x"}}).json()["id"]
    _, carols_key = account_services.api_key_create(organization=org_b, name="carol", created_by=carol)

    assert client.get(f"/v1/predictions/{prediction_id}", **auth(carols_key)).status_code == 404
    assert client.post(f"/v1/predictions/{prediction_id}/cancel", **auth(carols_key)).status_code == 404
    assert Generation.objects.get(public_id=prediction_id).status == Status.QUEUED


def test_the_list_pages_newest_first_with_next_and_previous_urls(
    client: Client, key_a: str, api_key_b, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replicate, "PAGE_SIZE", 2)
    made = [create(client, key_a, {"input": {"prompt": f"clip {n}"}}).json()["id"] for n in range(5)]
    create(client, api_key_b[1], {"input": {"prompt": "not alice's"}})  # refused (no credit) or not, never listed

    pages, url = [], "/v1/predictions"
    while url:
        page = client.get(url, **auth(key_a)).json()
        pages.append(page)
        url = page["next"]

    assert [[p["id"] for p in page["results"]] for page in pages] == [made[4:2:-1], made[2:0:-1], made[:1]]
    assert pages[0]["previous"] is None
    assert pages[0]["next"].startswith("http://testserver/v1/predictions?cursor=")
    back = client.get(pages[2]["previous"], **auth(key_a)).json()
    assert [p["id"] for p in back["results"]] == made[2:0:-1]
    assert back["results"][0]["status"] == "starting"
    bad = client.get("/v1/predictions?cursor=a.gen_nope", **auth(key_a))
    assert (bad.status_code, bad.json()["invalid_fields"][0]["field"]) == (422, "cursor")


def test_models_list_and_versions_describe_each_offered_model(client: Client, key_a: str) -> None:
    listed = client.get("/v1/models", **auth(key_a)).json()
    names = [f"{m['owner']}/{m['name']}" for m in listed["results"]]
    assert names == list(replicate.MODELS)

    version_id = replicate.VERSIONS["hailuo-2.3-fast"]
    versions = client.get("/v1/models/minimax/hailuo-2.3-fast/versions", **auth(key_a)).json()
    assert [v["id"] for v in versions["results"]] == [version_id]
    one = client.get(f"/v1/models/minimax/hailuo-2.3-fast/versions/{version_id}", **auth(key_a)).json()
    assert "last_frame_image" not in one["openapi_schema"]["components"]["schemas"]["Input"]["properties"]
    assert client.get("/v1/models/minimax/hailuo-2.3-fast/versions/abc", **auth(key_a)).status_code == 404


def test_the_webhook_secret_needs_the_job_secret_role(client: Client, key_a: str, org_a, bob) -> None:
    assert client.get("/v1/webhooks/default/secret", **auth(key_a)).json()["key"].startswith("whsec_")
    _, bobs_key = account_services.api_key_create(organization=org_a, name="bob", created_by=bob)

    refused = client.get("/v1/webhooks/default/secret", **auth(bobs_key))

    assert refused.status_code == 403


# --- Prefer: wait (jobs worked by a pipeline thread) ------------------------------------------


def test_prefer_wait_answers_with_the_finished_prediction(client: Client, key_a: str, runner) -> None:
    response = create(client, key_a, {"input": {"prompt": "a red kite", "resolution": "768p"}}, HTTP_PREFER="wait")

    assert response.status_code == 201
    assert response["Preference-Applied"] == "wait=60"
    body = response.json()
    assert body["status"] == "succeeded"
    assert "/files/" in body["output"]


def test_prefer_wait_n_returns_after_n_seconds_reading_starting(client: Client, key_a: str, runner) -> None:
    started = time.monotonic()

    response = create(client, key_a, {"input": {"prompt": "sandbox:hang"}}, HTTP_PREFER="wait=1")

    assert 0.9 <= time.monotonic() - started < 10
    assert response["Preference-Applied"] == "wait=1"
    assert response.json()["status"] == "starting"
    assert Generation.objects.get(public_id=response.json()["id"]).status in (Status.QUEUED, Status.RUNNING)


# --- Webhooks ------------------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver()
    yield started
    started.stop()


def hook_body(hit: Hit) -> dict[str, Any]:
    return json.loads(hit.body)


@pytest.fixture
def loopback_hooks(settings) -> None:
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.SANDBOX_LATENCY_SECONDS = 0
    settings.SANDBOX_ENABLED = True


@pytest.mark.usefixtures("loopback_hooks")
def test_the_webhook_gets_replicate_prediction_bodies_signed_as_replicate_signs(
    client: Client, key_a: str, receiver: Receiver
) -> None:
    body = {
        "input": {"prompt": "a red kite", "resolution": "768p"},
        "webhook": receiver.url("/replicate"),
        "webhook_events_filter": ["start", "completed"],
    }
    prediction_id = create(client, key_a, body).json()["id"]
    run_pipeline(prediction_id)
    sweep_due_now()

    secret = WebhookSigningSecret(key=client.get("/v1/webhooks/default/secret", **auth(key_a)).json()["key"])
    for hit in receiver.hits:
        assert Webhooks.validate(headers=hit.headers, body=hit.body.decode(), secret=secret) is None
    started, completed = (hook_body(hit) for hit in receiver.hits)
    assert (started["id"], started["status"], started["output"]) == (prediction_id, "processing", None)
    assert (completed["id"], completed["status"]) == (prediction_id, "succeeded")
    assert completed["model"] == "minimax/hailuo-02"
    assert "/files/" in completed["output"]
    assert completed["urls"]["get"].endswith(f"/v1/predictions/{prediction_id}")
    assert {hit.path for hit in receiver.hits} == {"/replicate"}


@pytest.mark.usefixtures("loopback_hooks")
def test_by_default_the_webhook_gets_only_the_completed_prediction(
    client: Client, key_a: str, receiver: Receiver
) -> None:
    body = {"input": {"prompt": "sandbox:fail a storm"}, "webhook": receiver.url()}
    prediction_id = create(client, key_a, body).json()["id"]
    run_pipeline(prediction_id)
    sweep_due_now()

    [hit] = receiver.hits
    completed = hook_body(hit)
    assert (completed["id"], completed["status"]) == (prediction_id, "failed")
    assert "content policy" in completed["error"]
    # The organization's own endpoints would get the event envelope; the job's URL got the prediction.
    assert Delivery.objects.get().body == completed
