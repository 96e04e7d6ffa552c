"""Writes for events, webhook endpoints and deliveries.

Recording an event creates one delivery per enabled endpoint of the
organization that subscribes to its type, plus one to the job's own webhook
URL for the generation events the job asked for. The first attempt of each
is enqueued when the transaction commits; retries are made by the sweep in
`webhooks.delivery`.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Organization
from core import outbound
from core.queue import enqueue_task
from webhooks import notifications, signing
from webhooks.errors import WebhookError
from webhooks.models import (
    SUBSCRIBABLE_TYPES,
    Delivery,
    DisabledReason,
    Event,
    EventType,
    JobWebhookSecret,
    WebhookEndpoint,
)

logger = logging.getLogger(__name__)

# Both the old and the new secret sign for this long after a rotation.
ROTATION_OVERLAP = timedelta(hours=24)
MAX_ENDPOINTS_PER_ORGANIZATION = 20
MAX_DESCRIPTION = 200
# The first attempt is a task enqueued on commit; if that task is lost the sweep sends it after this.
FIRST_ATTEMPT_SAFETY_NET = timedelta(seconds=30)
EMAILED_EVENT_TYPES = frozenset({EventType.CREDITS_INSUFFICIENT, EventType.CREDITS_LOW})


# --- Events -------------------------------------------------------------------


def event_record(
    organization: Organization,
    type: str,
    data: dict[str, Any],
    *,
    dedupe_key: str,
    job_webhook_url: str = "",
    job_webhook_body: dict[str, Any] | None = None,
) -> Event | None:
    """Record an event once and queue its webhook deliveries; a second call with the same dedupe_key returns None.

    Call inside the transaction that made the change the event reports, so
    the event, its deliveries and the change commit or roll back together.
    `job_webhook_url` is the job's own webhook, for a generation event the job
    asked to receive: it gets a delivery too, signed with the job secret.
    `job_webhook_body`, when given, is what that delivery sends instead of
    the event (the job's API has its own webhook shape).
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                event = Event.objects.create(organization=organization, type=type, data=data, dedupe_key=dedupe_key)
        except IntegrityError:
            return None
        deliveries = _fan_out(event, job_webhook_url, job_webhook_body)
        ids = [d.pk for d in deliveries]
        if ids:
            transaction.on_commit(lambda: deliveries_enqueue(ids))
        if type in EMAILED_EVENT_TYPES:
            notifications.event_email_queue(event)
    return event


def _fan_out(event: Event, job_url: str, job_body: dict[str, Any] | None = None) -> list[Delivery]:
    endpoints = WebhookEndpoint.objects.filter(organization_id=event.organization_id, enabled=True)
    deliveries = [_delivery_create(event, endpoint=e) for e in endpoints if e.subscribes_to(event.type)]
    if job_url:
        job_secret_ensure(event.organization)
        deliveries.append(_delivery_create(event, url=job_url, body=job_body))
    return deliveries


def _delivery_create(
    event: Event,
    *,
    endpoint: WebhookEndpoint | None = None,
    url: str = "",
    body: dict[str, Any] | None = None,
    replay_of: Delivery | None = None,
) -> Delivery:
    now = timezone.now()
    return Delivery.objects.create(
        organization_id=event.organization_id,
        event=event,
        endpoint=endpoint,
        url=endpoint.url if endpoint else url,
        body=body,
        replay_of=replay_of,
        next_attempt_at=now + FIRST_ATTEMPT_SAFETY_NET,
        created_at=now,
    )


def deliveries_enqueue(delivery_ids: list[int]) -> None:
    """Queue the first attempt of each delivery (call after commit)."""
    for pk in delivery_ids:
        enqueue_task("webhooks.tasks.delivery_send", pk, 1, name=f"webhook-{pk}-1")


# --- Endpoints ------------------------------------------------------------------


def _clean_url(url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise WebhookError("url", "required", "url: enter the URL that should receive the events.")
    url = url.strip()
    try:
        checked = outbound.check_url(url, field="url")
    except outbound.UnsafeURLError as exc:
        raise WebhookError("url", exc.reason, exc.message) from None
    return checked.url


def _clean_description(description: Any) -> str:
    if description is None:
        return ""
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise WebhookError(
            "description", "invalid", f"description: must be text of at most {MAX_DESCRIPTION} characters."
        )
    return description.strip()


def _clean_event_types(event_types: Any) -> list[str]:
    if event_types in (None, ""):
        return []
    if not isinstance(event_types, list | tuple) or not all(isinstance(t, str) for t in event_types):
        raise WebhookError("event_types", "invalid", "event_types: must be a list of event types (empty for all).")
    unknown = [t for t in event_types if t not in SUBSCRIBABLE_TYPES]
    if unknown:
        allowed = ", ".join(SUBSCRIBABLE_TYPES)
        raise WebhookError(
            "event_types", "invalid", f"event_types: {unknown[0]!r} is not an event type; choose from {allowed}."
        )
    return sorted(set(event_types), key=SUBSCRIBABLE_TYPES.index)


def _clean_enabled(enabled: Any) -> bool:
    if not isinstance(enabled, bool):
        raise WebhookError("enabled", "invalid", "enabled: must be true or false.")
    return enabled


def endpoint_create(
    *,
    organization: Organization,
    url: str,
    description: str = "",
    event_types: list[str] | None = None,
    enabled: bool = True,
) -> tuple[WebhookEndpoint, str]:
    """Add an endpoint; returns it with its signing secret (show the secret to the customer once).

    Raises WebhookError naming the field when the URL is refused or a value is invalid.
    """
    clean = {
        "url": _clean_url(url),
        "description": _clean_description(description),
        "event_types": _clean_event_types(event_types),
        "enabled": _clean_enabled(enabled),
    }
    if WebhookEndpoint.objects.filter(organization=organization).count() >= MAX_ENDPOINTS_PER_ORGANIZATION:
        raise WebhookError(
            None, "limit_reached", f"An organization can have at most {MAX_ENDPOINTS_PER_ORGANIZATION} endpoints."
        )
    secret = signing.secret_generate()
    now = timezone.now()
    disabled = {} if clean["enabled"] else {"disabled_reason": DisabledReason.MANUAL, "disabled_at": now}
    endpoint = WebhookEndpoint.objects.create(
        organization=organization, secret=secret, created_at=now, updated_at=now, **clean, **disabled
    )
    return endpoint, secret


_UNSET: Any = object()


def endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str = _UNSET,
    description: str = _UNSET,
    event_types: list[str] = _UNSET,
    enabled: bool = _UNSET,
) -> WebhookEndpoint:
    """Change the given fields of an endpoint (others stay); raises WebhookError naming a bad field."""
    changes: dict[str, Any] = {}
    if url is not _UNSET:
        changes["url"] = _clean_url(url)
    if description is not _UNSET:
        changes["description"] = _clean_description(description)
    if event_types is not _UNSET:
        changes["event_types"] = _clean_event_types(event_types)
    if enabled is not _UNSET and _clean_enabled(enabled) != endpoint.enabled:
        changes.update(_enabled_fields(enabled))
    if changes:
        changes["updated_at"] = timezone.now()
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(**changes)
        endpoint.refresh_from_db()
    return endpoint


def _enabled_fields(enabled: bool) -> dict[str, Any]:
    if enabled:
        # A fresh start: past failures no longer count toward disabling it again.
        return {"enabled": True, "disabled_reason": "", "disabled_at": None, "failing_since": None}
    return {"enabled": False, "disabled_reason": DisabledReason.MANUAL, "disabled_at": timezone.now()}


def endpoint_enable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    return endpoint_update(endpoint=endpoint, enabled=True)


def endpoint_disable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    return endpoint_update(endpoint=endpoint, enabled=False)


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint with its delivery log; deliveries in flight to it stop."""
    endpoint.delete()


def _rotate(model: type[WebhookEndpoint] | type[JobWebhookSecret], pk: int, overlap: timedelta) -> str:
    """New secret; the current one keeps signing for `overlap` (the one before that stops now)."""
    with transaction.atomic():
        current = model.objects.select_for_update().get(pk=pk)
        secret = signing.secret_generate()
        model.objects.filter(pk=pk).update(
            secret=secret,
            previous_secret=current.secret,
            previous_secret_expires_at=timezone.now() + overlap,
        )
    return secret


def endpoint_secret_rotate(*, endpoint: WebhookEndpoint, overlap: timedelta = ROTATION_OVERLAP) -> str:
    """Give the endpoint a new secret and return it; both secrets sign until the overlap ends."""
    secret = _rotate(WebhookEndpoint, endpoint.pk, overlap)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(updated_at=timezone.now())
    endpoint.refresh_from_db()
    return secret


# --- Per-job webhook secret -------------------------------------------------------


def job_secret_ensure(organization: Organization) -> JobWebhookSecret:
    """The organization's secret for per-job webhooks, created on first use."""
    found = JobWebhookSecret.objects.filter(organization=organization).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return JobWebhookSecret.objects.create(organization=organization, secret=signing.secret_generate())
    except IntegrityError:  # created by a concurrent request
        return JobWebhookSecret.objects.get(organization=organization)


def job_secret_rotate(*, organization: Organization, overlap: timedelta = ROTATION_OVERLAP) -> str:
    return _rotate(JobWebhookSecret, job_secret_ensure(organization).pk, overlap)


# --- Test events and replays ----------------------------------------------------------


def endpoint_test_send(*, endpoint: WebhookEndpoint) -> Delivery:
    """Send a `webhook.test` event to this endpoint only, whatever event types it subscribes to."""
    if not endpoint.enabled:
        raise WebhookError(None, "endpoint_disabled", "This endpoint is disabled; enable it before sending a test.")
    now = timezone.now()
    with transaction.atomic():
        event = Event.objects.create(
            organization_id=endpoint.organization_id,
            type=EventType.WEBHOOK_TEST,
            data={"endpoint": endpoint.public_id, "message": "A test event sent from the dashboard."},
            dedupe_key=f"webhook.test:{secrets.token_hex(16)}",
            created_at=now,
        )
        delivery = _delivery_create(event, endpoint=endpoint)
        transaction.on_commit(lambda: deliveries_enqueue([delivery.pk]))
    return delivery


def delivery_replay(*, delivery: Delivery) -> Delivery:
    """Send a delivery's event again as a new delivery with fresh attempts and the same webhook-id."""
    if delivery.endpoint is not None and not delivery.endpoint.enabled:
        raise WebhookError(None, "endpoint_disabled", "This endpoint is disabled; enable it before replaying.")
    with transaction.atomic():
        replay = _delivery_create(
            delivery.event,
            endpoint=delivery.endpoint,
            url=delivery.url,
            body=delivery.body,
            replay_of=delivery.replay_of or delivery,
        )
        transaction.on_commit(lambda: deliveries_enqueue([replay.pk]))
    return replay
