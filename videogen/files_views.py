"""Serving stored files through expiring signed links (local storage; S3 presigns its own).

Videos are served with HTTP Range (one range per request), so browsers seek
without downloading the whole file first and Safari and iOS, which play
nothing without it, can play them.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import AsyncIterator, Iterator
from typing import IO

from asgiref.sync import sync_to_async
from django.core import signing
from django.core.files.storage import default_storage
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from videogen.services.files import signed_name

CHUNK = 1024 * 1024
# One range: "bytes=first-last", "bytes=first-" or "bytes=-suffix". Anything else gets the whole file.
_ONE_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class RangeNotSatisfiable(Exception):
    """The range starts past the end of the file."""


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The (first, last) bytes, inclusive, that a Range header asks for; None for the whole file.

    A header we do not serve as a range (absent, malformed, another unit,
    several ranges) means the whole file, as RFC 9110 allows. Raises
    RangeNotSatisfiable for a range that starts past the end.
    """
    match = _ONE_RANGE.fullmatch(header.strip())
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if not first:  # the last N bytes
        if int(last) == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(size - int(last), 0), size - 1
    if last and int(last) < int(first):
        return None
    if int(first) >= size:
        raise RangeNotSatisfiable
    return int(first), min(int(last), size - 1) if last else size - 1


def _chunks(handle: IO[bytes], length: int) -> Iterator[bytes]:
    with handle:
        while length > 0 and (chunk := handle.read(min(CHUNK, length))):
            length -= len(chunk)
            yield chunk


async def _async_chunks(handle: IO[bytes], length: int) -> AsyncIterator[bytes]:
    # Reads happen off the event loop, so a large video never sits in memory whole.
    read = sync_to_async(handle.read, thread_sensitive=False)
    try:
        while length > 0 and (chunk := await read(min(CHUNK, length))):
            length -= len(chunk)
            yield chunk
    finally:
        await sync_to_async(handle.close, thread_sensitive=False)()


@require_GET
def signed_file(request: HttpRequest, token: str) -> HttpResponseBase:
    try:
        name, download_as = signed_name(token)
    except signing.BadSignature:
        raise Http404("This link is invalid or has expired.") from None
    if not default_storage.exists(name):
        raise Http404("This file is no longer available.")
    size = default_storage.size(name)
    try:
        # We send no validator, so an If-Range can only be stale: the whole file, then.
        wanted = None if "If-Range" in request.headers else byte_range(request.headers.get("Range", ""), size)
    except RangeNotSatisfiable:
        refused = HttpResponse(status=416)
        refused["Content-Range"] = f"bytes */{size}"
        refused["Accept-Ranges"] = "bytes"
        return refused
    first, last = wanted or (0, size - 1)
    handle = default_storage.open(name, "rb")
    if first:
        handle.seek(first)
    length = last - first + 1
    body = _async_chunks(handle, length) if isinstance(request, ASGIRequest) else _chunks(handle, length)
    response = StreamingHttpResponse(
        body,
        status=206 if wanted else 200,
        content_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
    )
    response["Content-Length"] = str(length)
    if wanted:
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = (
        content_disposition_header(bool(download_as), download_as or name.rsplit("/")[-1]) or ""
    )
    response["Cache-Control"] = "private, max-age=3600"
    return response
