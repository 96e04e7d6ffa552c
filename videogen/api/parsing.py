"""Reading what a native API request asks for: text we can store, the `Prefer: wait` preference, 400s."""

from __future__ import annotations

from typing import Any

from core.errors import ApiError

MAX_WAIT_SECONDS = 60


def invalid(param: str | None, code: str, message: str, status: int = 400) -> ApiError:
    return ApiError(status, "invalid_request_error", code, message, param=param)


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:  # an unpaired surrogate from a \ud8xx escape
        return False
    return True


def unstorable_field(value: Any, name: str = "") -> str | None:
    """The name of the first field whose text no database can store (NUL, unpaired surrogates), if any."""
    if isinstance(value, str):
        return None if _storable(value) else (name or "body")
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        field = f"{name}.{key}" if name else str(key)
        if isinstance(key, str) and not _storable(key):
            return field
        found = unstorable_field(item, field)
        if found:
            return found
    return None


def require_storable(value: Any, name: str = "") -> None:
    """400 naming the field when some text holds characters we cannot store."""
    field = unstorable_field(value, name)
    if field is not None:
        raise invalid(field, "invalid_characters", f"{field}: contains characters that are not allowed (NUL).")


def media_type(request: Any) -> str:
    """The request's content type without parameters ("application/json"), "" when none was sent."""
    return (request.content_type or "").split(";", 1)[0].strip().lower()


def prefer_wait(request: Any) -> int | None:
    """Seconds asked for with `Prefer: wait=N` (RFC 7240), at most MAX_WAIT_SECONDS; bare `wait` means the most.

    A preference we cannot read is ignored, as RFC 7240 asks.
    """
    for preference in request.headers.get("Prefer", "").split(","):
        token, _, value = preference.split(";", 1)[0].partition("=")
        if token.strip().lower() != "wait":
            continue
        value = value.strip().strip('"')
        if not value:
            return MAX_WAIT_SECONDS
        if value.isdigit() and int(value) > 0:
            return min(int(value), MAX_WAIT_SECONDS)
        return None
    return None
