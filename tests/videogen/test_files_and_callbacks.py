"""Signed download links with byte ranges, output retention, and MiniMax's callback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from videogen import tasks
from videogen.models import Generation, Status
from videogen.services.files import signed_url
from videogen.services.generations import generation_create

pytestmark = pytest.mark.django_db


def _path(url: str) -> str:
    return url.split("127.0.0.1:8000", 1)[1]


def test_a_signed_link_serves_the_file_without_an_api_key(client: Client) -> None:
    name = default_storage.save("videos/org_x/clip.mp4", ContentFile(b"\x00\x00\x00\x18ftypmp42" + b"x" * 100))
    response = client.get(_path(signed_url(name)))
    assert response.status_code == 200
    assert response["Content-Type"] == "video/mp4"
    assert b"".join(response.streaming_content).startswith(b"\x00\x00\x00\x18ftyp")
    download = client.get(_path(signed_url(name, download_as="gen_1.mp4")))
    assert 'attachment; filename="gen_1.mp4"' in download["Content-Disposition"]


CLIP = bytes(range(256)) * 40  # 10,240 bytes


@pytest.mark.parametrize(
    ("header", "status", "content_range", "part"),
    [
        ("bytes=0-99", 206, "bytes 0-99/10240", slice(0, 100)),
        ("bytes=10000-", 206, "bytes 10000-10239/10240", slice(10000, None)),
        ("bytes=-240", 206, "bytes 10000-10239/10240", slice(10000, None)),
        ("bytes=5000-99999", 206, "bytes 5000-10239/10240", slice(5000, None)),
        ("bytes=-99999", 206, "bytes 0-10239/10240", slice(None)),
        ("bytes=10239-10239", 206, "bytes 10239-10239/10240", slice(10239, None)),
        (None, 200, None, slice(None)),
        ("bytes=0-1,5-6", 200, None, slice(None)),  # several ranges: the whole file
        ("items=0-5", 200, None, slice(None)),
        ("bytes=20-10", 200, None, slice(None)),
        ("bytes=-", 200, None, slice(None)),
    ],
)
def test_a_signed_link_serves_the_byte_range_asked_for(
    client: Client, header: str | None, status: int, content_range: str | None, part: slice
) -> None:
    name = default_storage.save("videos/org_x/clip.mp4", ContentFile(CLIP))
    headers = {"Range": header} if header else {}

    response = client.get(_path(signed_url(name)), headers=headers)

    assert response.status_code == status
    assert response["Accept-Ranges"] == "bytes"
    assert response.get("Content-Range") == content_range
    body = b"".join(response.streaming_content)
    assert body == CLIP[part]
    assert int(response["Content-Length"]) == len(body)


@pytest.mark.parametrize("header", ["bytes=10240-", "bytes=99999-100000", "bytes=-0"])
def test_a_range_past_the_end_is_416_with_the_size(client: Client, header: str) -> None:
    name = default_storage.save("videos/org_x/clip.mp4", ContentFile(CLIP))
    response = client.get(_path(signed_url(name)), headers={"Range": header})
    assert response.status_code == 416
    assert response["Content-Range"] == "bytes */10240"


def test_a_range_with_if_range_gets_the_whole_file(client: Client) -> None:
    name = default_storage.save("videos/org_x/clip.mp4", ContentFile(CLIP))
    response = client.get(_path(signed_url(name)), headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CLIP


def test_a_tampered_or_expired_link_is_404(client: Client, settings) -> None:
    name = default_storage.save("videos/org_x/clip.mp4", ContentFile(b"data"))
    path = _path(signed_url(name))
    assert client.get(path[:-3] + "abc").status_code == 404
    other = _path(signed_url("videos/org_y/secret.mp4"))
    assert client.get(other).status_code == 404  # signed but missing
    settings.SIGNED_URL_TTL_SECONDS = -1
    assert client.get(path).status_code == 404


def test_old_outputs_are_deleted_after_the_retention_period(org_a, settings) -> None:
    settings.OUTPUT_RETENTION_DAYS = 7
    generation = generation_create(organization=org_a, model="hailuo-02", params={"prompt": "x"})
    video = default_storage.save("videos/old.mp4", ContentFile(b"v"))
    poster = default_storage.save("posters/old.jpg", ContentFile(b"p"))
    Generation.objects.filter(pk=generation.pk).update(
        status=Status.SUCCEEDED, video=video, poster=poster, completed_at=timezone.now() - timedelta(days=8)
    )
    assert tasks.outputs_cleanup() == 1
    generation.refresh_from_db()
    assert generation.output_deleted_at is not None
    assert not default_storage.exists(video) and not default_storage.exists(poster)
    assert tasks.outputs_cleanup() == 0


def test_minimax_callback_echoes_the_challenge(client: Client) -> None:
    response = client.post("/hooks/minimax", {"challenge": "abc123"}, content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"challenge": "abc123"}


def test_minimax_callback_moves_the_next_poll_forward_only(client: Client, org_a) -> None:
    generation = generation_create(organization=org_a, model="hailuo-02", params={"prompt": "x"})
    later = timezone.now() + timedelta(minutes=5)
    Generation.objects.filter(pk=generation.pk).update(
        status=Status.RUNNING, provider="minimax", upstream_id="3080001", next_poll_at=later
    )
    body = {"task_id": "3080001", "status": "success", "file_id": "f1"}
    assert client.post("/hooks/minimax", body, content_type="application/json").status_code == 200
    generation.refresh_from_db()
    assert generation.status == Status.RUNNING  # the callback is not trusted; the next poll decides
    assert generation.next_poll_at < later
    assert client.post("/hooks/minimax", "not json", content_type="application/json").status_code == 400


def test_under_asgi_a_signed_link_streams_the_file_in_chunks() -> None:
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    payload = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8192  # 2 MiB: several chunks
    name = default_storage.save("videos/org_x/big.mp4", ContentFile(payload))

    async def fetch() -> tuple[object, bytes]:
        response = await AsyncClient().get(_path(signed_url(name)))
        return response, b"".join([chunk async for chunk in response.streaming_content])

    response, body = async_to_sync(fetch)()
    assert response.status_code == 200
    assert response.is_async
    assert int(response["Content-Length"]) == len(payload)
    assert body == payload


def test_under_asgi_a_byte_range_streams_in_chunks() -> None:
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    payload = bytes(range(256)) * 12288  # 3 MiB: the range spans several chunks
    name = default_storage.save("videos/org_x/big.mp4", ContentFile(payload))

    async def fetch() -> tuple[object, list[bytes]]:
        response = await AsyncClient().get(_path(signed_url(name)), headers={"Range": "bytes=1000000-2600000"})
        return response, [chunk async for chunk in response.streaming_content]

    response, chunks = async_to_sync(fetch)()
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 1000000-2600000/{len(payload)}"
    assert len(chunks) > 1
    assert b"".join(chunks) == payload[1000000:2600001]
