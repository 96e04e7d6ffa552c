"""Poller benchmarks (issue 4), against a loopback AIML API emulator on PostgreSQL.

1. Poll capacity: 5,000 jobs in flight; one poller (the worker's poll loop,
   POLL_CONCURRENCY threads) sweeps them; prints polls per 2-second interval and
   the sweep cost per job. The emulator runs in its own process so it does not
   share our interpreter lock.
2. Completion lag: 200 jobs through the real pipeline with a real worker
   process (`manage.py qcluster`); each finishes upstream 5 s after it was
   submitted; prints p50/p95/max of (our `succeeded` time − the emulator's
   completion time).

Run: `.venv/bin/python bench/poll_bench.py` (BENCH_DATABASE_URL overrides the
database, default postgres://postgres@127.0.0.1:5432/videogen_bench).
"""

from __future__ import annotations

import argparse
import json
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
emulator = AimlApiEmulator(api_key={key!r}, polls_to_complete=10**9).start()
ids = [emulator.store.create({{}}).id for _ in range({jobs})]
print(json.dumps({{"base_url": emulator.base_url, "ids": ids}}), flush=True)
sys.stdin.read()
"""


def _reset_tables() -> None:
    from videogen.models import Generation, WorkerLease

    Generation.objects.all().delete()
    WorkerLease.objects.all().delete()


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


def capacity(jobs: int, seconds: float) -> dict[str, float]:
    from django.conf import settings
    from django.utils import timezone

    from videogen.models import Generation, Status
    from videogen.services.sweep import Poller

    emulator = subprocess.Popen(
        [sys.executable, "-c", EMULATOR_PROCESS.format(root=str(ROOT), key=API_KEY, jobs=jobs)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        started = json.loads(emulator.stdout.readline())
        settings.AIMLAPI_API_KEY = API_KEY
        settings.AIMLAPI_BASE_URL = started["base_url"]
        _reset_tables()
        org = _organization()
        now = timezone.now()
        Generation.objects.bulk_create(
            [
                Generation(
                    organization=org,
                    model="hailuo-02",
                    input={"prompt": "bench", "duration": 6, "resolution": "768p"},
                    variant_key="hailuo-02:6s:768p",
                    price_micros=280_000,
                    status=Status.RUNNING,
                    provider="aimlapi",
                    upstream_id=upstream_id,
                    started_at=now,
                    next_poll_at=now,
                    deadline_at=now + timezone.timedelta(hours=1),
                )
                for upstream_id in started["ids"]
            ],
            batch_size=1000,
        )
        polled = 0
        sweep_seconds = 0.0
        windows = []
        with Poller(batch=jobs) as poller:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                Generation.objects.filter(status=Status.RUNNING).update(next_poll_at=timezone.now())
                stats = poller.sweep()
                polled += stats.claimed
                sweep_seconds += stats.seconds
                windows.append(stats.claimed / stats.seconds * 2 if stats.seconds else 0)
        per_job_ms = sweep_seconds / polled * 1000
        return {
            "jobs_in_flight": jobs,
            "polls_done": polled,
            "polls_per_2s": round(2000 / per_job_ms),
            "sweep_cost_per_job_ms": round(per_job_ms, 3),
            "concurrency": settings.POLL_CONCURRENCY,
        }
    finally:
        emulator.stdin.close()
        emulator.wait(10)


def completion_lag(jobs: int, finish_after: float, spread: float) -> dict[str, float]:
    from tests.emulators.aimlapi import AimlApiEmulator
    from tests.emulators.media import make_mp4
    from videogen.models import Generation
    from videogen.services.generations import generation_create

    _reset_tables()
    org = _organization()
    done_at: dict[str, float] = {}
    emulator = AimlApiEmulator(
        api_key=API_KEY, video_bytes=make_mp4(seconds=1, size=64), seconds_to_complete=finish_after, clock=time.time
    )
    emulator.completion_hooks.append(lambda job: done_at.__setitem__(job.id, job.completed_at))
    env = django_setup(
        {
            "AIMLAPI_API_KEY": API_KEY,
            "SANDBOX_ENABLED": "0",
            "OUTBOUND_ALLOWED_HOSTS": "127.0.0.1",
            "Q_WORKERS": "4",
        }
    )
    from videogen.models import ProviderRoute

    ProviderRoute.objects.filter(model="hailuo-02-fast").exclude(provider__name="aimlapi").update(enabled=False)
    with emulator:
        env["AIMLAPI_BASE_URL"] = emulator.base_url
        worker = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env)
        try:
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
            worker.terminate()
            worker.wait(30)
    lags = []
    for generation in Generation.objects.filter(status="succeeded"):
        upstream_done = done_at.get(generation.upstream_id)
        if upstream_done:
            lags.append(generation.completed_at.timestamp() - upstream_done)
    failed = Generation.objects.exclude(status="succeeded").count()
    ProviderRoute.objects.update(enabled=True)
    return {
        "jobs": jobs,
        "measured": len(lags),
        "not_succeeded": failed,
        "lag_p50_s": round(percentile(lags, 50), 3),
        "lag_p95_s": round(percentile(lags, 95), 3),
        "lag_max_s": round(max(lags), 3) if lags else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--lag-jobs", type=int, default=200)
    parser.add_argument("--skip", choices=["capacity", "lag"], action="append", default=[])
    args = parser.parse_args()
    django_setup({"SANDBOX_ENABLED": "0", "OUTBOUND_ALLOWED_HOSTS": "127.0.0.1"})
    if "capacity" not in args.skip:
        print("poll capacity:", json.dumps(capacity(args.jobs, args.seconds)), flush=True)
    if "lag" not in args.skip:
        print("completion lag:", json.dumps(completion_lag(args.lag_jobs, finish_after=5, spread=30)), flush=True)


if __name__ == "__main__":
    main()
