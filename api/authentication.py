"""API key authentication: the one path every API request takes, native and provider-compatible alike.

A key arrives as `Authorization: Bearer <key>` (AIML API, Atlas Cloud) or
`x-api-key: <key>` (Segmind). `request_authenticate` finds the key, counts
the request against the key's and its organization's per-minute limits and
leaves the count on the request (`request.rate_limit`) for the
`X-RateLimit-*` headers. A request without a valid key is a 401, one over a
limit a 429, both as `ApiError` so each surface renders them in its shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from rest_framework import authentication

from accounts.models import ApiKey, Organization
from api import ratelimit
from core import logcontext
from core.errors import ApiError

# The methods that read a job's status on the endpoints that serve it; they count in the status-read budget.
STATUS_READ_METHODS = frozenset({"GET", "HEAD"})
NO_KEY_MESSAGE = "No API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'."


@dataclass(frozen=True)
class ApiKeyPrincipal:
    """Stands in for `request.user` on API requests: the key acts, not a person."""

    api_key: ApiKey

    is_authenticated = True
    is_anonymous = False
    is_staff = False

    @property
    def organization(self) -> Organization:
        return self.api_key.organization


def unauthenticated(code: str, message: str) -> ApiError:
    return ApiError(401, "authentication_error", code, message, headers={"WWW-Authenticate": 'Bearer realm="api"'})


def raw_key_from_headers(request: HttpRequest) -> str | None:
    """The key from either header style, or None when neither header is present (401 when malformed)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise unauthenticated("authentication_failed", "Authorization header must be 'Bearer <API key>'.")
        return value.strip()
    value = request.META.get("HTTP_X_API_KEY", "")
    return value.strip() or None


def request_authenticate(request: Any, *, status_read: bool = False) -> ApiKey:
    """The request's active key, with the request counted for it and its organization.

    Raises a 401 when the key is missing, malformed, unknown or revoked, and
    a 429 when the request goes over a limit. The count is left on
    `request.rate_limit`, the organization on `request.organization`. A
    status read of a job (`status_read`) is counted in the key's status-read
    budget instead (see api.ratelimit).
    """
    raw = raw_key_from_headers(request)
    if raw is None:
        raise unauthenticated("not_authenticated", NO_KEY_MESSAGE)
    found = ratelimit.key_authenticate_counted(raw, status_read=status_read)
    if found is None:
        raise unauthenticated("authentication_failed", "The API key is invalid or has been revoked.")
    key, request.rate_limit = found
    request.organization = key.organization
    logcontext.bind(organization=key.organization.public_id)  # the request's log records name it
    request.rate_limit.raise_if_exceeded()
    # Hostile input the guard found (api.guard), answered once the request is counted like any other.
    refused = getattr(request, "input_refused", None)
    if refused is not None:
        raise refused.api_error()
    return key


def rate_limit_headers(request: Any, response: HttpResponseBase) -> HttpResponseBase:
    """Add the `X-RateLimit-*` headers of the request's count (if it was counted) to the response."""
    state = getattr(request, "rate_limit", None)
    if state is not None:
        for name, value in state.headers().items():
            response.headers.setdefault(name, value)
    return response


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """DRF's door to `request_authenticate`: a key is required."""

    def authenticate(self, request: Any) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        key = request_authenticate(request)
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="api"'


class StatusReadAuthentication(ApiKeyAuthentication):
    """For a job's status: a GET or HEAD is counted in the key's status-read budget, other methods as usual."""

    def authenticate(self, request: Any) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        key = request_authenticate(request, status_read=is_status_read_method(request.method))
        return ApiKeyPrincipal(key), key


def is_status_read_method(method: str | None) -> bool:
    return method in STATUS_READ_METHODS


class OptionalApiKeyAuthentication(ApiKeyAuthentication):
    """For public endpoints (prices, the schema): no key is fine, a key given is checked and counted."""

    def authenticate(self, request: Any) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        if raw_key_from_headers(request) is None:
            return None
        return super().authenticate(request)
