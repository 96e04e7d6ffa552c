"""Rate limits of every API surface: requests per minute per key and per organization, and jobs running at once.

Status reads of a job (`GET /api/v1/generations/{id}` and the compatible
status and result reads) are counted apart, in a per-key budget of their own
(API_KEY_STATUS_READS_PER_MINUTE, well above the request limit): providers'
SDKs poll a job's status every second while it runs, Segmind's `wait()`
without retrying a 429, so twenty clients waiting on one key must fit without
eating the budget that creates and every other call draw on.

Request counts are fixed one-minute windows shared by every web process: in
Redis when REDIS_URL is set, otherwise in the database (one counter row per
scope and minute, bumped by a single INSERT ... ON CONFLICT DO UPDATE, so two
processes never lose a hit). Organizations may have their own limits
(platform_api.OrganizationApiLimits, edited in the admin); changes apply
within LIMITS_CACHE_SECONDS.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection

from accounts.models import ApiKey
from accounts.services import api_key_authenticate
from api.models import OrganizationApiLimits, RateLimitCounter
from core.errors import ApiError

if TYPE_CHECKING:
    import redis

logger = logging.getLogger(__name__)

DEFAULT_KEY_REQUESTS_PER_MINUTE = 600
DEFAULT_ORG_REQUESTS_PER_MINUTE = 1200
DEFAULT_MAX_RUNNING_JOBS = 20
WINDOW_SECONDS = 60
LIMITS_CACHE_SECONDS = 10
# How long a client refused for too many running jobs should wait before trying again. Running jobs are
# counted where it is exact: each job queued or running holds its price, so the organization's open holds
# are its running jobs (billing.services.credits_hold refuses one over the limit, api.errors renders it).
RUNNING_JOBS_RETRY_AFTER = 10
REDIS_PREFIX = "videogen:ratelimit:"
# The budget a status read of a job is counted in (see the module's docstring).
STATUS_READS = "status_reads"


@dataclass(frozen=True)
class Limits:
    key_requests_per_minute: int
    org_requests_per_minute: int
    max_running_jobs: int


_limits_cache: dict[int, tuple[float, Limits]] = {}
_limits_lock = threading.Lock()


def limits_for(organization_id: int) -> Limits:
    """The organization's limits: its overrides where set, the defaults elsewhere."""
    now = time.monotonic()
    cached = _limits_cache.get(organization_id)
    if cached and cached[0] > now:
        return cached[1]
    row = OrganizationApiLimits.objects.filter(organization_id=organization_id).first()
    limits = Limits(
        key_requests_per_minute=(row and row.key_requests_per_minute) or DEFAULT_KEY_REQUESTS_PER_MINUTE,
        org_requests_per_minute=(row and row.org_requests_per_minute) or DEFAULT_ORG_REQUESTS_PER_MINUTE,
        max_running_jobs=(row and row.max_running_jobs) or DEFAULT_MAX_RUNNING_JOBS,
    )
    with _limits_lock:
        _limits_cache[organization_id] = (now + LIMITS_CACHE_SECONDS, limits)
    return limits


def limits_cache_clear() -> None:
    with _limits_lock:
        _limits_cache.clear()


@dataclass(frozen=True)
class RateState:
    """Where a request left its key's and organization's counters; the headers show the tighter one."""

    limit: int
    remaining: int
    reset_at: int
    # "api_key", "organization" or "status_reads" (the key's status-read budget) when this request went over it.
    exceeded: str | None = None

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }

    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset_at - time.time()))

    def raise_if_exceeded(self) -> None:
        if self.exceeded is None:
            return
        who = "Your organization" if self.exceeded == "organization" else "This API key"
        what = "status reads of jobs" if self.exceeded == STATUS_READS else "requests"
        raise ApiError(
            429,
            "rate_limit_error",
            "rate_limit_exceeded",
            f"{who} sent more than {self.limit} {what} this minute. Retry after {self.retry_after()} s.",
            extra={"scope": self.exceeded, "limit": self.limit},
            headers={"Retry-After": str(self.retry_after()), **self.headers()},
        )


def _bump_in_database(scopes: list[str], window_start: int) -> dict[str, int]:
    table = connection.ops.quote_name(RateLimitCounter._meta.db_table)
    values = ", ".join(["(%s, %s, 1)"] * len(scopes))
    params: list[object] = []
    for scope in scopes:
        params += [scope, window_start]
    # The one raw statement of the API: an upsert, so two processes counting the same minute never lose a
    # hit (the ORM has no INSERT ... ON CONFLICT DO UPDATE). Rows are always taken in the same order: no deadlock.
    sql = (
        f"INSERT INTO {table} (scope, window_start, hits) VALUES {values} "  # noqa: S608 (fixed identifiers)
        f"ON CONFLICT (scope, window_start) DO UPDATE SET hits = {table}.hits + 1 "
        "RETURNING scope, hits"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)  # type: ignore[arg-type]  # scopes (text) and windows (timestamps)
        return dict(cursor.fetchall())


@cache
def _redis_client(url: str) -> redis.Redis:
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def _bump_in_redis(scopes: list[str], window_start: int) -> dict[str, int]:
    import redis

    try:
        pipe = _redis_client(settings.REDIS_URL).pipeline(transaction=False)
        for scope in scopes:
            key = f"{REDIS_PREFIX}{scope}:{window_start}"
            pipe.incr(key)
            pipe.expire(key, 2 * WINDOW_SECONDS)
        results = pipe.execute()
    except redis.RedisError:
        # Availability before strictness: without Redis, requests go through uncounted.
        logger.warning("Rate limit counters unavailable (Redis); request not counted", exc_info=True)
        return dict.fromkeys(scopes, 0)
    return {scope: int(results[2 * n]) for n, scope in enumerate(scopes)}


def counters_bump(scopes: list[str], window_start: int) -> dict[str, int]:
    """Add one hit to each scope's counter for the window; returns the new counts."""
    if settings.REDIS_URL:
        return _bump_in_redis(scopes, window_start)
    return _bump_in_database(scopes, window_start)


def _window_start() -> int:
    return int(time.time() // WINDOW_SECONDS) * WINDOW_SECONDS


def _scopes(api_key: ApiKey) -> tuple[str, str]:
    return f"key:{api_key.pk}", f"org:{api_key.organization_id}"


def status_reads_scope(api_key: ApiKey) -> str:
    return f"key-status:{api_key.pk}"


def rate_limit_hit(api_key: ApiKey, *, status_read: bool = False) -> RateState:
    """Count a request for the key and its organization; the state says whether it went over.

    A status read of a job counts in the key's status-read budget instead, and only there.
    """
    window_start = _window_start()
    if status_read:
        scope = status_reads_scope(api_key)
        count = counters_bump([scope], window_start)[scope]
        # An organization given a higher request limit than the default polls under it too.
        key_limit = limits_for(api_key.organization_id).key_requests_per_minute
        limit = settings.API_KEY_STATUS_READS_PER_MINUTE
        if key_limit > DEFAULT_KEY_REQUESTS_PER_MINUTE:
            limit = max(limit, key_limit)
        left = limit - count
        exceeded = STATUS_READS if left < 0 else None
        return RateState(limit=limit, remaining=max(0, left), reset_at=window_start + WINDOW_SECONDS, exceeded=exceeded)
    counts = counters_bump(list(_scopes(api_key)), window_start)
    return _state(api_key, window_start, counts)


def _state(api_key: ApiKey, window_start: int, counts: dict[str, int]) -> RateState:
    limits = limits_for(api_key.organization_id)
    key_scope, org_scope = _scopes(api_key)
    reset_at = window_start + WINDOW_SECONDS
    key_left = limits.key_requests_per_minute - counts[key_scope]
    org_left = limits.org_requests_per_minute - counts[org_scope]
    if key_left <= org_left:
        scope, limit, left = "api_key", limits.key_requests_per_minute, key_left
    else:
        scope, limit, left = "organization", limits.org_requests_per_minute, org_left
    return RateState(limit=limit, remaining=max(0, left), reset_at=reset_at, exceeded=scope if left < 0 else None)


def key_authenticate_counted(raw: str, *, status_read: bool = False) -> tuple[ApiKey, RateState] | None:
    """The active key for a raw secret, with this request counted for it and its organization; None if no such key.

    A secret that matches no active key counts nothing. A status read counts in the key's status-read budget.
    """
    key = api_key_authenticate(raw)
    return None if key is None else (key, rate_limit_hit(key, status_read=status_read))


def counters_purge(now: float | None = None) -> int:
    """Delete database counters of windows that have ended; returns how many went."""
    current = int((now or time.time()) // WINDOW_SECONDS) * WINDOW_SECONDS
    deleted, _ = RateLimitCounter.objects.filter(window_start__lt=current).delete()
    return deleted
