"""State changes of a generation: each is a conditional update that only one worker can win."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.money import usd_string
from billing.services import hold_capture, hold_release
from videogen.models import ACTIVE_STATUSES, Generation, Source, Status, Transition
from webhooks.services import event_record

FINAL_EVENTS: dict[str, str] = {
    Status.SUCCEEDED: "generation.succeeded",
    Status.FAILED: "generation.failed",
    Status.CANCELED: "generation.canceled",
    Status.TIMED_OUT: "generation.timed_out",
}


def transition(
    generation: Generation, to: str, *, allowed_from: Iterable[str], detail: str = "", **fields: Any
) -> bool:
    """Move to `to` if the job is still in one of `allowed_from`; False if another worker got there first.

    On success the instance is refreshed and the timeline records the change.
    Call inside a transaction when other writes must commit with it.
    """
    allowed = list(allowed_from)
    updated = Generation.objects.filter(pk=generation.pk, status__in=allowed).update(status=to, **fields)
    if not updated:
        return False
    previous = generation.status
    generation.refresh_from_db()
    Transition.objects.create(generation=generation, from_status=previous, to_status=to, detail=detail[:500])
    return True


def generation_event(generation: Generation, type: str, extra: dict[str, Any] | None = None) -> None:
    """Record a generation event once (dedupe by job and type), with the job object as its data."""
    from videogen.presenters import generation_to_dict

    data = {"generation": generation_to_dict(generation), **(extra or {})}
    job_url = generation.webhook_url if type in (generation.webhook_events or []) else ""
    event_record(
        generation.organization,
        type,
        data,
        dedupe_key=f"{generation.public_id}:{type}",
        job_webhook_url=job_url,
        job_webhook_body=_job_webhook_body(generation) if job_url else None,
    )


def _job_webhook_body(generation: Generation) -> dict[str, Any] | None:
    """What the job's own webhook receives when the API it came through has its own shape; None: the event."""
    if generation.source == Source.REPLICATE:
        from videogen.compat.replicate import prediction_to_dict

        return prediction_to_dict(generation, settings.PUBLIC_BASE_URL.rstrip("/"))
    if generation.source == Source.FAL:
        from videogen.compat.fal import webhook_body

        return webhook_body(generation)
    return None


def finish_unpaid(generation: Generation, to: str, *, code: str, message: str) -> bool:
    """End an active job without charging: failed, canceled or timed out, with the hold released."""
    with transaction.atomic():
        ended = transition(
            generation,
            to,
            allowed_from=ACTIVE_STATUSES,
            detail=f"{code}: {message}",
            failure_code=code,
            failure_message=message[:1000],
            completed_at=timezone.now(),
            next_poll_at=None,
        )
        if not ended:
            return False
        hold_release(reference=generation.public_id, reason=f"{to}: {code}")
        extra = {"released_hold": {"amount": usd_string(generation.price_micros), "currency": "usd"}}
        generation_event(generation, FINAL_EVENTS[to], extra)
    return True


def finish_paid(generation: Generation, **output: Any) -> bool:
    """Mark a running job succeeded with its output and capture its hold, together and once."""
    with transaction.atomic():
        done = transition(
            generation,
            Status.SUCCEEDED,
            allowed_from=[Status.RUNNING],
            detail="video stored",
            completed_at=timezone.now(),
            next_poll_at=None,
            **output,
        )
        if not done:
            return False
        hold_capture(reference=generation.public_id, upstream_cost_micros=generation.upstream_cost_micros)
        generation_event(generation, FINAL_EVENTS[Status.SUCCEEDED])
    return True
