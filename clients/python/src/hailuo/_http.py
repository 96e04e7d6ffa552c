"""What the sync and async clients share: settings, retry policy, error reading, request bodies."""

from __future__ import annotations

import email.utils
import math
import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from hailuo.errors import APIError, HailuoError, error_for
from hailuo.models import Generation, Progress

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
API_PREFIX = "/api/v1"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_MAX_RETRY_WAIT = 60.0
# Seconds each GET holds with `Prefer: wait` while we wait for a job: a progress report at least this often.
DEFAULT_POLL_WAIT = 5
MAX_SERVER_WAIT = 60
# How long a generation usually runs, for the progress estimate only.
TYPICAL_RUN_SECONDS = 60.0
USER_AGENT = "hailuo-python/0.1.0"

ImageInput = str | os.PathLike[str] | bytes


@dataclass(frozen=True)
class Options:
    api_key: str
    base_url: str
    timeout: float
    max_retries: int
    max_retry_wait: float

    @classmethod
    def from_arguments(
        cls,
        api_key: str | None,
        base_url: str | None,
        timeout: float,
        max_retries: int,
        max_retry_wait: float,
    ) -> Options:
        key = api_key if api_key is not None else os.environ.get("HAILUO_API_KEY", "")
        if not key:
            raise HailuoError("No API key: pass api_key= or set HAILUO_API_KEY.")
        url = base_url or os.environ.get("HAILUO_BASE_URL") or DEFAULT_BASE_URL
        return cls(
            api_key=key,
            base_url=url.rstrip("/"),
            timeout=timeout,
            max_retries=max(0, max_retries),
            max_retry_wait=max_retry_wait,
        )

    def url(self, path: str) -> str:
        return f"{self.base_url}{API_PREFIX}/{path.lstrip('/')}"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}", "User-Agent": USER_AGENT, "Accept": "application/json"}


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """`Retry-After` in seconds: a number, or an HTTP date; None when absent or unreadable."""
    lowered = {k.lower(): v for k, v in headers.items()}
    value = lowered.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def backoff(attempt: int) -> float:
    """Exponential backoff with jitter for answers without `Retry-After`: about 0.5, 1, 2, 4 ... s, at most 8."""
    return min(8.0, 0.5 * 2.0**attempt) * (0.75 + random.random() / 2)  # noqa: S311 (jitter, not secrets)


def retryable(error: APIError) -> bool:
    """Worth sending again: rate limited, the server failing, or the same idempotent request still in progress."""
    return error.status == 429 or error.status >= 500 or error.code == "idempotency_in_progress"


def retry_wait(error: APIError | None, attempt: int, options: Options) -> float | None:
    """Seconds to wait before attempt `attempt + 1`, or None to give up (out of retries, or told to wait too long)."""
    if attempt >= options.max_retries:
        return None
    if error is None:  # a transport error
        return backoff(attempt)
    if not retryable(error):
        return None
    asked = error.retry_after
    if asked is None:
        return backoff(attempt)
    if asked > options.max_retry_wait:
        return None
    return asked


def read_response(response: httpx.Response) -> Any:
    """The JSON of a successful answer; the matching exception for an error."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 400:
        raise error_for(response.status_code, body, dict(response.headers), response.text)
    return body


def compact(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def image_reference(value: ImageInput | None) -> str | tuple[str, bytes] | None:
    """An image as the API takes it: a URL, data URL or upload id as is; a file or bytes to upload (name, data)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return ("image", value)
    if isinstance(value, str) and value.lower().startswith(("http://", "https://", "data:", "upl_")):
        return value
    path = Path(value)
    if not path.is_file():
        raise HailuoError(f"Image {str(value)!r}: no such file (give a path, an http(s) URL, a data URL or bytes).")
    return (path.name, path.read_bytes())


def create_body(
    model: str,
    prompt: str | None,
    duration: int | None,
    resolution: str | None,
    mode: str | None,
    prompt_optimizer: bool | None,
    go_fast: bool | None,
    first_frame: str | None,
    last_frame: str | None,
    webhook: str | None,
    webhook_events_filter: list[str] | None,
    metadata: Mapping[str, str] | None,
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    params = compact(
        {
            "prompt": prompt,
            "duration": duration,
            "resolution": resolution,
            "mode": mode,
            "prompt_optimizer": prompt_optimizer,
            "go_fast": go_fast,
            "first_frame_image": first_frame,
            "last_frame_image": last_frame,
            **extra,
        }
    )
    body: dict[str, Any] = {"model": model, "input": params}
    body.update(
        compact(
            {
                "webhook": webhook,
                "webhook_events_filter": webhook_events_filter,
                "metadata": dict(metadata) if metadata is not None else None,
            }
        )
    )
    return body


def list_params(
    status: str | list[str] | None,
    model: str | None,
    created_after: str | None,
    created_before: str | None,
    limit: int | None,
    cursor: str | None,
) -> dict[str, Any]:
    if isinstance(status, list):
        status = ",".join(status)
    return compact(
        {
            "status": status,
            "model": model,
            "created_after": created_after,
            "created_before": created_before,
            "limit": limit,
            "cursor": cursor,
        }
    )


def estimate(generation: Generation, running_for: float) -> float:
    """A progress fraction from the status and the seconds spent running (the API reports no percentage)."""
    if generation.status == "succeeded":
        return 1.0
    if generation.done:
        return 1.0
    if generation.status == "queued":
        return 0.02
    if generation.status == "submitting":
        return 0.05
    return 0.05 + 0.9 * (1 - math.exp(-running_for / TYPICAL_RUN_SECONDS))


class ProgressClock:
    """Turns successive views of a job into `Progress` reports."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.running_since: float | None = None

    def report(self, generation: Generation) -> Progress:
        now = time.monotonic()
        if generation.status == "running" and self.running_since is None:
            self.running_since = now
        running_for = now - self.running_since if self.running_since is not None else 0.0
        return Progress(generation=generation, elapsed=now - self.started, fraction=estimate(generation, running_for))


def server_wait(remaining: float | None, poll_wait: int) -> int:
    """Seconds to ask the server to hold the next GET: the poll interval, never past the caller's deadline."""
    wait = min(poll_wait, MAX_SERVER_WAIT)
    if remaining is not None:
        wait = min(wait, max(1, math.ceil(remaining)))
    return max(1, wait)
