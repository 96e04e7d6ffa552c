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
        param: str | None = None,
    ) -> None:
        super().__init__(f"{kind}:{code}: {message}")
        self.kind = kind
        self.code = code
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after
        # The request field a route mismatch is about, so a refusal at submission can name it.
        self.param = param
        # What was said with the provider up to the failure, for operators (secrets removed).
        self.exchanges: list[Any] = []


# A provider that cannot take this particular request (its rules are stricter
# than our catalog's): the pipeline tries the next route instead of failing the job.
ROUTE_MISMATCH_CODES = frozenset({"unsupported_model", "unsupported_params", "missing_first_frame"})
# The provider does not serve this model any more (a 404 on submission): that
# route rests for a while, the provider's other models keep running.
ROUTE_GONE_CODES = frozenset({"model_not_found"})


def mismatch(message: str, *, param: str, code: str = "unsupported_params") -> ProviderError:
    """A route mismatch: this provider cannot run the request as asked, another route may."""
    return ProviderError(ErrorKind.PERMANENT, code, message, param=param)


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

    `image_links` maps an image field to a signed https link to our stored
    copy, when the site has a public https address: providers that take
    images by URL (Segmind, AIML API, Atlas Cloud) get the link, MiniMax,
    which documents data URLs, gets the data URL.
    """

    model: str
    params: dict[str, Any]
    idempotency_key: str
    callback_url: str | None = None
    image_links: dict[str, str] = field(default_factory=dict)

    def image(self, name: str) -> str | None:
        """The image to send by URL: our signed https link if there is one, else what the request holds."""
        return self.image_links.get(name) or self.params.get(name) or None


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

    @classmethod
    def from_settings(
        cls, *, client: Any = None, api_key: str | None = None, base_url: str | None = None
    ) -> ProviderAdapter:
        """Build the adapter the registry hands out; HTTP adapters read their key and URL from the settings."""
        return cls()

    @classmethod
    def check(cls, request: SubmitRequest) -> None:
        """Refuse, without any network call, a request this provider cannot run as asked.

        Raises a PERMANENT ProviderError whose code is in ROUTE_MISMATCH_CODES
        and whose `param` names the field, so routing moves on to the next
        route, and a request no route can take is refused when it is made.
        """
        if request.model not in cls.supported_models:
            raise ProviderError(
                ErrorKind.PERMANENT,
                "unsupported_model",
                f"{cls.name} does not serve the model {request.model!r}.",
                param="model",
            )

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

    def result_urls(self, result: UpstreamResult) -> list[str]:
        """Every link the video may be downloaded from, best first (MiniMax sends a backup)."""
        return [self.result_url(result)]

    def close(self) -> None:
        """Release pooled connections."""
