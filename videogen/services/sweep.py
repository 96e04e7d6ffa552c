"""The poller's sweep: claim due jobs, work them concurrently, write back the results.

Jobs carry `next_poll_at`. A sweep claims the due ones in a short
transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several pollers never
take the same job) by pushing their `next_poll_at` out by CLAIM_LEASE, then
submits, recovers or polls each one on a bounded thread pool. Every few
seconds it also times out jobs past their deadline. `manage.py poll` runs
sweeps in a loop; any number of those processes share the work.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from videogen.models import ACTIVE_STATUSES, Generation, Status
from videogen.providers.base import ProviderError, UpstreamResult, UpstreamStatus
from videogen.services import pipeline

T = TypeVar("T")

logger = logging.getLogger(__name__)

# A claimed job whose poller died is due again after this.
CLAIM_LEASE = timedelta(seconds=60)
# Deadlines are minutes long: checking them every few seconds is precise enough, and saves
# every poller a scan of the active jobs on each sweep.
TIME_OUT_EVERY = timedelta(seconds=5)


@dataclass
class SweepStats:
    claimed: int = 0
    timed_out: int = 0
    seconds: float = 0.0


def _time_out_overdue(now: datetime) -> int:
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
    try:
        return work(*args)
    finally:
        # Pool threads live as long as the poller: give the connection back after each job, or
        # every thread keeps one open.
        connection.close()


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


def _database_threads(concurrency: int) -> int:
    """Threads that may hold a connection at once: what the connection pool serves, less the sweep's own."""
    pool = connection.settings_dict.get("OPTIONS", {}).get("pool")
    if isinstance(pool, dict) and pool.get("max_size"):
        return max(1, min(concurrency, int(pool["max_size"]) - 1))
    return concurrency


class Poller:
    """Sweeps with thread pools and shared adapters; use as a context manager.

    Status requests run on POLL_CONCURRENCY threads and touch the database only
    to record a failed call; the jobs that changed (finished, failed, to submit)
    are handed to fewer threads, no more than the connection pool can serve, so
    a burst of finished videos never waits for a connection. The next sweep
    does not wait for them (storing a video takes a while, and other jobs are
    due meanwhile) unless they pile up. Every thread gives its connection back
    after each job.
    """

    def __init__(self, concurrency: int | None = None, batch: int | None = None) -> None:
        self.concurrency = concurrency or settings.POLL_CONCURRENCY
        self.batch = batch or settings.POLL_BATCH_SIZE
        self.timed_out_at: float | None = None
        self.adapters = pipeline.Adapters()
        # One at a time runs inline: no pool, and the caller's transaction stays visible (tests).
        self.pool = self.writers = None
        self.writing: set[Future[None]] = set()
        self.writer_count = _database_threads(self.concurrency)
        if self.concurrency > 1:
            self.pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="poll")
            self.writers = ThreadPoolExecutor(self.writer_count, thread_name_prefix="poll-write")

    def __enter__(self) -> Poller:
        return self

    def __exit__(self, *exc: object) -> None:
        for pool in (self.pool, self.writers):
            if pool is not None:
                pool.shutdown(wait=True)
        self.adapters.close()

    def _write(self, changed: list[tuple[Any, ...]]) -> None:
        if self.writers is None:
            for item in changed:
                _guarded(*item)
            return
        self.writing.update(self.writers.submit(_in_thread, _guarded, *item) for item in changed)

    def _wait_for_writers(self) -> None:
        """Claim more only while few changed jobs wait for a writer: a claim holds a job for CLAIM_LEASE only."""
        self.writing = {future for future in self.writing if not future.done()}
        while len(self.writing) >= self.writer_count * 2:
            _, self.writing = wait(self.writing, return_when=FIRST_COMPLETED)

    @staticmethod
    def _map(pool: ThreadPoolExecutor | None, work: Callable[..., T], items: list[tuple[Any, ...]]) -> list[T]:
        if pool is None:
            return [work(*item) for item in items]
        return list(pool.map(lambda item: _in_thread(work, *item), items))

    def sweep(self) -> SweepStats:
        self._wait_for_writers()
        started = time.monotonic()
        now = timezone.now()
        stats = SweepStats()
        if self.timed_out_at is None or started - self.timed_out_at >= TIME_OUT_EVERY.total_seconds():
            stats.timed_out = _time_out_overdue(now)
            self.timed_out_at = started
        claimed = _claim_due(now, self.batch)
        stats.claimed = len(claimed)
        running = [job for job in claimed if job.status == Status.RUNNING]
        others = [job for job in claimed if job.status != Status.RUNNING]
        outcomes = self._map(
            self.pool,
            lambda job: (job, pipeline.upstream_poll(job.pk, job.provider, job.upstream_id, self.adapters)),
            [(job,) for job in running],
        )
        waiting: list[tuple[Claimed, UpstreamResult]] = []
        changed: list[tuple[Any, ...]] = []
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
        self._write(changed)
        stats.seconds = time.monotonic() - started
        return stats


def poll_sweep() -> SweepStats:
    """One sweep with a poller of its own (tests, operators); `manage.py poll` sweeps in a loop."""
    with Poller() as poller:
        return poller.sweep()
