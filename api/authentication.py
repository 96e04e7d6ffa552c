"""API key authentication for the REST API and the provider-compatible endpoints.

A key arrives as `Authorization: Bearer <key>` (AIML API, Atlas Cloud) or
`x-api-key: <key>` (Segmind). A request without a valid key gets a 401 JSON
error, never a login redirect.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from rest_framework import authentication, exceptions

from accounts import services
from accounts.models import ApiKey, Organization


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


def raw_key_from_headers(request: HttpRequest) -> str | None:
    """The key from either header style, or None when neither header is present."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <API key>'.")
        return value.strip()
    value = request.META.get("HTTP_X_API_KEY", "")
    return value.strip() or None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: HttpRequest) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        raw = raw_key_from_headers(request)
        if raw is None:
            raise exceptions.NotAuthenticated("No API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'.")
        key = services.api_key_authenticate(raw)
        if key is None:
            raise exceptions.AuthenticationFailed("The API key is invalid or has been revoked.")
        request.organization = key.organization
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request: HttpRequest) -> str:
        return 'Bearer realm="api"'
