"""Sending deliveries: one claimed attempt at a time, on a bounded retry schedule.

Attempt 1 runs in a task enqueued when the event commits. Each later attempt
waits in `next_attempt_at` (django-q2 has no delayed tasks); `deliveries_sweep`
claims the due ones with `FOR UPDATE SKIP LOCKED` on PostgreSQL, and
`deliveries_loop` sweeps every second for most of a minute, so the 5-second
retry is not held back by the once-a-minute schedule.

Claiming attempt n is a conditional update of `attempt_count` from n - 1, so
two workers (a duplicated task, two sweeps) never make the same attempt. A
worker that dies mid-attempt leaves the delivery leased for ATTEMPT_LEASE;
after that the sweep makes the next attempt.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from core import outbound
from webhooks import notifications, signing
from webhooks.models import (
    AttemptOutcome,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    DisabledReason,
    WebhookEndpoint,
)
from webhooks.services import job_secret_ensure

logger = logging.getLogger(__name__)

# The wait before each attempt: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (about 28 hours in all).
RETRY_DELAYS = (
    timedelta(0),
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_DELAYS)
ATTEMPT_TIMEOUT_SECONDS = 15.0
# Longer than one attempt can take, shorter than the first retry worth waiting for.
ATTEMPT_LEASE = timedelta(seconds=60)
SWEEP_BATCH = 200
LOOP_SECONDS = 50
LOOP_INTERVAL_SECONDS = 1.0
LOOP_CONCURRENCY = 16
DEFAULT_DISABLE_AFTER_DAYS = 5
WORKER_STOPPED = "No answer was recorded: the worker stopped during the attempt."


@dataclass(frozen=True)
class Claimed:
    delivery: Delivery
    attempt: DeliveryAttempt
    url: str
    secrets: list[str]


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    latency_ms: int | None
    excerpt: str
    error: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def disable_after() -> timedelta:
    """How long an endpoint may fail without a single success before it is disabled."""
    return timedelta(days=getattr(settings, "WEBHOOK_DISABLE_AFTER_DAYS", DEFAULT_DISABLE_AFTER_DAYS))


# --- One attempt ---------------------------------------------------------------------


def delivery_attempt(delivery_id: int, number: int, *, due_by: datetime | None = None) -> str | None:
    """Make attempt `number` of a delivery if it is still the next one to make.

    Returns the outcome ("succeeded" or "failed"), or None when the attempt
    was not ours to make (already made, delivery finished, endpoint disabled).
    Safe to call twice: the second call finds the attempt claimed.
    """
    claimed = _claim(delivery_id, number, due_by)
    if claimed is None:
        return None
    return _record(claimed, _post(claimed))


def _claim(delivery_id: int, number: int, due_by: datetime | None) -> Claimed | None:
    if not 1 <= number <= MAX_ATTEMPTS:
        return None
    now = timezone.now()
    with transaction.atomic():
        mine = Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, attempt_count=number - 1)
        if due_by is not None:
            mine = mine.filter(next_attempt_at__lte=due_by)
        if not mine.update(attempt_count=number, next_attempt_at=now + ATTEMPT_LEASE, last_attempt_at=now):
            return None
        delivery = Delivery.objects.select_related("event", "endpoint").get(pk=delivery_id)
        _close_abandoned_attempts(delivery.pk, now)
        target = _target(delivery, now)
        if target is None:
            Delivery.objects.filter(pk=delivery.pk).update(
                status=DeliveryStatus.FAILED,
                attempt_count=number - 1,
                next_attempt_at=None,
                completed_at=now,
                last_error="Not sent: the endpoint is disabled.",
            )
            return None
        url, secrets = target
        attempt = DeliveryAttempt.objects.create(delivery=delivery, number=number, url=url, started_at=now)
    return Claimed(delivery, attempt, url, secrets)


def _close_abandoned_attempts(delivery_id: int, now: datetime) -> None:
    DeliveryAttempt.objects.filter(delivery_id=delivery_id, outcome=AttemptOutcome.IN_PROGRESS).update(
        outcome=AttemptOutcome.FAILED, error=WORKER_STOPPED, finished_at=now
    )


def _target(delivery: Delivery, now: datetime) -> tuple[str, list[str]] | None:
    """Where to send and the secrets to sign with; None when the endpoint is disabled."""
    endpoint = delivery.endpoint
    if endpoint is not None:
        return (endpoint.url, endpoint.secrets_at(now)) if endpoint.enabled else None
    return delivery.url, job_secret_ensure(delivery.organization).secrets_at(now)


def _post(claimed: Claimed) -> Answer:
    event = claimed.delivery.event
    body = signing.delivery_body(claimed.delivery)
    timestamp = int(timezone.now().timestamp())
    headers = signing.signed_headers(claimed.secrets, event.public_id, timestamp, body)
    try:
        result = outbound.post_json(
            claimed.url, body=body, headers=headers, field="url", timeout=ATTEMPT_TIMEOUT_SECONDS
        )
    except outbound.UnsafeURLError as exc:
        reason = exc.message.removeprefix("url: ")
        return Answer(None, None, "", reason[:1].upper() + reason[1:])
    except Exception:
        logger.exception("Webhook delivery %s failed unexpectedly", claimed.delivery.public_id)
        return Answer(None, None, "", "Internal error while sending; it has been logged.")
    return Answer(result.status_code, result.latency_ms, result.body_excerpt, _error_for(result))


def _error_for(result: outbound.PostResult) -> str:
    status = result.status_code
    if 200 <= status < 300:
        return ""
    if 300 <= status < 400:
        location = result.headers.get("location") or "no Location"
        return f"HTTP {status} redirect to {location} was not followed: answer 2xx at the endpoint URL itself."
    if status == 410:
        return "HTTP 410 Gone: the endpoint has been disabled."
    return f"The endpoint answered HTTP {status}."


def _record(claimed: Claimed, answer: Answer) -> str:
    now = timezone.now()
    delivery, number = claimed.delivery, claimed.attempt.number
    outcome = AttemptOutcome.SUCCEEDED if answer.ok else AttemptOutcome.FAILED
    with transaction.atomic():
        DeliveryAttempt.objects.filter(pk=claimed.attempt.pk).update(
            outcome=outcome,
            status_code=answer.status_code,
            latency_ms=answer.latency_ms,
            response_excerpt=answer.excerpt,
            error=answer.error[:500],
            finished_at=now,
        )
        mine = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING, attempt_count=number)
        last = {"last_status_code": answer.status_code, "last_error": answer.error[:500]}
        if answer.ok:
            mine.update(status=DeliveryStatus.SUCCEEDED, next_attempt_at=None, completed_at=now, **last)
            if delivery.endpoint_id:
                WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).update(failing_since=None)
            return DeliveryStatus.SUCCEEDED
        disabled = delivery.endpoint_id is not None and _endpoint_failed(delivery.endpoint_id, answer, now)
        if disabled or number >= MAX_ATTEMPTS:
            mine.update(status=DeliveryStatus.FAILED, next_attempt_at=None, completed_at=now, **last)
        else:
            mine.update(next_attempt_at=now + RETRY_DELAYS[number], **last)
    return DeliveryStatus.FAILED


def _endpoint_failed(endpoint_id: int, answer: Answer, now: datetime) -> bool:
    """Count a failure against the endpoint; True if it is (now) disabled."""
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id)
    if answer.status_code == 410:
        reason, which = DisabledReason.GONE, endpoint
    else:
        endpoint.filter(failing_since__isnull=True).update(failing_since=now)
        reason, which = DisabledReason.FAILING, endpoint.filter(failing_since__lte=now - disable_after())
    if which.filter(enabled=True).update(enabled=False, disabled_reason=reason, disabled_at=now, updated_at=now):
        notifications.endpoint_disabled_email_queue(
            WebhookEndpoint.objects.select_related("organization").get(pk=endpoint_id)
        )
        return True
    return not endpoint.filter(enabled=True).exists()


# --- The sweep ---------------------------------------------------------------------------


def _give_up_abandoned(now: datetime) -> int:
    """Deliveries whose last attempt's worker died: nothing is left to try."""
    stuck = Delivery.objects.filter(
        status=DeliveryStatus.PENDING, attempt_count__gte=MAX_ATTEMPTS, next_attempt_at__lte=now
    )
    ids = list(stuck.values_list("pk", flat=True)[:SWEEP_BATCH])
    for pk in ids:
        with transaction.atomic():
            if stuck.filter(pk=pk).update(
                status=DeliveryStatus.FAILED, next_attempt_at=None, completed_at=now, last_error=WORKER_STOPPED
            ):
                _close_abandoned_attempts(pk, now)
    return len(ids)


def _claim_due(now: datetime, limit: int) -> list[Claimed]:
    with transaction.atomic():
        due = (
            Delivery.objects.filter(
                status=DeliveryStatus.PENDING, next_attempt_at__lte=now, attempt_count__lt=MAX_ATTEMPTS
            )
            .order_by("next_attempt_at")
            .values_list("pk", "attempt_count")
        )
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        claims = [_claim(pk, count + 1, due_by=now) for pk, count in list(due[:limit])]
    return [c for c in claims if c is not None]


def _send_claimed(claimed: Claimed) -> None:
    try:
        _record(claimed, _post(claimed))
    except Exception:
        # One broken delivery must not stop the sweep; its lease expires and it is tried again.
        logger.exception("Recording webhook delivery %s failed", claimed.delivery.public_id)


def _send_in_thread(claimed: Claimed) -> None:
    close_old_connections()
    try:
        _send_claimed(claimed)
    finally:
        connection.close()


def deliveries_sweep(*, pool: ThreadPoolExecutor | None = None, limit: int = SWEEP_BATCH) -> int:
    """Claim the deliveries due now and make their next attempt; returns how many were attempted.

    Without a pool the attempts run one by one in this thread (and transaction: tests).
    """
    now = timezone.now()
    _give_up_abandoned(now)
    claimed = _claim_due(now, limit)
    if pool is None:
        for item in claimed:
            _send_claimed(item)
    else:
        list(pool.map(_send_in_thread, claimed))
    return len(claimed)


def deliveries_loop(
    seconds: float = LOOP_SECONDS, interval: float = LOOP_INTERVAL_SECONDS, concurrency: int = LOOP_CONCURRENCY
) -> int:
    """Sweep every `interval` seconds for `seconds`, sending on `concurrency` threads; returns sweeps run.

    Scheduled every minute. Two loops may overlap for a few seconds; the
    claims keep them from sending the same attempt.
    """
    deadline = time.monotonic() + seconds
    sweeps = 0
    with ThreadPoolExecutor(concurrency, thread_name_prefix="webhook") as pool:
        while time.monotonic() < deadline:
            started = time.monotonic()
            deliveries_sweep(pool=pool)
            sweeps += 1
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
    return sweeps
