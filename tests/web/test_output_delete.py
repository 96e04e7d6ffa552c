"""Deleting a video before the retention period ends: its files leave storage, the job and its charge stay."""

from __future__ import annotations

import re

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from accounts.models import Organization
from billing.models import LedgerEntry
from billing.selectors import balance_get
from tests.web.conftest import generation_make, run_to_end
from videogen.models import Generation, Status

pytestmark = pytest.mark.django_db


def local(url: str) -> str:
    return url[url.index("/files/") :]


def test_deleting_a_video_removes_its_files_and_keeps_the_job_and_its_charge(
    web_alice: Client, org_a: Organization, fast_sandbox: None
) -> None:
    generation = run_to_end(generation_make(org_a, "a lighthouse"))
    video, poster = generation.video.name, generation.poster.name
    assert default_storage.exists(video) and default_storage.exists(poster)
    page = web_alice.get(f"/generations/{generation.public_id}/").content.decode()
    assert f'action="/generations/{generation.public_id}/delete/"' in page
    video_url = re.search(r'<video class="player"[^>]*src="([^"]+)"', page, re.S).group(1)  # a signed link
    entries = LedgerEntry.objects.filter(reference=generation.public_id).count()

    response = web_alice.post(f"/generations/{generation.public_id}/delete/", follow=True)

    assert not default_storage.exists(video)
    assert not default_storage.exists(poster)
    generation.refresh_from_db()
    assert generation.status == Status.SUCCEEDED and generation.output_deleted_at is not None
    assert LedgerEntry.objects.filter(reference=generation.public_id).count() == entries
    assert balance_get(org_a).balance_micros == 900_000
    page = response.content.decode()
    assert "Deleted the video and its poster from our storage." in page
    assert 'data-testid="output-deleted"' in page and "<video" not in page
    assert web_alice.get(local(video_url)).status_code == 404

    again = web_alice.post(f"/generations/{generation.public_id}/delete/", follow=True)
    assert "There was no stored video to delete." in again.content.decode()


def test_a_video_still_running_has_nothing_to_delete(web_alice: Client, org_a: Organization) -> None:
    generation = generation_make(org_a)
    web_alice.post(f"/generations/{generation.public_id}/delete/")
    generation.refresh_from_db()
    assert (generation.status, generation.output_deleted_at) == (Status.QUEUED, None)


def test_another_organizations_video_cannot_be_deleted(
    web_carol: Client, org_a: Organization, org_b: Organization, fast_sandbox: None
) -> None:
    generation = run_to_end(generation_make(org_a))
    assert web_carol.post(f"/generations/{generation.public_id}/delete/").status_code == 404
    assert default_storage.exists(generation.video.name)
    assert Generation.objects.get(pk=generation.pk).output_deleted_at is None


def test_delete_is_a_post_only_action(web_alice: Client, org_a: Organization, fast_sandbox: None) -> None:
    generation = run_to_end(generation_make(org_a))
    assert web_alice.get(f"/generations/{generation.public_id}/delete/").status_code == 405
    assert default_storage.exists(generation.video.name)
