"""Poller benchmarks against a loopback AIML API emulator on PostgreSQL, with real `manage.py poll` processes.

1. Poll capacity: `--jobs` jobs in flight (5,000), all due every second, so
   the pollers never catch up; counts the status requests they complete per
   second (the jobs' `poll_count`) with one poller, then with two. The
   emulator runs in its own process and answers each status request after
   `--latency` ms, as a remote provider does.
2. Completion lag: `--lag-jobs` jobs (200) through the real pipeline, submitted
   by a task worker (`manage.py qcluster`) and followed by one poller at the
   1 s poll interval of young jobs; each finishes upstream 5 s after it was
   submitted; prints p50/p95/max of (our `succeeded` time - the emulator's
   completion time).

Run: `.venv/bin/python bench/poll_bench.py` (BENCH_DATABASE_URL overrides the
database, default postgres://postgres@127.0.0.1:5432/videogen_bench).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._setup import ROOT, django_setup, percentile

API_KEY = "sk-bench-poller"

EMULATOR_PROCESS = """
import json, sys, time
sys.path.insert(0, {root!r})
from tests.emulators.aimlapi import AimlApiEmulator

class Emulator(AimlApiEmulator):
    def handle(self, request):
        if request.method == "GET" and "generation_id" in request.query:
            time.sleep({latency!r})
        return super().handle(request)

emulator = Emulator(api_key={key!r}, polls_to_complete=10**9).start()
ids = [emulator.store.create({{}}).id for _ in range({jobs})]
print(json.dumps({{"base_url": emulator.base_url, "ids": ids}}), flush=True)
sys.stdin.read()
"""


class Processes:
    """Server processes of the product (pollers, a task worker), each in its own process group."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.running: list[subprocess.Popen] = []

    def start(self, *command: str, **env: str) -> None:
        self.running.append(
            subprocess.Popen(
                [sys.executable, "manage.py", *command],
                cwd=ROOT,
                env={**self.env, **env},
                start_new_session=True,
                stdout=subprocess.DEVNULL,
            )
        )

    def stop(self) -> None:
        """SIGTERM each leader (qcluster stops its own children; it hangs when they get SIGTERM too)."""
        for process in self.running:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 15
        for process in self.running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"{' '.join(process.args[2:])} ignored SIGTERM for 15 s; killed", file=sys.stderr)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # whatever of the group is left
            process.wait()
        self.running.clear()


def _reset_tables() -> None:
    from videogen.models import Generation

    Generation.objects.all().delete()


def _organization():
    from accounts import services
    from accounts.models import Organization
    from billing.services import credits_grant

    org = Organization.objects.filter(slug="bench").first()
    if org is None:
        user = services.user_signup(email=f"bench-{time.time_ns()}@example.com", password="bench-password-1234")  # noqa: S106
        org = user.memberships.get().organization
        Organization.objects.filter(pk=org.pk).update(slug="bench")
        org.refresh_from_db()
    credits_grant(
        organization=org, amount_micros=10**12, kind="grant", idempotency_key=f"bench-{time.time_ns()}", reason="bench"
    )
    return org


def _jobs_in_flight(upstream_ids: list[str]) -> None:
    from django.utils import timezone

    from videogen.models import Generation, Status

    org = _organization()
    now = timezone.now()
    Generation.objects.bulk_create(
        [
            Generation(
                organization=org,
                model="hailuo-02",
                input={"prompt": "bench", "duration": 6, "resolution": "768P"},
                variant_key="hailuo-02:6s:768p",
                price_micros=280_000,
                status=Status.RUNNING,
                provider="aimlapi",
                upstream_id=upstream_id,
                started_at=now,
                next_poll_at=now,
                deadline_at=now + timezone.timedelta(hours=1),
            )
            for upstream_id in upstream_ids
        ],
        batch_size=1000,
    )


def _polls_done() -> int:
    from django.db.models import Sum

    from videogen.models import Generation

    return Generation.objects.aggregate(total=Sum("poll_count"))["total"] or 0


def capacity(env: dict[str, str], jobs: int, pollers: int, seconds: float, latency_ms: float) -> dict[str, float]:
    emulator = subprocess.Popen(
        [
            sys.executable,
            "-c",
            EMULATOR_PROCESS.format(root=str(ROOT), key=API_KEY, jobs=jobs, latency=latency_ms / 1000),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    processes = Processes({**env, "AIMLAPI_API_KEY": API_KEY})
    try:
        started = json.loads(emulator.stdout.readline())
        _reset_tables()
        _jobs_in_flight(started["ids"])
        for _ in range(pollers):
            processes.start("poll", AIMLAPI_BASE_URL=started["base_url"])
        time.sleep(5)  # start-up and the first sweeps
        before, start = _polls_done(), time.monotonic()
        time.sleep(seconds)
        polls, elapsed = _polls_done() - before, time.monotonic() - start
    finally:
        processes.stop()
        emulator.stdin.close()
        emulator.wait(10)
    per_second = polls / elapsed
    return {
        "pollers": pollers,
        "jobs_in_flight": jobs,
        "provider_latency_ms": latency_ms,
        "polls_per_s": round(per_second),
        "polls_per_2s": round(per_second * 2),
        "seconds_between_polls_of_a_job": round(jobs / per_second, 2) if per_second else float("inf"),
    }


def completion_lag(env: dict[str, str], jobs: int, finish_after: float, spread: float) -> dict[str, float]:
    from tests.emulators.aimlapi import AimlApiEmulator
    from tests.emulators.media import make_mp4
    from videogen.models import Generation, ProviderRoute
    from videogen.services.generations import generation_create

    _reset_tables()
    org = _organization()
    done_at: dict[str, float] = {}
    emulator = AimlApiEmulator(
        api_key=API_KEY, video_bytes=make_mp4(seconds=1, size=64), seconds_to_complete=finish_after, clock=time.time
    )
    emulator.completion_hooks.append(lambda job: done_at.__setitem__(job.id, job.completed_at))
    ProviderRoute.objects.filter(model="hailuo-02").exclude(provider__name="aimlapi").update(enabled=False)
    with emulator:
        processes = Processes({**env, "AIMLAPI_API_KEY": API_KEY, "AIMLAPI_BASE_URL": emulator.base_url})
        try:
            processes.start("qcluster", Q_WORKERS="2")
            processes.start("poll")
            time.sleep(3)
            for index in range(jobs):
                generation_create(organization=org, model="hailuo-02", params={"prompt": f"bench {index}"})
                time.sleep(spread / jobs)
            deadline = time.time() + finish_after + 120
            while time.time() < deadline:
                if Generation.objects.filter(status="succeeded").count() >= jobs:
                    break
                time.sleep(0.5)
        finally:
            processes.stop()
            ProviderRoute.objects.update(enabled=True)
    seen_at = {job.id: job.first_seen_done_at for job in emulator.store.jobs()}
    lags, to_see, to_store = [], [], []
    for generation in Generation.objects.filter(status="succeeded"):
        upstream_done, seen = done_at.get(generation.upstream_id), seen_at.get(generation.upstream_id)
        if upstream_done and seen:
            lags.append(generation.completed_at.timestamp() - upstream_done)
            to_see.append(seen - upstream_done)
            to_store.append(generation.completed_at.timestamp() - seen)
    return {
        "jobs": jobs,
        "measured": len(lags),
        "not_succeeded": Generation.objects.exclude(status="succeeded").count(),
        "lag_p50_s": round(percentile(lags, 50), 3),
        "lag_p95_s": round(percentile(lags, 95), 3),
        "lag_max_s": round(max(lags), 3) if lags else float("nan"),
        # Where the lag goes: until a poll sees the job done, then storing the video and billing.
        "until_seen_p95_s": round(percentile(to_see, 95), 3),
        "seen_to_succeeded_p95_s": round(percentile(to_store, 95), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--latency", type=float, default=200, help="ms the emulator takes to answer a status request")
    parser.add_argument("--lag-jobs", type=int, default=200)
    parser.add_argument("--skip", choices=["capacity", "lag"], action="append", default=[])
    args = parser.parse_args()
    env = django_setup({"SANDBOX_ENABLED": "0", "OUTBOUND_ALLOWED_HOSTS": "127.0.0.1"})
    from django.core.management import call_command
    from django.db import connections

    call_command("createcachetable")  # the task worker keeps its cluster stats in the cache

    if "capacity" not in args.skip:
        one = capacity(env, args.jobs, 1, args.seconds, args.latency)
        print("poll capacity:", json.dumps(one), flush=True)
        two = capacity(env, args.jobs, 2, args.seconds, args.latency)
        print("poll capacity:", json.dumps(two), flush=True)
        print(f"two pollers / one: {two['polls_per_s'] / one['polls_per_s']:.2f}x", flush=True)
    if "lag" not in args.skip:
        print("completion lag:", json.dumps(completion_lag(env, args.lag_jobs, finish_after=5, spread=30)), flush=True)
    connections.close_all()


if __name__ == "__main__":
    main()
