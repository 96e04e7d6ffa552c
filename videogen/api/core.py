"""The plumbing every native endpoint shares: async dispatch, API-key auth, errors, database threads.

The endpoints are plain async Django views rather than DRF views, so that a
client waiting on `Prefer: wait` holds no thread. Each request does its
database work in one hop to a bounded pool of threads (`run_sync`); errors
take the one JSON shape of `api.errors`, exactly as DRF's exception
handler renders them for the other endpoints, and a 500 never shows internals.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import DataError, close_old_connections, connections
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt

from accounts.permissions import Action
from api.authentication import rate_limit_headers, request_authenticate
from api.errors import api_error
from api.permissions import action_require
from core.errors import ApiError, ParamError, error_body, server_error_body

logger = logging.getLogger(__name__)

T = TypeVar("T")
Handler = Callable[..., Awaitable[HttpResponse]]

MAX_WAIT_SECONDS = 60

# The pool and its size (settings.API_DB_THREADS when it started); each thread keeps one connection.
_executor: tuple[ThreadPoolExecutor, int] | None = None
_executor_lock = threading.Lock()


def _db_executor() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            threads = settings.API_DB_THREADS
            _executor = (ThreadPoolExecutor(max_workers=threads, thread_name_prefix="api-db"), threads)
        return _executor[0]


def _in_db_thread(fn: Callable[..., T], *args: Any) -> T:
    try:
        return fn(*args)
    finally:
        close_old_connections()  # gives the connection back to the pool


async def run_sync(fn: Callable[..., T], *args: Any) -> T:
    """Run blocking (database) work on the API's thread pool, leaving the event loop free."""
    return await sync_to_async(_in_db_thread, thread_sensitive=False, executor=_db_executor())(fn, *args)


def db_threads_close() -> None:
    """Close every pool thread's database connection and stop the pool (tests; a new pool starts on demand)."""
    global _executor
    with _executor_lock:
        pool, _executor = _executor, None
    if pool is None:
        return
    executor, threads = pool
    # One task per thread: each waits at the barrier, so every thread gets exactly one.
    barrier = threading.Barrier(threads)

    def close_mine() -> None:
        barrier.wait(timeout=30)
        connections.close_all()

    for future in [executor.submit(close_mine) for _ in range(threads)]:
        future.result()
    executor.shutdown(wait=True)


# --- Responses ---------------------------------------------------------------


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> JsonResponse:
    return JsonResponse(data, status=status, headers=headers, safe=False)


def error_response(exc: ApiError) -> JsonResponse:
    body = error_body(exc.type, exc.code, exc.message, exc.param, **exc.extra)
    return json_response(body, status=exc.status_code, headers=exc.headers)


def invalid(param: str | None, code: str, message: str, status: int = 400) -> ApiError:
    return ApiError(status, "invalid_request_error", code, message, param=param)


def param_error(exc: ParamError) -> ApiError:
    """A rule broken by a parameter; an id that names nothing in this organization is a 404."""
    status = 404 if exc.rule == "not_found" else 400
    return invalid(exc.param, exc.rule, exc.message, status=status)


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:  # an unpaired surrogate from a \ud8xx escape
        return False
    return True


def unstorable_field(value: Any, name: str = "") -> str | None:
    """The name of the first field whose text no database can store (NUL, unpaired surrogates), if any."""
    if isinstance(value, str):
        return None if _storable(value) else (name or "body")
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        field = f"{name}.{key}" if name else str(key)
        if isinstance(key, str) and not _storable(key):
            return field
        found = unstorable_field(item, field)
        if found:
            return found
    return None


def require_storable(value: Any, name: str = "") -> None:
    """400 naming the field when some text holds characters we cannot store."""
    field = unstorable_field(value, name)
    if field is not None:
        raise invalid(field, "invalid_characters", f"{field}: contains characters that are not allowed (NUL).")


def _server_error() -> JsonResponse:
    return json_response(server_error_body(), status=500)


def _method_not_allowed(method: str, allowed: list[str]) -> JsonResponse:
    body = error_body(
        "invalid_request_error", "method_not_allowed", f"Method {method} is not allowed here; use {', '.join(allowed)}."
    )
    return json_response(body, status=405, headers={"Allow": ", ".join(allowed)})


def _exception_response(exc: Exception) -> HttpResponse:
    mapped = api_error(exc)
    if mapped is not None:
        return error_response(mapped)
    if isinstance(exc, Http404):
        return error_response(ApiError(404, "not_found", "not_found", str(exc) or "Not found."))
    if isinstance(exc, RequestDataTooBig):
        return error_response(invalid(None, "request_too_large", "The request body is too large.", status=413))
    if isinstance(exc, DataError):
        # Input the database cannot take that no check above caught: the client's data, not our failure.
        logger.warning("API request refused by the database: %s", exc)
        return error_response(invalid(None, "invalid_data", "The request contains data that cannot be stored."))
    if isinstance(exc, MultiPartParserError | TooManyFieldsSent | TooManyFilesSent):
        return error_response(invalid(None, "invalid_multipart", f"The multipart body could not be read: {exc}"))
    logger.exception("Unhandled API error", exc_info=exc)
    return _server_error()


# --- Authentication, rate limits and roles -----------------------------------


def authorize(request: HttpRequest, action: Action | None) -> None:
    """Authenticate and count the request (401, 429 when over a limit), then check the key's role (403)."""
    key = request_authenticate(request)
    request.auth = key  # type: ignore[attr-defined]
    action_require(key, action)


def _with_rate_headers(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    rate_limit_headers(request, response)
    return response


# --- Views -------------------------------------------------------------------


def api_endpoint(**handlers: Handler) -> Callable[..., Awaitable[HttpResponse]]:
    """An async view dispatching by method (get=..., post=...) with the API's error handling."""
    allowed = sorted(method.upper() for method in handlers)
    # Counted like any request of the key, then refused.
    refuse_method = sync_handler(lambda request, **kwargs: _method_not_allowed(request.method, allowed), None)

    async def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        handler = handlers.get(request.method.lower()) or refuse_method
        try:
            response = await handler(request, **kwargs)
        except Exception as exc:
            response = _exception_response(exc)
        return _with_rate_headers(request, response)

    # Keys in headers, never cookies: cross-site request forgery does not apply.
    return csrf_exempt(view)


def sync_handler(fn: Callable[..., HttpResponse], action: Action | None) -> Handler:
    """An endpoint whose whole work (auth, rate limit, reads and writes) is one trip to the database threads."""

    def authorized(request: HttpRequest, kwargs: dict[str, Any]) -> HttpResponse:
        authorize(request, action)
        return fn(request, **kwargs)

    async def handler(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        return await run_sync(authorized, request, kwargs)

    return handler


def prefer_wait(request: HttpRequest) -> int | None:
    """Seconds asked for with `Prefer: wait=N` (RFC 7240), at most 60; bare `wait` means 60.

    A preference we cannot read is ignored, as RFC 7240 asks.
    """
    for preference in request.headers.get("Prefer", "").split(","):
        token, _, value = preference.split(";", 1)[0].partition("=")
        if token.strip().lower() != "wait":
            continue
        value = value.strip().strip('"')
        if not value:
            return MAX_WAIT_SECONDS
        if value.isdigit() and int(value) > 0:
            return min(int(value), MAX_WAIT_SECONDS)
        return None
    return None
