"""Serving stored files through expiring signed links (local storage; S3 presigns its own)."""

from __future__ import annotations

import mimetypes

from django.core import signing
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_GET

from videogen.services.files import signed_name


@require_GET
def signed_file(request: HttpRequest, token: str) -> FileResponse:
    try:
        name, download_as = signed_name(token)
    except signing.BadSignature:
        raise Http404("This link is invalid or has expired.") from None
    if not default_storage.exists(name):
        raise Http404("This file is no longer available.")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(
        default_storage.open(name, "rb"),
        content_type=content_type,
        as_attachment=bool(download_as),
        filename=download_as or None,
    )
    response["Cache-Control"] = "private, max-age=3600"
    response["Accept-Ranges"] = "none"
    return response
