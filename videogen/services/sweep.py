"""The poller: a periodic sweep that claims due jobs and works them concurrently.

Jobs carry `next_poll_at`. A sweep times out jobs past their deadline, claims
the due ones (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several pollers never
take the same job) by pushing their `next_poll_at` out by a lease, and then
submits, recovers or polls each one on a bounded thread pool.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone

from videogen.models import ACTIVE_STATUSES, Generation, Status, WorkerLease
from videogen.providers.base import ProviderError, UpstreamResult, UpstreamStatus
from videogen.services import pipeline

T = TypeVar("T")

logger = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(seconds=60)
POLLER_LEASE = "poller"
POLLER_LEASE_TTL = timedelta(seconds=15)
IDLE_EXIT = timedelta(seconds=10)
HANDOVER = timedelta(seconds=3)


@dataclass
class SweepStats:
    claimed: int = 0
    timed_out: int = 0
    seconds: float = 0.0


def _time_out_overdue(now) -> int:
    overdue = list(
        Generation.objects.filter(status__in=ACTIVE_STATUSES, deadline_at__lt=now).values_list("pk", flat=True)[:500]
    )
    return sum(1 for pk in overdue if pipeline.generation_time_out(pk))


@dataclass(frozen=True)
class Claimed:
    pk: int
    status: str
    provider: str
    upstream_id: str
    started_at: datetime | None


def _claim_due(now: datetime, limit: int) -> list[Claimed]:
    with transaction.atomic():
        due = (
            Generation.objects.filter(status__in=ACTIVE_STATUSES, next_poll_at__lte=now)
            .order_by("next_poll_at")
            .values_list("pk", "status", "provider", "upstream_id", "started_at")
        )
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        claimed = [Claimed(*row) for row in due[:limit]]
        if claimed:
            Generation.objects.filter(pk__in=[job.pk for job in claimed]).update(next_poll_at=now + CLAIM_LEASE)
    return claimed


def _in_thread(work: Callable[..., T], *args: object) -> T:
    close_old_connections()
    return work(*args)


def _guarded(work: Callable[..., object], pk: int, *args: object) -> None:
    try:
        work(pk, *args)
    except Exception:
        # One broken job must not stop the sweep; it is claimed again after the lease.
        logger.exception("Working generation %s failed", pk)


def _reschedule_many(waiting: list[tuple[Claimed, UpstreamResult]]) -> None:
    """One UPDATE per distinct next-poll time instead of one per job."""
    buckets: dict[datetime, list[int]] = defaultdict(list)
    for job, result in waiting:
        when = pipeline.next_poll_at(job.started_at or timezone.now(), result.retry_after)
        buckets[when.replace(microsecond=when.microsecond // 100_000 * 100_000)].append(job.pk)
    for when, pks in buckets.items():
        Generation.objects.filter(pk__in=pks, status=Status.RUNNING).update(
            next_poll_at=when, poll_count=F("poll_count") + 1
        )


class Poller:
    """Sweeps with a thread pool and shared adapters; use as a context manager.

    Threads only talk to providers; the database work of a sweep is a claim,
    a handful of bulk updates, and per-job writes only for jobs that changed.
    """

    def __init__(self, concurrency: int | None = None, batch: int | None = None) -> None:
        self.concurrency = concurrency or settings.POLL_CONCURRENCY
        self.batch = batch or settings.POLL_BATCH_SIZE
        self.adapters = pipeline.Adapters()
        # One at a time runs inline: no pool, and the caller's transaction stays visible (tests).
        self.pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="poll") if self.concurrency > 1 else None

    def __enter__(self) -> Poller:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        self.adapters.close()

    def _map(self, work: Callable[..., T], items: list[tuple]) -> list[T]:
        if self.pool is None:
            return [work(*item) for item in items]
        return list(self.pool.map(lambda item: _in_thread(work, *item), items))

    def sweep(self) -> SweepStats:
        started = time.monotonic()
        now = timezone.now()
        stats = SweepStats(timed_out=_time_out_overdue(now))
        claimed = _claim_due(now, self.batch)
        stats.claimed = len(claimed)
        running = [job for job in claimed if job.status == Status.RUNNING]
        others = [job for job in claimed if job.status != Status.RUNNING]
        outcomes = self._map(
            lambda job: (job, pipeline.upstream_poll(job.pk, job.provider, job.upstream_id, self.adapters)),
            [(job,) for job in running],
        )
        waiting, changed = [], []
        for job, outcome in outcomes:
            if isinstance(outcome, UpstreamResult) and outcome.status in (
                UpstreamStatus.QUEUED,
                UpstreamStatus.RUNNING,
            ):
                waiting.append((job, outcome))
            elif isinstance(outcome, ProviderError):
                changed.append((pipeline.generation_poll_failed, job.pk, outcome))
            else:
                changed.append((pipeline.generation_settle, job.pk, outcome, self.adapters))
        _reschedule_many(waiting)
        for job in others:
            work = pipeline.generation_submit if job.status == Status.QUEUED else pipeline.generation_recover_submit
            changed.append((work, job.pk, self.adapters))
        self._map(_guarded, changed)
        stats.seconds = time.monotonic() - started
        return stats


def poll_sweep() -> SweepStats:
    """One sweep (tests, operators); the worker runs `poll_loop` instead."""
    with Poller() as poller:
        return poller.sweep()


def _lease_take(holder: str, wait: timedelta = timedelta(0)) -> bool:
    """Take the poller lease, waiting up to `wait` for the holder to hand it over."""
    WorkerLease.objects.get_or_create(name=POLLER_LEASE)
    give_up = time.monotonic() + wait.total_seconds()
    while True:
        now = timezone.now()
        taken = WorkerLease.objects.filter(name=POLLER_LEASE, expires_at__lt=now).update(
            holder=holder, expires_at=now + POLLER_LEASE_TTL
        )
        if taken or time.monotonic() >= give_up:
            return bool(taken)
        time.sleep(0.05)


def _lease_renew(holder: str) -> bool:
    renewed = WorkerLease.objects.filter(name=POLLER_LEASE, holder=holder).update(
        expires_at=timezone.now() + POLLER_LEASE_TTL
    )
    return bool(renewed)


def _lease_release(holder: str) -> None:
    WorkerLease.objects.filter(name=POLLER_LEASE, holder=holder).update(expires_at=timezone.now())


def poller_alive() -> bool:
    return WorkerLease.objects.filter(name=POLLER_LEASE, expires_at__gt=timezone.now()).exists()


def poller_needed() -> bool:
    """Jobs are in flight and nobody is polling them."""
    return _has_active_jobs() and not poller_alive()


def _has_active_jobs() -> bool:
    return Generation.objects.filter(status__in=ACTIVE_STATUSES).exists()


def poll_loop(seconds: int | None = None, successor: Callable[[], None] | None = None) -> int:
    """Sweep every POLL_SWEEP_MS for `seconds`, if no other poller holds the lease; returns sweeps run.

    Near its end the loop starts `successor` (the next loop task), which waits
    for the lease, so polling pauses for a moment at most. The loop ends early
    once no job has been active for IDLE_EXIT; the next accepted job (or the
    minute schedule) starts another.
    """
    holder = uuid.uuid4().hex
    if not _lease_take(holder, wait=HANDOVER * 2):
        return 0
    deadline = time.monotonic() + (seconds or settings.POLL_LOOP_SECONDS)
    interval = settings.POLL_SWEEP_MS / 1000
    sweeps = 0
    last_busy = time.monotonic()
    handed_over = successor is None
    try:
        with Poller() as poller:
            while time.monotonic() < deadline:
                stats = poller.sweep()
                sweeps += 1
                if stats.claimed or _has_active_jobs():
                    last_busy = time.monotonic()
                elif time.monotonic() - last_busy > IDLE_EXIT.total_seconds():
                    break
                if not _lease_renew(holder):
                    break
                if not handed_over and deadline - time.monotonic() < HANDOVER.total_seconds():
                    successor()
                    handed_over = True
                time.sleep(max(0.0, interval - stats.seconds))
    finally:
        _lease_release(holder)
    return sweeps
