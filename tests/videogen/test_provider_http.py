"""The shared request helpers: Retry-After, redaction, classification."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.redaction import redact
from videogen.providers.base import ErrorKind
from videogen.providers.classify import Phase, classify_status
from videogen.providers.responses import body_message, decode_data_url, parse_retry_after

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("Sun, 01 Jun 2025 12:01:30 GMT", 90.0),
        ("Sun, 01 Jun 2025 11:00:00 GMT", 0.0),  # already past: ask again now
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


def test_redaction_removes_keys_everywhere_and_shortens_inline_images() -> None:
    image = "data:image/jpeg;base64," + "A" * 5000
    bare = "QUJD" * 200
    value = {
        "prompt": "uses key sk-123 in text",
        "nested": [{"first_frame_image": image}, bare],
        "sk-123": "as a key",
        "count": 3,
    }

    cleaned = redact(value, ["sk-123", ""])

    assert "sk-123" not in repr(cleaned)
    assert cleaned["prompt"] == "uses key [redacted] in text"
    assert cleaned["nested"][0]["first_frame_image"].startswith("data:image/jpeg;base64,AAAA")
    assert len(cleaned["nested"][0]["first_frame_image"]) < 100
    assert len(cleaned["nested"][1]) < 100
    assert cleaned["count"] == 3


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error": "Invalid parameters"}, "Invalid parameters"),
        ({"error": {"message": "Body validation error!"}}, "Body validation error!"),
        ({"detail": "Not enough credits"}, "Not enough credits"),
        ({"base_resp": {"status_code": 1004, "status_msg": "login fail"}}, "login fail"),
        (None, "fallback text"),
    ],
)
def test_body_message_finds_the_providers_words(body: object, message: str) -> None:
    assert body_message(body, "fallback text") == message


@pytest.mark.parametrize(
    ("status", "message", "phase", "expected"),
    [
        (400, "bad", Phase.SUBMIT, (ErrorKind.PERMANENT, "invalid_request")),
        (422, "bad", Phase.SUBMIT, (ErrorKind.PERMANENT, "invalid_request")),
        (401, "", Phase.POLL, (ErrorKind.ACCOUNT, "unauthorized")),
        (403, "", Phase.POLL, (ErrorKind.ACCOUNT, "forbidden")),
        (403, "Insufficient credits", Phase.SUBMIT, (ErrorKind.ACCOUNT, "upstream_insufficient_credit")),
        (402, "", Phase.SUBMIT, (ErrorKind.ACCOUNT, "upstream_insufficient_credit")),
        (406, "", Phase.SUBMIT, (ErrorKind.ACCOUNT, "upstream_insufficient_credit")),
        (404, "", Phase.POLL, (ErrorKind.PERMANENT, "expired")),
        (404, "", Phase.SUBMIT, (ErrorKind.PERMANENT, "model_not_found")),
        (408, "", Phase.POLL, (ErrorKind.TRANSIENT, "upstream_timeout")),
        (429, "", Phase.POLL, (ErrorKind.TRANSIENT, "rate_limited")),
        (503, "", Phase.POLL, (ErrorKind.TRANSIENT, "unavailable")),
        (599, "", Phase.POLL, (ErrorKind.TRANSIENT, "server_error")),
    ],
)
def test_statuses_are_classified(status: int, message: str, phase: Phase, expected: tuple[ErrorKind, str]) -> None:
    kind, code, _ = classify_status(status, message=message, phase=phase, credit_statuses=frozenset({406}))

    assert (kind, code) == expected


def test_data_urls_decode_and_anything_else_does_not() -> None:
    assert decode_data_url("data:image/png;base64,iVBORw==") == ("image/png", b"\x89PNG")
    assert decode_data_url("https://example.com/a.png") is None
    assert decode_data_url("data:image/png;base64,@@@") is None
