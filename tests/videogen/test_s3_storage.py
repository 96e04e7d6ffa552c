"""Videos on S3-compatible storage (moto's S3 server on loopback): SigV4 links, file names, playback, retention.

CI sets REQUIRE_S3=1: these tests fail, rather than skip, when moto cannot start.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from accounts.models import Organization
from tests.emulators.media import make_mp4
from tests.videogen.conftest import REGION, Bucket
from tests.videogen.test_pipeline import png_data_url
from tests.web.conftest import generation_make, png_bytes, run_to_end
from videogen import tasks
from videogen.media import probe_video
from videogen.models import Generation, Status, Upload
from videogen.presenters import generation_output
from videogen.services.files import signed_url
from videogen.services.uploads import upload_create

pytestmark = [pytest.mark.s3, pytest.mark.django_db]


def test_a_download_link_is_signed_with_sigv4_in_the_configured_region_and_keeps_its_file_name(
    s3: Bucket, settings: Any
) -> None:
    video = make_mp4(seconds=1, size=64)
    name = default_storage.save("videos/org_x/gen_x.mp4", ContentFile(video))
    assert name in s3.names()

    link = signed_url(name, download_as="gen_1f2e.mp4")

    query = {k: v[0] for k, v in parse_qs(urlparse(link).query).items()}
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    _key, _day, region, service, scope = query["X-Amz-Credential"].split("/")
    assert (region, service, scope) == (REGION, "s3", "aws4_request")
    assert query["X-Amz-Expires"] == str(settings.SIGNED_URL_TTL_SECONDS)
    assert "Signature" not in query and "AWSAccessKeyId" not in query  # no SigV2 left
    response = httpx.get(link)
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="gen_1f2e.mp4"'
    assert response.headers["content-type"] == "video/mp4"
    assert response.content == video

    inline = httpx.get(signed_url(name))
    assert inline.status_code == 200
    assert "content-disposition" not in inline.headers
    part = httpx.get(signed_url(name), headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(video)}"
    assert part.content == video[100:200]


def test_a_finished_generation_lands_in_the_bucket_and_plays_back_from_its_link(
    s3: Bucket, org_a: Organization, tmp_path: Path, settings: Any
) -> None:
    settings.SANDBOX_ENABLED, settings.SANDBOX_LATENCY_SECONDS = True, 0
    job = run_to_end(generation_make(org_a, "a paper boat on a stream", first_frame_image=png_data_url(640, 360)))

    assert job.status == Status.SUCCEEDED, job.failure_message
    assert {job.video.name, job.poster.name} <= set(s3.names())
    output = generation_output(job)
    response = httpx.get(output["video_url"])
    assert response.status_code == 200
    downloaded = tmp_path / "from-the-bucket.mp4"
    downloaded.write_bytes(response.content)
    info = probe_video(downloaded)  # decodes every frame
    assert abs(info.duration_s - 6) < 0.1
    assert (info.width, info.height) == (job.output_width, job.output_height)
    download = httpx.get(output["download_url"])
    assert download.headers["content-disposition"] == f'attachment; filename="{job.public_id}.mp4"'


def test_uploads_past_the_retention_leave_the_bucket_unless_an_active_job_uses_them(
    s3: Bucket, org_a: Organization, settings: Any
) -> None:
    settings.OUTPUT_RETENTION_DAYS = 7
    old, in_use, recent = (upload_create(organization=org_a, data=png_bytes()) for _ in range(3))
    Upload.objects.filter(pk__in=[old.pk, in_use.pk]).update(created_at=timezone.now() - timedelta(days=8))
    active = generation_make(org_a, "a kite", first_frame_image=in_use.public_id)
    assert active.status == Status.QUEUED
    assert {old.file.name, in_use.file.name, recent.file.name} <= set(s3.names())

    assert tasks.outputs_cleanup() == 1

    assert old.file.name not in s3.names()
    assert not Upload.objects.filter(pk=old.pk).exists()
    assert {in_use.file.name, recent.file.name} <= set(s3.names())
    Generation.objects.filter(pk=active.pk).update(status=Status.CANCELED, completed_at=timezone.now())
    assert tasks.outputs_cleanup() == 1
    assert in_use.file.name not in s3.names()
    assert recent.file.name in s3.names()


def test_readyz_fails_naming_storage_when_the_bucket_is_gone(s3: Bucket, client: Client, settings: Any) -> None:
    assert client.get("/readyz").status_code == 200

    s3.client.delete_bucket(Bucket=s3.name)

    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["problems"] == ["storage: ClientError"]
