"""In Chromium: "Continue from the last frame" starts a new job whose first frame is the previous video's last."""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image, ImageChops, ImageStat

from accounts.models import Organization, User
from tests.web.conftest import generation_make, run_to_end, screenshot
from tests.web.test_video_seek import sign_in
from videogen.models import Generation, Status, Upload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def expect(*args: Any, **kwargs: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args, **kwargs)


def frames_of(generation: Generation) -> tuple[Image.Image, Image.Image]:
    """The first and last frames of a job's stored video, decoded here."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "video.mp4"
        with generation.video.open("rb") as source:
            path.write_bytes(source.read())
        with av.open(str(path)) as container:
            images = [frame.to_image() for frame in container.decode(video=0)]
    return images[0].convert("RGB"), images[-1].convert("RGB")


def difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel, 0 to 255."""
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def test_continue_from_the_last_frame_starts_a_job_from_that_frame(
    page: Any, live_server: Any, alice: User, org_a: Organization, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SANDBOX_ENABLED = True
    settings.SANDBOX_LATENCY_SECONDS = 0
    earlier = run_to_end(generation_make(org_a, "A paper boat drifting down a rainy street"))
    assert earlier.status == Status.SUCCEEDED
    sign_in(page, alice, live_server.url)
    page.goto(f"/generations/{earlier.public_id}/")
    page.get_by_role("button", name="Continue from the last frame").click()

    expect(page.get_by_role("heading", name="Generate a video")).to_be_visible()
    expect(page.get_by_text("The last frame of your earlier video is the first frame of this one.")).to_be_visible()
    expect(page.get_by_role("img", name="First frame preview")).to_be_visible()
    expect(page.locator("input[name=first_frame_image]")).to_have_value(re.compile(r"^upl_"))
    page.get_by_label("Prompt", exact=True).fill("The boat reaches a drain and spins away")
    screenshot(page, "generate-continued-from-last-frame")
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page).to_have_url(re.compile(r"/generations/gen_[0-9a-f]+/$"))

    later = Generation.objects.filter(organization=org_a).exclude(pk=earlier.pk).get()
    assert later.input["prompt"] == "The boat reaches a drain and spins away"
    upload = Upload.objects.get(public_id=later.input["first_frame_image"], organization=org_a)
    with upload.file.open("rb") as handle:
        started_from = Image.open(io.BytesIO(handle.read())).convert("RGB")
    first, last = frames_of(earlier)
    assert started_from.size == last.size
    assert difference(started_from, last) < 1.0
    if difference(first, last) > 1.0:  # the sandbox's clip moves: the first frame would not pass for the last
        assert difference(started_from, first) > difference(started_from, last)


def test_a_video_no_longer_stored_cannot_be_continued(
    page: Any, live_server: Any, alice: User, org_a: Organization, settings: Any
) -> None:
    settings.SANDBOX_ENABLED = True
    settings.SANDBOX_LATENCY_SECONDS = 0
    earlier = run_to_end(generation_make(org_a, "a lighthouse", model="hailuo-02"))
    sign_in(page, alice, live_server.url)
    page.goto(f"/generations/{earlier.public_id}/")
    Generation.objects.filter(pk=earlier.pk).update(output_deleted_at=earlier.completed_at)
    page.get_by_role("button", name="Continue from the last frame").click()
    expect(page.get_by_text("Could not continue from this video: This job has no stored video.")).to_be_visible()
    assert not Upload.objects.filter(organization=org_a).exists()
