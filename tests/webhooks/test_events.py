"""Which events reach which URLs, the sandbox pipeline end to end, and the emails to admins."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Organization, User
from billing import services as billing_services
from billing.errors import InsufficientCredits
from outbox.models import Email
from tests.videogen.test_pipeline import png_data_url
from tests.webhooks.conftest import Receiver, run_queued_tasks, sweep_due_now
from videogen.models import Generation
from videogen.services import generations, pipeline, sweep
from webhooks import services
from webhooks.models import Delivery, Event

FRAME = png_data_url()  # hailuo-02-fast animates a first frame

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_loopback")]


@pytest.fixture
def fast_sandbox(settings: Any) -> None:
    settings.SANDBOX_LATENCY_SECONDS = 0
    settings.SANDBOX_ENABLED = True


def run_to_end(generation: Generation, sweeps: int = 5) -> Generation:
    pipeline.generation_submit(generation.pk)
    for _ in range(sweeps):
        Generation.objects.filter(pk=generation.pk, status__in=["queued", "running"]).update(
            next_poll_at=timezone.now()
        )
        sweep.poll_sweep()
        generation.refresh_from_db()
        if generation.is_final:
            break
    return generation


def job_secret_from_api(api: APIClient) -> str:
    response = api.get("/api/v1/webhook-secret")
    assert response.status_code == 200
    return response.json()["secret"]


@pytest.mark.usefixtures("fast_sandbox")
def test_a_sandbox_generation_delivers_started_and_succeeded_to_an_endpoint_and_to_the_job_webhook(
    org_a: Organization,
    api_a: APIClient,
    receivers: Callable[..., Receiver],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    org_hook, job_hook = receivers(), receivers()
    _, endpoint_secret = services.endpoint_create(organization=org_a, url=org_hook.url())

    with django_capture_on_commit_callbacks(execute=True):
        generation = generations.generation_create(
            organization=org_a,
            model="hailuo-02-fast",
            params={"prompt": "a lighthouse at dusk", "duration": 6, "first_frame_image": FRAME},
            webhook_url=job_hook.url("/job"),
        )
        generation = run_to_end(generation)
    with django_capture_on_commit_callbacks(execute=True):
        run_queued_tasks()

    assert generation.status == "succeeded"
    job_secret = job_secret_from_api(api_a)
    # The endpoint takes every event type: the charge also raised credits.low (the balance fell under $2).
    org_events = [e for e in org_hook.verified(endpoint_secret) if e["type"].startswith("generation.")]
    for events in (org_events, job_hook.verified(job_secret)):
        assert [e["type"] for e in events] == ["generation.started", "generation.succeeded"]
        started, succeeded = (e["data"]["generation"] for e in events)
        assert (started["id"], started["object"], started["status"]) == (generation.public_id, "generation", "running")
        assert succeeded["id"] == generation.public_id
        assert succeeded["status"] == "succeeded"
        assert succeeded["model"] == "hailuo-02-fast"
        assert succeeded["input"]["prompt"] == "a lighthouse at dusk"
        assert succeeded["price"] == {"amount": "0.10", "amount_micros": 100_000, "currency": "usd", "charged": True}
        assert succeeded["output"]["video_url"].startswith("http")
        assert succeeded["output"]["duration"] == pytest.approx(6, abs=0.1)
        assert succeeded["error"] is None
    assert {h.path for h in job_hook.hits} == {"/job"}
    # The job's webhook gets the same events, with the same ids, as the endpoint.
    assert [e["id"] for e in job_hook.verified(job_secret)] == [e["id"] for e in org_events]


@pytest.mark.usefixtures("fast_sandbox")
def test_the_job_webhook_gets_only_the_events_the_job_asked_for(
    org_a: Organization, api_a: APIClient, receiver: Receiver
) -> None:
    generation = generations.generation_create(
        organization=org_a,
        model="hailuo-02-fast",
        params={"prompt": "sandbox:fail a storm", "duration": 6, "first_frame_image": FRAME},
        webhook_url=receiver.url(),
        webhook_events=["generation.failed"],
    )
    generation = run_to_end(generation)
    sweep_due_now()

    assert generation.status == "failed"
    [event] = receiver.verified(job_secret_from_api(api_a))
    assert event["type"] == "generation.failed"
    assert event["data"]["generation"]["error"]["code"] == "content_policy"
    assert event["data"]["generation"]["price"]["charged"] is False
    assert event["data"]["released_hold"] == {"amount": "0.10", "currency": "usd"}


def test_an_event_goes_to_every_enabled_endpoint_subscribed_to_its_type(
    org_a: Organization, org_b: Organization, receivers: Callable[..., Receiver]
) -> None:
    everything, credits, low_only, disabled, other_org = (receivers() for _ in range(5))
    secrets = {
        "everything": services.endpoint_create(organization=org_a, url=everything.url())[1],
        "credits": services.endpoint_create(
            organization=org_a, url=credits.url(), event_types=["credits.topped_up", "credits.low"]
        )[1],
    }
    services.endpoint_create(organization=org_a, url=low_only.url(), event_types=["credits.low"])
    services.endpoint_create(organization=org_a, url=disabled.url(), enabled=False)
    services.endpoint_create(organization=org_b, url=other_org.url())

    services.event_record(org_a, "credits.topped_up", {"topup": "top_1"}, dedupe_key="topup:1")
    sweep_due_now()

    assert [e["data"] for e in everything.verified(secrets["everything"])] == [{"topup": "top_1"}]
    assert [e["type"] for e in credits.verified(secrets["credits"])] == ["credits.topped_up"]
    assert low_only.connections == disabled.connections == other_org.connections == 0


def test_the_same_event_recorded_twice_is_delivered_once(org_a: Organization, receiver: Receiver) -> None:
    _, secret = services.endpoint_create(organization=org_a, url=receiver.url())

    first = services.event_record(org_a, "billing.refunded", {"generation": "gen_1"}, dedupe_key="refund:gen_1")
    again = services.event_record(org_a, "billing.refunded", {"generation": "gen_1"}, dedupe_key="refund:gen_1")
    sweep_due_now()

    assert first is not None
    assert again is None
    assert len(receiver.verified(secret)) == 1


def test_a_change_that_rolls_back_sends_nothing(
    org_a: Organization, receiver: Receiver, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    services.endpoint_create(organization=org_a, url=receiver.url())

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.event_record(org_a, "credits.topped_up", {"topup": "top_9"}, dedupe_key="topup:9")
        raise RuntimeError("the top-up failed after the event")
    sweep_due_now()

    assert callbacks == []
    assert not Event.objects.filter(dedupe_key="topup:9").exists()
    assert not Delivery.objects.exists()
    assert receiver.connections == 0


def test_a_refused_generation_emails_the_owners_and_admins(
    org_a: Organization,
    alice: User,
    bob: User,
    mailoutbox: list,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    billing_services.credits_adjust(organization=org_a, amount_micros=-1_000_000, reason="test drain", staff_user=alice)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InsufficientCredits):
        generations.generation_create(
            organization=org_a,
            model="hailuo-02-fast",
            params={"prompt": "a fox", "duration": 6, "first_frame_image": FRAME},
        )
    run_queued_tasks()

    [email] = [m for m in mailoutbox if "not enough credit" in m.subject]
    assert email.to == ["alice@example.com"]
    assert "hailuo-02-fast" in email.body
    assert "$0.10" in email.body
    assert "/billing/" in email.body


def test_credits_insufficient_is_emailed_at_most_once_an_hour(
    org_a: Organization, mailoutbox: list, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    at = datetime(2026, 3, 4, 10, 5, tzinfo=UTC)
    error = InsufficientCredits(100_000, 20_000)

    with django_capture_on_commit_callbacks(execute=True):
        for minutes in (0, 30, 54, 60):
            billing_services.rejection_record(
                organization=org_a, api_key=None, error=error, model="hailuo-02", now=at + timedelta(minutes=minutes)
            )
    run_queued_tasks()
    run_queued_tasks()  # a worker running the same tasks again sends nothing new

    assert Event.objects.filter(organization=org_a, type="credits.insufficient").count() == 2
    assert len(mailoutbox) == 2
    assert Email.objects.filter(kind="credits.insufficient", to=["alice@example.com"], status="sent").count() == 2


def test_a_low_balance_emails_the_admins_and_reaches_subscribed_endpoints(
    org_a: Organization,
    alice: User,
    receiver: Receiver,
    mailoutbox: list,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    _, secret = services.endpoint_create(organization=org_a, url=receiver.url(), event_types=["credits.low"])
    billing_services.credit_settings_update(
        organization=org_a, low_balance_threshold_micros=800_000, monthly_cap_micros=None
    )

    with django_capture_on_commit_callbacks(execute=True):
        billing_services.credits_adjust(organization=org_a, amount_micros=-500_000, reason="usage", staff_user=alice)
    with django_capture_on_commit_callbacks(execute=True):
        run_queued_tasks()

    [event] = receiver.verified(secret)
    assert event["type"] == "credits.low"
    assert event["data"]["balance"]["usd"] == "0.50"
    [email] = mailoutbox
    assert email.to == ["alice@example.com"]
    assert "running low" in email.subject
    assert "$0.50" in email.body
    assert "$0.80" in email.body
