"""Our storage: saving outputs and handing out expiring signed links."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.utils.http import content_disposition_header

_SALT = "videogen.files"


def signed_url(name: str | None, *, download_as: str = "") -> str:
    """An absolute link to a stored file that needs no API key and expires."""
    if not name:
        return ""
    if settings.STORAGE_BACKEND == "s3":
        # S3 answers with this header itself, so a download keeps its name as it does from our own view.
        parameters = (
            {"ResponseContentDisposition": content_disposition_header(True, download_as)} if download_as else {}
        )
        return default_storage.url(name, parameters=parameters, expire=settings.SIGNED_URL_TTL_SECONDS)  # type: ignore[call-arg]  # S3Storage.url
    token = signing.TimestampSigner(salt=_SALT).sign_object({"n": name, "d": download_as})
    return f"{settings.PUBLIC_BASE_URL}/files/{token}"


def signed_name(token: str) -> tuple[str, str]:
    """The file name and download name a token grants; raises signing.BadSignature when invalid or expired."""
    payload = signing.TimestampSigner(salt=_SALT).unsign_object(token, max_age=settings.SIGNED_URL_TTL_SECONDS)
    return payload["n"], payload.get("d", "")
