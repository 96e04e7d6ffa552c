"""Serving stored files through expiring signed links (local storage; S3 presigns its own)."""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator, Iterator
from typing import IO

from asgiref.sync import sync_to_async
from django.core import signing
from django.core.files.storage import default_storage
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from videogen.services.files import signed_name

CHUNK = 1024 * 1024


def _chunks(handle: IO[bytes]) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK):
            yield chunk


async def _async_chunks(handle: IO[bytes]) -> AsyncIterator[bytes]:
    # Reads happen off the event loop, so a large video never sits in memory whole.
    read = sync_to_async(handle.read, thread_sensitive=False)
    try:
        while chunk := await read(CHUNK):
            yield chunk
    finally:
        await sync_to_async(handle.close, thread_sensitive=False)()


@require_GET
def signed_file(request: HttpRequest, token: str) -> StreamingHttpResponse:
    try:
        name, download_as = signed_name(token)
    except signing.BadSignature:
        raise Http404("This link is invalid or has expired.") from None
    if not default_storage.exists(name):
        raise Http404("This file is no longer available.")
    handle = default_storage.open(name, "rb")
    body = _async_chunks(handle) if isinstance(request, ASGIRequest) else _chunks(handle)
    response = StreamingHttpResponse(body, content_type=mimetypes.guess_type(name)[0] or "application/octet-stream")
    response["Content-Length"] = str(default_storage.size(name))
    response["Content-Disposition"] = content_disposition_header(bool(download_as), download_as or name.rsplit("/")[-1])
    response["Cache-Control"] = "private, max-age=3600"
    return response
