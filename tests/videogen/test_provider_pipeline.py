"""Each provider's documented behaviour, end to end through our pipeline over its loopback emulator.

A job is created as a customer would, submitted and swept; the emulators
enforce what the providers publish (tests/emulators/*), so these tests show
what a customer would see when a provider answers as documented.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from billing.selectors import balance_get
from core.errors import ParamError
from tests.compat.conftest import FrameServer, fund
from tests.emulators.base import Fault, ProviderEmulator
from tests.emulators.fixtures import EMULATOR_API_KEY
from tests.videogen.test_pipeline import png_data_url
from videogen.models import Generation, Provider, ProviderCall, ProviderRoute, Status
from videogen.services import generations, pipeline, sweep
from videogen.services import providers as provider_services

pytestmark = pytest.mark.django_db

SETTINGS = {
    "minimax": ("MINIMAX_API_KEY", "MINIMAX_BASE_URL"),
    "segmind": ("SEGMIND_API_KEY", "SEGMIND_BASE_URL"),
    "aimlapi": ("AIMLAPI_API_KEY", "AIMLAPI_BASE_URL"),
    "atlascloud": ("ATLASCLOUD_API_KEY", "ATLASCLOUD_BASE_URL"),
}


def only(settings: Any, model: str, *providers: tuple[str, ProviderEmulator]) -> None:
    """Run `model` on these providers, in this order, and nothing else (no sandbox)."""
    settings.SANDBOX_ENABLED = False
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.PUBLIC_BASE_URL = "https://videos.example"
    ProviderRoute.objects.filter(model=model).update(enabled=False)
    for priority, (name, emulator) in enumerate(providers, start=1):
        key, url = SETTINGS[name]
        setattr(settings, key, EMULATOR_API_KEY)
        setattr(settings, url, emulator.base_url)
        provider = Provider.objects.get(name=name)
        ProviderRoute.objects.update_or_create(
            model=model, provider=provider, defaults={"enabled": True, "priority": priority}
        )


def create(org: Any, model: str, **params: Any) -> Generation:
    body = {"prompt": "a harbour at dawn", "duration": 6, **params}
    return generations.generation_create(organization=org, model=model, params=body)


def sweep_until_final(generation: Generation, sweeps: int = 8) -> tuple[Generation, int]:
    """Submit, then sweep with every job due at once; returns the job and the polls it took."""
    pipeline.generation_submit(generation.pk)
    used = 0
    for used in range(1, sweeps + 1):
        generation.refresh_from_db()
        if generation.is_final:
            return generation, used - 1
        Generation.objects.filter(pk=generation.pk, status__in=["queued", "running"]).update(
            next_poll_at=timezone.now()
        )
        sweep.poll_sweep()
    generation.refresh_from_db()
    return generation, used


# --- each documented failure ends our job failed, unpaid, within two polls -----------------------


@pytest.mark.parametrize(
    ("provider", "model", "params"),
    [
        ("aimlapi", "hailuo-02", {}),
        ("minimax", "hailuo-02", {}),
        ("segmind", "hailuo-02-fast", {"first_frame_image": "frame"}),
        # 10 s: Atlas's $0.10 a run is the whole price of a 6 s clip, so 6 s never runs there.
        ("atlascloud", "hailuo-02-fast", {"first_frame_image": "frame", "duration": 10}),
    ],
)
def test_each_providers_documented_failure_fails_the_job_unpaid_within_two_polls(
    request: pytest.FixtureRequest, settings: Any, org_a: Any, provider: str, model: str, params: dict[str, Any]
) -> None:
    emulator = request.getfixturevalue(f"{provider}_emulator")
    emulator.store.polls_to_complete = 1
    only(settings, model, (provider, emulator))
    emulator.inject(Fault.JOB_FAILED, on="submit", message="The render crashed upstream.")
    if params.get("first_frame_image"):
        params = {**params, "first_frame_image": png_data_url()}
    start = balance_get(org_a)

    generation, polls = sweep_until_final(create(org_a, model, **params))

    assert generation.status == Status.FAILED
    assert generation.provider == provider
    assert polls <= 2
    assert "crashed" in generation.failure_message
    assert balance_get(org_a) == start


# --- MiniMax --------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [2045, 1002, 1041])
def test_a_minimax_rate_limit_on_submission_keeps_the_job_queued_until_minimax_accepts(
    settings: Any, org_a: Any, minimax_emulator: Any, code: int
) -> None:
    only(settings, "hailuo-02", ("minimax", minimax_emulator))
    minimax_emulator.inject(Fault.ERROR_IN_200, on="submit", times=1, code=code, message="rate limit")
    start = balance_get(org_a)
    generation = create(org_a, "hailuo-02")

    pipeline.generation_submit(generation.pk)

    generation.refresh_from_db()
    assert generation.status == Status.QUEUED
    assert generation.next_poll_at > timezone.now()  # not before the rate limit has passed
    assert not minimax_emulator.store.jobs()

    generation, _ = sweep_until_final(generation)
    assert generation.status == Status.SUCCEEDED, generation.failure_message
    assert len(minimax_emulator.store.jobs()) == 1
    assert balance_get(org_a).balance_micros == start.balance_micros - generation.price_micros


def test_minimax_bad_input_fails_now_without_trying_another_route(
    settings: Any, org_a: Any, minimax_emulator: Any, aimlapi_emulator: Any
) -> None:
    only(settings, "hailuo-02", ("minimax", minimax_emulator), ("aimlapi", aimlapi_emulator))
    minimax_emulator.inject(Fault.ERROR_IN_200, on="submit", code=1042, message="invisible characters")

    generation, _ = sweep_until_final(create(org_a, "hailuo-02"))

    assert (generation.status, generation.provider) == (Status.FAILED, "minimax")
    assert not aimlapi_emulator.store.jobs()


def test_an_unknown_minimax_status_fails_the_job_after_a_few_polls_not_at_the_deadline(
    settings: Any, org_a: Any, minimax_emulator: Any
) -> None:
    only(settings, "hailuo-02", ("minimax", minimax_emulator))
    minimax_emulator.status_override = "Paused"
    start = balance_get(org_a)

    generation, polls = sweep_until_final(create(org_a, "hailuo-02"), sweeps=10)

    assert (generation.status, generation.failure_code) == (Status.FAILED, "upstream_unknown_status")
    assert polls == pipeline.MAX_UNKNOWN_STATUS_POLLS
    assert balance_get(org_a) == start


def test_minimaxs_backup_link_is_used_when_the_first_one_fails(
    settings: Any, org_a: Any, minimax_emulator: Any
) -> None:
    only(settings, "hailuo-02", ("minimax", minimax_emulator))
    minimax_emulator.broken_primary_link = True

    generation, _ = sweep_until_final(create(org_a, "hailuo-02"))

    assert generation.status == Status.SUCCEEDED, generation.failure_message
    downloads = [r.path for r in minimax_emulator.requests if r.path.endswith(".mp4")]
    assert downloads[0].startswith("/expired/") and downloads[-1].startswith("/files/")


def test_minimax_hailuo_2_can_run_on_minimax_as_hailuo_02(settings: Any, org_a: Any, minimax_emulator: Any) -> None:
    only(settings, "minimax-hailuo-2", ("minimax", minimax_emulator))

    generation, _ = sweep_until_final(create(org_a, "minimax-hailuo-2", mode="pro"))

    assert (generation.status, generation.provider) == (Status.SUCCEEDED, "minimax")
    [job] = minimax_emulator.store.jobs()
    assert (job.params["model"], job.params["resolution"]) == ("MiniMax-Hailuo-02", "1080P")


def test_the_default_routes_include_minimax_for_minimax_hailuo_2() -> None:
    names = list(
        ProviderRoute.objects.filter(model="minimax-hailuo-2")
        .order_by("priority")
        .values_list("provider__name", flat=True)
    )
    assert names[:2] == ["segmind", "minimax"]


# --- last frames -------------------------------------------------------------------------------------


def test_a_last_frame_at_512p_skips_minimax_and_reaches_segmind_under_its_name(
    settings: Any, org_a: Any, minimax_emulator: Any, segmind_emulator: Any
) -> None:
    only(settings, "hailuo-02-fast", ("minimax", minimax_emulator), ("segmind", segmind_emulator))

    generation, _ = sweep_until_final(
        create(org_a, "hailuo-02-fast", first_frame_image=png_data_url(), last_frame_image=png_data_url(480, 640))
    )

    assert (generation.status, generation.provider) == (Status.SUCCEEDED, "segmind")
    assert not minimax_emulator.requests
    [job] = segmind_emulator.store.jobs()
    assert job.params["last_frame_image"].startswith("https://videos.example/files/")
    assert job.params["first_frame_image"].startswith("https://videos.example/files/")


def test_a_last_frame_reaches_minimax_when_it_can_take_it(settings: Any, org_a: Any, minimax_emulator: Any) -> None:
    only(settings, "hailuo-02", ("minimax", minimax_emulator))

    generation, _ = sweep_until_final(
        create(org_a, "hailuo-02", first_frame_image=png_data_url(), last_frame_image=png_data_url(480, 640))
    )

    assert generation.status == Status.SUCCEEDED, generation.failure_message
    [job] = minimax_emulator.store.jobs()
    assert job.params["last_frame_image"].startswith("data:image/png;base64,")  # MiniMax documents data URLs


def test_a_last_frame_without_a_first_frame_is_refused_naming_the_field(org_a: Any) -> None:
    with pytest.raises(ParamError) as caught:
        create(org_a, "hailuo-02", last_frame_image=png_data_url())

    assert caught.value.param == "last_frame_image"
    assert not Generation.objects.exists()


def test_a_request_no_route_can_run_is_refused_at_submission_naming_the_field(
    settings: Any, org_a: Any, minimax_emulator: Any, atlascloud_emulator: Any
) -> None:
    only(settings, "hailuo-02-fast", ("minimax", minimax_emulator), ("atlascloud", atlascloud_emulator))
    start = balance_get(org_a)

    with pytest.raises(ParamError) as last_frame:
        create(org_a, "hailuo-02-fast", first_frame_image=png_data_url(), last_frame_image=png_data_url())
    with pytest.raises(ParamError) as no_first_frame:
        create(org_a, "hailuo-02-fast")

    assert last_frame.value.param == "last_frame_image"
    assert no_first_frame.value.param == "first_frame_image"
    assert "no provider" in last_frame.value.message
    assert not Generation.objects.exists()
    assert balance_get(org_a) == start


# --- routes --------------------------------------------------------------------------------------------


def test_a_404_for_one_model_rests_that_route_not_the_provider(
    settings: Any, org_a: Any, segmind_emulator: Any, minimax_emulator: Any
) -> None:
    only(settings, "hailuo-02-fast", ("segmind", segmind_emulator), ("minimax", minimax_emulator))
    segmind_emulator.inject(Fault.NOT_FOUND, on="submit", times=1, message="Model hailuo-02-fast not found")

    first, _ = sweep_until_final(create(org_a, "hailuo-02-fast", first_frame_image=png_data_url()))

    assert (first.status, first.provider) == (Status.SUCCEEDED, "minimax")
    assert Provider.objects.get(name="segmind").healthy
    route = ProviderRoute.objects.select_related("provider").get(model="hailuo-02-fast", provider__name="segmind")
    assert not provider_services.route_usable(route)
    # The provider's other models still run there.
    only(settings, "minimax-hailuo-2", ("segmind", segmind_emulator))
    other, _ = sweep_until_final(create(org_a, "minimax-hailuo-2"))
    assert (other.status, other.provider) == (Status.SUCCEEDED, "segmind")
    # And the next hailuo-02-fast job does not knock on the rested route.
    posts = sum(1 for r in segmind_emulator.requests if r.path == "/v2/hailuo-02-fast")
    second, _ = sweep_until_final(create(org_a, "hailuo-02-fast", first_frame_image=png_data_url()))
    assert second.provider == "minimax"
    assert sum(1 for r in segmind_emulator.requests if r.path == "/v2/hailuo-02-fast") == posts
    assert ProviderCall.objects.filter(generation=first, error_code="model_not_found").exists()


# --- a migrating AIML client, end to end ------------------------------------------------------------


@pytest.fixture
def frames(settings: Any) -> Any:
    server = FrameServer()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_an_aiml_client_on_the_universal_path_gets_its_video_and_its_last_frame_reaches_aiml(
    client: Client, settings: Any, org_a: Any, api_key_a: tuple, aimlapi_emulator: Any, frames: Any
) -> None:
    only(settings, "hailuo-02", ("aimlapi", aimlapi_emulator))
    fund(org_a)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key_a[1]}"}
    body = {
        "model": "minimax/hailuo-02",
        "prompt": "Mona Lisa puts on glasses with her hands.",
        "image_url": frames.first,
        "last_image_url": frames.last,
        "duration": 6,
        "resolution": "768P",
    }

    created = client.post("/v2/video/generations", body, content_type="application/json", **auth)
    assert created.status_code == 200
    generation_id = created.json()["id"]
    generation, _ = sweep_until_final(Generation.objects.get(public_id=generation_id))
    done = client.get("/v2/video/generations", {"generation_id": generation_id}, **auth).json()

    assert (done["status"], done["error"]) == ("completed", None)
    assert "/files/" in done["video"]["url"]
    assert generation.provider == "aimlapi"
    [job] = aimlapi_emulator.store.jobs()
    assert job.params["schema"] == "universal"
    # Our stored copies of the customer's frames, by signed https link.
    assert job.params["image_url"].startswith("https://videos.example/files/")
    assert job.params["last_image_url"].startswith("https://videos.example/files/")
    assert job.params["image_url"] != job.params["last_image_url"]


# --- our own submission throttle per provider account ---------------------------------------------------


def test_past_the_accounts_submissions_per_minute_jobs_wait_queued_not_failed(
    settings: Any, org_a: Any, minimax_emulator: Any
) -> None:
    only(settings, "hailuo-02", ("minimax", minimax_emulator))
    settings.MINIMAX_SUBMITS_PER_MINUTE = 2
    jobs = [create(org_a, "hailuo-02") for _ in range(3)]

    for job in jobs:
        pipeline.generation_submit(job.pk)

    statuses = [Generation.objects.get(pk=job.pk).status for job in jobs]
    assert statuses == [Status.RUNNING, Status.RUNNING, Status.QUEUED]
    assert len(minimax_emulator.store.jobs()) == 2
    waiting = Generation.objects.get(pk=jobs[2].pk)
    assert timezone.now() < waiting.next_poll_at <= timezone.now() + timedelta(seconds=61)
    assert waiting.failure_code == ""


def test_the_throttle_counts_per_minute_and_per_provider(settings: Any, db: None) -> None:
    settings.MINIMAX_SUBMITS_PER_MINUTE = 2
    settings.SEGMIND_SUBMITS_PER_MINUTE = 0
    minute = 1_800_000_000.0  # a whole minute, explicitly

    taken = [provider_services.provider_submit_slot("minimax", now=minute + 10) for _ in range(3)]

    assert taken[:2] == [None, None]
    assert taken[2] == 50.0  # seconds until the next minute
    assert provider_services.provider_submit_slot("minimax", now=minute + 60) is None
    assert all(provider_services.provider_submit_slot("segmind", now=minute) is None for _ in range(50))


# --- money per route -----------------------------------------------------------------------------------


def test_a_route_that_costs_as_much_as_the_price_is_never_used(
    settings: Any, org_a: Any, atlascloud_emulator: Any, segmind_emulator: Any
) -> None:
    only(settings, "hailuo-02-fast", ("atlascloud", atlascloud_emulator), ("segmind", segmind_emulator))
    ProviderRoute.objects.filter(model="hailuo-02-fast", provider__name="atlascloud").update(
        upstream_cost_micros=100_000  # Atlas's published $0.10 a run
    )

    six, _ = sweep_until_final(create(org_a, "hailuo-02-fast", first_frame_image=png_data_url()))  # sells at $0.10
    ten, _ = sweep_until_final(create(org_a, "hailuo-02-fast", duration=10, first_frame_image=png_data_url()))

    assert (six.status, six.provider) == (Status.SUCCEEDED, "segmind")
    assert (ten.status, ten.provider, ten.upstream_cost_micros) == (Status.SUCCEEDED, "atlascloud", 100_000)


def test_a_request_only_loss_making_routes_could_run_is_refused_when_made(
    settings: Any, org_a: Any, atlascloud_emulator: Any
) -> None:
    only(settings, "hailuo-02-fast", ("atlascloud", atlascloud_emulator))
    ProviderRoute.objects.filter(model="hailuo-02-fast", provider__name="atlascloud").update(
        upstream_cost_micros=100_000
    )

    with pytest.raises(ParamError) as caught:
        create(org_a, "hailuo-02-fast", first_frame_image=png_data_url())

    assert "price" in caught.value.message
    assert not Generation.objects.exists()


def test_atlas_fast_route_carries_its_published_cost() -> None:
    route = ProviderRoute.objects.get(model="hailuo-02-fast", provider__name="atlascloud")
    assert route.upstream_cost_micros == 100_000
