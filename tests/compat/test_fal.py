"""fal-compatible queue API over plain HTTP: fal's paths, statuses, error shapes, cancel and webhooks.

Transactional: the status endpoint is an async view that reads the database from other threads.
"""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from accounts import services as account_services
from api import ratelimit
from api.models import RateLimitCounter
from billing import services as billing_services
from billing.selectors import balance_get
from tests.api.conftest import set_limits
from tests.compat.conftest import LIVE, fund, run_pipeline
from tests.webhooks.conftest import Receiver
from videogen.compat import fal
from videogen.models import Generation, Source, Status
from webhooks.delivery import delivery_attempt
from webhooks.models import Delivery, JobWebhookSecret

pytestmark = LIVE

I2V = "fal-ai/minimax/hailuo-02/standard/image-to-video"
T2V = "fal-ai/minimax/hailuo-02/standard/text-to-video"


def submit(client: Client, key: str | None, app: str, body: dict, *, query: str = "", scheme: str = "Key", **extra):
    headers = {"HTTP_AUTHORIZATION": f"{scheme} {key}"} if key else {}
    return client.post(f"/{app}{query}", json.dumps(body), content_type="application/json", **headers, **extra)


def get(client: Client, key: str, url: str, **params):
    return client.get(url, params, HTTP_AUTHORIZATION=f"Key {key}")


def status_path(request_id: str) -> str:
    return f"/fal-ai/minimax/requests/{request_id}/status"


def field_of(response) -> list:
    """The `loc` of fal's first validation error."""
    assert response.status_code == 422, response.content
    return response.json()["detail"][0]["loc"]


@pytest.fixture
def webhook_receiver(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    receiver = Receiver()
    yield receiver
    receiver.stop()


# --- submitting --------------------------------------------------------------------------


def test_submit_answers_fals_queue_shape_with_links_on_the_host_and_scheme_asked(client: Client, key_a: str) -> None:
    response = submit(client, key_a, T2V, {"prompt": "a red kite", "duration": "10"}, secure=True)

    assert response.status_code == 200, response.content
    body = response.json()
    request_id = body["request_id"]
    base = f"https://testserver/fal-ai/minimax/requests/{request_id}"
    assert body == {
        "status": "IN_QUEUE",
        "request_id": request_id,
        "gateway_request_id": request_id,
        "response_url": base,
        "status_url": f"{base}/status",
        "cancel_url": f"{base}/cancel",
        "queue_position": 0,
    }
    generation = Generation.objects.get(public_id=request_id)
    assert (generation.source, generation.model, generation.input["duration"], generation.input["resolution"]) == (
        Source.FAL,
        "hailuo-02",
        10,
        "768p",
    )
    plain = submit(client, key_a, T2V, {"prompt": "a blue kite"}).json()
    assert plain["status_url"].startswith("http://testserver/fal-ai/minimax/requests/")
    assert plain["queue_position"] == 1  # one of the organization's requests waits ahead


@pytest.mark.parametrize(
    ("app", "extra", "model", "resolution"),
    [
        (I2V, {}, "hailuo-02", "768p"),
        (I2V, {"resolution": "512P"}, "hailuo-02-fast", "512p"),
        ("fal-ai/minimax/hailuo-02/pro/image-to-video", {}, "hailuo-02", "1080p"),
        ("fal-ai/minimax/hailuo-02/pro/text-to-video", {}, "hailuo-02", "1080p"),
        ("fal-ai/minimax/hailuo-02-fast/image-to-video", {}, "hailuo-02-fast", "512p"),
        ("fal-ai/minimax/hailuo-2.3-fast/standard/image-to-video", {}, "hailuo-2.3-fast", "768p"),
        ("fal-ai/minimax/hailuo-2.3-fast/pro/image-to-video", {"duration": "6"}, "hailuo-2.3-fast", "1080p"),
    ],
)
def test_each_application_id_runs_the_model_we_sell_at_fals_resolution(
    client: Client, key_a: str, frames, app: str, extra: dict, model: str, resolution: str
) -> None:
    body = {"prompt": "waves on a shore", "image_url": frames.first, **extra}
    response = submit(client, key_a, app, body)

    assert response.status_code == 200, response.content
    generation = Generation.objects.get(public_id=response.json()["request_id"])
    assert (generation.model, generation.input["resolution"]) == (model, resolution)


@pytest.mark.parametrize(
    "app",
    [
        "fal-ai/minimax/hailuo-2.3/standard/image-to-video",  # Hailuo 2.3 (not fast): not sold here
        "fal-ai/minimax/hailuo-02/standard/image-to-videos",
        "fal-ai/flux/dev",
    ],
)
def test_an_unknown_application_id_is_fals_404(client: Client, key_a: str, app: str) -> None:
    response = submit(client, key_a, app, {"prompt": "x"})

    assert response.status_code == 404
    assert "not found" in response.json()["detail"]
    assert not Generation.objects.exists()


def test_keys_come_as_fals_key_scheme_or_bearer_and_a_bad_key_is_401(client: Client, key_a: str) -> None:
    bearer = submit(client, key_a, T2V, {"prompt": "x"}, scheme="Bearer")
    assert bearer.status_code == 200
    assert int(bearer["X-RateLimit-Remaining"]) == ratelimit.DEFAULT_KEY_REQUESTS_PER_MINUTE - 1
    missing = submit(client, None, T2V, {"prompt": "x"})
    wrong = submit(client, "sk_live_not-a-key", T2V, {"prompt": "x"})

    assert missing.status_code == wrong.status_code == 401
    assert isinstance(wrong.json()["detail"], str)


@pytest.mark.parametrize(
    ("app", "body", "loc"),
    [
        (I2V, {"prompt": "no image"}, ["body", "image_url"]),
        (T2V, {"prompt": "x", "duration": "7"}, ["body", "duration"]),
        (T2V, {"prompt": ""}, ["body", "prompt"]),
        (T2V, {"prompt": "x", "prompt_optimizer": "maybe"}, ["body", "prompt_optimizer"]),
        (I2V, {"prompt": "x", "image_url": "IMG", "resolution": "1080P"}, ["body", "resolution"]),
        # 512P is hailuo-02-fast, which animates a first frame only: never from text-to-video.
        (T2V, {"prompt": "x", "resolution": "512P"}, ["body", "resolution"]),
        ("fal-ai/minimax/hailuo-02/pro/text-to-video", {"prompt": "x", "resolution": "512P"}, ["body", "resolution"]),
        ("fal-ai/minimax/hailuo-02/pro/image-to-video", {"prompt": "x", "image_url": "IMG", "duration": "10"}, None),
        (
            "fal-ai/minimax/hailuo-2.3-fast/standard/image-to-video",
            {"prompt": "x", "image_url": "IMG", "end_image_url": "IMG"},
            ["body", "end_image_url"],
        ),
        (I2V, {"prompt": "x", "image_url": "ftp://example.com/a.png"}, ["body", "image_url"]),
    ],
)
def test_invalid_input_is_422_naming_fals_field_and_holds_nothing(
    client: Client, key_a: str, org_a, frames, app: str, body: dict, loc: list | None
) -> None:
    body = {name: frames.first if value == "IMG" else value for name, value in body.items()}
    before = balance_get(org_a)

    response = submit(client, key_a, app, body)

    assert field_of(response) == (loc or ["body", "duration"])
    assert response.json()["detail"][0]["msg"]
    assert balance_get(org_a) == before
    assert not Generation.objects.exists()


def test_a_bad_fal_webhook_is_422_naming_the_query_parameter(client: Client, key_a: str) -> None:
    response = submit(client, key_a, T2V, {"prompt": "x"}, query="?fal_webhook=ftp://example.com/hook")

    assert field_of(response) == ["query", "fal_webhook"]


def test_a_body_that_is_not_a_json_object_is_422(client: Client, key_a: str) -> None:
    response = client.post(f"/{T2V}", "[1]", content_type="application/json", HTTP_AUTHORIZATION=f"Key {key_a}")

    assert field_of(response) == ["body"]


def test_past_the_keys_rate_limit_is_429_with_retry_after(client: Client, key_a: str, api_key_a) -> None:
    set_limits(api_key_a[0].organization, key_requests_per_minute=1)
    window = int(time.time() // ratelimit.WINDOW_SECONDS) * ratelimit.WINDOW_SECONDS
    for start in (window, window + ratelimit.WINDOW_SECONDS):
        RateLimitCounter.objects.create(scope=f"key:{api_key_a[0].pk}", window_start=start, hits=5)

    response = submit(client, key_a, T2V, {"prompt": "x"})

    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert isinstance(response.json()["detail"], str)
    assert response["X-RateLimit-Remaining"] == "0"


# --- following -------------------------------------------------------------------------------


def test_status_goes_from_in_queue_to_in_progress_to_completed_and_the_result_is_fals_video(
    client: Client, key_a: str, org_a
) -> None:
    request_id = submit(client, key_a, T2V, {"prompt": "a lantern at dusk"}).json()["request_id"]

    queued = get(client, key_a, status_path(request_id))
    assert queued.status_code == 202
    assert queued.json()["status"] == "IN_QUEUE"
    assert queued.json()["queue_position"] == 0
    assert queued.json()["logs"] is None
    early = get(client, key_a, f"/fal-ai/minimax/requests/{request_id}")
    assert early.status_code == 400
    assert early.json()["detail"] == "Request is still in progress."

    generation = run_pipeline(request_id)
    assert generation.status == Status.SUCCEEDED

    done = get(client, key_a, status_path(request_id), logs="1")
    assert done.status_code == 200
    body = done.json()
    assert body["status"] == "COMPLETED"
    assert body["response_url"].endswith(f"/fal-ai/minimax/requests/{request_id}")
    assert "error" not in body
    assert body["logs"][0]["message"].startswith("queued")
    assert body["logs"][-1]["message"].startswith("succeeded")
    assert {"message", "level", "timestamp"} <= set(body["logs"][0])

    result = get(client, key_a, f"/fal-ai/minimax/requests/{request_id}")
    assert result.status_code == 200
    video = result.json()["video"]
    assert "/files/" in video["url"]
    assert (video["content_type"], video["file_name"], video["file_size"]) == (
        "video/mp4",
        f"{request_id}.mp4",
        generation.output_bytes,
    )
    assert video["file_size"] > 1000


def test_a_status_request_for_an_unfinished_request_waits_a_moment_before_answering(client: Client, key_a: str) -> None:
    request_id = submit(client, key_a, T2V, {"prompt": "x"}).json()["request_id"]

    started = time.monotonic()
    queued = get(client, key_a, status_path(request_id))
    waited = time.monotonic() - started
    run_pipeline(request_id)
    started = time.monotonic()
    done = get(client, key_a, status_path(request_id))

    assert queued.json()["status"] == "IN_QUEUE"
    assert waited >= fal.STATUS_HOLD_SECONDS * 0.9
    assert done.json()["status"] == "COMPLETED"
    assert time.monotonic() - started < fal.STATUS_HOLD_SECONDS


def test_a_running_request_is_in_progress(client: Client, key_a: str) -> None:
    request_id = submit(client, key_a, T2V, {"prompt": "sandbox:hang"}).json()["request_id"]
    run_pipeline(request_id, sweeps=1)

    body = get(client, key_a, status_path(request_id), logs="true").json()

    assert body["status"] == "IN_PROGRESS"
    assert body["logs"][-1]["message"].startswith("running")


def test_a_failed_request_completes_with_its_error_and_its_result_is_fals_422_unpaid(
    client: Client, key_a: str, org_a
) -> None:
    before = balance_get(org_a)
    request_id = submit(client, key_a, T2V, {"prompt": "sandbox:fail please"}).json()["request_id"]
    run_pipeline(request_id)

    status = get(client, key_a, status_path(request_id)).json()
    result = get(client, key_a, f"/fal-ai/minimax/requests/{request_id}")

    assert status["status"] == "COMPLETED"
    assert status["error_type"] == "content_policy_violation"
    assert "content policy" in status["error"]
    assert result.status_code == 422
    assert result.json()["detail"][0]["type"] == "content_policy_violation"
    assert balance_get(org_a) == before


def test_cancel_a_queued_request_then_it_is_already_completed_and_nothing_is_charged(
    client: Client, key_a: str, org_a
) -> None:
    before = balance_get(org_a)
    request_id = submit(client, key_a, T2V, {"prompt": "x"}).json()["request_id"]
    cancel = f"/fal-ai/minimax/requests/{request_id}/cancel"

    first = client.put(cancel, HTTP_AUTHORIZATION=f"Key {key_a}")
    again = client.put(cancel, HTTP_AUTHORIZATION=f"Key {key_a}")

    assert (first.status_code, first.json()) == (202, {"status": "CANCELLATION_REQUESTED"})
    assert (again.status_code, again.json()) == (400, {"status": "ALREADY_COMPLETED"})
    assert Generation.objects.get(public_id=request_id).status == Status.CANCELED
    assert balance_get(org_a) == before
    status = get(client, key_a, status_path(request_id)).json()
    assert status["status"] == "COMPLETED"
    assert "canceled" in status["error"]
    assert get(client, key_a, f"/fal-ai/minimax/requests/{request_id}").status_code == 400
    assert client.get(cancel, HTTP_AUTHORIZATION=f"Key {key_a}").status_code == 405


def test_a_finished_request_cannot_be_canceled(client: Client, key_a: str) -> None:
    request_id = submit(client, key_a, T2V, {"prompt": "x"}).json()["request_id"]
    run_pipeline(request_id)

    response = client.put(f"/fal-ai/minimax/requests/{request_id}/cancel", HTTP_AUTHORIZATION=f"Key {key_a}")

    assert (response.status_code, response.json()) == (400, {"status": "ALREADY_COMPLETED"})
    assert Generation.objects.get(public_id=request_id).status == Status.SUCCEEDED


def test_another_organizations_request_is_404_everywhere(client: Client, key_a: str, carol, org_b) -> None:
    request_id = submit(client, key_a, T2V, {"prompt": "x"}).json()["request_id"]
    _, carols_key = account_services.api_key_create(organization=org_b, name="carol", created_by=carol)
    fund(org_b)
    base = f"/fal-ai/minimax/requests/{request_id}"

    assert get(client, carols_key, f"{base}/status").status_code == 404
    assert get(client, carols_key, base).status_code == 404
    assert client.put(f"{base}/cancel", HTTP_AUTHORIZATION=f"Key {carols_key}").status_code == 404
    assert get(client, carols_key, "/fal-ai/minimax/requests/gen_made_up/status").status_code == 404
    assert get(client, key_a, f"/fal-ai/other/requests/{request_id}/status").status_code == 404
    assert Generation.objects.get(public_id=request_id).status == Status.QUEUED


# --- webhooks --------------------------------------------------------------------------------


def deliver_all() -> list[Delivery]:
    deliveries = list(Delivery.objects.all())
    for delivery in deliveries:
        delivery_attempt(delivery.pk, 1)
    return deliveries


def test_fal_webhook_gets_fals_payload_signed_with_the_job_secret(
    client: Client, key_a: str, org_a, webhook_receiver: Receiver
) -> None:
    url = webhook_receiver.url("/fal/hook")
    request_id = submit(client, key_a, T2V, {"prompt": "x"}, query=f"?fal_webhook={url}").json()["request_id"]
    generation = run_pipeline(request_id)

    deliveries = deliver_all()

    assert [d.url for d in deliveries] == [url]  # once, on completion (not when it started)
    (payload,) = webhook_receiver.verified(JobWebhookSecret.objects.get(organization=org_a).secret)
    assert payload["request_id"] == payload["gateway_request_id"] == request_id
    assert payload["status"] == "OK"
    assert payload["payload"]["video"]["file_size"] == generation.output_bytes
    assert "/files/" in payload["payload"]["video"]["url"]
    assert Delivery.objects.get().status == "succeeded"


def test_fal_webhook_of_a_failed_request_is_an_error_payload(
    client: Client, key_a: str, org_a, webhook_receiver: Receiver
) -> None:
    url = webhook_receiver.url()
    request_id = submit(client, key_a, T2V, {"prompt": "sandbox:fail"}, query=f"?fal_webhook={url}").json()[
        "request_id"
    ]
    run_pipeline(request_id)

    deliver_all()

    (payload,) = webhook_receiver.verified(JobWebhookSecret.objects.get(organization=org_a).secret)
    assert (payload["request_id"], payload["status"]) == (request_id, "ERROR")
    assert "content policy" in payload["error"]
    assert payload["payload"]["detail"][0]["type"] == "content_policy_violation"


def test_a_failed_webhook_attempt_is_retried_with_the_same_body(
    client: Client, key_a: str, webhook_receiver: Receiver
) -> None:
    webhook_receiver.answer(503)
    url = webhook_receiver.url()
    request_id = submit(client, key_a, T2V, {"prompt": "x"}, query=f"?fal_webhook={url}").json()["request_id"]
    run_pipeline(request_id)

    (delivery,) = deliver_all()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.next_attempt_at is not None) == ("pending", True)
    delivery_attempt(delivery.pk, 2)

    first, second = webhook_receiver.hits
    assert first.body == second.body
    assert json.loads(second.body)["status"] == "OK"
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"


def test_the_delivery_keeps_fals_body_and_a_replay_sends_the_same_bytes(
    client: Client, key_a: str, webhook_receiver: Receiver
) -> None:
    from webhooks.services import delivery_replay

    url = webhook_receiver.url()
    request_id = submit(client, key_a, T2V, {"prompt": "x"}, query=f"?fal_webhook={url}").json()["request_id"]
    run_pipeline(request_id)
    (delivery,) = deliver_all()

    replay = delivery_replay(delivery=Delivery.objects.get(pk=delivery.pk))
    delivery_attempt(replay.pk, 1)

    first, again = webhook_receiver.hits
    assert json.loads(first.body) == Delivery.objects.get(pk=delivery.pk).body
    assert json.loads(first.body)["request_id"] == request_id
    assert again.body == first.body


def test_organization_endpoints_still_get_the_standard_event_for_a_fal_request(
    client: Client, key_a: str, org_a, webhook_receiver: Receiver
) -> None:
    from webhooks.services import endpoint_create

    endpoint, _ = endpoint_create(organization=org_a, url=webhook_receiver.url("/org"), event_types=[])
    request_id = submit(client, key_a, T2V, {"prompt": "x"}).json()["request_id"]
    run_pipeline(request_id)

    deliver_all()

    bodies = [json.loads(hit.body) for hit in webhook_receiver.hits]
    assert {body["type"] for body in bodies} >= {"generation.succeeded"}
    assert all(body["data"]["generation"]["id"] == request_id for body in bodies if "generation" in body["data"])
    assert endpoint.pk


def test_insufficient_credit_is_403_exhausted_balance_and_nothing_is_held(
    client: Client, key_a: str, org_a, alice
) -> None:
    available = balance_get(org_a).available_micros
    billing_services.credits_adjust(organization=org_a, amount_micros=-available, reason="test", staff_user=alice)

    response = submit(client, key_a, T2V, {"prompt": "x"})

    assert response.status_code == 403
    detail = response.json()["detail"]
    assert detail.startswith("Exhausted balance.")
    assert "credit" in detail.lower()
    assert balance_get(org_a).held_micros == 0
    assert not Generation.objects.exists()
