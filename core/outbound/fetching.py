"""Fetching customer URLs, delivering webhooks and downloading provider results."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path

import httpx
from django.conf import settings

from core.outbound.rules import ResolvedURL, UnsafeURLError, check_url
from core.outbound.transport import Deadline, network_errors, pinned_client

MAX_REDIRECTS = 3
POST_TIMEOUT_CAP_SECONDS = 15.0
POST_READ_CAP_BYTES = 64 * 1024
POST_EXCERPT_CHARS = 1000
# A provider's result video can be large; per-read timeouts stop a dead
# connection, this stops one that trickles bytes forever.
DOWNLOAD_DEADLINE_SECONDS = 600.0
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class FetchedContent:
    url: str
    status_code: int
    content_type: str
    body: bytes = dataclass_field(repr=False)


@dataclass(frozen=True)
class PostResult:
    status_code: int
    latency_ms: int
    body_excerpt: str
    headers: dict[str, str]


def _next_hop(response: httpx.Response, current: ResolvedURL, field: str) -> ResolvedURL:
    location = response.headers.get("location")
    if not location:
        detail = f"the server answered {response.status_code} without a Location"
        raise UnsafeURLError(field, "http_error", f"{field}: {detail}.")
    next_url = str(httpx.URL(current.url).join(location))
    try:
        return check_url(next_url, field=field)
    except UnsafeURLError as exc:
        inner = exc.message.removeprefix(f"{field}: ")
        message = f"{field}: the URL redirects to a refused location: {inner}"
        raise UnsafeURLError(field, "redirect", message) from exc


@contextlib.contextmanager
def _get_following(
    url: str, *, field: str, headers: dict[str, str], deadline: Deadline, timeout: float
) -> Iterator[tuple[ResolvedURL, httpx.Response]]:
    """GET `url`, following up to MAX_REDIRECTS redirects, each one checked anew.

    Yields the final 2xx response with its body not yet read.
    """
    target = check_url(url, field=field)
    for hop in range(MAX_REDIRECTS + 1):
        per_read = min(timeout, deadline.remaining())
        with (
            network_errors(field),
            pinned_client(target, timeout=per_read) as client,
            client.stream("GET", target.url, headers=headers) as response,
        ):
            if response.status_code in REDIRECT_STATUSES:
                if hop == MAX_REDIRECTS:
                    message = f"{field}: the URL redirects more than {MAX_REDIRECTS} times."
                    raise UnsafeURLError(field, "redirect", message)
                target = _next_hop(response, target, field)
                continue
            if not 200 <= response.status_code < 300:
                message = f"{field}: the server answered with HTTP {response.status_code}."
                raise UnsafeURLError(field, "http_error", message)
            yield target, response
            return


def _too_large(field: str, max_bytes: int) -> UnsafeURLError:
    message = f"{field}: the file is larger than the limit of {max_bytes} bytes."
    return UnsafeURLError(field, "too_large", message)


def _check_length(response: httpx.Response, *, field: str, max_bytes: int) -> None:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(field, max_bytes)


def _chunks(response: httpx.Response, *, field: str, max_bytes: int, deadline: Deadline) -> Iterator[bytes]:
    """The decoded body in chunks; stops past `max_bytes` or the deadline."""
    _check_length(response, field=field, max_bytes=max_bytes)
    received = 0
    with network_errors(field):
        for chunk in response.iter_bytes():
            received += len(chunk)
            if received > max_bytes:
                raise _too_large(field, max_bytes)
            deadline.remaining()
            yield chunk


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _accepts(media_type: str, accept: tuple[str, ...]) -> bool:
    for pattern in accept:
        pattern = pattern.lower()
        if pattern == media_type or pattern in ("*/*", ""):
            return True
        if pattern.endswith("/*") and media_type.startswith(pattern[:-1]):
            return True
    return False


def fetch(
    url: str,
    *,
    field: str,
    max_bytes: int | None = None,
    accept: tuple[str, ...] | None = None,
) -> FetchedContent:
    """GET a customer URL into memory, safely.

    The URL and every redirect target are checked with `check_url`; the body
    is capped at `max_bytes` (default settings.OUTBOUND_MAX_BYTES) and the
    whole fetch at settings.OUTBOUND_TIMEOUT_SECONDS. `accept` lists allowed
    media types ("image/png", "image/*"). Raises UnsafeURLError.
    """
    limit = max_bytes if max_bytes is not None else settings.OUTBOUND_MAX_BYTES
    seconds = float(settings.OUTBOUND_TIMEOUT_SECONDS)
    deadline = Deadline(seconds, field)
    headers = {"Accept": ", ".join(accept) if accept else "*/*", "Accept-Encoding": "identity"}
    with _get_following(url, field=field, headers=headers, deadline=deadline, timeout=seconds) as (target, response):
        body = b"".join(_chunks(response, field=field, max_bytes=limit, deadline=deadline))
        content_type = response.headers.get("content-type", "")
        status_code = response.status_code
    media_type = _media_type(content_type)
    if accept and not _accepts(media_type, accept):
        shown = media_type or "none"
        message = f"{field}: the server sent {shown}, expected one of {', '.join(accept)}."
        raise UnsafeURLError(field, "content_type", message)
    return FetchedContent(target.url, status_code, content_type, body)


def download_to_file(url: str, dest: Path, *, max_bytes: int) -> int:
    """Stream a provider's result file to `dest` and return the bytes written.

    The link is checked like a customer URL (field "output") unless its host
    is in settings.OUTBOUND_ALLOWED_HOSTS. The body goes to a temporary file
    next to `dest`, renamed into place only when complete.
    """
    field = "output"
    seconds = float(settings.OUTBOUND_TIMEOUT_SECONDS)
    deadline = Deadline(DOWNLOAD_DEADLINE_SECONDS, field)
    partial = dest.with_name(f".{dest.name}.part")
    written = 0
    headers = {"Accept-Encoding": "identity"}
    try:
        with (
            _get_following(url, field=field, headers=headers, deadline=deadline, timeout=seconds) as (_, response),
            partial.open("wb") as out,
        ):
            for chunk in _chunks(response, field=field, max_bytes=max_bytes, deadline=deadline):
                out.write(chunk)
                written += len(chunk)
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
    return written


def post_json(
    url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    field: str = "url",
    timeout: float | None = None,
) -> PostResult:
    """POST a JSON body to a customer URL (webhook delivery), safely.

    Same URL rules as `fetch`; redirects are never followed (a 3xx is
    returned as the result). At most POST_TIMEOUT_CAP_SECONDS and
    POST_READ_CAP_BYTES of response are spent. Network failures raise
    UnsafeURLError with reason "timeout" or "connect_error".
    """
    target = check_url(url, field=field)
    seconds = min(timeout or float(settings.OUTBOUND_TIMEOUT_SECONDS), POST_TIMEOUT_CAP_SECONDS)
    deadline = Deadline(seconds, field)
    sent_headers = httpx.Headers(headers)
    sent_headers.setdefault("Content-Type", "application/json")
    started = time.monotonic()
    with (
        network_errors(field),
        pinned_client(target, timeout=seconds) as client,
        client.stream("POST", target.url, content=body, headers=sent_headers) as response,
    ):
        raw = _read_prefix(response, POST_READ_CAP_BYTES, deadline)
    latency_ms = round((time.monotonic() - started) * 1000)
    text = _decode(raw, response.charset_encoding)
    return PostResult(
        status_code=response.status_code,
        latency_ms=latency_ms,
        body_excerpt=text[:POST_EXCERPT_CHARS],
        headers=dict(response.headers),
    )


def _decode(raw: bytes, charset: str | None) -> str:
    try:
        return raw.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return raw.decode("utf-8", errors="replace")


def _read_prefix(response: httpx.Response, limit: int, deadline: Deadline) -> bytes:
    """Up to `limit` bytes of the body; the rest is left unread."""
    buffer = bytearray()
    for chunk in response.iter_bytes():
        buffer += chunk
        if len(buffer) >= limit:
            break
        deadline.remaining()
    return bytes(buffer[:limit])
