"""Two `manage.py poll` processes share 400 jobs in flight at a loopback provider, with no leader.

A task worker submits new jobs meanwhile. The emulator records when each job
is polled and how many polls of one job are in flight at once;
PostgreSQL's `pg_stat_activity` shows each process's connections (named with
PGAPPNAME).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from statistics import median

import pytest
from django.db import connection
from django.utils import timezone

from billing.services import credits_grant
from tests.emulators.aimlapi import AimlApiEmulator
from tests.emulators.base import Reply, Request
from tests.live import ROOT, database_url
from videogen.models import Generation, Status
from videogen.services import generations

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

JOBS = 400
KEY = "sk-emulated-pollers-7c2e"
# Jobs a quarter of an hour old are polled every 5 s (videogen.services.pipeline.poll_interval).
AGE = timedelta(minutes=15)
INTERVAL = 5.0
# Short pauses between sweeps: the two pollers claim often, and would meet on the same jobs without locks.
SWEEP = 0.05
# Every tenth status request fails (503): the poller then records the failed call and
# reschedules the job from its threads, so those threads use the database too.
FAIL_EVERY = 10
DB_POOL_MAX_SIZE = 6


class CountingEmulator(AimlApiEmulator):
    """AIML API that notes every status request per job, and polls of one job that overlap."""

    def __init__(self) -> None:
        super().__init__(api_key=KEY, polls_to_complete=10**9)
        self.polled: dict[str, list[float]] = defaultdict(list)
        self.overlaps: list[str] = []
        self._in_flight: Counter[str] = Counter()
        self._requests = 0
        self._lock = threading.Lock()

    def handle(self, request: Request) -> Reply:
        job_id = request.query.get("generation_id")
        if request.method != "GET" or not job_id:
            return super().handle(request)
        with self._lock:
            self._requests += 1
            failing = self._requests % FAIL_EVERY == 0
            self._in_flight[job_id] += 1
            if self._in_flight[job_id] > 1:
                self.overlaps.append(job_id)
            self.polled[job_id].append(time.monotonic())
        try:
            time.sleep(0.02)  # a provider takes a moment to answer: a second claim of the job would overlap
            if failing:
                return self.error_body(503, "Service temporarily unavailable")
            return super().handle(request)
        finally:
            with self._lock:
                self._in_flight[job_id] -= 1

    def polls_between(self, start: float, end: float) -> dict[str, list[float]]:
        with self._lock:
            return {job: [t for t in times if start <= t < end] for job, times in self.polled.items()}


@pytest.fixture
def emulator() -> Iterator[CountingEmulator]:
    with CountingEmulator() as running:
        yield running


def jobs_in_flight(org, emulator: CountingEmulator) -> list[str]:
    started = timezone.now() - AGE
    ids = [emulator.store.create({"prompt": f"job {n}"}).id for n in range(JOBS)]
    Generation.objects.bulk_create(
        Generation(
            organization=org,
            model="hailuo-02",
            input={"prompt": "pollers", "duration": 6, "resolution": "768P"},
            variant_key="hailuo-02:6s:768p",
            price_micros=280_000,
            status=Status.RUNNING,
            provider="aimlapi",
            upstream_id=upstream_id,
            started_at=started,
            next_poll_at=timezone.now(),
            deadline_at=timezone.now() + timedelta(hours=1),
        )
        for upstream_id in ids
    )
    return ids


class Servers:
    """`manage.py poll` processes and a task worker on the test database, each with its own application_name."""

    def __init__(self, pollers: int, base_url: str, logs: Path) -> None:
        run = uuid.uuid4().hex[:8]
        self.pollers = [f"test-poller-{run}-{n}" for n in range(pollers)]
        self.worker = f"test-worker-{run}"
        self.logs = logs
        self.env = {
            **os.environ,
            "DEBUG": "1",
            "VIDEOGEN_TESTING": "1",
            "DATABASE_URL": database_url(),
            "AIMLAPI_API_KEY": KEY,
            "AIMLAPI_BASE_URL": base_url,
            "MINIMAX_API_KEY": "",
            "SEGMIND_API_KEY": "",
            "ATLASCLOUD_API_KEY": "",
            "OUTBOUND_ALLOWED_HOSTS": "127.0.0.1",
            "SANDBOX_ENABLED": "0",
            "POLL_CONCURRENCY": "16",
            "POLL_SWEEP_MS": str(int(SWEEP * 1000)),
            "DB_POOL_MAX_SIZE": str(DB_POOL_MAX_SIZE),
            "Q_WORKERS": "2",
            "LOG_LEVEL": "WARNING",
        }
        self.processes = {name: self._start("poll", name) for name in self.pollers}
        self.processes[self.worker] = self._start("qcluster", self.worker)

    def _start(self, command: str, name: str) -> subprocess.Popen:
        with (self.logs / f"{name}.log").open("wb") as out:
            return subprocess.Popen(
                [sys.executable, "manage.py", command],
                cwd=ROOT,
                env={**self.env, "PGAPPNAME": name},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def connections(self) -> dict[str, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT application_name, count(*) FROM pg_stat_activity WHERE application_name = ANY(%s) GROUP BY 1",
                [list(self.processes)],
            )
            counts = dict(cursor.fetchall())
        return {name: counts.get(name, 0) for name in self.processes}

    def stop(self) -> dict[str, int | None]:
        """SIGTERM each leader; their exit codes (None for one that had to be killed)."""
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        codes: dict[str, int | None] = {}
        for name, process in self.processes.items():
            try:
                codes[name] = process.wait(20)
            except subprocess.TimeoutExpired:
                codes[name] = None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        return codes

    def output(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")


def submitted(org, count: int, timeout: float = 60) -> None:
    """Accept `count` jobs and wait until the task worker has submitted them all."""
    ids = [
        generations.generation_create(organization=org, model="hailuo-02", params={"prompt": f"new {n}"}).pk
        for n in range(count)
    ]
    deadline = time.monotonic() + timeout
    while Generation.objects.filter(pk__in=ids).exclude(status=Status.RUNNING).exists():
        assert time.monotonic() < deadline, "the task worker did not submit the new jobs"
        time.sleep(0.2)


def test_two_pollers_share_the_jobs_each_polled_once_per_interval_on_flat_connections(
    org_a, emulator: CountingEmulator, tmp_path: Path
) -> None:
    credits_grant(organization=org_a, amount_micros=10_000_000, kind="grant", idempotency_key="pollers")
    ids = jobs_in_flight(org_a, emulator)
    servers = Servers(2, emulator.base_url, tmp_path)
    try:
        # Past start-up (a few seconds on a busy machine), every job has been polled at least once.
        deadline = time.monotonic() + 60
        while not set(ids) <= set(emulator.polls_between(0, time.monotonic())):
            assert time.monotonic() < deadline, "the pollers did not reach every job within a minute"
            assert all(p.poll() is None for p in servers.processes.values()), "a server stopped"
            time.sleep(0.2)
        submitted(org_a, 5)  # the worker's processes have all used the database once
        window_start = time.monotonic()
        samples = []
        while time.monotonic() < window_start + 4 * INTERVAL:
            samples.append(servers.connections())
            if len(samples) % 8 == 0:
                submitted(org_a, 3)  # new jobs keep the worker busy through the window
            time.sleep(0.5)
        window_end = time.monotonic()
    finally:
        codes = servers.stop()
    outputs = [servers.output(name) for name in servers.pollers]
    print(*outputs, servers.output(servers.worker), sep="\n")

    assert [codes[name] for name in servers.pollers] == [0, 0], "a poller did not exit cleanly on SIGTERM"
    claimed = [int(re.search(r"(\d+) jobs claimed", out).group(1)) for out in outputs]
    assert min(claimed) > sum(claimed) / 5, f"the pollers share the work: {claimed}"
    assert "Traceback" not in "".join(outputs)

    assert emulator.overlaps == [], "a job was polled by two threads at once"
    # The jobs in flight from the start (the new ones are younger, and polled every second).
    polls = {job: times for job, times in emulator.polls_between(window_start, window_end).items() if job in ids}
    assert set(polls) == set(ids)
    gaps = [later - earlier for job in ids for earlier, later in pairwise(emulator.polled[job])]
    # Never twice in one interval: the next poll is scheduled an interval after the answer (to 0.1 s).
    assert min(gaps) > INTERVAL - 0.15, sorted(gaps)[:5]
    # And none left behind: a due job waits for the next sweep of either poller, a fraction of a second
    # (more on a busy machine), and never misses a whole interval.
    assert median(gaps) < INTERVAL + SWEEP + 0.5, median(gaps)
    assert max(gaps) < 2 * INTERVAL, sorted(gaps)[-5:]
    window = window_end - window_start
    counts = Counter(len(times) for times in polls.values())
    assert min(counts) >= int(window / (INTERVAL + SWEEP + 1.0)) and max(counts) <= window / INTERVAL + 1, counts

    for name in [*servers.pollers, servers.worker]:
        seen = [sample[name] for sample in samples]
        print(f"{name} connections, sample by sample: {seen}")
        assert max(seen) >= 1, f"{name} never showed in pg_stat_activity"
        half = len(seen) // 2
        assert max(seen[half:]) <= max(seen[:half]), f"{name}'s connections grew: {seen}"
    for name in servers.pollers:
        assert max(sample[name] for sample in samples) <= DB_POOL_MAX_SIZE
