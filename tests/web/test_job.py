"""The job page, its live status fragment and cancelling, through Django's test client."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.models import Organization
from billing.selectors import balance_get
from tests.web.conftest import generation_make, png_bytes, run_to_end
from videogen.media import probe_video
from videogen.models import Generation, Status
from videogen.services.uploads import upload_create

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def local(url: str) -> str:
    return url[url.index("/files/") :]


def test_a_running_job_shows_its_progress_elapsed_time_and_a_cancel_button(
    web_alice: Client, org_a: Organization
) -> None:
    generation = generation_make(org_a, "a fox in the snow")
    page = text(web_alice.get(f"/generations/{generation.public_id}/"))
    assert re.search(r'data-testid="job-status" data-status="queued">Queued<', page)
    assert 'data-final="false"' in page
    assert f'data-status-url="/generations/{generation.public_id}/status/"' in page
    assert re.search(r'data-elapsed data-seconds="\d+" data-running="true">\d+ s<', page)
    assert f'action="/generations/{generation.public_id}/cancel/"' in page
    assert "$0.10 is on hold and is charged only when the video is ready." in page
    assert "<video" not in page
    assert "a fox in the snow" in page


def test_a_finished_job_shows_the_video_with_poster_and_download_link(
    web_alice: Client, org_a: Organization, fast_sandbox: None, tmp_path
) -> None:
    upload = upload_create(organization=org_a, data=png_bytes(), field="first_frame_image")
    generation = run_to_end(generation_make(org_a, "a lighthouse", first_frame_image=upload.public_id))
    assert generation.status == Status.SUCCEEDED
    page = text(web_alice.get(f"/generations/{generation.public_id}/"))
    assert re.search(r'data-testid="job-status" data-status="succeeded">Ready<', page)
    assert 'data-final="true"' in page
    video = re.search(r'<video class="player" controls[^>]*poster="([^"]+)"[^>]*src="([^"]+)"', page, re.S)
    assert video, "no video player"
    poster_url, video_url = video.groups()
    video_response = web_alice.get(local(video_url))
    assert (video_response.status_code, video_response["Content-Type"]) == (200, "video/mp4")
    downloaded = tmp_path / "out.mp4"
    downloaded.write_bytes(b"".join(video_response.streaming_content))
    assert probe_video(downloaded).duration_s > 5
    assert web_alice.get(local(poster_url))["Content-Type"] == "image/jpeg"
    download = re.search(r'<a class="btn btn-primary" href="([^"]+)" download', page).group(1)
    assert "attachment" in web_alice.get(local(download))["Content-Disposition"]
    assert "Charged $0.10." in page
    assert "Cancel</button>" not in page
    assert 'alt="First frame"' in page


def test_a_failed_job_is_explained_in_plain_words_and_says_nothing_was_charged(
    web_alice: Client, org_a: Organization, fast_sandbox: None
) -> None:
    generation = run_to_end(generation_make(org_a, "sandbox:fail a storm"))
    assert generation.status == Status.FAILED
    page = text(web_alice.get(f"/generations/{generation.public_id}/"))
    assert re.search(r'data-status="failed">Failed<', page)
    assert "The model&#x27;s content filter refused this request." in page
    assert "<strong>Nothing was charged.</strong> The $0.10 hold was released back to your balance." in page
    assert f'href="/generations/{generation.public_id}/again/"' in page
    assert balance_get(org_a).available_micros == 1_000_000


def test_a_failure_we_cannot_explain_shows_the_providers_message(web_alice: Client, org_a: Organization) -> None:
    generation = generation_make(org_a)
    Generation.objects.filter(pk=generation.pk).update(
        status=Status.FAILED, failure_code="weird_upstream", failure_message="Upstream said no (E42)."
    )
    page = text(web_alice.get(f"/generations/{generation.public_id}/"))
    assert "The model could not make this video." in page
    assert "Details: Upstream said no (E42)." in page


def test_the_status_fragment_follows_the_job_until_it_is_final(
    web_alice: Client, org_a: Organization, fast_sandbox: None
) -> None:
    generation = generation_make(org_a)
    running = web_alice.get(f"/generations/{generation.public_id}/status/")
    assert running["Cache-Control"] == "no-store"
    body = running.json()
    assert (body["status"], body["label"], body["final"]) == ("queued", "Queued", False)
    assert "Cancel</button>" in body["html"]

    run_to_end(generation)
    body = web_alice.get(f"/generations/{generation.public_id}/status/").json()
    assert (body["status"], body["label"], body["final"]) == ("succeeded", "Ready", True)
    assert "<video" in body["html"] and "Download MP4" in body["html"]


def test_cancelling_a_running_job_releases_its_hold(web_alice: Client, org_a: Organization) -> None:
    generation = generation_make(org_a)
    assert balance_get(org_a).held_micros == 100_000
    response = web_alice.post(f"/generations/{generation.public_id}/cancel/", follow=True)
    assert response.redirect_chain[-1][0] == f"/generations/{generation.public_id}/"
    page = text(response)
    assert "Canceled. Nothing was charged: the $0.10 hold was released." in page
    assert re.search(r'data-status="canceled">Canceled<', page)
    generation.refresh_from_db()
    assert generation.status == Status.CANCELED
    assert balance_get(org_a).held_micros == 0
    assert balance_get(org_a).available_micros == 1_000_000


def test_cancelling_a_finished_job_changes_nothing_and_says_so(
    web_alice: Client, org_a: Organization, fast_sandbox: None
) -> None:
    generation = run_to_end(generation_make(org_a))
    page = text(web_alice.post(f"/generations/{generation.public_id}/cancel/", follow=True))
    assert "This generation had already finished (ready), so there was nothing to cancel." in page
    generation.refresh_from_db()
    assert generation.status == Status.SUCCEEDED
    assert balance_get(org_a).balance_micros == 900_000


def test_cancel_is_a_post_only_action(web_alice: Client, org_a: Organization) -> None:
    generation = generation_make(org_a)
    assert web_alice.get(f"/generations/{generation.public_id}/cancel/").status_code == 405
    generation.refresh_from_db()
    assert generation.status == Status.QUEUED


def test_another_organizations_job_is_not_found_and_cannot_be_canceled(
    web_carol: Client, org_a: Organization, org_b: Organization
) -> None:
    alices = generation_make(org_a)
    for url in ["", "status/", "again/"]:
        assert web_carol.get(f"/generations/{alices.public_id}/{url}").status_code == 404, url
    assert web_carol.post(f"/generations/{alices.public_id}/cancel/").status_code == 404
    alices.refresh_from_db()
    assert alices.status == Status.QUEUED
    assert balance_get(org_a).held_micros == 100_000


def test_a_member_of_the_organization_sees_its_jobs(web_bob: Client, org_a: Organization) -> None:
    generation = generation_make(org_a, "team storyboard")
    page = text(web_bob.get(f"/generations/{generation.public_id}/"))
    assert "team storyboard" in page
