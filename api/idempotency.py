"""`Idempotency-Key` the way Stripe does it.

The first request with a key claims it: a row unique on (organization, key),
inserted in its own transaction before any work. The response is saved in the
same transaction as the work it describes, so a job and its saved response
commit together. Later requests with the same key and the same body get that
response again and create nothing; with another body they get a 409; while the
first is still working they get a 409 with Retry-After. Requests refused
before any work started (invalid input, rate limits) save nothing, so the key
can be retried with a corrected request. Keys are kept 24 hours.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import Organization
from api.models import IdempotencyRecord, IdempotencyStatus
from core.errors import ApiError

HEADER = "Idempotency-Key"
KEY_MAX_LENGTH = 255
RETENTION = timedelta(hours=24)


def lock_timeout() -> timedelta:
    """How long a claim holds off retries: the longest a request can spend accepting its job.

    That is fetching a customer's image (`OUTBOUND_TIMEOUT_SECONDS`) and the
    database work, with a margin: 30 seconds by default. A claim older than
    that belongs to a request that died before it committed anything (a job and
    its saved response commit together), so a retry takes it over. Waiting for
    the job (`Prefer: wait`) starts after the commit and is not covered.
    """
    return timedelta(seconds=settings.OUTBOUND_TIMEOUT_SECONDS + 15)


IN_PROGRESS_RETRY_AFTER = 1


@dataclass(frozen=True)
class Replay:
    """The saved first response for a key."""

    status: int
    body: Any


def idempotency_key(request: HttpRequest) -> str | None:
    """The request's key, or None without the header; 400 for an empty or overlong key."""
    if HEADER not in request.headers:
        return None
    key = request.headers[HEADER].strip()
    if not key or len(key) > KEY_MAX_LENGTH:
        raise ApiError(
            400,
            "invalid_request_error",
            "invalid_idempotency_key",
            f"{HEADER}: must be 1 to {KEY_MAX_LENGTH} characters (a UUID is a good choice).",
            param=HEADER,
        )
    return key


def request_fingerprint(method: str, path: str, payload: Any) -> str:
    """SHA-256 of the method, path and canonical JSON body: key order and spacing do not matter."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def _conflict(key: str) -> ApiError:
    return ApiError(
        409,
        "idempotency_error",
        "idempotency_conflict",
        f"{HEADER} {key!r} was already used with a different request. Use a new key for a new request.",
        param=HEADER,
    )


def _in_progress(key: str) -> ApiError:
    return ApiError(
        409,
        "idempotency_error",
        "idempotency_in_progress",
        f"A request with {HEADER} {key!r} is still being processed. Retry shortly to get its result.",
        param=HEADER,
        headers={"Retry-After": str(IN_PROGRESS_RETRY_AFTER)},
    )


def _claim(organization: Organization, key: str, fingerprint: str, now: datetime) -> IdempotencyRecord | None:
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                organization=organization, key=key, request_hash=fingerprint, created_at=now, locked_at=now
            )
    except IntegrityError:
        return None


def idempotency_begin(*, organization: Organization, key: str, fingerprint: str) -> IdempotencyRecord | Replay:
    """Claim the key for this request, or return the saved response; 409 on a conflict or while in progress."""
    now = timezone.now()
    for _ in range(3):
        record = _claim(organization, key, fingerprint, now)
        if record is not None:
            return record
        existing = IdempotencyRecord.objects.filter(organization=organization, key=key).first()
        if existing is None:
            continue  # purged or released meanwhile: claim again
        if existing.created_at <= now - RETENTION:
            IdempotencyRecord.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        if existing.request_hash != fingerprint:
            raise _conflict(key)
        if existing.status == IdempotencyStatus.COMPLETED:
            return Replay(status=existing.response_status or 200, body=existing.response_body)
        if existing.locked_at <= now - lock_timeout():
            taken = IdempotencyRecord.objects.filter(
                pk=existing.pk, status=IdempotencyStatus.IN_PROGRESS, locked_at=existing.locked_at
            ).update(locked_at=now)
            if taken:
                existing.locked_at = now
                return existing
        raise _in_progress(key)
    raise _in_progress(key)


def idempotency_complete(record: IdempotencyRecord, *, status: int, body: Any) -> None:
    """Save the response; call it inside the transaction of the work the response describes."""
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status=IdempotencyStatus.COMPLETED, response_status=status, response_body=body
    )


def idempotency_release(record: IdempotencyRecord) -> None:
    """Give the key back when the request was refused before any work: it may be retried."""
    IdempotencyRecord.objects.filter(pk=record.pk, status=IdempotencyStatus.IN_PROGRESS).delete()


def idempotency_purge(now: datetime | None = None) -> int:
    """Delete keys older than 24 hours; returns how many went. Schedule it (hourly is plenty)."""
    cutoff = (now or timezone.now()) - RETENTION
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
