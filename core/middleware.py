"""A request id on every request: taken from `X-Request-Id` when it looks like one, else made; echoed back.

Each request starts with its id (and, for a signed-in page, the organization)
bound for the log records written while it is served (see core.logcontext),
Django's own "Not Found" and "Internal Server Error" lines included: those are
written after the middleware returns, so the fields stay bound until the next
request replaces them. Under ASGI every request has a context of its own.
Works on both the sync and the async stack without a thread of its own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core import logcontext

HEADER = "X-Request-Id"
# What proxies and load balancers send (UUIDs, hex, ULIDs, base64): nothing that could forge a log line.
_SANE = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")


def request_id(request: HttpRequest) -> str:
    given = request.headers.get(HEADER, "")
    return given if _SANE.fullmatch(given) else uuid.uuid4().hex


def _organization(request: HttpRequest) -> str | None:
    """The active organization of a signed-in user (pages resolve it anyway; an API key's comes later)."""
    membership = getattr(request, "membership", None)
    return membership.organization.public_id if membership else None


class RequestContextMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def _signed_in(self, request: HttpRequest) -> bool:
        # Only a session cookie can mean a signed-in user; API requests carry none and cost nothing here.
        return settings.SESSION_COOKIE_NAME in request.COOKIES

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.async_mode:
            return self.__acall__(request)
        rid = request_id(request)
        organization = _organization(request) if self._signed_in(request) else None
        logcontext.bind(request_id=rid, organization=organization, job_id=None, provider=None)
        response: HttpResponse = self.get_response(request)
        response[HEADER] = rid
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        rid = request_id(request)
        organization = await sync_to_async(_organization)(request) if self._signed_in(request) else None
        logcontext.bind(request_id=rid, organization=organization, job_id=None, provider=None)
        response: HttpResponse = await self.get_response(request)
        response[HEADER] = rid
        return response
