"""The Content-Security-Policy of every response: scripts only from our own static files.

No page runs inline script (templates load static/js/*.js and wire their
behaviour from data- attributes), so an injected `<script>` or `onclick=`
does nothing. Inline styles stay allowed: they cannot run code. Videos,
posters and frame previews also come from where signed links point: our own
address (`PUBLIC_BASE_URL`) or the S3 endpoint. Forms may post anywhere we
redirect them (Stripe Checkout, sign-in providers), so `form-action` is not set.

The Swagger UI pages (/api/docs) render drf-spectacular's template, whose
start-up script is inline: those two pages alone also allow inline script.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlparse

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"
INLINE_SCRIPT_URL_NAMES = frozenset({"api-docs", "api-docs-v1"})


def _origin(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}"


def media_sources() -> list[str]:
    """Where signed links to stored files point, besides this host."""
    sources = [_origin(settings.PUBLIC_BASE_URL)]
    if settings.STORAGE_BACKEND == "s3":
        endpoint = settings.STORAGES["default"]["OPTIONS"].get("endpoint_url")
        if endpoint:
            parsed = urlparse(endpoint)
            # Path-style links use the endpoint's host; virtual-hosted ones a subdomain of it (bucket.host).
            sources += [f"{parsed.scheme}://{parsed.netloc}", f"{parsed.scheme}://*.{parsed.netloc}"]
        else:
            sources.append("https://*.amazonaws.com")
    return sources


def policy(*, inline_scripts: bool = False) -> str:
    media = " ".join(["'self'", *media_sources()])
    directives = [
        "default-src 'self'",
        "script-src 'self'" + (" 'unsafe-inline'" if inline_scripts else ""),
        "style-src 'self' 'unsafe-inline'",
        f"img-src {media} data: blob:",
        f"media-src {media} blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def _set_policy(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    if HEADER not in response:
        match = getattr(request, "resolver_match", None)
        response[HEADER] = policy(inline_scripts=bool(match and match.url_name in INLINE_SCRIPT_URL_NAMES))
    return response


class ContentSecurityPolicyMiddleware:
    """Sets the policy on every response that has none of its own (sync and async, no thread of its own)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.async_mode:
            return self.__acall__(request)
        return _set_policy(request, self.get_response(request))  # type: ignore[arg-type]

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        return _set_policy(request, await self.get_response(request))  # type: ignore[misc]
