"""The Atlas Cloud adapter against a loopback emulator of its model API."""

from __future__ import annotations

import base64
import io
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.emulators.atlascloud import AtlasCloudEmulator
from tests.emulators.base import Fault, blackhole_port, refused_port
from tests.emulators.helpers import EMULATOR_API_KEY, HTTP_FAULT_CASES, exchanges_text, poll_until_final
from videogen.providers.atlascloud import AtlasCloudAdapter
from videogen.providers.base import ErrorKind, ProviderError, SubmitRequest, UpstreamStatus

pytest_plugins = ["tests.emulators.fixtures"]


def adapter_for(base_url: str, client: httpx.Client, api_key: str = EMULATOR_API_KEY) -> AtlasCloudAdapter:
    return AtlasCloudAdapter(client=client, api_key=api_key, base_url=base_url)


@pytest.fixture
def adapter(atlascloud_emulator: AtlasCloudEmulator, provider_http: httpx.Client) -> AtlasCloudAdapter:
    return adapter_for(atlascloud_emulator.base_url, provider_http)


FRAME = "https://img.example.com/first.png"


def generation(model: str = "hailuo-02-fast", **params: Any) -> SubmitRequest:
    defaults: dict[str, Any] = {
        "prompt": "A sunset over the ocean",
        "duration": 6,
        "resolution": "512p",
        "first_frame_image": FRAME,
    }
    return SubmitRequest(model=model, params={**defaults, **params}, idempotency_key="gen_4")


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 480), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("done_status", ["completed", "succeeded"])
def test_it_generates_a_video_and_downloads_the_served_mp4(
    atlascloud_emulator: AtlasCloudEmulator,
    adapter: AtlasCloudAdapter,
    provider_http: httpx.Client,
    mp4_bytes: bytes,
    done_status: str,
) -> None:
    atlascloud_emulator.done_status = done_status
    submitted = adapter.submit(generation(duration=10))
    assert submitted.status == UpstreamStatus.QUEUED

    polls = poll_until_final(adapter, submitted.upstream_id)
    assert [p.status for p in polls] == [UpstreamStatus.RUNNING, UpstreamStatus.RUNNING, UpstreamStatus.SUCCEEDED]

    assert provider_http.get(adapter.result_url(polls[-1])).content == mp4_bytes
    [job] = atlascloud_emulator.store.jobs()
    assert (job.params["model"], job.params["duration"]) == ("minimax/hailuo-02/fast", 10)
    everything = exchanges_text([*submitted.exchanges, *[e for p in polls for e in p.exchanges]])
    assert EMULATOR_API_KEY not in everything


@pytest.mark.parametrize(
    ("model", "resolution", "atlas_model"),
    [
        ("hailuo-02", "768p", "minimax/hailuo-02/standard"),
        ("hailuo-02-fast", "512p", "minimax/hailuo-02/fast"),
    ],
)
def test_each_model_and_resolution_maps_to_an_atlas_model(
    atlascloud_emulator: AtlasCloudEmulator, adapter: AtlasCloudAdapter, model: str, resolution: str, atlas_model: str
) -> None:
    adapter.submit(generation(model, resolution=resolution, first_frame_image="https://img.example.com/a.png"))

    [job] = atlascloud_emulator.store.jobs()
    assert (job.params["model"], job.params["image"]) == (atlas_model, "https://img.example.com/a.png")


def test_an_inline_first_frame_is_uploaded_then_passed_by_url(
    atlascloud_emulator: AtlasCloudEmulator, adapter: AtlasCloudAdapter, provider_http: httpx.Client
) -> None:
    image = png_bytes()
    data_url = "data:image/png;base64," + base64.b64encode(image).decode()

    result = adapter.submit(generation(first_frame_image=data_url))

    [job] = atlascloud_emulator.store.jobs()
    assert provider_http.get(job.params["image"]).content == image
    assert [e.url.rsplit("/", 1)[-1] for e in result.exchanges] == ["uploadMedia", "generateVideo"]
    assert "base64" not in exchanges_text(result.exchanges)


def test_upload_media_returns_a_url_serving_the_file(adapter: AtlasCloudAdapter, provider_http: httpx.Client) -> None:
    image = png_bytes()

    url = adapter.upload_media(image, "frame.png", "image/png")

    answer = provider_http.get(url)
    assert (answer.content, answer.headers["content-type"]) == (image, "image/png")


@pytest.mark.parametrize(
    ("model", "params", "code"),
    [
        ("minimax-hailuo-2", {}, "unsupported_model"),
        ("hailuo-02-fast", {"resolution": "1080p"}, "unsupported_params"),
        # Unconfirmed Atlas ids are not guessed: minimax/hailuo-02/pro, minimax/hailuo-2.3/fast.
        ("hailuo-02", {"resolution": "1080p"}, "unsupported_params"),
        ("hailuo-2.3-fast", {"resolution": "768p"}, "unsupported_model"),
        ("hailuo-02-fast", {"first_frame_image": None}, "missing_first_frame"),
        ("hailuo-02-fast", {"last_frame_image": "https://img.example.com/last.png"}, "unsupported_params"),
        ("hailuo-02-fast", {"first_frame_image": "data:image/png;base64,%%%"}, "invalid_request"),
    ],
)
def test_it_refuses_what_atlas_cannot_render_without_calling_it(
    atlascloud_emulator: AtlasCloudEmulator,
    adapter: AtlasCloudAdapter,
    model: str,
    params: dict[str, Any],
    code: str,
) -> None:
    with pytest.raises(ProviderError) as caught:
        adapter.submit(generation(model, **params))

    assert (caught.value.kind, caught.value.code) == (ErrorKind.PERMANENT, code)
    assert not atlascloud_emulator.requests


def test_fast_takes_its_image_go_fast_and_an_optional_prompt(
    atlascloud_emulator: AtlasCloudEmulator, adapter: AtlasCloudAdapter
) -> None:
    adapter.submit(generation(prompt="", go_fast=True))

    [job] = atlascloud_emulator.store.jobs()
    assert (job.params["image"], job.params["go_fast"]) == (FRAME, True)
    assert "prompt" not in job.params


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"model": "minimax/hailuo-02/pro", "prompt": "p"}, 404, "not found"),
        ({"model": "minimax/hailuo-2.3/fast", "image": FRAME}, 404, "not found"),
        ({"model": "minimax/hailuo-02/fast", "prompt": "p"}, 400, "image is required"),
        ({"model": "minimax/hailuo-2.3/i2v-standard", "prompt": "p"}, 400, "image is required"),
        ({"model": "minimax/hailuo-02/standard", "image": FRAME}, 400, "prompt is required"),
        ({"model": "minimax/hailuo-02/fast", "image": FRAME, "end_image": FRAME}, 400, "end_image"),
        ({"model": "minimax/hailuo-02/fast", "image": "data:image/png;base64,iVBO"}, 400, "URL"),
        ({"model": "minimax/hailuo-02/fast", "image": FRAME, "duration": 3}, 400, "duration"),
        ({"model": "minimax/hailuo-02/fast", "image": FRAME, "go_fast": "yes"}, 400, "go_fast"),
    ],
)
def test_the_emulator_refuses_what_atlas_would(
    atlascloud_emulator: AtlasCloudEmulator, provider_http: httpx.Client, body: dict[str, Any], status: int, words: str
) -> None:
    answer = provider_http.post(
        atlascloud_emulator.url("/api/v1/model/generateVideo"),
        json=body,
        headers={"Authorization": f"Bearer {EMULATOR_API_KEY}"},
    )

    assert answer.status_code == status
    assert words in answer.json()["message"]
    assert not atlascloud_emulator.store.jobs()


def test_credit_exhaustion_is_a_403_quota_and_an_account_problem(
    atlascloud_emulator: AtlasCloudEmulator, adapter: AtlasCloudAdapter
) -> None:
    atlascloud_emulator.inject(Fault.INSUFFICIENT_CREDIT, on="submit")

    with pytest.raises(ProviderError) as caught:
        adapter.submit(generation())

    assert (caught.value.kind, caught.value.code, caught.value.status_code) == (
        ErrorKind.ACCOUNT,
        "upstream_insufficient_credit",
        403,
    )


def test_a_failed_prediction_carries_its_error(
    atlascloud_emulator: AtlasCloudEmulator, adapter: AtlasCloudAdapter
) -> None:
    atlascloud_emulator.inject(Fault.JOB_FAILED, on="submit", message="Generation failed: NSFW content detected")
    prediction_id = adapter.submit(generation()).upstream_id

    final = poll_until_final(adapter, prediction_id)[-1]

    assert (final.status, final.error_code) == (UpstreamStatus.FAILED, "content_blocked")
    assert final.error_message == "Generation failed: NSFW content detected"


@pytest.mark.parametrize(("fault", "kind", "code"), HTTP_FAULT_CASES)
def test_http_failures_on_submit_are_classified(
    atlascloud_emulator: AtlasCloudEmulator, adapter: AtlasCloudAdapter, fault: Fault, kind: ErrorKind, code: str
) -> None:
    atlascloud_emulator.inject(fault, on="submit")

    with pytest.raises(ProviderError) as caught:
        adapter.submit(generation())

    assert (caught.value.kind, caught.value.code) == (kind, code)
    assert EMULATOR_API_KEY not in exchanges_text(caught.value.exchanges)


@pytest.mark.parametrize(
    ("envelope_code", "kind", "code"),
    [
        (400, ErrorKind.PERMANENT, "invalid_request"),
        (402, ErrorKind.ACCOUNT, "upstream_insufficient_credit"),
        (401, ErrorKind.ACCOUNT, "unauthorized"),
        (500, ErrorKind.TRANSIENT, "server_error"),
    ],
)
def test_errors_carried_in_http_200_are_classified_by_their_code(
    atlascloud_emulator: AtlasCloudEmulator, adapter: AtlasCloudAdapter, envelope_code: int, kind: ErrorKind, code: str
) -> None:
    atlascloud_emulator.inject(Fault.ERROR_IN_200, on="submit", code=envelope_code, message="refused")

    with pytest.raises(ProviderError) as caught:
        adapter.submit(generation())

    assert (caught.value.kind, caught.value.code, caught.value.status_code) == (kind, code, envelope_code)
    assert caught.value.exchanges[-1].status_code == 200


def test_an_expired_prediction_is_permanent(
    atlascloud_emulator: AtlasCloudEmulator, adapter: AtlasCloudAdapter
) -> None:
    prediction_id = adapter.submit(generation()).upstream_id
    atlascloud_emulator.store.expire(prediction_id)

    with pytest.raises(ProviderError) as caught:
        adapter.poll(prediction_id)

    assert (caught.value.kind, caught.value.code) == (ErrorKind.PERMANENT, "expired")


@pytest.mark.parametrize(
    ("fault", "kind", "code"),
    [
        (Fault.INSUFFICIENT_CREDIT, ErrorKind.ACCOUNT, "upstream_insufficient_credit"),
        (Fault.UNAUTHORIZED, ErrorKind.ACCOUNT, "unauthorized"),
        (Fault.HTML_ERROR, ErrorKind.TRANSIENT, "bad_response"),
    ],
)
def test_failures_uploading_media_are_classified(
    atlascloud_emulator: AtlasCloudEmulator, adapter: AtlasCloudAdapter, fault: Fault, kind: ErrorKind, code: str
) -> None:
    atlascloud_emulator.inject(fault, on="upload")

    with pytest.raises(ProviderError) as caught:
        adapter.upload_media(png_bytes(), "frame.png", "image/png")

    assert (caught.value.kind, caught.value.code) == (kind, code)


def test_a_wrong_key_is_an_account_error_and_never_shown(
    atlascloud_emulator: AtlasCloudEmulator, provider_http: httpx.Client
) -> None:
    wrong_key = "atlas-wrong-key-24680"

    with pytest.raises(ProviderError) as caught:
        adapter_for(atlascloud_emulator.base_url, provider_http, api_key=wrong_key).poll("pred_1")

    assert (caught.value.kind, caught.value.code) == (ErrorKind.ACCOUNT, "unauthorized")
    assert wrong_key not in exchanges_text(caught.value.exchanges)
    assert wrong_key not in str(caught.value)


def test_timeouts_and_refusals_are_transient(
    atlascloud_emulator: AtlasCloudEmulator, impatient_http: httpx.Client
) -> None:
    atlascloud_emulator.inject(Fault.READ_TIMEOUT, on="poll")
    with pytest.raises(ProviderError) as read_timeout:
        adapter_for(atlascloud_emulator.base_url, impatient_http).poll("pred_1")
    with blackhole_port() as port, pytest.raises(ProviderError) as connect_timeout:
        adapter_for(f"http://127.0.0.1:{port}", impatient_http).poll("pred_1")
    with refused_port() as port, pytest.raises(ProviderError) as refused:
        adapter_for(f"http://127.0.0.1:{port}", impatient_http).poll("pred_1")

    assert [(e.value.kind, e.value.code) for e in (read_timeout, connect_timeout, refused)] == [
        (ErrorKind.TRANSIENT, "read_timeout"),
        (ErrorKind.TRANSIENT, "connect_timeout"),
        (ErrorKind.TRANSIENT, "connection_refused"),
    ]
