"""Delivering events to a real receiver on loopback, verified with the `standardwebhooks` reference library."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from accounts.models import Organization, User
from tests.webhooks.conftest import Receiver, Reply, run_queued_tasks, sweep_due_now
from webhooks import delivery, services
from webhooks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_loopback")]

TOPPED_UP = {"topup": "top_123", "amount": {"usd": "10.00", "micros": 10_000_000}}


def record(organization: Organization, type: str = "credits.topped_up", data: dict | None = None) -> Event:
    event = services.event_record(organization, type, data or TOPPED_UP, dedupe_key=f"test:{uuid.uuid4()}")
    assert event is not None
    return event


def record_and_send(organization: Organization, capture: Callable[..., Any], **kwargs: Any) -> Event:
    """Record an event as the product does, then let a worker run the task enqueued on commit."""
    with capture(execute=True):
        event = record(organization, **kwargs)
    with capture(execute=True):
        run_queued_tasks()
    return event


def test_a_receiver_gets_a_signed_event_that_the_reference_library_verifies(
    org_a: Organization, receiver: Receiver, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    endpoint, secret = services.endpoint_create(organization=org_a, url=receiver.url(), description="orders")

    event = record_and_send(org_a, django_capture_on_commit_callbacks)

    [payload] = receiver.verified(secret)
    assert payload == {
        "id": event.public_id,
        "type": "credits.topped_up",
        "created": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": TOPPED_UP,
    }
    [hit] = receiver.hits
    assert hit.method == "POST"
    assert hit.path == "/hook"
    assert hit.headers["webhook-id"] == event.public_id
    assert hit.headers["content-type"] == "application/json"
    other_secret = services.endpoint_create(organization=org_a, url=receiver.url("/other"))[1]
    with pytest.raises(WebhookVerificationError):
        Webhook(other_secret).verify(hit.body, hit.headers)
    sent = Delivery.objects.get(endpoint=endpoint)
    assert sent.status == "succeeded"
    [attempt] = sent.attempts.all()
    assert (attempt.outcome, attempt.status_code, attempt.url) == ("succeeded", 200, receiver.url())
    assert attempt.latency_ms is not None
    assert attempt.response_excerpt == '{"received": true}'


def test_a_receiver_failing_three_times_gets_the_event_on_the_fourth_attempt_with_the_same_id(
    org_a: Organization, receiver: Receiver, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    endpoint, secret = services.endpoint_create(organization=org_a, url=receiver.url())
    receiver.answer(500, 503, Reply(502, b"bad gateway"))

    event = record_and_send(org_a, django_capture_on_commit_callbacks)
    sent = Delivery.objects.get(endpoint=endpoint)
    first = sent.attempts.get()
    assert sent.status == "pending"
    assert sent.next_attempt_at == first.finished_at + timedelta(seconds=5)
    assert delivery.deliveries_sweep() == 0  # not due yet: nothing is sent early
    assert len(receiver.hits) == 1

    for _ in range(3):
        assert sweep_due_now() == 1

    assert len(receiver.verified(secret)) == 4
    assert {hit.headers["webhook-id"] for hit in receiver.hits} == {event.public_id}
    sent.refresh_from_db()
    assert sent.status == "succeeded"
    attempts = list(sent.attempts.all())
    assert [(a.number, a.status_code, a.outcome) for a in attempts] == [
        (1, 500, "failed"),
        (2, 503, "failed"),
        (3, 502, "failed"),
        (4, 200, "succeeded"),
    ]
    assert attempts[2].response_excerpt == "bad gateway"
    assert attempts[2].error == "The endpoint answered HTTP 502."
    assert sweep_due_now() == 0
    assert len(receiver.hits) == 4


def test_the_retry_schedule_is_bounded_at_eight_attempts(
    org_a: Organization, receiver: Receiver, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    endpoint, secret = services.endpoint_create(organization=org_a, url=receiver.url())
    receiver.answer(*[500] * 20)

    record_and_send(org_a, django_capture_on_commit_callbacks)
    waits = []
    for _ in range(7):
        sent = Delivery.objects.get(endpoint=endpoint)
        waits.append(sent.next_attempt_at - sent.attempts.last().finished_at)
        sweep_due_now()

    assert waits == [
        timedelta(seconds=5),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=5),
        timedelta(hours=10),
        timedelta(hours=10),
    ]
    sent = Delivery.objects.get(endpoint=endpoint)
    assert sent.status == "failed"
    assert sent.attempts.count() == 8
    assert sweep_due_now() == 0
    assert len(receiver.verified(secret)) == 8
    endpoint.refresh_from_db()
    assert endpoint.enabled  # a day of failures is not five


def test_http_410_disables_the_endpoint_and_tells_the_admins(
    org_a: Organization,
    bob: User,
    receiver: Receiver,
    mailoutbox: list,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    endpoint, secret = services.endpoint_create(organization=org_a, url=receiver.url())
    receiver.answer(410)

    record_and_send(org_a, django_capture_on_commit_callbacks)
    run_queued_tasks()

    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert endpoint.disabled_reason == "gone"
    assert Delivery.objects.get(endpoint=endpoint).status == "failed"
    [email] = mailoutbox
    assert email.to == ["alice@example.com"]  # owners and admins, not bob (a member)
    assert "disabled" in email.subject
    assert receiver.url() in email.body
    assert "410" in email.body
    # Nothing more is sent to it: no retry, and new events skip it.
    record(org_a)
    assert sweep_due_now() == 0
    assert len(receiver.verified(secret)) == 1
    assert Delivery.objects.filter(endpoint=endpoint).count() == 1


def test_an_endpoint_failing_for_five_days_is_disabled_and_the_admins_are_told(
    org_a: Organization,
    receiver: Receiver,
    mailoutbox: list,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    endpoint, _ = services.endpoint_create(organization=org_a, url=receiver.url())
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(days=5, minutes=1))
    receiver.answer(500)

    record_and_send(org_a, django_capture_on_commit_callbacks)
    run_queued_tasks()

    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert endpoint.disabled_reason == "failing"
    [email] = mailoutbox
    assert "has failed since" in email.body
    # Enabling it again is a fresh start.
    services.endpoint_enable(endpoint=endpoint)
    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.failing_since, endpoint.disabled_reason) == (True, None, "")


def test_failures_shorter_than_five_days_keep_the_endpoint_and_a_success_resets_the_count(
    org_a: Organization, receiver: Receiver, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    endpoint, secret = services.endpoint_create(organization=org_a, url=receiver.url())
    four_days_ago = timezone.now() - timedelta(days=4)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=four_days_ago)
    receiver.answer(500)

    record_and_send(org_a, django_capture_on_commit_callbacks)
    endpoint.refresh_from_db()
    assert endpoint.enabled
    assert endpoint.failing_since == four_days_ago

    sweep_due_now()
    endpoint.refresh_from_db()
    assert endpoint.enabled
    assert endpoint.failing_since is None
    assert len(receiver.verified(secret)) == 2


def test_a_redirect_is_not_followed_and_counts_as_a_failure(
    org_a: Organization, receivers: Callable[..., Receiver], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    hook, elsewhere = receivers(), receivers()
    endpoint, secret = services.endpoint_create(organization=org_a, url=hook.url())
    hook.answer(Reply(302, b"", {"Location": elsewhere.url("/stolen")}))

    record_and_send(org_a, django_capture_on_commit_callbacks)

    assert len(hook.verified(secret)) == 1
    assert elsewhere.connections == 0
    sent = Delivery.objects.get(endpoint=endpoint)
    assert sent.status == "pending"  # retried later, at the endpoint URL itself
    attempt = sent.attempts.get()
    assert (attempt.outcome, attempt.status_code) == ("failed", 302)
    assert "not followed" in attempt.error


def test_during_rotation_holders_of_the_old_and_of_the_new_secret_both_verify(
    org_a: Organization, receiver: Receiver, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    endpoint, old = services.endpoint_create(organization=org_a, url=receiver.url())
    new = services.endpoint_secret_rotate(endpoint=endpoint)
    assert new != old

    record_and_send(org_a, django_capture_on_commit_callbacks)

    assert len(receiver.verified(old)) == 1
    assert len(receiver.verified(new)) == 1
    assert len(receiver.hits[0].headers["webhook-signature"].split(" ")) == 2

    # After the overlap only the new secret signs.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(previous_secret_expires_at=timezone.now())
    receiver.hits.clear()
    record_and_send(org_a, django_capture_on_commit_callbacks)
    assert len(receiver.verified(new)) == 1
    with pytest.raises(WebhookVerificationError):
        receiver.verified(old)


def test_an_attempt_is_made_once_even_if_its_task_runs_twice(
    org_a: Organization, receiver: Receiver, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    endpoint, secret = services.endpoint_create(organization=org_a, url=receiver.url())
    with django_capture_on_commit_callbacks(execute=True):
        record(org_a)
    sent = Delivery.objects.get(endpoint=endpoint)

    assert delivery.delivery_attempt(sent.pk, 1) == "succeeded"
    assert delivery.delivery_attempt(sent.pk, 1) is None
    assert run_queued_tasks() == [None]  # the task enqueued on commit finds the attempt made

    assert len(receiver.verified(secret)) == 1
    assert sent.attempts.count() == 1


def test_an_attempt_whose_worker_died_is_logged_and_the_next_one_is_made(
    org_a: Organization, receiver: Receiver
) -> None:
    endpoint, secret = services.endpoint_create(organization=org_a, url=receiver.url())
    record(org_a)
    sent = Delivery.objects.get(endpoint=endpoint)
    assert delivery._claim(sent.pk, 1, None) is not None  # claimed, then the worker vanished

    assert delivery.deliveries_sweep() == 0  # still leased
    assert sweep_due_now() == 1

    sent.refresh_from_db()
    assert sent.status == "succeeded"
    first, second = sent.attempts.all()
    assert (first.outcome, first.error) == ("failed", delivery.WORKER_STOPPED)
    assert (second.number, second.status_code) == (2, 200)
    assert len(receiver.verified(secret)) == 1


def test_a_deleted_endpoint_gets_nothing_more(org_a: Organization, receiver: Receiver) -> None:
    endpoint, _ = services.endpoint_create(organization=org_a, url=receiver.url())
    record(org_a)
    services.endpoint_delete(endpoint=endpoint)

    assert sweep_due_now() == 0
    assert receiver.connections == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_make_each_attempt_once(org_a: Organization, receiver: Receiver) -> None:
    endpoints = [services.endpoint_create(organization=org_a, url=receiver.url(f"/{n}")) for n in range(3)]
    for _ in range(10):
        record(org_a)
    Delivery.objects.update(next_attempt_at=timezone.now())
    start = threading.Barrier(4)
    counts: list[int] = []

    def sweeper() -> None:
        close_old_connections()
        try:
            start.wait()
            counts.append(delivery.deliveries_sweep())
        finally:
            connection.close()

    threads = [threading.Thread(target=sweeper) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(counts) == 30
    assert len(receiver.hits) == 30
    assert DeliveryAttempt.objects.count() == 30
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}
    for endpoint, secret in endpoints:
        hits = [h for h in receiver.hits if endpoint.url.endswith(h.path)]
        assert [Webhook(secret).verify(h.body, h.headers)["type"] for h in hits] == ["credits.topped_up"] * 10


@pytest.mark.django_db(transaction=True)
def test_the_scheduled_loop_sends_due_deliveries_on_its_threads(org_a: Organization, receiver: Receiver) -> None:
    _, secret = services.endpoint_create(organization=org_a, url=receiver.url())
    for _ in range(6):
        record(org_a)
    Delivery.objects.update(next_attempt_at=timezone.now())

    sweeps = delivery.deliveries_loop(seconds=0.5, interval=0.1, concurrency=3)

    assert sweeps >= 1
    assert len(receiver.verified(secret)) == 6
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}
