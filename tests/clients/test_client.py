"""The Python client against a live server running the sandbox pipeline: jobs, money, retries, errors."""

from __future__ import annotations

import asyncio
import http.server
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import hailuo
import httpx
import pytest

from accounts.models import Organization
from api import ratelimit
from api.models import OrganizationApiLimits
from billing.models import EntryKind, LedgerEntry
from billing.selectors import balance_get
from tests.compat.conftest import LIVE
from videogen.media import probe_video
from videogen.models import Generation

pytestmark = [LIVE]


@pytest.fixture(autouse=True)
def _fresh_limits() -> Iterator[None]:
    """Organization limits are cached per process for a few seconds; the live server shares this process."""
    ratelimit.limits_cache_clear()
    yield
    ratelimit.limits_cache_clear()


def _client(key: str, live: str, **kwargs: Any) -> hailuo.Client:
    return hailuo.Client(key, base_url=live, **kwargs)


def test_create_uploads_the_frame_waits_with_progress_and_downloads_a_video(
    live: str, key_a: str, org_a: Organization, frame_png: Path, tmp_path: Path, settings
) -> None:
    settings.SANDBOX_LATENCY_SECONDS = 2  # long enough to be seen running
    before = balance_get(org_a).balance_micros
    reports: list[hailuo.Progress] = []
    with _client(key_a, live) as client:
        video = client.generations.create(
            model="hailuo-02-fast",
            prompt="a paper boat on a stream",
            first_frame=frame_png,
            duration=6,
            wait=True,
            on_progress=reports.append,
            poll_wait=1,
        )
        assert video.status == "succeeded", video
        assert video.input["first_frame_image"].startswith("upl_")  # the local file went up as an upload
        assert video.price.charged and video.output is not None
        saved = client.generations.download(video, tmp_path / "boat.mp4")
        balance = client.balance()

    info = probe_video(saved)
    assert abs(info.duration_s - 6) < 0.1 and info.codec == "h264"
    assert saved.stat().st_size == video.output.size_bytes

    statuses = [r.status for r in reports]
    assert statuses[0] in ("queued", "submitting", "running") and statuses[-1] == "succeeded"
    assert "running" in statuses
    fractions = [r.fraction for r in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and fractions[0] < 0.5

    assert before - balance.balance_micros == video.price.amount_micros
    assert balance.held_micros == 0 and balance.available == balance.balance


def test_get_list_through_pages_and_cancel_without_charge(live: str, key_a: str, org_a: Organization) -> None:
    with _client(key_a, live) as client:
        before = client.balance()
        hanging = [client.generations.create(model="hailuo-02", prompt=f"sandbox:hang boat {n}") for n in range(3)]
        assert client.balance().held_micros == sum(job.price.amount_micros for job in hanging)

        got = client.generations.get(hanging[0].id)
        assert got.id == hanging[0].id and got.status in ("queued", "submitting", "running")

        first_page = client.generations.page(limit=2)
        assert len(first_page) == 2 and first_page.has_more and first_page.next_cursor
        listed = [job.id for job in client.generations.list(limit=1)]  # one job per page: three pages
        assert listed == [job.id for job in reversed(hanging)]

        canceled = [client.generations.cancel(job.id) for job in hanging]
        assert {job.status for job in canceled} == {"canceled"}
        assert not any(job.price.charged for job in canceled)
        assert [job.id for job in client.generations.list(status="canceled")] == listed

        after = client.balance()
        assert after.balance_micros == before.balance_micros and after.held_micros == 0
        with pytest.raises(hailuo.ConflictError) as finished:
            client.generations.cancel(hanging[0].id)
        assert finished.value.status == 409 and finished.value.code == "not_cancelable"

    assert not LedgerEntry.objects.filter(organization=org_a, kind=EntryKind.CAPTURE).exists()


def test_errors_carry_status_code_and_field(live: str, key_a: str) -> None:
    with _client(key_a, live) as client:
        with pytest.raises(hailuo.BadRequestError) as bad:
            client.generations.create(model="hailuo-02-fast", prompt="a kite", duration=7)
        assert (bad.value.status, bad.value.field, bad.value.type) == (400, "duration", "invalid_request_error")
        assert bad.value.code and "duration" in bad.value.message

        with pytest.raises(hailuo.BadRequestError) as unknown:
            client.generations.create(model="no-such-model", prompt="a kite")
        assert unknown.value.field == "model"

        with pytest.raises(hailuo.BadRequestError) as listing:
            client.generations.page(limit=1000)
        assert listing.value.field == "limit"

        with pytest.raises(hailuo.NotFoundError) as missing:
            client.generations.get("gen_doesnotexist")
        assert missing.value.status == 404

    with pytest.raises(hailuo.AuthenticationError) as denied, _client("sk_not_a_key", live) as stranger:
        stranger.balance()
    assert denied.value.status == 401

    nowhere = hailuo.Client("k", base_url="http://127.0.0.1:9", max_retries=1)  # nothing listens on port 9
    with pytest.raises(hailuo.APIConnectionError), nowhere:
        nowhere.balance()


def test_not_enough_credit_is_a_402_carrying_the_price_and_what_is_available(live: str, api_key_b: tuple) -> None:
    # Carol's workspace has only the sign-up credit ($1.00); a 10 s hailuo-02 run costs $0.56.
    with _client(api_key_b[1], live) as client:
        first = client.generations.create(model="hailuo-02", prompt="sandbox:hang a storm", duration=10)
        with pytest.raises(hailuo.InsufficientCreditsError) as short:
            client.generations.create(model="hailuo-02", prompt="another storm", duration=10)
        client.generations.cancel(first.id)
        assert client.balance().available == Decimal("1.00")
    assert short.value.status == 402 and short.value.code == "insufficient_credits"
    assert (short.value.details["price"], short.value.details["available"]) == ("0.56", "0.44")


def test_a_create_refused_for_running_jobs_is_retried_after_retry_after_and_succeeds(
    live: str, key_a: str, org_a: Organization
) -> None:
    OrganizationApiLimits.objects.create(organization=org_a, max_running_jobs=1)
    ratelimit.limits_cache_clear()
    with _client(key_a, live) as client:
        blocker = client.generations.create(model="hailuo-02", prompt="sandbox:hang first")

        def cancel_soon() -> None:
            time.sleep(1.5)
            with _client(key_a, live) as other:
                other.generations.cancel(blocker.id)

        canceller = threading.Thread(target=cancel_soon)
        canceller.start()
        started = time.monotonic()
        second = client.generations.create(model="hailuo-02", prompt="second, after a 429")
        waited = time.monotonic() - started
        canceller.join()

    # Refused once with Retry-After (ratelimit.RUNNING_JOBS_RETRY_AFTER s), sent again only after that.
    assert ratelimit.RUNNING_JOBS_RETRY_AFTER <= waited < ratelimit.RUNNING_JOBS_RETRY_AFTER + 8
    assert second.status in ("queued", "submitting", "running", "succeeded")
    assert Generation.objects.filter(organization=org_a).count() == 2


def test_a_retry_after_longer_than_the_client_allows_raises_rate_limit_error(
    live: str, key_a: str, org_a: Organization
) -> None:
    OrganizationApiLimits.objects.create(organization=org_a, key_requests_per_minute=1)
    ratelimit.limits_cache_clear()
    refused: list[hailuo.RateLimitError] = []
    with _client(key_a, live, max_retry_wait=0.5) as client:
        started = time.monotonic()
        for _ in range(3):  # at least two of these fall in one minute's window
            try:
                client.balance()
            except hailuo.RateLimitError as exc:
                refused.append(exc)
    assert refused, "the per-key limit of one request a minute was never reached"
    assert time.monotonic() - started < 5  # told to wait longer than allowed: no waiting at all
    error = refused[0]
    assert error.status == 429 and error.code == "rate_limit_exceeded"
    assert error.retry_after is not None and error.retry_after >= 1


# --- A create whose answer is lost is sent again with the same Idempotency-Key --------------------------


class LossyProxy:
    """A loopback proxy in front of the live server that loses the answer to the first create it forwards."""

    def __init__(self, upstream: str, failure: str) -> None:
        self.upstream = upstream
        self.failure = failure  # "502": answer Bad Gateway; "drop": close the connection without an answer
        self.creates: list[dict[str, str]] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                skip = {"host", "content-length", "connection"}
                headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
                answer = httpx.request(
                    self.command, proxy.upstream + self.path, headers=headers, content=body, timeout=60
                )
                is_create = self.command == "POST" and self.path == "/api/v1/generations"
                if is_create:
                    proxy.creates.append({k.lower(): v for k, v in self.headers.items()})
                if is_create and len(proxy.creates) == 1:  # the job was made; its answer never arrives
                    if proxy.failure == "drop":
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    self.send_response(502)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(params=["502", "drop"])
def lossy(request: pytest.FixtureRequest, live: str) -> Iterator[LossyProxy]:
    proxy = LossyProxy(live, request.param)
    yield proxy
    proxy.stop()


def test_a_retried_create_neither_creates_nor_charges_twice(lossy: LossyProxy, key_a: str, org_a: Organization) -> None:
    before = balance_get(org_a).balance_micros
    with _client(key_a, lossy.url) as client:
        video = client.generations.create(model="hailuo-02", prompt="a paper boat", wait=True, poll_wait=1)
    assert video.status == "succeeded"

    assert len(lossy.creates) == 2  # the lost answer, then the retry
    keys = {headers["idempotency-key"] for headers in lossy.creates}
    assert len(keys) == 1 and len(next(iter(keys))) >= 32  # one fresh key, reused on the retry

    assert list(Generation.objects.filter(organization=org_a).values_list("public_id", flat=True)) == [video.id]
    captures = LedgerEntry.objects.filter(organization=org_a, kind=EntryKind.CAPTURE)
    assert captures.count() == 1
    assert before - balance_get(org_a).balance_micros == video.price.amount_micros


def test_two_calls_with_the_same_arguments_are_two_jobs(live: str, key_a: str, org_a: Organization) -> None:
    # A fresh key per logical call: the same request made twice on purpose is two generations.
    with _client(key_a, live) as client:
        first = client.generations.create(model="hailuo-02", prompt="twice")
        second = client.generations.create(model="hailuo-02", prompt="twice")
        again = client.generations.create(model="hailuo-02", prompt="twice", idempotency_key="mine-1")
        replay = client.generations.create(model="hailuo-02", prompt="twice", idempotency_key="mine-1")
    assert first.id != second.id
    assert again.id == replay.id
    assert Generation.objects.filter(organization=org_a).count() == 3


# --- The asynchronous client --------------------------------------------------------------------------------


def test_the_async_client_creates_waits_lists_and_downloads(
    live: str, key_a: str, frame_png: Path, tmp_path: Path
) -> None:
    async def scenario() -> tuple[hailuo.Generation, list[str], Path, hailuo.Balance, list[str]]:
        seen: list[str] = []

        async def on_progress(progress: hailuo.Progress) -> None:
            seen.append(progress.status)

        async with hailuo.AsyncClient(key_a, base_url=live) as client:
            video = await client.generations.create(
                model="hailuo-02-fast",
                prompt="a paper boat",
                first_frame=frame_png.read_bytes(),
                wait=True,
                on_progress=on_progress,
                poll_wait=1,
            )
            listed = [job.id async for job in client.generations.list(limit=1)]
            saved = await client.generations.download(video.id, tmp_path)
            models = [model.id for model in await client.models.list()]
            return video, listed, saved, await client.balance(), models + seen

    video, listed, saved, balance, names = asyncio.run(scenario())
    assert video.status == "succeeded" and listed == [video.id]
    assert saved == tmp_path / f"{video.id}.mp4"
    assert abs(probe_video(saved).duration_s - 6) < 0.1
    assert balance.held_micros == 0
    assert "hailuo-02-fast" in names and names[-1] == "succeeded"


def test_models_list_carries_prices(live: str, key_a: str) -> None:
    with _client(key_a, live) as client:
        models = {model.id: model for model in client.models.list()}
    fast = models["hailuo-02-fast"]
    assert fast.parameters and fast.prices
    six = [p for p in fast.prices if p.duration == 6]
    assert six and all(p.price > 0 and p.price_micros == int(p.price * 1_000_000) for p in six)
