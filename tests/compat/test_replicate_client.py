"""Replicate's official Python package (replicate 1.0.7), unmodified, pointed at a live server, gets its videos.

The package takes its host from `Client(base_url=...)` or `REPLICATE_BASE_URL`
and adds Replicate's `/v1/...` paths itself, so the base URL is the bare host.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import replicate
from replicate.exceptions import ReplicateError

from accounts import services as account_services
from accounts.models import Membership
from billing import services as billing_services
from billing.selectors import balance_get, ledger_list
from tests.compat.conftest import LIVE, download
from videogen.compat.replicate import VERSIONS
from videogen.media import probe_video
from videogen.models import Generation, Source, Status

pytestmark = LIVE


@pytest.fixture
def make_client(live: str) -> Iterator[Callable[[str], replicate.Client]]:
    """Package clients on our host; closed at the end so the live server's keep-alive threads end too."""
    made: list[replicate.Client] = []

    def make(key: str) -> replicate.Client:
        made.append(replicate.Client(api_token=key, base_url=live))
        return made[-1]

    yield make
    for client in made:
        client._client.close()


@pytest.fixture
def client(make_client: Callable[[str], replicate.Client], key_a: str) -> replicate.Client:
    return make_client(key_a)


def test_run_returns_the_video_of_the_requested_length(client: replicate.Client, org_a, tmp_path: Path) -> None:
    before = balance_get(org_a).balance_micros
    output = client.run(
        "minimax/hailuo-02", input={"prompt": "a paper boat on a pond", "duration": 6, "resolution": "768p"}
    )

    # Replicate's https links come back as FileOutput; our test server speaks http, so the link comes as it is.
    info = probe_video(download(str(output), tmp_path))
    assert abs(info.duration_s - 6) < 0.1
    assert info.height == 768
    generation = Generation.objects.get(organization=org_a)
    assert (generation.source, generation.model, generation.status) == (Source.REPLICATE, "hailuo-02", "succeeded")
    assert balance_get(org_a).balance_micros == before - generation.price_micros


def test_the_environment_variables_alone_point_a_client_at_us(
    live: str, key_a: str, frames, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("REPLICATE_BASE_URL", live)
    monkeypatch.setenv("REPLICATE_API_TOKEN", key_a)
    fresh = replicate.Client()  # no arguments, like the module-level `replicate.run`'s client

    output = fresh.run(
        "minimax/hailuo-2.3-fast", input={"prompt": "steam over tea", "first_frame_image": frames.first, "duration": 10}
    )
    fresh._client.close()

    assert abs(probe_video(download(str(output), tmp_path)).duration_s - 10) < 0.1


def test_create_then_wait_succeeds_with_urls_and_metrics(client: replicate.Client, live: str, frames) -> None:
    prediction = client.predictions.create(
        model="minimax/hailuo-02-fast",
        input={"prompt": "a lighthouse at dusk", "first_frame_image": frames.first, "duration": 6},
    )
    assert prediction.status == "starting"
    assert prediction.model == "minimax/hailuo-02-fast"
    assert prediction.version == VERSIONS["hailuo-02-fast"]
    assert prediction.urls == {
        "get": f"{live}/v1/predictions/{prediction.id}",
        "cancel": f"{live}/v1/predictions/{prediction.id}/cancel",
    }

    prediction.wait()

    assert prediction.status == "succeeded"
    assert prediction.error is None
    assert prediction.output.startswith(f"{live}/files/")
    assert prediction.metrics["predict_time"] >= 0
    assert prediction.completed_at is not None
    assert prediction.input.pop("first_frame_image").startswith("upl_")  # the frame as the upload we keep it under
    assert prediction.input == {
        "prompt": "a lighthouse at dusk",
        "duration": 6,
        "resolution": "512p",
        "prompt_optimizer": True,
        "go_fast": False,
    }


def test_a_wait_that_runs_out_reads_starting_so_run_polls_on(client: replicate.Client, org_a) -> None:
    prediction = client.predictions.create(model="minimax/hailuo-02", input={"prompt": "sandbox:hang a storm"}, wait=1)

    # Whether the job is still queued or already running upstream, run() goes on polling only from "starting".
    assert prediction.status == "starting"
    assert prediction.output is None
    for _ in range(100):
        if Generation.objects.get(public_id=prediction.id).status == Status.RUNNING:
            break
        time.sleep(0.1)
    assert client.predictions.get(prediction.id).status == "processing"  # a plain read tells it as it is
    client.predictions.cancel(prediction.id)


def test_insufficient_credit_raises_the_packages_error_and_charges_nothing(
    client: replicate.Client, org_a, alice
) -> None:
    available = balance_get(org_a).available_micros
    billing_services.credits_adjust(
        organization=org_a, amount_micros=-available + 50_000, reason="test", staff_user=alice
    )
    before = balance_get(org_a)
    entries = ledger_list(org_a).count()

    with pytest.raises(ReplicateError) as refused:
        client.run("minimax/hailuo-02", input={"prompt": "a red kite", "resolution": "768p"})

    assert refused.value.status == 402
    assert refused.value.title == "Insufficient credit"
    assert "credit" in refused.value.detail
    assert not Generation.objects.filter(organization=org_a).exists()
    assert balance_get(org_a) == before
    assert ledger_list(org_a).count() == entries


def test_a_canceled_prediction_ends_canceled_and_costs_nothing(client: replicate.Client, org_a) -> None:
    before = balance_get(org_a)
    prediction = client.predictions.create(model="minimax/hailuo-02", input={"prompt": "sandbox:hang forever"})
    assert balance_get(org_a).held_micros > 0

    prediction.cancel()

    assert prediction.status == "canceled"
    assert prediction.output is None
    prediction.wait()  # already final: returns at once
    assert client.predictions.get(prediction.id).status == "canceled"
    assert Generation.objects.get(public_id=prediction.id).status == Status.CANCELED
    assert balance_get(org_a) == before
    assert not ledger_list(org_a).filter(kind="capture").exists()


def test_another_organizations_prediction_is_not_found_through_the_client_and_over_http(
    make_client: Callable[[str], replicate.Client], client: replicate.Client, live: str, carol
) -> None:
    prediction = client.predictions.create(model="minimax/hailuo-02", input={"prompt": "sandbox:hang a secret"})
    org_b = Membership.objects.get(user=carol).organization
    _, carols_key = account_services.api_key_create(organization=org_b, name="carol's key", created_by=carol)
    carols_client = make_client(carols_key)

    with pytest.raises(ReplicateError) as hidden:
        carols_client.predictions.get(prediction.id)
    assert hidden.value.status == 404
    with pytest.raises(ReplicateError) as not_cancelable:
        carols_client.predictions.cancel(prediction.id)
    assert not_cancelable.value.status == 404
    assert prediction.id not in [p.id for p in carols_client.predictions.list()]

    over_http = httpx.get(f"{live}/v1/predictions/{prediction.id}", headers={"Authorization": f"Token {carols_key}"})
    assert over_http.status_code == 404
    assert over_http.headers["content-type"] == "application/problem+json"
    assert Generation.objects.get(public_id=prediction.id).status != Status.CANCELED
    client.predictions.cancel(prediction.id)


def test_a_wrong_key_is_refused_with_401(make_client: Callable[[str], replicate.Client]) -> None:
    with pytest.raises(ReplicateError) as refused:
        make_client("r8_not-a-key").predictions.list()
    assert refused.value.status == 401


def test_stream_is_refused_before_any_job_exists(client: replicate.Client, org_a) -> None:
    before = balance_get(org_a)

    with pytest.raises(ReplicateError) as refused:
        list(client.stream("minimax/hailuo-02", input={"prompt": "a red kite"}))

    assert refused.value.status == 422
    assert "stream" in refused.value.detail
    assert not Generation.objects.filter(organization=org_a).exists()
    assert balance_get(org_a) == before


def test_models_get_carries_the_input_schema_and_its_version_runs(client: replicate.Client, tmp_path: Path) -> None:
    model = client.models.get("minimax/hailuo-02")

    assert (model.owner, model.name, model.visibility) == ("minimax", "hailuo-02", "public")
    schema = model.latest_version.openapi_schema["components"]["schemas"]["Input"]
    assert schema["properties"]["resolution"]["enum"] == ["768p", "1080p"]
    assert schema["properties"]["resolution"]["default"] == "1080p"
    assert schema["properties"]["duration"]["enum"] == [6, 10]
    assert {"prompt", "first_frame_image", "last_frame_image", "prompt_optimizer"} <= set(schema["properties"])
    assert "required" not in schema  # hailuo-02 also renders from a prompt alone
    for animates_a_frame in ("minimax/hailuo-02-fast", "minimax/hailuo-2.3-fast"):
        version = client.models.get(animates_a_frame).latest_version
        assert version.openapi_schema["components"]["schemas"]["Input"]["required"] == ["first_frame_image"]

    # "owner/name:version", as copied from a model page, runs through POST /v1/predictions and the version route.
    output = client.run(f"minimax/hailuo-02:{model.latest_version.id}", input={"prompt": "dawn", "resolution": "768p"})
    assert abs(probe_video(download(str(output), tmp_path)).duration_s - 6) < 0.1

    with pytest.raises(ReplicateError) as unknown:
        client.models.get("minimax/hailuo-2.3")
    assert unknown.value.status == 404


def test_a_failed_prediction_raises_model_error_and_costs_nothing(client: replicate.Client, org_a) -> None:
    before = balance_get(org_a)

    with pytest.raises(replicate.exceptions.ModelError) as failed:
        client.run("minimax/hailuo-02", input={"prompt": "sandbox:fail this one", "resolution": "768p"})

    assert failed.value.prediction.status == "failed"
    assert "content policy" in failed.value.prediction.error
    assert balance_get(org_a) == before
