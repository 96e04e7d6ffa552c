"""The one interface every provider adapter implements.

Adapters translate between our job and a provider's protocol and nothing
else: they never read or write job state or billing. Every failure leaves an
adapter as a ProviderError whose `kind` tells the pipeline what to do.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar


class ErrorKind(enum.StrEnum):
    PERMANENT = "permanent"  # bad input, content blocked: retrying cannot help
    TRANSIENT = "transient"  # timeouts, 5xx, 429: try again later or elsewhere
    ACCOUNT = "account"  # bad key, upstream balance exhausted: the provider is unhealthy


class ProviderError(Exception):
    """A classified failure talking to a provider."""

    def __init__(
        self,
        kind: ErrorKind,
        code: str,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{kind}:{code}: {message}")
        self.kind = kind
        self.code = code
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after


class UpstreamStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class SubmitRequest:
    """A validated generation request in our own vocabulary.

    `params` holds the catalog's normalized parameters: prompt (str),
    duration (int seconds), resolution ("512p" | "768p" | "1080p"),
    mode ("standard" | "pro" | None), prompt_optimizer (bool),
    go_fast (bool), first_frame_image / last_frame_image (an https URL or a
    data URL, or None).
    """

    model: str
    params: dict[str, Any]
    idempotency_key: str
    callback_url: str | None = None


@dataclass
class Exchange:
    """One request/response pair with secrets removed, for operators."""

    method: str
    url: str
    status_code: int | None
    request_body: Any = None
    response_body: Any = None


@dataclass
class UpstreamResult:
    """What the provider says about a job, after submit or poll.

    On success exactly one of `output_url` (to download) or `output_path`
    (a local file the adapter already holds, e.g. a synchronous API that
    returned the bytes) is set.
    """

    upstream_id: str
    status: UpstreamStatus
    output_url: str | None = None
    output_path: Path | None = None
    error_code: str | None = None
    error_message: str | None = None
    # Seconds the provider asked us to wait before asking again.
    retry_after: float | None = None
    exchanges: list[Exchange] = field(default_factory=list)


class ProviderAdapter:
    """Base class: one subclass per provider module."""

    name: ClassVar[str]
    supports_cancel: ClassVar[bool] = False
    # True when submitting the same idempotency key twice starts one upstream job,
    # so a submission interrupted by a crash may be retried safely.
    idempotent_submit: ClassVar[bool] = False
    supported_models: ClassVar[frozenset[str]] = frozenset()

    def submit(self, request: SubmitRequest) -> UpstreamResult:
        raise NotImplementedError

    def poll(self, upstream_id: str) -> UpstreamResult:
        raise NotImplementedError

    def cancel(self, upstream_id: str) -> None:
        """Ask the provider to stop; only called when supports_cancel."""
        raise NotImplementedError

    def result_url(self, result: UpstreamResult) -> str:
        """The URL to download a succeeded job's video from.

        Providers that return a file id instead of a link (MiniMax) resolve it
        here; the others return `result.output_url`.
        """
        if not result.output_url:
            raise ProviderError(ErrorKind.TRANSIENT, "no_output", "The provider returned no output URL.")
        return result.output_url

    def close(self) -> None:
        """Release pooled connections."""
