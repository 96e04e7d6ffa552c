"""The emulator harness itself: job progress, completion times, thread safety."""

from __future__ import annotations

import io
import threading

import av
import httpx
import pytest

from tests.emulators.base import Fault, JobState, JobStore, LoopbackServer, Reply, Request
from tests.emulators.helpers import EMULATOR_API_KEY
from tests.emulators.media import make_mp4
from tests.emulators.segmind import SegmindEmulator

pytest_plugins = ["tests.emulators.fixtures"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_test_video_is_a_real_one_second_h264_mp4(mp4_bytes: bytes) -> None:
    with av.open(io.BytesIO(mp4_bytes)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 64, 64)
    assert frames == 24
    assert make_mp4() == mp4_bytes


def test_jobs_progress_by_poll_count() -> None:
    store = JobStore(polls_to_complete=3)
    job = store.create({"prompt": "x"})

    states = [store.observe(job.id).state for _ in range(4)]

    assert states == [JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED, JobState.SUCCEEDED]


def test_jobs_complete_after_their_seconds_and_record_when() -> None:
    clock = FakeClock()
    store = JobStore(seconds_to_complete=10, clock=clock)
    finished: list[str] = []
    store.on_complete = lambda job: finished.append(job.id)
    job = store.create({})

    clock.now += 6
    assert store.observe(job.id).state == JobState.RUNNING
    clock.now += 9  # the job became done 5 s ago; a client only now looks
    seen = store.observe(job.id)

    assert seen.state == JobState.SUCCEEDED
    assert (seen.completed_at, seen.first_seen_done_at) == (1010.0, 1015.0)
    assert finished == [job.id]


def test_sweep_finishes_due_jobs_without_anyone_polling() -> None:
    clock = FakeClock()
    store = JobStore(seconds_to_complete=5, clock=clock)
    early = store.create({})
    clock.now += 3
    late = store.create({})
    clock.now += 2

    assert store.sweep() == 1
    assert [j.state for j in (store.get(early.id), store.get(late.id))] == [JobState.SUCCEEDED, JobState.QUEUED]
    assert store.get(early.id).first_seen_done_at is None


def test_a_failed_job_keeps_its_detail() -> None:
    store = JobStore(polls_to_complete=1)
    job = store.create({}, error="boom")

    assert (store.observe(job.id).state, store.get(job.id).error) == (JobState.FAILED, "boom")


def test_the_store_counts_every_poll_from_many_threads() -> None:
    store = JobStore(polls_to_complete=10_000)
    jobs = [store.create({}) for _ in range(50)]

    def hammer() -> None:
        for job in jobs:
            for _ in range(20):
                store.observe(job.id)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert {store.get(job.id).polls for job in jobs} == {8 * 20}
    assert len({job.id for job in jobs}) == 50


def test_an_emulator_completes_jobs_on_time_without_polls(mp4_bytes: bytes) -> None:
    done = threading.Event()
    with SegmindEmulator(api_key=EMULATOR_API_KEY, video_bytes=mp4_bytes, seconds_to_complete=0.05) as emulator:
        emulator.completion_hooks.append(lambda job: done.set())
        answer = httpx.post(
            emulator.url("/v2/minimax-hailuo-2"),
            json={"prompt": "p", "mode": "standard"},
            headers={"x-api-key": EMULATOR_API_KEY},
        )
        assert done.wait(10), "the sweeper finished the job"
        job = emulator.store.get(answer.json()["request_id"])

    assert job.state == JobState.SUCCEEDED
    assert job.completed_at == pytest.approx(job.created_at + 0.05)


def test_faults_fire_the_requested_number_of_times(segmind_emulator: SegmindEmulator) -> None:
    segmind_emulator.inject(Fault.SERVER_ERROR, on="poll", times=2)
    url = segmind_emulator.url("/v2/requests/req_404/status")
    headers = {"x-api-key": EMULATOR_API_KEY}

    statuses = [httpx.get(url, headers=headers).status_code for _ in range(3)]

    assert statuses == [500, 500, 404]


def test_a_loopback_server_serves_any_handler() -> None:
    def handle(request: Request) -> Reply:
        return Reply(status=201, body=request.body[::-1], content_type="text/plain")

    with LoopbackServer(handle) as server:
        answer = httpx.post(server.url("/echo"), content=b"abc")

    assert (answer.status_code, answer.content) == (201, b"cba")
