"""Middleware whose hooks run on the event loop, and the short stack for machine clients.

Under ASGI, Django runs every hook of a MiddlewareMixin middleware through
sync_to_async: one hop to a thread and back per hook. For hooks that only check
the host and set headers, the hop costs far more than the hook. The classes
here are Django's own with their hooks called in place.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware as DjangoXFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware as DjangoCommonMiddleware
from django.middleware.security import SecurityMiddleware as DjangoSecurityMiddleware


class EventLoopHooksMixin:
    """For a MiddlewareMixin whose process_request and process_response do no I/O: no thread hop under ASGI."""

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        response = self.process_request(request) if hasattr(self, "process_request") else None
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            response = self.process_response(request, response)
        return response


class SecurityMiddleware(EventLoopHooksMixin, DjangoSecurityMiddleware):
    pass


class CommonMiddleware(EventLoopHooksMixin, DjangoCommonMiddleware):
    pass


class XFrameOptionsMiddleware(EventLoopHooksMixin, DjangoXFrameOptionsMiddleware):
    pass


# Machine clients (the REST API, the provider-compatible endpoints, signed files, health checks,
# provider callbacks) need no session, CSRF token, signed-in user, messages or static files.
MACHINE_MIDDLEWARE = (SecurityMiddleware, CommonMiddleware)
MACHINE_PATH_PREFIXES = ("/api/v1/", "/v1/", "/v2/", "/files/", "/hooks/", "/healthz", "/readyz")
