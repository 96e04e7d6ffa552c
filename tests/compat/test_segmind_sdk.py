"""Segmind's official Python SDK (segmind 1.3.0), pointed at a live server, gets its videos.

The SDK takes its host only from the constructor (`base_url`, default
https://api.segmind.com/v1); the module-level `segmind.run(...)` always uses
that default, so a migrating customer constructs a client with our host.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from segmind import InferenceFailed, SegmindClient, SegmindError

from accounts import services as account_services
from accounts.models import Membership
from api import ratelimit
from api.models import OrganizationApiLimits, RateLimitCounter
from billing import services as billing_services
from billing.selectors import balance_get
from tests.compat import seed_examples
from tests.compat.conftest import LIVE, download
from videogen.media import probe_video
from videogen.models import Generation, Source, Status

pytestmark = LIVE


@pytest.fixture
def make_client(live: str) -> Iterator[Callable[[str], SegmindClient]]:
    """SDK clients on our host; closed at the end so the live server's keep-alive threads end too."""
    made: list[SegmindClient] = []

    def make(key: str) -> SegmindClient:
        made.append(SegmindClient(api_key=key, base_url=f"{live}/v1"))
        return made[-1]

    yield make
    for sdk in made:
        sdk._client.close()


@pytest.fixture
def client(make_client: Callable[[str], SegmindClient], key_a: str) -> SegmindClient:
    return make_client(key_a)


def test_run_sync_returns_the_video_bytes(client: SegmindClient, frames, tmp_path: Path) -> None:
    response = client.run_sync("hailuo-02-fast", prompt="a paper boat on a pond", first_frame_image=frames.first)

    assert response.headers["content-type"] == "video/mp4"
    path = tmp_path / "sync.mp4"
    path.write_bytes(response.content)
    assert abs(probe_video(path).duration_s - 6) < 0.1


def test_the_seed_pages_submit_async_and_wait_gets_the_video(
    client: SegmindClient, frames, org_a, tmp_path: Path
) -> None:
    payload = seed_examples.segmind_minimax_hailuo_2_payload(frames.first)

    job = client.submit_async("minimax-hailuo-2", **payload)
    assert job.request_id.startswith("gen_")
    result = job.wait(timeout=900, interval=2.0)

    assert result["status"] == "COMPLETED"
    info = probe_video(download(result["output"], tmp_path))
    assert info.height == 768  # standard mode
    generation = Generation.objects.get(organization=org_a)
    assert (generation.source, generation.model, generation.input["mode"]) == (
        Source.SEGMIND,
        "minimax-hailuo-2",
        "standard",
    )
    assert generation.input["first_frame_image"].startswith("upl_")  # image_url became the first frame


def test_run_submits_waits_and_returns_the_result_body(client: SegmindClient, frames, tmp_path: Path) -> None:
    result = client.run("hailuo-02-fast", prompt="steam rising from tea", first_frame_image=frames.first, duration=6)

    assert result["status"] == "COMPLETED"
    assert set(result) >= {"status", "output", "metrics"}
    assert abs(probe_video(download(result["output"], tmp_path)).duration_s - 6) < 0.1


def test_a_failed_job_raises_inference_failed_with_the_reason_and_costs_nothing(client: SegmindClient, org_a) -> None:
    start = balance_get(org_a)
    job = client.submit_async("minimax-hailuo-2", prompt="sandbox:fail this one")

    with pytest.raises(InferenceFailed) as failure:
        job.wait(timeout=60, interval=0.5)

    assert "content policy" in failure.value.detail
    assert failure.value.status_body["status"] == "FAILED"
    assert Generation.objects.get(organization=org_a).status == Status.FAILED
    assert balance_get(org_a) == start


def test_the_sdk_sees_segmind_error_codes(client: SegmindClient, org_a, alice, frames) -> None:
    with pytest.raises(SegmindError) as unknown:
        client.run_sync("no-such-model", prompt="x")
    assert unknown.value.status == 404

    with pytest.raises(SegmindError) as bad:
        client.submit_async("hailuo-02-fast", prompt="x", first_frame_image=frames.first, duration=7)
    assert bad.value.status == 400
    assert "duration" in bad.value.detail
    with pytest.raises(SegmindError) as no_frame:
        client.submit_async("hailuo-02-fast", prompt="x")
    assert no_frame.value.status == 400
    assert no_frame.value.detail.startswith("first_frame_image:")

    available = balance_get(org_a).available_micros
    billing_services.credits_adjust(organization=org_a, amount_micros=-available, reason="test", staff_user=alice)
    with pytest.raises(SegmindError) as broke:
        client.submit_async("hailuo-02-fast", prompt="x", first_frame_image=frames.first)
    assert broke.value.status == 406
    assert "credit" in broke.value.detail


def test_a_wrong_key_and_another_organizations_request_are_refused(
    make_client: Callable[[str], SegmindClient], client: SegmindClient, carol, frames
) -> None:
    job = client.submit_async("hailuo-02-fast", prompt="sandbox:hang", first_frame_image=frames.first)
    org_b = Membership.objects.get(user=carol).organization
    _, carols_key = account_services.api_key_create(organization=org_b, name="carol's key", created_by=carol)

    with pytest.raises(SegmindError) as wrong_key:
        make_client("sk_live_not-a-key").run_sync("hailuo-02-fast", prompt="x")
    assert wrong_key.value.status == 401

    carols_view = make_client(carols_key)
    with pytest.raises(SegmindError) as cross_tenant:
        carols_view._request("GET", job.status_url)
    assert cross_tenant.value.status == 404


def test_twenty_sdk_waits_on_one_key_all_get_their_videos(
    make_client: Callable[[str], SegmindClient], key_a: str, org_a, frames, settings, tmp_path: Path
) -> None:
    """`wait()` polls the status every second and gives up at the first 429: twenty at once on one key.

    The key may make only 30 other requests a minute here, fewer than the polls: status reads have their own
    budget, so the polls leave the key's requests to the creates.
    """
    settings.SANDBOX_LATENCY_SECONDS = 4  # every job runs a few seconds: each client polls several times
    OrganizationApiLimits.objects.create(organization=org_a, key_requests_per_minute=30)
    ratelimit.limits_cache_clear()
    jobs = [
        make_client(key_a).submit_async(
            "hailuo-02-fast", prompt=f"a paper boat, take {n}", first_frame_image=frames.first
        )
        for n in range(20)
    ]
    polls_before = _status_reads(key_a)

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(lambda job: job.wait(timeout=600, interval=1.0), jobs))

    assert [result["status"] for result in results] == ["COMPLETED"] * 20
    assert len({result["output"] for result in results}) == 20
    assert abs(probe_video(download(results[0]["output"], tmp_path)).duration_s - 6) < 0.1
    for result in results[1:]:
        with requests.get(result["output"], timeout=30, stream=True) as response:
            assert (response.status_code, response.headers["Content-Type"]) == (200, "video/mp4")
    # More status reads than the key's 30 requests a minute: each client polled at least twice, then read its result.
    assert _status_reads(key_a) - polls_before >= 3 * len(jobs) > 30
    assert Generation.objects.filter(organization=org_a, status=Status.SUCCEEDED).count() == 20


def _status_reads(raw_key: str) -> int:
    """The key's status reads counted in this minute and the one before (a poll may cross a minute)."""
    key = account_services.api_key_authenticate(raw_key)
    return sum(RateLimitCounter.objects.filter(scope=ratelimit.status_reads_scope(key)).values_list("hits", flat=True))
