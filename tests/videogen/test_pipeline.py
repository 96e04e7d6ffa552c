"""The generation pipeline on the sandbox provider: from request to stored video, billed once."""

from __future__ import annotations

import base64
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from PIL import Image

from billing.errors import InsufficientCredits
from billing.models import Hold, LedgerEntry
from billing.selectors import balance_get
from core.errors import ParamError
from videogen import catalog
from videogen.media import probe_video
from videogen.models import Generation, ProviderRoute, SandboxTask, Status, Transition
from videogen.services import generations, pipeline, sweep
from webhooks.models import Event

pytestmark = pytest.mark.django_db

PRICE_FAST_6S = 100_000  # $0.10, hailuo-02-fast 6 s


def png_data_url(width: int = 640, height: int = 360) -> str:
    image = Image.new("RGB", (width, height), (40, 120, 200))
    for x in range(0, width, 40):
        for y in range(0, height, 40):
            image.putpixel((x, y), (255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture(autouse=True)
def _fast_sandbox(settings) -> None:
    settings.SANDBOX_LATENCY_SECONDS = 0
    settings.SANDBOX_ENABLED = True


def create(org, prompt: str = "a lighthouse at dusk", **params) -> Generation:
    model = params.pop("model", "hailuo-02-fast")
    if catalog.MODELS[model].first_frame == "required":
        params.setdefault("first_frame_image", png_data_url())
    body = {"prompt": prompt, "duration": 6, **params}
    return generations.generation_create(organization=org, model=model, params=body)


def run_to_end(generation: Generation, sweeps: int = 5) -> Generation:
    pipeline.generation_submit(generation.pk)
    for _ in range(sweeps):
        Generation.objects.filter(pk=generation.pk, status__in=["queued", "running"]).update(
            next_poll_at=timezone.now()
        )
        sweep.poll_sweep()
        generation.refresh_from_db()
        if generation.is_final:
            break
    return generation


def test_a_sandbox_job_stores_a_decodable_video_and_is_charged_once(org_a) -> None:
    start = balance_get(org_a)
    generation = create(org_a, first_frame_image=png_data_url())
    assert balance_get(org_a).available_micros == start.available_micros - PRICE_FAST_6S
    assert balance_get(org_a).balance_micros == start.balance_micros

    generation = run_to_end(generation)

    assert generation.status == Status.SUCCEEDED
    assert generation.provider == "sandbox"
    info = probe_video(Path(generation.video.path))
    assert abs(info.duration_s - 6) < 0.1
    assert info.height == 512
    assert generation.output_width == info.width
    assert generation.poster.storage.exists(generation.poster.name)
    after = balance_get(org_a)
    assert after.balance_micros == start.balance_micros - PRICE_FAST_6S
    assert after.held_micros == 0
    # Running every step again changes nothing: no second charge, no second upstream job.
    pipeline.generation_submit(generation.pk)
    sweep.poll_sweep()
    assert balance_get(org_a) == after
    assert LedgerEntry.objects.filter(reference=generation.public_id, kind="capture").count() == 1
    assert SandboxTask.objects.count() == 1
    statuses = list(Transition.objects.filter(generation=generation).values_list("to_status", flat=True))
    assert statuses == ["queued", "submitting", "running", "succeeded"]
    types = set(Event.objects.filter(organization=org_a).values_list("type", flat=True))
    assert {"generation.started", "generation.succeeded"} <= types


def test_requested_duration_and_resolution_are_rendered(org_a) -> None:
    generation = run_to_end(create(org_a, model="hailuo-02", duration=10, resolution="768p"))
    assert generation.status == Status.SUCCEEDED
    info = probe_video(Path(generation.video.path))
    assert abs(info.duration_s - 10) < 0.1
    assert (info.width, info.height) == (1366, 768)


def test_a_failed_job_leaves_the_balance_where_it_started(org_a) -> None:
    start = balance_get(org_a)
    generation = run_to_end(create(org_a, prompt="sandbox:fail please"))
    assert generation.status == Status.FAILED
    assert generation.failure_code == "content_policy"
    assert "content policy" in generation.failure_message
    assert balance_get(org_a) == start
    assert Hold.objects.get(reference=generation.public_id).status == "released"
    event = Event.objects.get(organization=org_a, type="generation.failed")
    assert event.data["generation"]["error"]["code"] == "content_policy"
    assert event.data["released_hold"]["amount"] == "0.10"


def test_a_job_that_never_finishes_times_out_unpaid(org_a) -> None:
    start = balance_get(org_a)
    generation = run_to_end(create(org_a, prompt="sandbox:hang"), sweeps=2)
    assert generation.status == Status.RUNNING
    Generation.objects.filter(pk=generation.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    sweep.poll_sweep()
    generation.refresh_from_db()
    assert generation.status == Status.TIMED_OUT
    assert generation.failure_code == "deadline_exceeded"
    assert balance_get(org_a) == start
    assert SandboxTask.objects.get(upstream_id=generation.upstream_id).canceled_at is not None


def test_submission_errors_on_every_route_fail_the_job_unpaid(org_a) -> None:
    start = balance_get(org_a)
    generation = run_to_end(create(org_a, prompt="sandbox:error"))
    assert generation.status == Status.FAILED
    assert generation.failure_code == "no_provider_available"
    assert balance_get(org_a) == start


def test_canceling_a_running_job_releases_the_hold_and_stops_upstream(
    org_a, django_capture_on_commit_callbacks
) -> None:
    start = balance_get(org_a)
    generation = run_to_end(create(org_a, prompt="sandbox:hang"), sweeps=1)
    assert generation.status == Status.RUNNING
    with django_capture_on_commit_callbacks(execute=False):
        assert generations.generation_cancel(generation=generation)
    pipeline.generation_cancel_upstream(generation.pk)
    generation.refresh_from_db()
    assert generation.status == Status.CANCELED
    assert balance_get(org_a) == start
    assert SandboxTask.objects.get(upstream_id=generation.upstream_id).canceled_at is not None
    assert not generations.generation_cancel(generation=generation)  # already final


def test_bad_input_names_the_field_and_charges_nothing(org_a) -> None:
    start = balance_get(org_a)
    cases = [
        ({"prompt": ""}, "prompt", "required"),
        ({"prompt": "x" * 2001}, "prompt", "max_length"),
        ({"duration": 7}, "duration", "allowed_values"),
        ({"model": "hailuo-02", "resolution": "1080p", "duration": 10}, "duration", "resolution_duration"),
        ({"model": "hailuo-2.3-fast"}, "first_frame_image", "required"),
        ({"model": "hailuo-02-fast"}, "first_frame_image", "required"),
        ({"first_frame_image": png_data_url(250, 800)}, "first_frame_image", "dimensions"),
        ({"first_frame_image": png_data_url(1200, 400)}, "first_frame_image", "aspect_ratio"),
        ({"first_frame_image": "upl_doesnotexist"}, "first_frame_image", "not_found"),
        ({"first_frame_image": "http://127.0.0.1/frame.png"}, "first_frame_image", "scheme"),
    ]
    for params, field, rule in cases:
        body = {"prompt": "ok", **params}
        model = body.pop("model", "hailuo-02-fast")
        with pytest.raises(ParamError) as caught:
            generations.generation_create(organization=org_a, model=model, params=body)
        assert (caught.value.param, caught.value.rule) == (field, rule), params
        assert field in caught.value.message
    assert not Generation.objects.exists()
    assert balance_get(org_a) == start


def test_insufficient_credit_creates_nothing_and_is_recorded(org_a) -> None:
    from billing.models import InsufficientCreditRejection

    accepted = []
    with pytest.raises(InsufficientCredits) as caught:
        for _ in range(11):  # the $1.00 sign-up grant covers ten $0.10 runs
            accepted.append(create(org_a))
    assert len(accepted) == 10
    assert caught.value.available_micros == 0
    assert Generation.objects.count() == 10
    assert InsufficientCreditRejection.objects.filter(organization=org_a).count() == 1


def test_a_crash_during_submission_is_resubmitted_once_to_an_idempotent_provider(org_a) -> None:
    generation = create(org_a)
    pipeline.generation_submit(generation.pk)
    generation.refresh_from_db()
    # Simulate a worker that died after the provider accepted the job but before we recorded it.
    Generation.objects.filter(pk=generation.pk).update(
        status=Status.SUBMITTING, upstream_id="", next_poll_at=timezone.now() - timedelta(seconds=1)
    )
    for _ in range(3):
        sweep.poll_sweep()
        Generation.objects.filter(pk=generation.pk, status="running").update(next_poll_at=timezone.now())
    generation.refresh_from_db()
    assert generation.status == Status.SUCCEEDED
    assert SandboxTask.objects.count() == 1


def test_a_crash_during_submission_to_a_non_idempotent_provider_fails_unpaid(org_a, settings) -> None:
    settings.SEGMIND_API_KEY = "sk-test"
    start = balance_get(org_a)
    generation = create(org_a)
    Generation.objects.filter(pk=generation.pk).update(
        status=Status.SUBMITTING, provider="segmind", next_poll_at=timezone.now() - timedelta(seconds=1)
    )
    sweep.poll_sweep()
    generation.refresh_from_db()
    assert generation.status == Status.FAILED
    assert generation.failure_code == "submission_interrupted"
    assert balance_get(org_a) == start


def test_a_lost_submit_task_is_picked_up_by_the_sweep(org_a) -> None:
    generation = create(org_a)
    Generation.objects.filter(pk=generation.pk).update(next_poll_at=timezone.now())
    sweep.poll_sweep()
    generation.refresh_from_db()
    assert generation.status in (Status.RUNNING, Status.SUCCEEDED)


def test_disabled_routes_are_skipped(org_a) -> None:
    ProviderRoute.objects.filter(model="hailuo-02-fast", provider__name="sandbox").update(enabled=False)
    generation = run_to_end(create(org_a))
    assert generation.status == Status.FAILED
    assert generation.failure_code == "no_provider_available"


def test_a_crash_before_any_provider_was_called_resubmits(org_a, settings) -> None:
    settings.SEGMIND_API_KEY = ""
    generation = create(org_a)
    Generation.objects.filter(pk=generation.pk).update(
        status=Status.SUBMITTING, provider="", next_poll_at=timezone.now() - timedelta(seconds=1)
    )
    for _ in range(3):
        sweep.poll_sweep()
        Generation.objects.filter(pk=generation.pk, status="running").update(next_poll_at=timezone.now())
    generation.refresh_from_db()
    assert generation.status == Status.SUCCEEDED


def test_an_active_job_cannot_be_retried(org_a) -> None:
    generation = create(org_a, prompt="sandbox:hang")
    with pytest.raises(generations.RetryError):
        generations.generation_retry(generation=generation, provider="sandbox")
    assert Generation.objects.count() == 1
