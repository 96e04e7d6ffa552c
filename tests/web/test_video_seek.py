"""Chromium seeks a stored video to its middle before the file has downloaded, through HTTP Range on our signed link."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import av
import pytest
from django.core.files import File
from django.test import Client
from django.utils import timezone

from accounts.models import Organization, User
from tests.web.conftest import generation_make, screenshot
from videogen.models import Generation, Status

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SECONDS, FPS, WIDTH, HEIGHT = 40, 24, 320, 180


def noisy_mp4(path: Path) -> Path:
    """A real H.264 MP4 of moving noise (hard to compress: about 35 MB), its index at the front (faststart)."""
    with av.open(str(path), "w", format="mp4", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=FPS, options={"preset": "ultrafast", "crf": "18", "g": str(FPS)})
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for index in range(SECONDS * FPS):
            frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
            frame.planes[0].update(os.urandom(frame.planes[0].buffer_size))
            for plane in frame.planes[1:]:
                plane.update(bytes([128]) * plane.buffer_size)
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def succeeded_with(organization: Organization, video: Path) -> Generation:
    generation = generation_make(organization, "forty seconds of static")
    with video.open("rb") as handle:
        name = generation.video.storage.save(f"videos/{generation.public_id}.mp4", File(handle))
    Generation.objects.filter(pk=generation.pk).update(
        status=Status.SUCCEEDED,
        video=name,
        completed_at=timezone.now(),
        next_poll_at=None,
        output_duration_s=SECONDS,
        output_width=WIDTH,
        output_height=HEIGHT,
        output_bytes=video.stat().st_size,
    )
    return generation


def sign_in(page: Any, user: User, base_url: str) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}])


def test_the_job_page_seeks_to_the_middle_of_a_video_it_has_not_downloaded(
    page: Any, live_server: Any, alice: User, org_a: Organization, settings: Any, tmp_path: Path
) -> None:
    settings.PUBLIC_BASE_URL = live_server.url
    video = noisy_mp4(tmp_path / "static.mp4")
    size = video.stat().st_size
    generation = succeeded_with(org_a, video)
    sign_in(page, alice, live_server.url)
    served: list[tuple[str | None, int, str | None]] = []

    def record(response: Any) -> None:
        if "/files/" in response.url:
            headers = response.headers
            served.append((response.request.headers.get("range"), response.status, headers.get("content-range")))

    page.on("response", record)
    page.goto(f"/generations/{generation.public_id}/")
    page.wait_for_function("() => document.querySelector('video').readyState >= 1")  # metadata: duration known
    buffered_end = page.evaluate(
        "() => { const b = document.querySelector('video').buffered; return b.length ? b.end(b.length - 1) : 0; }"
    )
    assert buffered_end < SECONDS / 2, f"the browser had buffered up to {buffered_end} s before the seek"

    middle = SECONDS / 2
    page.evaluate("(middle) => { document.querySelector('video').currentTime = middle; }", middle)
    page.wait_for_function(
        "(middle) => { const v = document.querySelector('video');"
        " return !v.seeking && v.readyState >= 2 && Math.abs(v.currentTime - middle) < 0.5; }",
        arg=middle,
        timeout=30_000,
    )

    screenshot(page, "job-seeked-to-the-middle")
    later = [(header, status, content_range) for header, status, content_range in served if status == 206]
    starts = [int(content_range.split()[1].split("-")[0]) for _, _, content_range in later]
    assert any(size // 4 < start < size for start in starts), f"no range request into the file's middle: {served}"
    assert all(content_range.endswith(f"/{size}") for _, _, content_range in later)
