"""Hailuo 2.3 (not fast): in the catalog, priced, and run on the routes providers publish for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from billing.models import PriceRule
from billing.selectors import balance_get
from core.errors import ParamError
from tests.videogen.test_pipeline import png_data_url
from tests.videogen.test_provider_pipeline import create, only, sweep_until_final
from videogen import catalog
from videogen.media import probe_video
from videogen.models import Generation, ProviderRoute, Status
from videogen.services import generations

pytestmark = pytest.mark.django_db

PRICE_6S_768P = 400_000


def test_the_catalog_offers_hailuo_23_from_text_or_a_first_frame_as_minimax_publishes_it() -> None:
    spec = catalog.model_get("hailuo-2.3")
    assert spec.first_frame == "optional"
    assert {(v.duration, v.resolution) for v in spec.variants()} == {(6, "768p"), (10, "768p"), (6, "1080p")}
    assert "last_frame_image" not in spec.describe()


@pytest.mark.parametrize(
    ("params", "field", "rule"),
    [
        ({"resolution": "1080p", "duration": 10}, "duration", "resolution_duration"),
        ({"resolution": "512p"}, "resolution", "allowed_values"),
        (
            {"first_frame_image": png_data_url(), "last_frame_image": png_data_url()},
            "last_frame_image",
            "not_supported",
        ),
    ],
)
def test_what_hailuo_23_does_not_render_is_refused_naming_the_field(
    org_a: Any, params: dict[str, Any], field: str, rule: str
) -> None:
    start = balance_get(org_a)
    with pytest.raises(ParamError) as refused:
        generations.generation_create(organization=org_a, model="hailuo-2.3", params={"prompt": "a kite", **params})
    assert (refused.value.param, refused.value.rule) == (field, rule)
    assert balance_get(org_a) == start


def test_every_variant_is_priced_above_every_routes_cost() -> None:
    prices = {(r.duration, r.resolution): r.price_micros for r in PriceRule.objects.filter(model="hailuo-2.3")}
    assert prices == {(6, "768p"): 400_000, (10, "768p"): 780_000, (6, "1080p"): 690_000}
    routes = ProviderRoute.objects.filter(model="hailuo-2.3").select_related("provider").order_by("priority")
    assert [r.provider.name for r in routes] == ["minimax", "aimlapi", "atlascloud", "sandbox"]
    costs = {r.provider.name: r.upstream_cost_micros for r in routes}
    assert costs["atlascloud"] == 280_000  # Atlas's published price for minimax/hailuo-2.3/i2v-standard
    assert all(cost is None or cost < min(prices.values()) for cost in costs.values())


@pytest.mark.parametrize(
    ("provider", "params", "upstream_model"),
    [
        ("minimax", {}, "MiniMax-Hailuo-2.3"),
        ("aimlapi", {}, "minimax/hailuo-2.3"),
        ("atlascloud", {"first_frame_image": "frame"}, "minimax/hailuo-2.3/i2v-standard"),
    ],
)
def test_hailuo_23_runs_on_each_route_that_publishes_it_and_is_charged_once(
    request: pytest.FixtureRequest,
    settings: Any,
    org_a: Any,
    provider: str,
    params: dict[str, Any],
    upstream_model: str,
) -> None:
    emulator = request.getfixturevalue(f"{provider}_emulator")
    emulator.store.polls_to_complete = 1
    only(settings, "hailuo-2.3", (provider, emulator))
    if params.get("first_frame_image"):
        params = {**params, "first_frame_image": png_data_url()}
    start = balance_get(org_a)

    generation, _ = sweep_until_final(create(org_a, "hailuo-2.3", **params))

    assert (generation.status, generation.provider) == (Status.SUCCEEDED, provider), generation.failure_message
    [job] = emulator.store.jobs()
    assert job.params["model"] == upstream_model
    assert balance_get(org_a).balance_micros == start.balance_micros - PRICE_6S_768P


def test_a_text_only_request_skips_atlas_image_to_video_route(
    settings: Any, org_a: Any, atlascloud_emulator: Any, minimax_emulator: Any
) -> None:
    only(settings, "hailuo-2.3", ("atlascloud", atlascloud_emulator), ("minimax", minimax_emulator))

    generation, _ = sweep_until_final(create(org_a, "hailuo-2.3"))

    assert (generation.status, generation.provider) == (Status.SUCCEEDED, "minimax"), generation.failure_message
    assert not atlascloud_emulator.store.jobs()


def test_the_sandbox_renders_hailuo_23_from_text(settings: Any, org_a: Any) -> None:
    settings.SANDBOX_ENABLED = True
    settings.SANDBOX_LATENCY_SECONDS = 0
    for name in ("MINIMAX_API_KEY", "AIMLAPI_API_KEY", "ATLASCLOUD_API_KEY"):
        setattr(settings, name, "")

    generation, _ = sweep_until_final(create(org_a, "hailuo-2.3", resolution="1080p"))

    assert (generation.status, generation.provider) == (Status.SUCCEEDED, "sandbox"), generation.failure_message
    info = probe_video(Path(generation.video.path))
    assert info.height == 1080 and abs(info.duration_s - 6) < 0.1
    assert Generation.objects.get(pk=generation.pk).price_micros == 690_000
