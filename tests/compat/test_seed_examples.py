"""The seed pages' example client code, pointed at a live server, gets a playable video each time."""

from __future__ import annotations

from pathlib import Path

from billing.selectors import balance_get
from tests.compat import seed_examples
from tests.compat.conftest import LIVE, download, png_bytes
from videogen.media import probe_video
from videogen.models import Generation, Source, Status

pytestmark = LIVE


def _only_job(org) -> Generation:
    jobs = list(Generation.objects.filter(organization=org))
    assert len(jobs) == 1
    return jobs[0]


def test_segmind_hailuo_02_fast_example_answers_with_the_video(live, key_a, frames, org_a, tmp_path: Path) -> None:
    response = seed_examples.segmind_hailuo_02_fast(live, key_a, frames.first)

    assert response.status_code == 200, response.text[:300]
    assert response.headers["Content-Type"] == "video/mp4"
    path = tmp_path / "segmind.mp4"
    path.write_bytes(response.content)
    info = probe_video(path)
    assert abs(info.duration_s - 6) < 0.1
    assert info.height == 512
    job = _only_job(org_a)
    assert (job.source, job.model, job.status) == (Source.SEGMIND, "hailuo-02-fast", Status.SUCCEEDED)
    assert job.input["go_fast"] is True


def test_segmind_hailuo_23_fast_example_answers_with_a_1080p_video(live, key_a, frames, tmp_path: Path) -> None:
    response = seed_examples.segmind_hailuo_23_fast(live, key_a, frames.first)

    assert response.status_code == 200, response.text[:300]
    path = tmp_path / "segmind.mp4"
    path.write_bytes(response.content)
    info = probe_video(path)
    assert info.height == 1080
    assert abs(info.duration_s - 6) < 0.1


def test_aimlapi_example_polls_until_it_gets_the_video(live, key_a, frames, org_a, tmp_path: Path) -> None:
    result = seed_examples.aimlapi_main(live, key_a, frames.first)

    assert result is not None
    assert result["status"] == "completed"
    assert result["error"] is None
    info = probe_video(download(result["video"]["url"], tmp_path))
    assert info.height == 768
    job = _only_job(org_a)
    assert (job.source, job.model) == (Source.AIMLAPI, "hailuo-02")
    assert result["id"] == job.public_id


def test_atlascloud_example_gets_a_6_second_video_for_its_3_second_request(
    live, key_a, frames, org_a, tmp_path: Path
) -> None:
    start = balance_get(org_a)

    video_url = seed_examples.atlascloud_example(live, key_a, frames.first)

    info = probe_video(download(video_url, tmp_path))
    assert abs(info.duration_s - 6) < 0.1
    assert info.height == 512
    job = _only_job(org_a)
    assert (job.source, job.model, job.input["duration"]) == (Source.ATLASCLOUD, "hailuo-02-fast", 6)
    # Charged the seed page's price for the clip it got: $0.10.
    assert start.balance_micros - balance_get(org_a).balance_micros == 100_000


def test_atlascloud_upload_then_input_form_then_polling_gets_the_video(live, key_a, org_a, tmp_path: Path) -> None:
    image_path = tmp_path / "image.png"
    image_path.write_bytes(png_bytes())

    download_url = seed_examples.atlascloud_upload(live, key_a, image_path)
    prediction_id = seed_examples.atlascloud_submit_input_form(live, key_a, download_url)
    output_url = seed_examples.atlascloud_poll(live, key_a, prediction_id)

    assert output_url is not None
    info = probe_video(download(output_url, tmp_path))
    assert abs(info.duration_s - 6) < 0.1
    job = _only_job(org_a)
    # The uploaded file was used directly as the first frame, not fetched again over HTTP.
    assert job.input["first_frame_image"].startswith("upl_")
