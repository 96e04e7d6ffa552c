"""Reading what a provider answered: bodies, messages, Retry-After, inline images."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

# Longer non-JSON bodies (HTML error pages) are cut to this many characters.
TEXT_BODY_KEEP = 2000
# Messages taken from a provider's body and put in a ProviderError.
MESSAGE_KEEP = 500

_MESSAGE_KEYS = ("message", "error", "detail", "msg", "status_msg", "error_message")


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def body_message(body: Any, fallback: str = "") -> str:
    """The human message a provider put in an error body, wherever it put it."""
    if isinstance(body, Mapping):
        for key in _MESSAGE_KEYS:
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:MESSAGE_KEEP]
            if isinstance(value, Mapping):
                nested = body_message(value)
                if nested:
                    return nested
        base_resp = body.get("base_resp")
        if isinstance(base_resp, Mapping):
            return body_message(base_resp, fallback)
    if isinstance(body, str) and body:
        return body[:MESSAGE_KEEP]
    return fallback[:MESSAGE_KEEP]


def _looks_like_html(response: httpx.Response, text: str) -> bool:
    content_type = response.headers.get("content-type", "")
    return "html" in content_type or text.lstrip()[:1] == "<"


@dataclass
class Decoded:
    """A response body: parsed JSON when it was JSON, else the text."""

    data: Any
    text: str
    is_json: bool


def decode(response: httpx.Response) -> Decoded:
    text = response.text
    if not text or _looks_like_html(response, text):
        return Decoded(data=None, text=text, is_json=False)
    try:
        return Decoded(data=json.loads(text), text=text, is_json=True)
    except ValueError:
        return Decoded(data=None, text=text, is_json=False)


def decode_data_url(value: str) -> tuple[str, bytes] | None:
    """(content type, bytes) of a base64 data URL, or None when it is not one."""
    if not value.startswith("data:") or "," not in value:
        return None
    head, _, payload = value[5:].partition(",")
    content_type, _, encoding = head.partition(";")
    if encoding != "base64":
        return None
    try:
        return content_type or "application/octet-stream", base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None
