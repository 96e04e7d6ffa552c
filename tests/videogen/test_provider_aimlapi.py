"""The AI/ML API adapter against a loopback emulator of its MiniMax endpoint."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.emulators.aimlapi import AimlApiEmulator
from tests.emulators.base import Fault, blackhole_port, refused_port
from tests.emulators.helpers import EMULATOR_API_KEY, HTTP_FAULT_CASES, exchanges_text, poll_until_final
from videogen.providers.aimlapi import AimlApiAdapter
from videogen.providers.base import ErrorKind, ProviderError, SubmitRequest, UpstreamStatus

pytest_plugins = ["tests.emulators.fixtures"]


def adapter_for(base_url: str, client: httpx.Client, api_key: str = EMULATOR_API_KEY) -> AimlApiAdapter:
    return AimlApiAdapter(client=client, api_key=api_key, base_url=base_url)


@pytest.fixture
def adapter(aimlapi_emulator: AimlApiEmulator, provider_http: httpx.Client) -> AimlApiAdapter:
    return adapter_for(aimlapi_emulator.base_url, provider_http)


def generation(model: str = "hailuo-02", **params: Any) -> SubmitRequest:
    defaults: dict[str, Any] = {"prompt": "Mona Lisa puts on glasses", "duration": 6, "resolution": "768p"}
    return SubmitRequest(model=model, params={**defaults, **params}, idempotency_key="gen_3")


def test_it_generates_a_video_and_downloads_the_served_mp4(
    aimlapi_emulator: AimlApiEmulator, adapter: AimlApiAdapter, provider_http: httpx.Client, mp4_bytes: bytes
) -> None:
    frame = "https://images.example.com/mona.jpg"
    submitted = adapter.submit(generation(resolution="1080p", first_frame_image=frame, prompt_optimizer=False))
    assert submitted.status == UpstreamStatus.QUEUED

    polls = poll_until_final(adapter, submitted.upstream_id)
    assert [p.status for p in polls] == [UpstreamStatus.QUEUED, UpstreamStatus.RUNNING, UpstreamStatus.SUCCEEDED]

    assert provider_http.get(adapter.result_url(polls[-1])).content == mp4_bytes
    [job] = aimlapi_emulator.store.jobs()
    assert job.params == {
        "schema": "universal",
        "model": "minimax/hailuo-02",
        "prompt": "Mona Lisa puts on glasses",
        "enhance_prompt": False,
        "duration": 6,
        "resolution": "1080P",
        "image_url": frame,
    }
    everything = exchanges_text([*submitted.exchanges, *[e for p in polls for e in p.exchanges]])
    assert EMULATOR_API_KEY not in everything
    api_calls = [r for r in aimlapi_emulator.requests if r.path.startswith("/v2/")]
    assert {r.headers.get("authorization") for r in api_calls} == {f"Bearer {EMULATOR_API_KEY}"}


@pytest.mark.parametrize(
    ("model", "params", "code"),
    [
        ("hailuo-02-fast", {}, "unsupported_model"),
        ("hailuo-02", {"resolution": "512p"}, "unsupported_params"),
        ("hailuo-02", {"resolution": "1080p", "duration": 10}, "unsupported_params"),
        ("hailuo-2.3-fast", {}, "missing_first_frame"),
        (
            "hailuo-2.3-fast",
            {"first_frame_image": "https://x.test/a.png", "last_frame_image": "https://x.test/b.png"},
            "unsupported_params",
        ),
        ("hailuo-02", {"last_frame_image": "https://x.test/b.png"}, "unsupported_params"),
    ],
)
def test_it_refuses_what_aiml_cannot_render_without_calling_it(
    aimlapi_emulator: AimlApiEmulator, adapter: AimlApiAdapter, model: str, params: dict[str, Any], code: str
) -> None:
    with pytest.raises(ProviderError) as caught:
        adapter.submit(generation(model, **params))

    assert (caught.value.kind, caught.value.code) == (ErrorKind.PERMANENT, code)
    assert not aimlapi_emulator.requests


@pytest.mark.parametrize(
    ("detail", "code"),
    [
        ("The model could not finish the video.", "generation_failed"),
        ("Prompt rejected by content moderation.", "content_blocked"),
    ],
)
def test_a_failed_generation_carries_its_detail(
    aimlapi_emulator: AimlApiEmulator, adapter: AimlApiAdapter, detail: str, code: str
) -> None:
    aimlapi_emulator.inject(Fault.JOB_FAILED, on="submit", message=detail)
    generation_id = adapter.submit(generation()).upstream_id

    final = poll_until_final(adapter, generation_id)[-1]

    assert (final.status, final.error_code, final.error_message) == (UpstreamStatus.FAILED, code, detail)


def test_first_and_last_frames_go_under_the_universal_names(
    aimlapi_emulator: AimlApiEmulator, adapter: AimlApiAdapter
) -> None:
    first, last = "https://x.test/first.png", "https://x.test/last.png"
    adapter.submit(generation(first_frame_image=first, last_frame_image=last))

    [job] = aimlapi_emulator.store.jobs()
    assert (job.params["image_url"], job.params["last_image_url"]) == (first, last)
    assert [r.path for r in aimlapi_emulator.requests] == ["/v2/video/generations"]


def test_hailuo_23_fast_runs_with_its_required_image_url(
    aimlapi_emulator: AimlApiEmulator, adapter: AimlApiAdapter
) -> None:
    adapter.submit(generation("hailuo-2.3-fast", first_frame_image="https://x.test/first.png"))

    [job] = aimlapi_emulator.store.jobs()
    assert (job.params["model"], job.params["image_url"]) == ("minimax/hailuo-2.3-fast", "https://x.test/first.png")


def test_a_signed_link_to_our_copy_is_sent_instead_of_the_data_url(
    aimlapi_emulator: AimlApiEmulator, adapter: AimlApiAdapter
) -> None:
    link = "https://videos.example/files/signed-token"
    request = generation(first_frame_image="data:image/png;base64,iVBORw0KGgo=")
    adapter.submit(SubmitRequest(request.model, request.params, "gen_4", image_links={"first_frame_image": link}))

    [job] = aimlapi_emulator.store.jobs()
    assert job.params["image_url"] == link


def test_a_failed_generation_reports_status_error_and_is_final_at_once(
    aimlapi_emulator: AimlApiEmulator, adapter: AimlApiAdapter, provider_http: httpx.Client
) -> None:
    aimlapi_emulator.inject(Fault.JOB_FAILED, on="submit", message="Generation failed upstream.")
    generation_id = adapter.submit(generation()).upstream_id
    polls = poll_until_final(adapter, generation_id)

    raw = provider_http.get(
        aimlapi_emulator.url("/v2/video/generations"),
        params={"generation_id": generation_id},
        headers={"Authorization": f"Bearer {EMULATOR_API_KEY}"},
    ).json()
    assert (raw["status"], raw["error"]) == (
        "error",
        {"name": "GenerationError", "message": "Generation failed upstream."},
    )
    assert polls[-1].status == UpstreamStatus.FAILED
    assert polls[-1].error_message == "Generation failed upstream."


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": "minimax/hailuo-02", "prompt": "x" * 2001}, "prompt"),
        ({"model": "minimax/hailuo-02"}, "prompt"),
        ({"model": "minimax/hailuo-2.3-fast", "prompt": "p"}, "image_url"),
        ({"model": "minimax/hailuo-02", "prompt": "p", "last_image_url": "https://x.test/b.png"}, "last_image_url"),
        ({"model": "minimax/hailuo-02", "prompt": "p", "resolution": "1080P", "duration": 10}, "1080P"),
        ({"model": "minimax/hailuo-02", "prompt": "p", "resolution": "512P"}, "resolution"),
        ({"model": "minimax/hailuo-02", "prompt": "p", "first_frame_image": "https://x.test/a.png"}, "Unknown"),
        ({"model": "minimax/hailuo-03", "prompt": "p"}, "model"),
    ],
)
def test_the_emulator_refuses_what_aiml_documents_as_invalid(
    aimlapi_emulator: AimlApiEmulator, provider_http: httpx.Client, body: dict[str, Any], field: str
) -> None:
    answer = provider_http.post(
        aimlapi_emulator.url("/v2/video/generations"),
        json=body,
        headers={"Authorization": f"Bearer {EMULATOR_API_KEY}"},
    )

    assert answer.status_code == 400
    assert set(answer.json()) == {"message", "path", "requestId", "statusCode", "timestamp"}
    assert field in answer.json()["message"]
    assert not aimlapi_emulator.store.jobs()


def test_the_legacy_path_still_answers_with_a_generation_id(
    aimlapi_emulator: AimlApiEmulator, provider_http: httpx.Client
) -> None:
    answer = provider_http.post(
        aimlapi_emulator.url("/v2/generate/video/minimax/generation"),
        json={"model": "minimax/hailuo-02", "prompt": "p", "first_frame_image": "https://x.test/a.png"},
        headers={"Authorization": f"Bearer {EMULATOR_API_KEY}"},
    )

    assert answer.status_code == 200
    assert answer.json()["status"] == "queued" and answer.json()["generation_id"]


@pytest.mark.parametrize(("fault", "kind", "code"), HTTP_FAULT_CASES)
def test_http_failures_on_submit_are_classified(
    aimlapi_emulator: AimlApiEmulator, adapter: AimlApiAdapter, fault: Fault, kind: ErrorKind, code: str
) -> None:
    aimlapi_emulator.inject(fault, on="submit")

    with pytest.raises(ProviderError) as caught:
        adapter.submit(generation())

    assert (caught.value.kind, caught.value.code) == (kind, code)
    assert EMULATOR_API_KEY not in exchanges_text(caught.value.exchanges)


def test_no_credits_is_aimls_403_and_an_account_problem(
    aimlapi_emulator: AimlApiEmulator, adapter: AimlApiAdapter
) -> None:
    aimlapi_emulator.inject(Fault.INSUFFICIENT_CREDIT, on="submit")

    with pytest.raises(ProviderError) as caught:
        adapter.submit(generation())

    assert (caught.value.status_code, caught.value.code) == (403, "upstream_insufficient_credit")


def test_a_plain_403_stays_forbidden(aimlapi_emulator: AimlApiEmulator, adapter: AimlApiAdapter) -> None:
    aimlapi_emulator.inject(Fault.FORBIDDEN, on="submit", message="This key may not use video models.")

    with pytest.raises(ProviderError) as caught:
        adapter.submit(generation())

    assert (caught.value.kind, caught.value.code) == (ErrorKind.ACCOUNT, "forbidden")


def test_an_unknown_generation_is_expired(adapter: AimlApiAdapter) -> None:
    with pytest.raises(ProviderError) as caught:
        adapter.poll("gen-404")

    assert (caught.value.kind, caught.value.code, caught.value.status_code) == (ErrorKind.PERMANENT, "expired", 404)


@pytest.mark.parametrize(
    ("fault", "kind", "code"),
    [
        (Fault.SERVER_ERROR, ErrorKind.TRANSIENT, "server_error"),
        (Fault.HTML_ERROR, ErrorKind.TRANSIENT, "bad_response"),
        (Fault.MALFORMED_JSON, ErrorKind.TRANSIENT, "bad_response"),
        (Fault.RATE_LIMITED, ErrorKind.TRANSIENT, "rate_limited"),
    ],
)
def test_http_failures_on_poll_are_classified(
    aimlapi_emulator: AimlApiEmulator, adapter: AimlApiAdapter, fault: Fault, kind: ErrorKind, code: str
) -> None:
    generation_id = adapter.submit(generation()).upstream_id
    aimlapi_emulator.inject(fault, on="poll", status=200)

    with pytest.raises(ProviderError) as caught:
        adapter.poll(generation_id)

    assert (caught.value.kind, caught.value.code) == (kind, code)


def test_a_wrong_key_is_an_account_error_and_never_shown(
    aimlapi_emulator: AimlApiEmulator, provider_http: httpx.Client
) -> None:
    wrong_key = "aiml-wrong-key-31337"

    with pytest.raises(ProviderError) as caught:
        adapter_for(aimlapi_emulator.base_url, provider_http, api_key=wrong_key).submit(generation())

    assert (caught.value.kind, caught.value.code) == (ErrorKind.ACCOUNT, "unauthorized")
    assert wrong_key not in exchanges_text(caught.value.exchanges)
    assert wrong_key not in str(caught.value)


def test_timeouts_and_refusals_are_transient(aimlapi_emulator: AimlApiEmulator, impatient_http: httpx.Client) -> None:
    aimlapi_emulator.inject(Fault.READ_TIMEOUT, on="submit")
    with pytest.raises(ProviderError) as read_timeout:
        adapter_for(aimlapi_emulator.base_url, impatient_http).submit(generation())
    with blackhole_port() as port, pytest.raises(ProviderError) as connect_timeout:
        adapter_for(f"http://127.0.0.1:{port}", impatient_http).submit(generation())
    with refused_port() as port, pytest.raises(ProviderError) as refused:
        adapter_for(f"http://127.0.0.1:{port}", impatient_http).submit(generation())

    assert [(e.value.kind, e.value.code) for e in (read_timeout, connect_timeout, refused)] == [
        (ErrorKind.TRANSIENT, "read_timeout"),
        (ErrorKind.TRANSIENT, "connect_timeout"),
        (ErrorKind.TRANSIENT, "connection_refused"),
    ]


def test_threads_sharing_an_adapter_each_get_their_own_exchanges(
    aimlapi_emulator: AimlApiEmulator, adapter: AimlApiAdapter
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    ids = [adapter.submit(generation(prompt=f"kite {n}")).upstream_id for n in range(8)]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(adapter.poll, ids))

    for upstream_id, result in zip(ids, results, strict=True):
        assert [e.url.rsplit("=", 1)[-1] for e in result.exchanges] == [upstream_id]
