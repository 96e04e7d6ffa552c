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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from videogen.models import ACTIVE_STATUSES, Generation, Status, WorkerLease
from videogen.services import pipeline

logger = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(seconds=60)
POLLER_LEASE = "poller"
POLLER_LEASE_TTL = timedelta(seconds=15)
IDLE_EXIT = timedelta(seconds=10)


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


def _claim_due(now, limit: int) -> list[tuple[int, str]]:
    with transaction.atomic():
        due = (
            Generation.objects.filter(status__in=ACTIVE_STATUSES, next_poll_at__lte=now)
            .order_by("next_poll_at")
            .values_list("pk", "status")
        )
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        claimed = list(due[:limit])
        if claimed:
            Generation.objects.filter(pk__in=[pk for pk, _ in claimed]).update(next_poll_at=now + CLAIM_LEASE)
    return claimed


def _work_in_thread(pk: int, status: str, adapters: pipeline.Adapters) -> None:
    close_old_connections()
    _work(pk, status, adapters)


def _work(pk: int, status: str, adapters: pipeline.Adapters) -> None:
    try:
        if status == Status.QUEUED:
            pipeline.generation_submit(pk, adapters)
        elif status == Status.SUBMITTING:
            Generation.objects.filter(pk=pk, status=Status.SUBMITTING).update(next_poll_at=timezone.now())
            pipeline.generation_recover_submit(pk, adapters)
        else:
            pipeline.generation_poll(pk, adapters)
    except Exception:
        # One broken job must not stop the sweep; it is claimed again after the lease.
        logger.exception("Working generation %s failed", pk)


class Poller:
    """Sweeps with a thread pool and shared adapters; use as a context manager."""

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

    def sweep(self) -> SweepStats:
        started = time.monotonic()
        now = timezone.now()
        stats = SweepStats(timed_out=_time_out_overdue(now))
        claimed = _claim_due(now, self.batch)
        stats.claimed = len(claimed)
        if self.pool is None:
            for pk, status in claimed:
                _work(pk, status, self.adapters)
        else:
            list(self.pool.map(lambda item: _work_in_thread(item[0], item[1], self.adapters), claimed))
        stats.seconds = time.monotonic() - started
        return stats


def poll_sweep() -> SweepStats:
    """One sweep (tests, operators); the worker runs `poll_loop` instead."""
    with Poller() as poller:
        return poller.sweep()


def _lease_take(holder: str) -> bool:
    now = timezone.now()
    WorkerLease.objects.get_or_create(name=POLLER_LEASE)
    taken = WorkerLease.objects.filter(name=POLLER_LEASE, expires_at__lt=now).update(
        holder=holder, expires_at=now + POLLER_LEASE_TTL
    )
    return bool(taken)


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


def poll_loop(seconds: int | None = None) -> int:
    """Sweep every POLL_SWEEP_MS for `seconds`, if no other poller holds the lease; returns sweeps run.

    The loop ends early once no job has been active for IDLE_EXIT; the next
    accepted job (or the minute schedule) starts another.
    """
    holder = uuid.uuid4().hex
    if not _lease_take(holder):
        return 0
    deadline = time.monotonic() + (seconds or settings.POLL_LOOP_SECONDS)
    interval = settings.POLL_SWEEP_MS / 1000
    sweeps = 0
    last_busy = time.monotonic()
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
                time.sleep(max(0.0, interval - stats.seconds))
    finally:
        _lease_release(holder)
    return sweeps
