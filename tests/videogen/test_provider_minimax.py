"""The MiniMax adapter against a loopback emulator of MiniMax's API."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from tests.emulators.base import Fault, LoopbackServer, Reply, Request, blackhole_port, json_reply, refused_port
from tests.emulators.helpers import (
    EMULATOR_API_KEY,
    HTTP_FAULT_CASES,
    exchanges_text,
    poll_until_final,
)
from tests.emulators.minimax import MiniMaxEmulator
from videogen.providers.base import ErrorKind, ProviderError, SubmitRequest, UpstreamResult, UpstreamStatus
from videogen.providers.minimax import MiniMaxAdapter, parse_callback

pytest_plugins = ["tests.emulators.fixtures"]


def adapter_for(base_url: str, client: httpx.Client, api_key: str = EMULATOR_API_KEY) -> MiniMaxAdapter:
    return MiniMaxAdapter(client=client, api_key=api_key, base_url=base_url)


@pytest.fixture
def adapter(minimax_emulator: MiniMaxEmulator, provider_http: httpx.Client) -> MiniMaxAdapter:
    return adapter_for(minimax_emulator.base_url, provider_http)


def generation(model: str = "hailuo-02", callback_url: str | None = None, **params: Any) -> SubmitRequest:
    defaults: dict[str, Any] = {"prompt": "A lighthouse in a storm", "duration": 6, "resolution": "768p"}
    return SubmitRequest(model=model, params={**defaults, **params}, idempotency_key="gen_1", callback_url=callback_url)


def submitted_body(emulator: MiniMaxEmulator) -> dict[str, Any]:
    posts = [r for r in emulator.requests if r.method == "POST"]
    return posts[-1].json()


# --- the happy path --------------------------------------------------------------------


def test_it_generates_a_video_and_downloads_the_served_mp4(
    adapter: MiniMaxAdapter, minimax_emulator: MiniMaxEmulator, provider_http: httpx.Client, mp4_bytes: bytes
) -> None:
    submitted = adapter.submit(generation())
    assert submitted.status == UpstreamStatus.QUEUED

    polls = poll_until_final(adapter, submitted.upstream_id)
    assert [p.status for p in polls] == [UpstreamStatus.QUEUED, UpstreamStatus.RUNNING, UpstreamStatus.SUCCEEDED]

    final = polls[-1]
    url = adapter.result_url(final)
    assert provider_http.get(url).content == mp4_bytes
    body = submitted_body(minimax_emulator)
    assert (body["model"], body["resolution"], body["duration"]) == ("MiniMax-Hailuo-02", "768P", 6)
    everything = exchanges_text([*submitted.exchanges, *[e for p in polls for e in p.exchanges]])
    assert EMULATOR_API_KEY not in everything
    assert [e.url.split("?")[0].rsplit("/", 1)[-1] for e in final.exchanges] == [
        "video_generation",
        "video_generation",
        "retrieve",
    ]


def test_result_url_works_from_the_upstream_id_alone(
    adapter: MiniMaxAdapter, minimax_emulator: MiniMaxEmulator, provider_http: httpx.Client, mp4_bytes: bytes
) -> None:
    task_id = adapter.submit(generation()).upstream_id
    minimax_emulator.store.finish(task_id)

    url = adapter.result_url(UpstreamResult(upstream_id=task_id, status=UpstreamStatus.SUCCEEDED))

    assert provider_http.get(url).content == mp4_bytes


def test_result_url_before_the_video_exists_is_transient(adapter: MiniMaxAdapter) -> None:
    task_id = adapter.submit(generation()).upstream_id

    with pytest.raises(ProviderError) as caught:
        adapter.result_url(UpstreamResult(upstream_id=task_id, status=UpstreamStatus.SUCCEEDED))

    assert (caught.value.kind, caught.value.code) == (ErrorKind.TRANSIENT, "no_output")


def test_the_fast_model_is_hailuo_02_at_512p(adapter: MiniMaxAdapter, minimax_emulator: MiniMaxEmulator) -> None:
    adapter.submit(
        generation(
            "hailuo-02-fast", resolution="512p", duration=10, go_fast=True, first_frame_image="https://x.test/a.png"
        )
    )

    body = submitted_body(minimax_emulator)
    assert (body["model"], body["resolution"], body["duration"]) == ("MiniMax-Hailuo-02", "512P", 10)
    # go_fast is Segmind's lower-quality mode; MiniMax's fast_pretreatment is something else.
    assert "fast_pretreatment" not in body


@pytest.mark.parametrize(("mode", "resolution"), [("standard", "768P"), ("pro", "1080P")])
def test_minimax_hailuo_2_runs_as_hailuo_02(
    adapter: MiniMaxAdapter, minimax_emulator: MiniMaxEmulator, mode: str, resolution: str
) -> None:
    adapter.submit(generation("minimax-hailuo-2", mode=mode, resolution=resolution.lower()))

    body = submitted_body(minimax_emulator)
    assert (body["model"], body["resolution"]) == ("MiniMax-Hailuo-02", resolution)
    assert minimax_emulator.store.jobs()


def test_a_last_frame_goes_with_the_first_as_minimax_names_it(
    adapter: MiniMaxAdapter, minimax_emulator: MiniMaxEmulator
) -> None:
    first, last = "https://images.example.com/a.png", "https://images.example.com/b.png"
    adapter.submit(generation(first_frame_image=first, last_frame_image=last))

    [job] = minimax_emulator.store.jobs()
    assert (job.params["first_frame_image"], job.params["last_frame_image"]) == (first, last)


@pytest.mark.parametrize(
    "body",
    [
        {
            "model": "MiniMax-Hailuo-02",
            "resolution": "512P",
            "first_frame_image": "https://x.test/a.png",
            "last_frame_image": "https://x.test/b.png",
        },
        {"model": "MiniMax-Hailuo-02", "resolution": "768P", "last_frame_image": "https://x.test/b.png"},
        {
            "model": "MiniMax-Hailuo-2.3-Fast",
            "resolution": "768P",
            "first_frame_image": "https://x.test/a.png",
            "last_frame_image": "https://x.test/b.png",
        },
        {"model": "MiniMax-Hailuo-2.3-Fast", "resolution": "768P"},
        {"model": "MiniMax-Hailuo-2.3", "resolution": "512P"},
        {"model": "MiniMax-Hailuo-02", "resolution": "1080P", "duration": 10},
        {"model": "MiniMax-Hailuo-02", "resolution": "768P", "first_frame_image": "data:image/gif;base64,R0lG"},
        {"model": "MiniMax-Hailuo-2.3", "resolution": "768P", "fast_pretreatment": True},
    ],
    ids=[
        "last-at-512p",
        "last-without-first",
        "last-on-2.3-fast",
        "2.3-fast-without-first",
        "2.3-at-512p",
        "1080p-10s",
        "gif-image",
        "fast-pretreatment-off-02",
    ],
)
def test_the_emulator_refuses_what_minimax_documents_as_invalid(
    minimax_emulator: MiniMaxEmulator, provider_http: httpx.Client, body: dict[str, Any]
) -> None:
    answer = provider_http.post(
        minimax_emulator.url("/v1/video_generation"),
        json={"prompt": "a storm", "duration": 6, **body},
        headers={"Authorization": f"Bearer {EMULATOR_API_KEY}"},
    )

    assert answer.status_code == 200
    assert answer.json()["base_resp"]["status_code"] == 2013
    assert not minimax_emulator.store.jobs()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        (
            {
                "resolution": "512p",
                "first_frame_image": "https://x.test/a.png",
                "last_frame_image": "https://x.test/b.png",
            },
            "last_frame_image",
        ),
        ({"last_frame_image": "https://x.test/b.png"}, "last_frame_image"),
    ],
)
def test_a_last_frame_minimax_cannot_take_is_a_route_mismatch_naming_the_field(
    adapter: MiniMaxAdapter, minimax_emulator: MiniMaxEmulator, params: dict[str, Any], field: str
) -> None:
    model = "hailuo-02-fast" if params.get("resolution") == "512p" else "hailuo-02"
    with pytest.raises(ProviderError) as caught:
        adapter.submit(generation(model, **params))

    assert (caught.value.kind, caught.value.code, caught.value.param) == (
        ErrorKind.PERMANENT,
        "unsupported_params",
        field,
    )
    assert not minimax_emulator.requests


def test_a_fail_status_fails_now_even_with_a_transient_looking_base_resp(
    adapter: MiniMaxAdapter, minimax_emulator: MiniMaxEmulator
) -> None:
    minimax_emulator.fail_base_resp = (1000, "unknown error")
    minimax_emulator.inject(Fault.JOB_FAILED, on="submit", message="render crashed")
    task_id = adapter.submit(generation()).upstream_id

    polls = poll_until_final(adapter, task_id)

    assert [p.status for p in polls][-1] == UpstreamStatus.FAILED
    assert polls[-1].error_code == "generation_failed"
    assert polls[-1].error_message == "render crashed"


def test_an_unknown_status_is_its_own_transient_error(
    adapter: MiniMaxAdapter, minimax_emulator: MiniMaxEmulator
) -> None:
    task_id = adapter.submit(generation()).upstream_id
    minimax_emulator.status_override = "Paused"

    with pytest.raises(ProviderError) as caught:
        adapter.poll(task_id)

    assert (caught.value.kind, caught.value.code) == (ErrorKind.TRANSIENT, "unknown_status")


def test_the_backup_download_link_is_offered_after_the_first(
    adapter: MiniMaxAdapter, minimax_emulator: MiniMaxEmulator, provider_http: httpx.Client, mp4_bytes: bytes
) -> None:
    minimax_emulator.broken_primary_link = True
    polls = poll_until_final(adapter, adapter.submit(generation()).upstream_id)

    first, backup = adapter.result_urls(polls[-1])

    assert provider_http.get(first).status_code == 404
    assert provider_http.get(backup).content == mp4_bytes


def test_the_per_minute_limit_answers_1002_as_a_rate_limit(provider_http: httpx.Client, mp4_bytes: bytes) -> None:
    with MiniMaxEmulator(api_key=EMULATOR_API_KEY, video_bytes=mp4_bytes, video_requests_per_minute=2) as emulator:
        adapter = adapter_for(emulator.base_url, provider_http)
        adapter.submit(generation())
        adapter.submit(generation())
        with pytest.raises(ProviderError) as caught:
            adapter.submit(generation())

    assert (caught.value.kind, caught.value.code) == (ErrorKind.TRANSIENT, "rate_limited")
    assert caught.value.retry_after == 60.0
    assert len(emulator.store.jobs()) == 2


def test_hailuo_23_fast_sends_its_first_frame(adapter: MiniMaxAdapter, minimax_emulator: MiniMaxEmulator) -> None:
    frame = "https://images.example.com/frame.png"
    adapter.submit(generation("hailuo-2.3-fast", resolution="1080p", first_frame_image=frame))

    body = submitted_body(minimax_emulator)
    assert (body["model"], body["resolution"], body["first_frame_image"]) == (
        "MiniMax-Hailuo-2.3-Fast",
        "1080P",
        frame,
    )


def test_inline_images_are_sent_whole_but_logged_short(
    adapter: MiniMaxAdapter, minimax_emulator: MiniMaxEmulator
) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(bytes(range(256)) * 40).decode()

    result = adapter.submit(generation(first_frame_image=data_url))

    assert submitted_body(minimax_emulator)["first_frame_image"] == data_url
    logged = result.exchanges[0].request_body["first_frame_image"]
    assert logged.startswith("data:image/png;base64,") and len(logged) < 120


# --- refusals that need no request -------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "params", "code"),
    [
        ("hailuo-02", {"resolution": "1080p", "duration": 10}, "unsupported_params"),
        ("hailuo-02-fast", {"resolution": "768p"}, "unsupported_params"),
        ("hailuo-02-fast", {"resolution": "512p"}, "missing_first_frame"),
        ("hailuo-2.3-fast", {"first_frame_image": None}, "missing_first_frame"),
    ],
)
def test_it_refuses_what_minimax_cannot_render_without_calling_it(
    adapter: MiniMaxAdapter, minimax_emulator: MiniMaxEmulator, model: str, params: dict[str, Any], code: str
) -> None:
    with pytest.raises(ProviderError) as caught:
        adapter.submit(generation(model, **params))

    assert (caught.value.kind, caught.value.code) == (ErrorKind.PERMANENT, code)
    assert not minimax_emulator.requests


def test_it_needs_an_api_key(minimax_emulator: MiniMaxEmulator, provider_http: httpx.Client) -> None:
    with pytest.raises(ProviderError) as caught:
        adapter_for(minimax_emulator.base_url, provider_http, api_key="").submit(generation())

    assert (caught.value.kind, caught.value.code) == (ErrorKind.ACCOUNT, "not_configured")
    assert not minimax_emulator.requests


# --- failures ------------------------------------------------------------------------------


def test_a_failed_task_carries_its_detail(adapter: MiniMaxAdapter, minimax_emulator: MiniMaxEmulator) -> None:
    minimax_emulator.inject(Fault.JOB_FAILED, on="submit", message="The scene could not be rendered.")
    task_id = adapter.submit(generation()).upstream_id

    final = poll_until_final(adapter, task_id)[-1]

    assert final.status == UpstreamStatus.FAILED
    assert final.error_code == "generation_failed"
    assert final.error_message == "The scene could not be rendered."


def test_a_wrong_key_is_an_account_error_and_never_shown(
    minimax_emulator: MiniMaxEmulator, provider_http: httpx.Client
) -> None:
    wrong_key = "sk-wrong-0123456789abcdef"

    with pytest.raises(ProviderError) as caught:
        adapter_for(minimax_emulator.base_url, provider_http, api_key=wrong_key).submit(generation())

    assert (caught.value.kind, caught.value.code) == (ErrorKind.ACCOUNT, "unauthorized")
    assert caught.value.exchanges[0].status_code == 200
    assert "invalid api key" in exchanges_text(caught.value.exchanges)
    assert wrong_key not in exchanges_text(caught.value.exchanges)
    assert wrong_key not in str(caught.value)


@pytest.mark.parametrize(("fault", "kind", "code"), HTTP_FAULT_CASES)
def test_http_failures_on_submit_are_classified(
    adapter: MiniMaxAdapter, minimax_emulator: MiniMaxEmulator, fault: Fault, kind: ErrorKind, code: str
) -> None:
    minimax_emulator.inject(fault, on="submit")

    with pytest.raises(ProviderError) as caught:
        adapter.submit(generation())

    assert (caught.value.kind, caught.value.code) == (kind, code)
    assert caught.value.exchanges, "the failing exchange is attached for operators"
    assert EMULATOR_API_KEY not in exchanges_text(caught.value.exchanges)


@pytest.mark.parametrize(
    ("base_resp_code", "kind", "code"),
    [
        (1000, ErrorKind.TRANSIENT, "upstream_error"),
        (1001, ErrorKind.TRANSIENT, "upstream_timeout"),
        (1002, ErrorKind.TRANSIENT, "rate_limited"),
        (1004, ErrorKind.ACCOUNT, "unauthorized"),
        (1008, ErrorKind.ACCOUNT, "upstream_insufficient_credit"),
        (1024, ErrorKind.TRANSIENT, "upstream_error"),
        (1026, ErrorKind.PERMANENT, "content_blocked"),
        (1027, ErrorKind.PERMANENT, "content_blocked"),
        (1039, ErrorKind.TRANSIENT, "rate_limited"),
        (1041, ErrorKind.TRANSIENT, "rate_limited"),
        (1042, ErrorKind.PERMANENT, "invalid_request"),
        (1043, ErrorKind.PERMANENT, "invalid_request"),
        (2013, ErrorKind.PERMANENT, "invalid_request"),
        (2045, ErrorKind.TRANSIENT, "rate_limited"),
        (2049, ErrorKind.ACCOUNT, "unauthorized"),
    ],
)
def test_errors_carried_in_http_200_are_classified_by_their_code(
    adapter: MiniMaxAdapter, minimax_emulator: MiniMaxEmulator, base_resp_code: int, kind: ErrorKind, code: str
) -> None:
    minimax_emulator.inject(Fault.ERROR_IN_200, on="submit", code=base_resp_code, message="nope")

    with pytest.raises(ProviderError) as caught:
        adapter.submit(generation())

    assert (caught.value.kind, caught.value.code, caught.value.status_code) == (kind, code, 200)
    assert str(base_resp_code) in caught.value.message


def test_an_unknown_task_is_permanent(adapter: MiniMaxAdapter) -> None:
    with pytest.raises(ProviderError) as caught:
        adapter.poll("999999")

    assert (caught.value.kind, caught.value.code) == (ErrorKind.PERMANENT, "invalid_request")


def test_an_expired_task_404_is_permanent(adapter: MiniMaxAdapter, minimax_emulator: MiniMaxEmulator) -> None:
    task_id = adapter.submit(generation()).upstream_id
    minimax_emulator.inject(Fault.NOT_FOUND, on="poll")

    with pytest.raises(ProviderError) as caught:
        adapter.poll(task_id)

    assert (caught.value.kind, caught.value.code) == (ErrorKind.PERMANENT, "expired")


def test_rate_limit_carries_retry_after_in_seconds(adapter: MiniMaxAdapter, minimax_emulator: MiniMaxEmulator) -> None:
    minimax_emulator.inject(Fault.RATE_LIMITED, on="submit", retry_after="12")

    with pytest.raises(ProviderError) as caught:
        adapter.submit(generation())

    assert caught.value.retry_after == 12.0


def test_rate_limit_carries_retry_after_given_as_a_date(
    adapter: MiniMaxAdapter, minimax_emulator: MiniMaxEmulator
) -> None:
    later = datetime.now(UTC) + timedelta(seconds=120)
    minimax_emulator.inject(Fault.RATE_LIMITED, on="poll", retry_after=format_datetime(later, usegmt=True))
    task_id = adapter.submit(generation()).upstream_id

    with pytest.raises(ProviderError) as caught:
        adapter.poll(task_id)

    assert caught.value.retry_after is not None
    assert 60 < caught.value.retry_after <= 120


def test_a_server_that_never_answers_is_a_read_timeout(
    minimax_emulator: MiniMaxEmulator, impatient_http: httpx.Client
) -> None:
    minimax_emulator.inject(Fault.READ_TIMEOUT, on="poll")
    adapter = adapter_for(minimax_emulator.base_url, impatient_http)

    with pytest.raises(ProviderError) as caught:
        adapter.poll("3080001")

    assert (caught.value.kind, caught.value.code) == (ErrorKind.TRANSIENT, "read_timeout")
    assert caught.value.exchanges[0].status_code is None


def test_a_host_that_never_accepts_is_a_connect_timeout(impatient_http: httpx.Client) -> None:
    with blackhole_port() as port:
        adapter = adapter_for(f"http://127.0.0.1:{port}", impatient_http)
        with pytest.raises(ProviderError) as caught:
            adapter.submit(generation())

    assert (caught.value.kind, caught.value.code) == (ErrorKind.TRANSIENT, "connect_timeout")


def test_a_refused_connection_is_transient(provider_http: httpx.Client) -> None:
    with refused_port() as port:
        adapter = adapter_for(f"http://127.0.0.1:{port}", provider_http)
        with pytest.raises(ProviderError) as caught:
            adapter.submit(generation())

    assert (caught.value.kind, caught.value.code) == (ErrorKind.TRANSIENT, "connection_refused")


# --- callbacks --------------------------------------------------------------------------------


class CallbackReceiver:
    """What our callback view will do, written with parse_callback."""

    def __init__(self, echo: bool = True) -> None:
        self.echo = echo
        self.updates: list[dict[str, Any]] = []

    def __call__(self, request: Request) -> Reply:
        challenge, update = parse_callback(request.json())
        if challenge is not None:
            return json_reply(200, {"challenge": challenge if self.echo else "something else"})
        if update is not None:
            self.updates.append(update)
        return json_reply(200, {"status": "success"})


def test_minimax_verifies_the_callback_then_reports_completion(
    adapter: MiniMaxAdapter, minimax_emulator: MiniMaxEmulator, provider_http: httpx.Client, mp4_bytes: bytes
) -> None:
    receiver = CallbackReceiver()
    with LoopbackServer(receiver) as hooks:
        callback_url = hooks.url("/hooks/minimax")
        task_id = adapter.submit(generation(callback_url=callback_url)).upstream_id
        minimax_emulator.store.finish(task_id)

    assert submitted_body(minimax_emulator)["callback_url"] == callback_url
    [update] = receiver.updates
    assert (update["task_id"], update["status"]) == (task_id, UpstreamStatus.SUCCEEDED)
    assert provider_http.get(adapter.file_download_url(update["file_id"])).content == mp4_bytes


def test_a_callback_that_does_not_echo_the_challenge_fails_the_submit(adapter: MiniMaxAdapter) -> None:
    with LoopbackServer(CallbackReceiver(echo=False)) as hooks, pytest.raises(ProviderError) as caught:
        adapter.submit(generation(callback_url=hooks.url("/hooks/minimax")))

    assert (caught.value.kind, caught.value.code) == (ErrorKind.PERMANENT, "invalid_request")


def test_parse_callback_returns_the_challenge_to_echo() -> None:
    assert parse_callback({"challenge": "abc123"}) == ("abc123", None)


@pytest.mark.parametrize(
    ("body", "status", "error_code"),
    [
        ({"task_id": "7", "status": "success", "file_id": "42", "base_resp": {"status_code": 0}}, "succeeded", None),
        ({"task_id": "7", "status": "Processing", "base_resp": {"status_code": 0}}, "running", None),
        ({"task_id": "7", "status": "failed", "base_resp": {"status_code": 0}}, "failed", "generation_failed"),
        (
            {"task_id": "7", "status": "failed", "base_resp": {"status_code": 1027, "status_msg": "sensitive"}},
            "failed",
            "content_blocked",
        ),
    ],
)
def test_parse_callback_reads_status_updates(body: dict[str, Any], status: str, error_code: str | None) -> None:
    challenge, update = parse_callback(body)

    assert challenge is None
    assert update is not None
    assert (update["task_id"], update["status"], update["error_code"]) == ("7", status, error_code)


@pytest.mark.parametrize("body", [{}, {"status": "success"}, ["challenge"], None])
def test_parse_callback_ignores_anything_else(body: Any) -> None:
    assert parse_callback(body) == (None, None)


def test_a_download_link_expires_after_about_nine_hours(provider_http: httpx.Client, mp4_bytes: bytes) -> None:
    now = [1000.0]
    with MiniMaxEmulator(api_key=EMULATOR_API_KEY, video_bytes=mp4_bytes, clock=lambda: now[0]) as emulator:
        adapter = adapter_for(emulator.base_url, provider_http)
        final = poll_until_final(adapter, adapter.submit(generation()).upstream_id)[-1]
        url = adapter.result_url(final)
        now[0] += 9 * 3600
        assert provider_http.get(url).content == mp4_bytes
        now[0] += 1

        assert provider_http.get(url).status_code == 403
