"""Customer images: every first or last frame becomes a checked Upload in our storage."""

from __future__ import annotations

import base64
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlparse

from django.conf import settings
from django.core.files.base import ContentFile
from django.http import Http404

from accounts.models import Organization
from core import outbound
from core.errors import ParamError
from videogen import selectors
from videogen.media import (
    MAX_IMAGE_BYTES,
    ImageRuleError,
    InvalidVideo,
    decode_data_url_or_base64,
    last_frame_png,
    validate_image,
)
from videogen.models import Generation, Status, Upload


def upload_create(*, organization: Organization, data: bytes, source_url: str = "", field: str = "file") -> Upload:
    """Check an image against the seed rules and store it; raises ParamError naming `field`."""
    try:
        info = validate_image(data)
    except ImageRuleError as exc:
        raise ParamError(field, exc.rule, f"{field}: {exc.message}") from None
    upload = Upload(
        organization=organization,
        content_type=info.content_type,
        size_bytes=len(data),
        width=info.width,
        height=info.height,
        source_url=source_url[:2000],
    )
    extension = "png" if info.format == "png" else "jpg"
    upload.file.save(f"{organization.public_id}/{upload.public_id}.{extension}", ContentFile(data), save=False)
    upload.save()
    return upload


def upload_from_last_frame(*, generation: Generation) -> Upload:
    """The last frame of a finished job's video as an upload of its organization, to start the next video from.

    Raises ParamError (on `first_frame_image`) when the job has no stored video or its last frame breaks the
    image rules.
    """
    if generation.status != Status.SUCCEEDED or not generation.video or generation.output_deleted_at:
        raise ParamError("first_frame_image", "no_output", "first_frame_image: this job has no stored video.")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "video.mp4"
        with generation.video.open("rb") as source, path.open("wb") as copy:
            shutil.copyfileobj(source, copy)
        try:
            data = last_frame_png(path)
        except InvalidVideo:
            raise ParamError(
                "first_frame_image", "invalid_output", "first_frame_image: the video could not be read."
            ) from None
    return upload_create(organization=generation.organization, data=data, field="first_frame_image")


def _fetch_image(value: str, field: str) -> bytes:
    host = (urlparse(value).hostname or "").lower()
    allowed = {h.lower() for h in settings.OUTBOUND_ALLOWED_HOSTS}
    if urlparse(value).scheme != "https" and host not in allowed:
        raise ParamError(field, "scheme", f"{field}: image URLs must use https.")
    try:
        return outbound.fetch(value, field=field, max_bytes=MAX_IMAGE_BYTES).body
    except outbound.UnsafeURLError as exc:
        raise ParamError(field, exc.reason, exc.message) from None


def image_resolve(*, organization: Organization, value: str, field: str) -> Upload:
    """Turn an upload id, an https URL, a data URL or raw base64 into a stored Upload."""
    if value.startswith("upl_"):
        try:
            return selectors.upload_get(organization, value)
        except Http404:
            raise ParamError(field, "not_found", f"{field}: no upload {value!r} in this organization.") from None
    if value.lower().startswith(("http://", "https://")):
        return upload_create(organization=organization, data=_fetch_image(value, field), source_url=value, field=field)
    try:
        data = decode_data_url_or_base64(value)
    except ImageRuleError as exc:
        raise ParamError(field, exc.rule, f"{field}: {exc.message}") from None
    if not data:
        raise ParamError(field, "format", f"{field}: must be an https URL, a data URL, base64 or an upload id.")
    return upload_create(organization=organization, data=data, field=field)


def upload_data_url(upload: Upload) -> str:
    """The image as a data URL, the form every provider accepts for first and last frames."""
    with upload.file.open("rb") as handle:
        encoded = base64.b64encode(handle.read()).decode()
    return f"data:{upload.content_type};base64,{encoded}"
