"""The Segmind adapter against a loopback emulator of Segmind's v1 and v2 APIs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.emulators.base import Fault, blackhole_port, refused_port
from tests.emulators.helpers import EMULATOR_API_KEY, HTTP_FAULT_CASES, exchanges_text, poll_until_final
from tests.emulators.segmind import SegmindEmulator
from videogen.providers.base import ErrorKind, ProviderError, SubmitRequest, UpstreamStatus
from videogen.providers.segmind import SegmindAdapter

pytest_plugins = ["tests.emulators.fixtures"]

FRAME = "https://images.example.com/first.png"


def adapter_for(base_url: str, client: httpx.Client, **kwargs: Any) -> SegmindAdapter:
    kwargs.setdefault("api_key", EMULATOR_API_KEY)
    return SegmindAdapter(client=client, base_url=base_url, **kwargs)


@pytest.fixture
def adapter(segmind_emulator: SegmindEmulator, provider_http: httpx.Client) -> SegmindAdapter:
    return adapter_for(segmind_emulator.base_url, provider_http)


def generation(model: str = "hailuo-02-fast", **params: Any) -> SubmitRequest:
    defaults: dict[str, Any] = {"prompt": "A fox in the snow", "duration": 6, "first_frame_image": FRAME}
    return SubmitRequest(model=model, params={**defaults, **params}, idempotency_key="gen_2")


def last_post(emulator: SegmindEmulator) -> tuple[str, dict[str, Any]]:
    post = [r for r in emulator.requests if r.method == "POST"][-1]
    return post.path, post.json()


# --- the seed pages' rules ---------------------------------------------------------------


def test_defaults_are_the_seed_pages(segmind_emulator: SegmindEmulator, adapter: SegmindAdapter) -> None:
    adapter.submit(SubmitRequest("hailuo-02-fast", {"prompt": "p", "first_frame_image": FRAME}, "gen_d1"))
    adapter.submit(SubmitRequest("hailuo-2.3-fast", {"prompt": "p", "first_frame_image": FRAME}, "gen_d2"))

    fast, fast23 = (job.params for job in segmind_emulator.store.jobs())
    assert fast["go_fast"] is False
    assert fast23["resolution"] == "1080p"


@pytest.mark.parametrize(
    ("model", "params", "field"),
    [("hailuo-02-fast", {}, "last_frame_image"), ("minimax-hailuo-2", {"mode": "standard"}, "last_frame_image")],
)
def test_a_last_frame_reaches_segmind_under_its_own_name(
    segmind_emulator: SegmindEmulator, adapter: SegmindAdapter, model: str, params: dict[str, Any], field: str
) -> None:
    last = "https://images.example.com/last.png"
    adapter.submit(generation(model, last_frame_image=last, **params))

    [job] = segmind_emulator.store.jobs()
    assert job.params[field] == last


def test_a_signed_link_to_our_copy_replaces_an_inline_frame(
    segmind_emulator: SegmindEmulator, adapter: SegmindAdapter
) -> None:
    link = "https://videos.example/files/signed-token"
    request = generation(first_frame_image="data:image/png;base64,iVBORw0KGgo=")
    adapter.submit(SubmitRequest(request.model, request.params, "gen_l", image_links={"first_frame_image": link}))

    [job] = segmind_emulator.store.jobs()
    assert job.params["first_frame_image"] == link


@pytest.mark.parametrize(
    ("slug", "body", "words"),
    [
        ("hailuo-02-fast", {"prompt": "p"}, "first_frame_image"),
        ("hailuo-02-fast", {"prompt": "p", "first_frame_image": "data:image/png;base64,iVBO"}, "https URL"),
        ("hailuo-02-fast", {"prompt": "p", "first_frame_image": FRAME, "duration": 8}, "duration"),
        ("hailuo-02-fast", {"prompt": "p", "first_frame_image": FRAME, "go_fast": "yes"}, "go_fast"),
        ("hailuo-2.3-fast", {"prompt": "p", "first_frame_image": FRAME, "resolution": "720p"}, "resolution"),
        ("hailuo-2.3-fast", {"prompt": "p", "first_frame_image": FRAME, "duration": 10}, "1080p"),
        ("hailuo-2.3-fast", {"prompt": "p", "first_frame_image": FRAME, "last_frame_image": FRAME}, "last_frame"),
        ("minimax-hailuo-2", {"prompt": "p", "mode": "ultra"}, "mode"),
        ("minimax-hailuo-2", {"prompt": "p", "mode": "pro", "last_frame_image": FRAME}, "first frame"),
        ("hailuo-03", {"prompt": "p"}, "not found"),
    ],
)
def test_the_emulator_refuses_what_the_seed_pages_do_not_allow(
    segmind_emulator: SegmindEmulator, provider_http: httpx.Client, slug: str, body: dict[str, Any], words: str
) -> None:
    answer = provider_http.post(segmind_emulator.url(f"/v2/{slug}"), json=body, headers={"x-api-key": EMULATOR_API_KEY})

    assert answer.status_code in (400, 404)
    assert words in answer.json()["error"]
    assert not segmind_emulator.store.jobs()


def test_a_failed_request_is_a_422_that_ends_the_job_failed(
    segmind_emulator: SegmindEmulator, adapter: SegmindAdapter, provider_http: httpx.Client
) -> None:
    segmind_emulator.inject(Fault.JOB_FAILED, on="submit", message="Content flagged by RAI")
    request_id = adapter.submit(generation()).upstream_id
    polls = poll_until_final(adapter, request_id)

    raw = provider_http.get(
        segmind_emulator.url(f"/v2/requests/{request_id}/status"), headers={"x-api-key": EMULATOR_API_KEY}
    )
    assert (raw.status_code, raw.json()["status"]) == (422, "FAILED")
    assert (polls[-1].status, polls[-1].error_code) == (UpstreamStatus.FAILED, "content_blocked")


# --- v2, the happy path ------------------------------------------------------------------


@pytest.mark.parametrize("output_shape", ["url", "list", "object", "json_string"])
def test_it_generates_a_video_and_downloads_the_served_mp4(
    segmind_emulator: SegmindEmulator,
    adapter: SegmindAdapter,
    provider_http: httpx.Client,
    mp4_bytes: bytes,
    output_shape: str,
) -> None:
    segmind_emulator.output_shape = output_shape
    submitted = adapter.submit(generation())
    assert submitted.status == UpstreamStatus.QUEUED

    polls = poll_until_final(adapter, submitted.upstream_id)
    assert [p.status for p in polls] == [UpstreamStatus.QUEUED, UpstreamStatus.RUNNING, UpstreamStatus.SUCCEEDED]

    url = adapter.result_url(polls[-1])
    assert provider_http.get(url).content == mp4_bytes
    everything = exchanges_text([*submitted.exchanges, *[e for p in polls for e in p.exchanges]])
    assert EMULATOR_API_KEY not in everything
    assert [r.headers.get("x-api-key") for r in segmind_emulator.requests if r.path.startswith("/v2")] == [
        EMULATOR_API_KEY
    ] * 5  # submit, three status polls, one result fetch


@pytest.mark.parametrize(
    ("model", "params", "path", "expected"),
    [
        (
            "hailuo-02-fast",
            {"duration": 10, "go_fast": True},
            "/v2/hailuo-02-fast",
            {"first_frame_image": FRAME, "duration": 10, "go_fast": True},
        ),
        (
            "hailuo-2.3-fast",
            {"resolution": "1080p"},
            "/v2/hailuo-2.3-fast",
            {"first_frame_image": FRAME, "resolution": "1080p", "duration": 6},
        ),
        (
            "minimax-hailuo-2",
            {"mode": "pro"},
            "/v2/minimax-hailuo-2",
            {"image_url": FRAME, "mode": "pro"},
        ),
    ],
)
def test_each_model_goes_to_its_slug_with_its_parameters(
    segmind_emulator: SegmindEmulator,
    adapter: SegmindAdapter,
    model: str,
    params: dict[str, Any],
    path: str,
    expected: dict[str, Any],
) -> None:
    adapter.submit(generation(model, **params))

    sent_path, body = last_post(segmind_emulator)
    assert sent_path == path
    assert {key: body.get(key) for key in expected} == expected


@pytest.mark.parametrize(
    ("model", "params", "code"),
    [
        ("hailuo-02", {}, "unsupported_model"),
        ("hailuo-02-fast", {"first_frame_image": None}, "missing_first_frame"),
        ("minimax-hailuo-2", {"mode": "ultra"}, "unsupported_params"),
        ("hailuo-2.3-fast", {"last_frame_image": "https://x.test/b.png"}, "unsupported_params"),
        ("hailuo-02-fast", {"first_frame_image": "data:image/png;base64,iVBORw0KGgo="}, "unsupported_params"),
    ],
)
def test_it_refuses_what_segmind_cannot_render_without_calling_it(
    segmind_emulator: SegmindEmulator, adapter: SegmindAdapter, model: str, params: dict[str, Any], code: str
) -> None:
    with pytest.raises(ProviderError) as caught:
        adapter.submit(generation(model, **params))

    assert (caught.value.kind, caught.value.code) == (ErrorKind.PERMANENT, code)
    assert not segmind_emulator.requests


# --- v2 failures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("detail", "code"),
    [
        ("Upstream worker crashed while rendering.", "generation_failed"),
        ("Request blocked by content safety filter (RAI).", "content_blocked"),
    ],
)
def test_a_failed_job_served_as_422_is_a_job_failure_with_detail(
    segmind_emulator: SegmindEmulator, adapter: SegmindAdapter, detail: str, code: str
) -> None:
    segmind_emulator.inject(Fault.JOB_FAILED, on="submit", message=detail)
    request_id = adapter.submit(generation()).upstream_id

    final = poll_until_final(adapter, request_id)[-1]

    assert final.status == UpstreamStatus.FAILED
    assert (final.error_code, final.error_message) == (code, detail)
    assert final.exchanges[-1].status_code == 422


def test_an_expired_request_id_is_permanent(segmind_emulator: SegmindEmulator, adapter: SegmindAdapter) -> None:
    request_id = adapter.submit(generation()).upstream_id
    segmind_emulator.store.expire(request_id)

    with pytest.raises(ProviderError) as caught:
        adapter.poll(request_id)

    assert (caught.value.kind, caught.value.code, caught.value.status_code) == (ErrorKind.PERMANENT, "expired", 404)


def test_a_422_on_submit_is_a_bad_request(segmind_emulator: SegmindEmulator, adapter: SegmindAdapter) -> None:
    segmind_emulator.inject(Fault.BAD_REQUEST, on="submit", message="prompt too long")

    with pytest.raises(ProviderError) as caught:
        adapter.submit(generation())

    assert (caught.value.kind, caught.value.code) == (ErrorKind.PERMANENT, "invalid_request")
    assert "prompt too long" in caught.value.message


@pytest.mark.parametrize(("fault", "kind", "code"), HTTP_FAULT_CASES)
def test_http_failures_on_submit_are_classified(
    segmind_emulator: SegmindEmulator, adapter: SegmindAdapter, fault: Fault, kind: ErrorKind, code: str
) -> None:
    segmind_emulator.inject(fault, on="submit")

    with pytest.raises(ProviderError) as caught:
        adapter.submit(generation())

    assert (caught.value.kind, caught.value.code) == (kind, code)
    assert EMULATOR_API_KEY not in exchanges_text(caught.value.exchanges)


def test_insufficient_credit_is_segminds_406(segmind_emulator: SegmindEmulator, adapter: SegmindAdapter) -> None:
    segmind_emulator.inject(Fault.INSUFFICIENT_CREDIT, on="poll")
    request_id = adapter.submit(generation()).upstream_id

    with pytest.raises(ProviderError) as caught:
        adapter.poll(request_id)

    assert (caught.value.status_code, caught.value.kind, caught.value.code) == (
        406,
        ErrorKind.ACCOUNT,
        "upstream_insufficient_credit",
    )


@pytest.mark.parametrize(
    ("fault", "kind", "code"),
    [
        (Fault.SERVER_ERROR, ErrorKind.TRANSIENT, "server_error"),
        (Fault.MALFORMED_JSON, ErrorKind.TRANSIENT, "bad_response"),
        (Fault.UNAUTHORIZED, ErrorKind.ACCOUNT, "unauthorized"),
    ],
)
def test_failures_fetching_the_result_are_classified(
    segmind_emulator: SegmindEmulator, adapter: SegmindAdapter, fault: Fault, kind: ErrorKind, code: str
) -> None:
    segmind_emulator.inject(fault, on="result")
    request_id = adapter.submit(generation()).upstream_id

    with pytest.raises(ProviderError) as caught:
        poll_until_final(adapter, request_id)

    assert (caught.value.kind, caught.value.code) == (kind, code)


def test_a_wrong_key_is_an_account_error_and_never_shown(
    segmind_emulator: SegmindEmulator, provider_http: httpx.Client
) -> None:
    wrong_key = "sg-wrong-key-5551234"

    with pytest.raises(ProviderError) as caught:
        adapter_for(segmind_emulator.base_url, provider_http, api_key=wrong_key).submit(generation())

    assert (caught.value.kind, caught.value.code, caught.value.status_code) == (
        ErrorKind.ACCOUNT,
        "unauthorized",
        401,
    )
    assert "Invalid API key" in exchanges_text(caught.value.exchanges)
    assert wrong_key not in exchanges_text(caught.value.exchanges)
    assert wrong_key not in str(caught.value)


def test_rate_limit_carries_retry_after(segmind_emulator: SegmindEmulator, adapter: SegmindAdapter) -> None:
    segmind_emulator.inject(Fault.RATE_LIMITED, on="poll", retry_after="30")
    request_id = adapter.submit(generation()).upstream_id

    with pytest.raises(ProviderError) as caught:
        adapter.poll(request_id)

    assert (caught.value.code, caught.value.retry_after) == ("rate_limited", 30.0)


def test_a_server_that_never_answers_is_a_read_timeout(
    segmind_emulator: SegmindEmulator, impatient_http: httpx.Client
) -> None:
    segmind_emulator.inject(Fault.READ_TIMEOUT, on="submit")

    with pytest.raises(ProviderError) as caught:
        adapter_for(segmind_emulator.base_url, impatient_http).submit(generation())

    assert (caught.value.kind, caught.value.code) == (ErrorKind.TRANSIENT, "read_timeout")


def test_unreachable_hosts_are_transient(impatient_http: httpx.Client) -> None:
    with blackhole_port() as port, pytest.raises(ProviderError) as timed_out:
        adapter_for(f"http://127.0.0.1:{port}", impatient_http).poll("req_1")
    with refused_port() as port, pytest.raises(ProviderError) as refused:
        adapter_for(f"http://127.0.0.1:{port}", impatient_http).poll("req_1")

    assert (timed_out.value.kind, timed_out.value.code) == (ErrorKind.TRANSIENT, "connect_timeout")
    assert (refused.value.kind, refused.value.code) == (ErrorKind.TRANSIENT, "connection_refused")


# --- v1, synchronous ---------------------------------------------------------------------------


def test_synchronous_mode_streams_the_video_to_a_file(
    segmind_emulator: SegmindEmulator, provider_http: httpx.Client, mp4_bytes: bytes, tmp_path: Path
) -> None:
    adapter = adapter_for(segmind_emulator.base_url, provider_http, synchronous=True, download_dir=tmp_path)

    result = adapter.submit(generation("hailuo-2.3-fast"))

    assert result.status == UpstreamStatus.SUCCEEDED
    assert result.output_path is not None and result.output_path.parent == tmp_path
    assert result.output_path.read_bytes() == mp4_bytes
    assert last_post(segmind_emulator)[0] == "/v1/hailuo-2.3-fast"
    assert result.upstream_id.startswith("req_")
    assert result.exchanges[0].response_body == f"<video/mp4, {len(mp4_bytes)} bytes>"


def test_synchronous_mode_accepts_a_json_answer_with_a_url(
    segmind_emulator: SegmindEmulator, provider_http: httpx.Client, mp4_bytes: bytes, tmp_path: Path
) -> None:
    segmind_emulator.sync_reply = "json"
    adapter = adapter_for(segmind_emulator.base_url, provider_http, synchronous=True, download_dir=tmp_path)

    result = adapter.submit(generation())

    assert result.status == UpstreamStatus.SUCCEEDED
    assert provider_http.get(adapter.result_url(result)).content == mp4_bytes


@pytest.mark.parametrize(("fault", "kind", "code"), HTTP_FAULT_CASES)
def test_synchronous_failures_are_classified_and_leave_no_file(
    segmind_emulator: SegmindEmulator,
    provider_http: httpx.Client,
    tmp_path: Path,
    fault: Fault,
    kind: ErrorKind,
    code: str,
) -> None:
    segmind_emulator.inject(fault, on="submit")
    adapter = adapter_for(segmind_emulator.base_url, provider_http, synchronous=True, download_dir=tmp_path)

    with pytest.raises(ProviderError) as caught:
        adapter.submit(generation())

    assert (caught.value.kind, caught.value.code) == (kind, code)
    assert list(tmp_path.iterdir()) == []


def test_synchronous_read_timeout_is_transient(
    segmind_emulator: SegmindEmulator, impatient_http: httpx.Client, tmp_path: Path
) -> None:
    segmind_emulator.inject(Fault.READ_TIMEOUT, on="submit")
    adapter = adapter_for(segmind_emulator.base_url, impatient_http, synchronous=True, download_dir=tmp_path)

    with pytest.raises(ProviderError) as caught:
        adapter.submit(generation())

    assert (caught.value.kind, caught.value.code) == (ErrorKind.TRANSIENT, "read_timeout")
    assert list(tmp_path.iterdir()) == []


def test_a_result_past_its_hour_of_retention_is_expired(provider_http: httpx.Client, mp4_bytes: bytes) -> None:
    now = [1000.0]
    with SegmindEmulator(api_key=EMULATOR_API_KEY, video_bytes=mp4_bytes, clock=lambda: now[0]) as emulator:
        adapter = adapter_for(emulator.base_url, provider_http)
        request_id = adapter.submit(generation()).upstream_id
        assert poll_until_final(adapter, request_id)[-1].status == UpstreamStatus.SUCCEEDED
        now[0] += 3600  # still within the hour
        assert adapter.poll(request_id).status == UpstreamStatus.SUCCEEDED
        now[0] += 1

        with pytest.raises(ProviderError) as caught:
            adapter.poll(request_id)

    assert (caught.value.kind, caught.value.code, caught.value.status_code) == (ErrorKind.PERMANENT, "expired", 404)
