"""End to end with a real django-q2 worker and a poller: submit, poll, store, bill; and a crash in the middle."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from billing.models import Hold, LedgerEntry
from billing.selectors import balance_get
from billing.services import credits_grant
from tests.emulators.aimlapi import AimlApiEmulator
from tests.emulators.media import make_mp4
from tests.live import Processes, database_url
from tests.videogen.test_pipeline import png_data_url
from videogen import catalog
from videogen.media import probe_video
from videogen.models import Generation, ProviderRoute, Status
from videogen.services import generations

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

EMULATOR_KEY = "sk-emulated-e2e-4b1d"


class Worker(Processes):
    """`manage.py qcluster` and `manage.py poll` on the test database (tests.live.Processes)."""

    def start_both(self) -> None:
        self.start("qcluster", "manage.py", "qcluster")
        self.start("poll", "manage.py", "poll")

    def kill_both(self) -> None:
        """SIGKILL the cluster, every worker process it spawned and the poller: no cleanup runs."""
        for name in list(self.running):
            self.kill(name)


@pytest.fixture
def worker_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DEBUG": "1",
        "VIDEOGEN_TESTING": "1",
        "DATABASE_URL": database_url(),
        "MEDIA_ROOT": str(settings.STORAGES["default"]["OPTIONS"]["location"]),
        "SANDBOX_DIR": str(settings.SANDBOX_DIR),
        "SANDBOX_ENABLED": "1",
        "SANDBOX_LATENCY_SECONDS": "2",
        "POLL_SWEEP_MS": "200",
        "SUBMIT_STUCK_SECONDS": "5",
        "Q_WORKERS": "2",
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def worker(worker_env: dict[str, str], tmp_path: Path) -> Iterator[Worker]:
    running = Worker(worker_env, tmp_path / "worker.log")
    yield running
    running.stop()
    # The worker's log, shown by pytest when the test failed.
    print(running.log.read_text(errors="replace")[-20000:])


def wait_final(ids: list[int], timeout: float = 180) -> list[Generation]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = list(Generation.objects.filter(pk__in=ids))
        if all(job.is_final for job in jobs):
            return jobs
        time.sleep(0.5)
    states = {job.public_id: job.status for job in Generation.objects.filter(pk__in=ids)}
    raise AssertionError(f"jobs did not finish in {timeout} s: {states}")


def assert_billed_exactly_for_success(jobs: list[Generation]) -> None:
    for job in jobs:
        captures = LedgerEntry.objects.filter(reference=job.public_id, kind="capture").count()
        assert captures == (1 if job.status == Status.SUCCEEDED else 0), job.public_id
        assert Hold.objects.get(reference=job.public_id).status == (
            "captured" if job.status == Status.SUCCEEDED else "released"
        )
    call_command("billing_audit")  # raises SystemExit on drift


def create(org, prompt: str, model: str = "hailuo-02-fast", **params) -> Generation:
    if catalog.MODELS[model].first_frame == "required":
        params.setdefault("first_frame_image", png_data_url())
    return generations.generation_create(
        organization=org, model=model, params={"prompt": prompt, "duration": 6, **params}
    )


def test_worker_runs_jobs_to_the_end_and_charges_only_success(org_a, worker: Worker, settings) -> None:
    settings.GENERATION_DEADLINE_SECONDS = 25
    start = balance_get(org_a)
    ok = create(org_a, "a red kite over hills", first_frame_image=png_data_url(800, 600))
    tall = create(org_a, "a tower", model="hailuo-02", resolution="1080p")
    failed = create(org_a, "sandbox:fail")
    hung = create(org_a, "sandbox:hang")
    worker.start_both()

    jobs = {job.pk: job for job in wait_final([ok.pk, tall.pk, failed.pk, hung.pk])}

    assert jobs[ok.pk].status == Status.SUCCEEDED
    info = probe_video(Path(jobs[ok.pk].video.path))
    assert abs(info.duration_s - 6) < 0.1 and info.height == 512
    assert jobs[tall.pk].status == Status.SUCCEEDED
    info = probe_video(Path(jobs[tall.pk].video.path))
    assert (info.width, info.height) == (1920, 1080)
    assert jobs[failed.pk].status == Status.FAILED
    assert jobs[hung.pk].status == Status.TIMED_OUT
    charged = jobs[ok.pk].price_micros + jobs[tall.pk].price_micros
    assert balance_get(org_a).balance_micros == start.balance_micros - charged
    assert balance_get(org_a).held_micros == 0
    assert_billed_exactly_for_success(list(jobs.values()))


def test_a_submit_error_on_the_first_route_falls_back_to_the_second(org_a, worker: Worker, worker_env) -> None:
    with AimlApiEmulator(api_key=EMULATOR_KEY, video_bytes=make_mp4(seconds=2, size=128)) as emulator:
        worker.env = {
            **worker_env,
            "AIMLAPI_API_KEY": EMULATOR_KEY,
            "AIMLAPI_BASE_URL": emulator.base_url,
            "OUTBOUND_ALLOWED_HOSTS": "127.0.0.1",
        }
        ProviderRoute.objects.filter(model="hailuo-02", provider__name="sandbox").update(priority=1)
        ProviderRoute.objects.filter(model="hailuo-02", provider__name="aimlapi").update(priority=2)
        job = create(org_a, "sandbox:error on the first route", model="hailuo-02")
        worker.start_both()
        (done,) = wait_final([job.pk], timeout=90)
    assert done.status == Status.SUCCEEDED, done.failure_message
    assert done.provider == "aimlapi"
    assert done.provider_calls.filter(provider="sandbox", operation="submit", ok=False).exists()
    assert probe_video(Path(done.video.path)).duration_s > 1.5
    assert_billed_exactly_for_success([done])


def test_jobs_survive_a_worker_killed_mid_flight(org_a, worker: Worker) -> None:
    credits_grant(organization=org_a, amount_micros=5_000_000, kind="grant", idempotency_key="e2e-crash")
    prompts = ["a calm lake", "sandbox:fail now", "city lights", "a forest path", "snow falling", "waves"]
    ids = [create(org_a, prompt).pk for prompt in prompts]
    worker.start_both()
    deadline = time.monotonic() + 60
    while not Generation.objects.filter(pk__in=ids, status__in=["submitting", "running"]).exists():
        assert time.monotonic() < deadline, "no job started"
        time.sleep(0.2)
    worker.kill_both()
    in_flight = Generation.objects.filter(pk__in=ids, status__in=["queued", "submitting", "running"]).count()
    assert in_flight > 0, "the worker finished everything before it was killed; nothing was tested"

    worker.start_both()
    jobs = wait_final(ids)

    statuses = {job.input["prompt"]: job.status for job in jobs}
    reasons = {job.input["prompt"]: job.failure_code for job in jobs}
    assert statuses["sandbox:fail now"] == Status.FAILED
    assert all(status == Status.SUCCEEDED for prompt, status in statuses.items() if "fail" not in prompt), reasons
    assert_billed_exactly_for_success(jobs)
