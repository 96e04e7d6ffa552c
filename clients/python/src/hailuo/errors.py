"""Exceptions: one class per kind of refusal, each carrying what the API said.

Every API error has one shape, `{"error": {"type", "code", "message", "param"}}`;
`APIError` keeps each part (`param` is also `field`: the request field at fault)
along with the HTTP status, the whole body and `Retry-After` when sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "GenerationError",
    "HailuoError",
    "InsufficientCreditsError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "WaitTimeout",
]


class HailuoError(Exception):
    """Base class of every error this package raises."""


class APIConnectionError(HailuoError):
    """The API could not be reached (connection refused, timed out, dropped), after the retries."""


class APIError(HailuoError):
    """The API answered with an error status."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.body = body
        self.headers = dict(headers or {})
        self.request_id = request_id

    @property
    def field(self) -> str | None:
        """The request field (or header) at fault, when the API named one."""
        return self.param

    @property
    def retry_after(self) -> float | None:
        """Seconds the API asked us to wait before trying again (`Retry-After`), if it said."""
        from hailuo._http import parse_retry_after

        return parse_retry_after(self.headers)

    @property
    def details(self) -> dict[str, Any]:
        """The error object as sent, with any extra keys (`role`, `price`, `limit`, ...)."""
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return dict(self.body["error"])
        return {}

    def __str__(self) -> str:
        parts = [f"{self.status}"]
        if self.code:
            parts.append(self.code)
        if self.param:
            parts.append(f"field {self.param}")
        return f"{self.message} ({', '.join(parts)})"


class BadRequestError(APIError):
    """400 (or 413, 415): a parameter breaks a rule; `field` names it and `code` names the rule."""


class AuthenticationError(APIError):
    """401: the key is missing, wrong or revoked."""


class InsufficientCreditsError(APIError):
    """402: not enough credit (`insufficient_credits`) or a spend limit reached (`spend_limit_exceeded`)."""


class PermissionDeniedError(APIError):
    """403: the key's role may not do this."""


class NotFoundError(APIError):
    """404: no such object in the key's organization."""


class ConflictError(APIError):
    """409: an idempotency conflict, or a generation that can no longer be canceled."""


class RateLimitError(APIError):
    """429: too many requests this minute, or too many generations running at once."""


class ServerError(APIError):
    """5xx: the API failed; retried before this is raised."""


class GenerationError(HailuoError):
    """A generation ended without a video (failed, canceled or timed out) where one was needed."""

    def __init__(self, generation: Any) -> None:
        self.generation = generation
        error = generation.error
        reason = f": {error.message} ({error.code})" if error else ""
        super().__init__(f"Generation {generation.id} {generation.status}{reason}")


class WaitTimeout(HailuoError):
    """The generation was still running when the wait ran out; it goes on, and can be fetched later."""

    def __init__(self, generation: Any, seconds: float) -> None:
        self.generation = generation
        super().__init__(f"Generation {generation.id} still {generation.status} after {seconds:.0f} s")


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: BadRequestError,
    415: BadRequestError,
    422: BadRequestError,
    429: RateLimitError,
}


def error_for(status: int, body: Any, headers: Mapping[str, str], text: str = "") -> APIError:
    """The exception for an error answer, read from the API's error shape (or the bare text)."""
    details = body.get("error") if isinstance(body, dict) else None
    if not isinstance(details, dict):
        details = {}
    message = details.get("message") or text.strip()[:300] or f"HTTP {status}"
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else APIError)
    return cls(
        status,
        str(message),
        type=details.get("type"),
        code=details.get("code"),
        param=details.get("param"),
        body=body,
        headers=headers,
        request_id=headers.get("x-request-id"),
    )
