"""Accepting, cancelling and retrying generations."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiKey, Organization, User
from billing import selectors as billing_selectors
from billing.errors import InsufficientCredits, SpendLimitExceeded
from billing.services import credits_hold, rejection_record
from core import outbound
from core.errors import ParamError
from core.queue import enqueue_task
from videogen import catalog
from videogen.models import ACTIVE_STATUSES, Generation, Source, Status, Transition
from videogen.services import providers as provider_services
from videogen.services import uploads
from videogen.services.state import finish_unpaid
from webhooks.models import EventType

# How long after acceptance a poller submits a job whose submit task was lost.
SUBMIT_SAFETY_NET = timedelta(seconds=15)
MAX_METADATA_KEYS = 50
MAX_METADATA_VALUE = 500
GENERATION_EVENTS = {t.value for t in EventType if t.value.startswith("generation.")}


def _check_metadata(metadata: Any) -> dict[str, str]:
    if metadata in (None, ""):
        return {}
    if not isinstance(metadata, dict):
        raise ParamError("metadata", "type", "metadata: must be an object of string keys and string values.")
    if len(metadata) > MAX_METADATA_KEYS:
        raise ParamError("metadata", "max_keys", f"metadata: at most {MAX_METADATA_KEYS} keys.")
    for key, value in metadata.items():
        if not isinstance(value, str | int | float | bool) or len(str(value)) > MAX_METADATA_VALUE:
            raise ParamError(
                f"metadata.{key}",
                "type",
                f"metadata.{key}: must be a string of at most {MAX_METADATA_VALUE} characters.",
            )
    return {str(k): str(v) for k, v in metadata.items()}


def _check_webhook(url: str, events: Any) -> tuple[str, list[str]]:
    if not url:
        return "", []
    try:
        outbound.check_url(url, field="webhook")
    except outbound.UnsafeURLError as exc:
        raise ParamError("webhook", exc.reason, exc.message) from None
    if events in (None, ""):
        return url, sorted(GENERATION_EVENTS)
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise ParamError("webhook_events_filter", "type", "webhook_events_filter: must be a list of event types.")
    unknown = [e for e in events if e not in GENERATION_EVENTS]
    if unknown:
        allowed = ", ".join(sorted(GENERATION_EVENTS))
        raise ParamError(
            "webhook_events_filter", "allowed_values", f"webhook_events_filter: {unknown[0]!r} is not one of {allowed}."
        )
    return url, events


def _resolve_images(organization: Organization, params: dict[str, Any]) -> dict[str, Any]:
    resolved = dict(params)
    for field in catalog.IMAGE_FIELDS:
        if resolved.get(field):
            resolved[field] = uploads.image_resolve(
                organization=organization, value=resolved[field], field=field
            ).public_id
    return resolved


def generation_create(
    *,
    organization: Organization,
    model: str,
    params: dict[str, Any],
    source: str = Source.API,
    api_key: ApiKey | None = None,
    user: User | None = None,
    webhook_url: str = "",
    webhook_events: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    pinned_provider: str = "",
    max_running: int | None = None,
    in_transaction: Callable[[Generation], None] | None = None,
) -> Generation:
    """Validate, price and accept a request: the job and its credit hold commit together.

    Raises ParamError (bad input), PricingError, InsufficientCredits,
    SpendLimitExceeded, or TooManyOpenHolds when the organization would have
    more than `max_running` jobs queued or running; in every case nothing is
    created or charged.
    `in_transaction(generation)` runs inside the accepting transaction, before
    the credit hold: what it writes commits with the job, and if it (or the
    hold) raises, nothing is kept.
    """
    normalized = catalog.validate_params(model, params)
    quote = billing_selectors.price_quote(catalog.variant_for(model, normalized))
    if not pinned_provider:  # an operator's choice of provider is not second-guessed
        provider_services.routes_check_request(model, normalized, quote.price_micros)
    clean_metadata = _check_metadata(metadata)
    hook_url, hook_events = _check_webhook(webhook_url or "", webhook_events)
    normalized = _resolve_images(organization, normalized)
    now = timezone.now()
    try:
        with transaction.atomic():
            generation = Generation.objects.create(
                organization=organization,
                api_key=api_key,
                created_by=user,
                source=source,
                model=model,
                input=normalized,
                variant_key=quote.variant_key,
                price_micros=quote.price_micros,
                upstream_cost_micros=quote.upstream_cost_micros,
                metadata=clean_metadata,
                webhook_url=hook_url,
                webhook_events=hook_events,
                pinned_provider=pinned_provider,
                created_at=now,
                next_poll_at=now + SUBMIT_SAFETY_NET,
                deadline_at=now + timedelta(seconds=settings.GENERATION_DEADLINE_SECONDS),
            )
            Transition.objects.create(generation=generation, to_status=Status.QUEUED, detail="accepted", at=now)
            _submit_when_committed(generation.pk)
            if in_transaction is not None:
                in_transaction(generation)
            # Last: the hold locks the organization's credit account row until the commit, and every
            # job the organization starts meanwhile waits for that lock.
            credits_hold(
                organization=organization,
                amount_micros=quote.price_micros,
                reference=generation.public_id,
                api_key=api_key,
                reference_is_new=True,
                # A job holds its price from acceptance until it ends (billed or released in the same
                # transaction), so the organization's open holds are its queued and running jobs.
                max_open_holds=max_running,
            )
    except (InsufficientCredits, SpendLimitExceeded) as exc:
        rejection_record(organization=organization, api_key=api_key, error=exc, model=model)
        raise
    return generation


def _submit_when_committed(generation_id: int) -> None:
    """Queue the job's submission once the accepting transaction commits.

    A task the broker refuses or loses is late, not lost: the pollers submit a
    job still queued after SUBMIT_SAFETY_NET.
    """
    transaction.on_commit(
        lambda: enqueue_task("videogen.tasks.generation_submit", generation_id, name=f"submit-{generation_id}")
    )


def generation_cancel(*, generation: Generation, reason: str = "Canceled by the customer.") -> bool:
    """Cancel an active job: stop polling, release the hold, and cancel upstream where supported.

    Returns False when the job had already finished (nothing changes then).
    """
    if generation.status not in ACTIVE_STATUSES:
        return False
    ended = finish_unpaid(generation, Status.CANCELED, code="canceled", message=reason)
    if ended and generation.upstream_id:
        transaction.on_commit(
            lambda: enqueue_task(
                "videogen.tasks.generation_cancel_upstream", generation.pk, name=f"cancel-{generation.pk}"
            )
        )
    return ended


class RetryError(Exception):
    """An operator's retry the rules refuse; the message says why."""


def generation_retry(*, generation: Generation, provider: str, staff_user: User | None = None) -> Generation:
    """Run a finished job's input again as a new job pinned to `provider` (operators' retry).

    The new job is priced and held like any other, so the customer again pays only if it succeeds.
    Raises RetryError while the job is still active: it could yet succeed and be charged.
    """
    if generation.status in ACTIVE_STATUSES:
        raise RetryError(f"{generation.public_id} is still {generation.status}; cancel it or wait for it to finish.")
    retry = generation_create(
        organization=generation.organization,
        model=generation.model,
        params=generation.input,
        source=generation.source,
        api_key=generation.api_key,
        user=staff_user,
        metadata={**generation.metadata, "retry_of": generation.public_id},
        pinned_provider=provider,
    )
    return retry
