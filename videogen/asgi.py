"""ASGI entry point (uvicorn): long waits (Prefer: wait, Segmind v1) do not pin a thread.

Two Django handlers share the process. Web pages and the admin go through
settings.MIDDLEWARE (sessions, CSRF, sign-in, messages, static files).
Machine clients (see videogen.middleware.MACHINE_PATH_PREFIXES) go through a
short stack of host checks and security headers whose hooks run on the event
loop, so an API request makes no thread hop it does not need.
"""

from __future__ import annotations

import gc
import os

from asgiref.sync import iscoroutinefunction
from django.core.asgi import get_asgi_application
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest
from django.urls import Resolver404, ResolverMatch, get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videogen.settings")

from videogen.middleware import MACHINE_MIDDLEWARE, MACHINE_PATH_PREFIXES


class MachineASGIHandler(ASGIHandler):
    """Django's ASGI handler with the machine clients' middleware (no view, template or exception hooks).

    Django gives every request a thread of its own for its synchronous parts
    (ThreadSensitiveContext): started and joined per request, and parked for
    as long as the request lasts. A request for an async view skips that: our
    async views move their blocking work to thread pools themselves, and the
    few synchronous bits Django still runs (signal receivers, closing the
    response) take the process's shared thread. So a client waiting on
    `Prefer: wait` or a synchronous Segmind request holds no thread at all.
    Synchronous views (DRF, health checks) keep Django's per-request thread.
    """

    async def __call__(self, scope, receive, send):
        match = _resolve(scope) if scope["type"] == "http" else None
        scope[_MATCH_KEY] = match
        if match is not None and iscoroutinefunction(match.func):
            await self.handle(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    def resolve_request(self, request: HttpRequest) -> ResolverMatch:
        """The match __call__ already found (Django would resolve the URL again; no middleware here sets urlconf)."""
        match = request.scope.get(_MATCH_KEY)
        if match is None:
            return super().resolve_request(request)
        request.resolver_match = match
        return match

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = convert_exception_to_response(self._get_response_async if is_async else self._get_response)
        for middleware in reversed(MACHINE_MIDDLEWARE):
            handler = convert_exception_to_response(middleware(handler))
        self._middleware_chain = handler


_MATCH_KEY = "videogen.resolver_match"


def _resolve(scope: dict) -> ResolverMatch | None:
    path_info = scope["path"].removeprefix(scope.get("root_path", "")) or "/"
    try:
        return get_resolver().resolve(path_info)
    except Resolver404:
        return None  # Django resolves it again and answers 404


web_application = get_asgi_application()  # sets Django up first
machine_application = MachineASGIHandler()

# Garbage collection, tuned for a request server (measured with bench/api_bench.py on 2 cores):
# - everything loaded so far (modules, models, URL patterns, the catalog) lives as long as the
#   process; frozen, full collections stop scanning it (they were the slowest requests' extra
#   100+ ms: /healthz p99 went from about 200 ms to 75-100 ms);
# - a request allocates thousands of short-lived objects, so the default threshold (700) ran
#   several collections per request; at 20,000 they run every few requests, for a few MB more
#   memory (job creation went from about 117 to 119-136 per second).
gc.collect()
gc.freeze()
gc.set_threshold(20_000, 20, 20)


async def application(scope, receive, send):
    if scope["type"] == "http" and scope["path"].startswith(MACHINE_PATH_PREFIXES):
        return await machine_application(scope, receive, send)
    return await web_application(scope, receive, send)
