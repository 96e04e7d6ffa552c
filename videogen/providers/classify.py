"""How a failed exchange with a provider becomes an ErrorKind: the rules every adapter starts from.

- connect timeout, read timeout, connection refused: TRANSIENT
- 429: TRANSIENT, `retry_after` from the Retry-After header (seconds or date)
- 500/502/503/504: TRANSIENT
- 401/403: ACCOUNT; 402, a provider's own credit status (Segmind 406), or a
  403 whose body talks about credits or quota: ACCOUNT "upstream_insufficient_credit"
- 404: PERMANENT "expired" for a job we poll, PERMANENT "model_not_found" on
  submit (the provider no longer serves that model: that route rests, the
  provider's other models and the next route carry on)
- other 4xx: PERMANENT, with the provider's message
- a 2xx or 5xx whose body is not JSON (garbage, an HTML error page):
  TRANSIENT "bad_response"
Adapters add their provider's own rules by overriding `raise_for_response`.
"""

from __future__ import annotations

import enum
import re

import httpx

from videogen.providers.base import ErrorKind

_CREDIT_WORDS = re.compile(r"credit|balance|fund|quota|payment|billing", re.IGNORECASE)
_SERVER_CODES = {500: "server_error", 502: "bad_gateway", 503: "unavailable", 504: "gateway_timeout"}


class Phase(enum.StrEnum):
    """What the request was for: the same status means different things."""

    SUBMIT = "submit"
    POLL = "poll"
    RESULT = "result"
    UPLOAD = "upload"


def classify_status(
    status: int,
    *,
    message: str,
    phase: Phase,
    credit_statuses: frozenset[int],
    retry_after: float | None = None,
) -> tuple[ErrorKind, str, float | None]:
    """ErrorKind, code and retry delay for a failed HTTP status (or an in-body code)."""
    if status == 429:
        return ErrorKind.TRANSIENT, "rate_limited", retry_after
    if status in credit_statuses or status == 402:
        return ErrorKind.ACCOUNT, "upstream_insufficient_credit", None
    if status == 403 and _CREDIT_WORDS.search(message):
        return ErrorKind.ACCOUNT, "upstream_insufficient_credit", None
    if status == 401:
        return ErrorKind.ACCOUNT, "unauthorized", None
    if status == 403:
        return ErrorKind.ACCOUNT, "forbidden", None
    if status >= 500:
        return ErrorKind.TRANSIENT, _SERVER_CODES.get(status, "server_error"), retry_after
    if status == 404:
        if phase == Phase.SUBMIT:
            return ErrorKind.PERMANENT, "model_not_found", None
        return ErrorKind.PERMANENT, "expired", None
    if status == 408:
        return ErrorKind.TRANSIENT, "upstream_timeout", None
    if 400 <= status < 500:
        return ErrorKind.PERMANENT, "invalid_request", None
    return ErrorKind.TRANSIENT, "bad_response", None


def transport_code(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect_timeout"
    if isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout):
        return "read_timeout"
    if isinstance(exc, httpx.PoolTimeout):
        return "pool_timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connection_refused" if "refused" in str(exc).lower() else "connect_error"
    return "network_error"
