"""django-q2 entry point for the API's housekeeping; schedule it hourly."""

from __future__ import annotations

from api.idempotency import idempotency_purge
from api.ratelimit import counters_purge


def api_cleanup() -> dict[str, int]:
    """Delete idempotency keys older than 24 hours and rate-limit counters of past minutes.

    Safe to run twice or concurrently: each run deletes whatever has expired by then.
    """
    return {"idempotency_records": idempotency_purge(), "rate_limit_counters": counters_purge()}
