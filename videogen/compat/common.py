"""What the provider-compatible endpoints share: keys, jobs, waiting, links and errors.

Each provider module (segmind, aimlapi, atlascloud, replicate, fal) only
translates: it turns the provider's request into our model and parameters,
calls the same `generation_create` the native API calls, and renders our
job (through `generation_to_dict`) in the provider's words. Refusals travel
as `CompatError` with a neutral kind; each module renders them in its
provider's error style and status codes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.core import signing
from django.db import close_old_connections
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from accounts.models import ApiKey
from accounts.permissions import Action
from api.authentication import is_status_read_method, rate_limit_headers, request_authenticate
from api.permissions import action_require
from api.ratelimit import RUNNING_JOBS_RETRY_AFTER, limits_for
from billing.errors import InsufficientCredits, PricingError, SpendLimitExceeded, TooManyOpenHolds
from core.errors import ApiError, ParamError
from videogen import selectors
from videogen.models import Generation, Status, Upload
from videogen.presenters import generation_to_dict
from videogen.services.files import signed_name
from videogen.services.generations import generation_cancel, generation_create
from videogen.services.uploads import upload_create

logger = logging.getLogger(__name__)

# How often waiting requests look at their jobs: one query per event loop for all of them.


class Kind:
    """Why a compatible request was refused, before any provider's wording."""

    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    INSUFFICIENT_CREDITS = "insufficient_credits"
    SPEND_LIMIT = "spend_limit"
    JOB_FAILED = "job_failed"
    CONTENT_BLOCKED = "content_blocked"
    UNAVAILABLE = "unavailable"
    TIMEOUT = "timeout"
    SERVER_ERROR = "server_error"
    RATE_LIMITED = "rate_limited"


class CompatError(Exception):
    """A refusal: `kind` says why, `message` is for people, `param` names the field at fault."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        param: str | None = None,
        request_id: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.param = param
        self.request_id = request_id
        self.retry_after = retry_after


# --- views -----------------------------------------------------------------------------

ErrorRenderer = Callable[[HttpRequest, CompatError], HttpResponse]


def compat_view(
    render_error: ErrorRenderer, *, status_reads: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Make a view answer every refusal, and any bug, in its provider's error style (never HTML).

    Every request is authenticated and counted first (`key_check`), whatever
    its method or body. With `status_reads`, the view's GET and HEAD read a
    job's status or result and count in the key's status-read budget (SDKs
    poll them every second while a job runs). Works for sync and async views;
    the endpoints take API keys, not cookies, so no CSRF.
    """

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        def failed(request: HttpRequest, exc: Exception) -> HttpResponseBase:
            if isinstance(exc, CompatError):
                response = render_error(request, exc)
                if exc.retry_after is not None:
                    response["Retry-After"] = str(exc.retry_after)
                return rate_limit_headers(request, response)
            logger.exception("Compatible endpoint %s failed", request.path, exc_info=exc)
            response = render_error(request, CompatError(Kind.SERVER_ERROR, "Internal server error."))
            return rate_limit_headers(request, response)

        if iscoroutinefunction(view):

            @wraps(view)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
                try:
                    await in_thread(key_check)(
                        request, status_read=status_reads and is_status_read_method(request.method)
                    )
                    response = await view(request, *args, **kwargs)
                except Exception as exc:
                    return failed(request, exc)
                return rate_limit_headers(request, response)

            return csrf_exempt(async_wrapper)

        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            try:
                key_check(request, status_read=status_reads and is_status_read_method(request.method))
                response = view(request, *args, **kwargs)
            except Exception as exc:
                return failed(request, exc)
            return rate_limit_headers(request, response)

        return csrf_exempt(wrapper)

    return decorate


def require_method(request: HttpRequest, *allowed: str) -> None:
    if request.method not in allowed:
        raise CompatError(Kind.METHOD_NOT_ALLOWED, f"Method {request.method} is not allowed here; use {allowed[0]}.")


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object; a 400 naming the problem otherwise."""
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise CompatError(Kind.BAD_REQUEST, "The request body must be a JSON object.") from None
    if not isinstance(body, dict):
        raise CompatError(Kind.BAD_REQUEST, "The request body must be a JSON object.")
    return body


def public_base(request: HttpRequest) -> str:
    """Scheme and host for absolute links back to this API (status and result URLs).

    Clients follow those links verbatim, so they must point where the client
    reached us: a staging name, an internal name or a test server all work.
    The host is the one Django already checked against ALLOWED_HOSTS. When it
    is PUBLIC_BASE_URL's host, PUBLIC_BASE_URL is used as written, so the
    scheme is right even behind a proxy that does not say it terminated TLS.
    """
    host = request.get_host()
    configured = settings.PUBLIC_BASE_URL.rstrip("/")
    if urlsplit(configured).netloc.lower() == host.lower():
        return configured
    return f"{request.scheme}://{host}"


# --- keys --------------------------------------------------------------------------------


# What a compatible request does in the permission table: submitting is generating, reading is viewing jobs.
METHOD_ACTIONS = {"POST": Action.GENERATE, "GET": Action.JOBS_VIEW, "HEAD": Action.JOBS_VIEW}
# Refusals of the one authentication path (api.authentication), hostile input (api.guard) included.
_KINDS = {
    400: Kind.BAD_REQUEST,
    401: Kind.UNAUTHORIZED,
    403: Kind.FORBIDDEN,
    404: Kind.NOT_FOUND,
    413: Kind.BAD_REQUEST,
    429: Kind.RATE_LIMITED,
}


def _compat_error(exc: ApiError) -> CompatError:
    retry_after = exc.headers.get("Retry-After")
    kind = _KINDS.get(exc.status_code, Kind.SERVER_ERROR)
    return CompatError(kind, exc.message, param=exc.param, retry_after=int(retry_after) if retry_after else None)


def key_check(request: HttpRequest, *, status_read: bool = False) -> ApiKey:
    """The request's key, through the native API's one path: counted against the same limits.

    401 when missing, malformed or revoked, 429 over a limit (a status read: over the key's status-read
    budget). The key stays on `request.api_key`.
    """
    try:
        key = request_authenticate(request, status_read=status_read)
    except ApiError as exc:
        raise _compat_error(exc) from None
    request.api_key = key  # type: ignore[attr-defined]
    return key


def authenticate(request: HttpRequest, action: Action | None = None) -> ApiKey:
    """The request's key (see `key_check`), allowed by its role to do `action` (by default what the method does)."""
    key = getattr(request, "api_key", None) or key_check(request)
    try:
        action_require(key, action or METHOD_ACTIONS.get(request.method or "", Action.GENERATE))
    except ApiError as exc:
        raise _compat_error(exc) from None
    return key


# --- jobs --------------------------------------------------------------------------------


def _renamed(exc: ParamError, renames: dict[str, str]) -> CompatError:
    """Name the field as the client sent it (e.g. `image_url`, not our `first_frame_image`)."""
    param, message = exc.param, exc.message
    if param in renames:
        new = renames[param]
        if message.startswith(f"{param}:"):
            message = f"{new}:{message[len(param) + 1 :]}"
        param = new
    return CompatError(Kind.BAD_REQUEST, message, param=param)


def own_upload(api_key: ApiKey, value: Any) -> Any:
    """Our own signed link to one of the organization's uploads becomes that upload's id.

    Atlas clients upload with uploadMedia and pass the returned download_url
    as the image; resolving it here saves fetching our own file over HTTP.
    Anything else is returned unchanged and resolved by generation_create.
    """
    if not isinstance(value, str) or "/files/" not in value:
        return value
    token = value.rsplit("/files/", 1)[1].split("?", 1)[0]
    try:
        name, _ = signed_name(token)
    except signing.BadSignature:
        return value
    upload = Upload.objects.filter(organization_id=api_key.organization_id, file=name).first()
    return upload.public_id if upload else value


def job_create(
    *,
    api_key: ApiKey,
    model: str,
    params: dict[str, Any],
    source: str,
    renames: dict[str, str] | None = None,
    webhook_url: str = "",
    webhook_events: list[str] | None = None,
) -> Generation:
    """Accept a job exactly as the native API does (validation, price, hold, running jobs), or raise CompatError."""
    params = {name: own_upload(api_key, value) for name, value in params.items()}
    limits = limits_for(api_key.organization_id)
    try:
        return generation_create(
            organization=api_key.organization,
            model=model,
            params=params,
            source=source,
            api_key=api_key,
            webhook_url=webhook_url,
            webhook_events=webhook_events,
            max_running=limits.max_running_jobs,
        )
    except ParamError as exc:
        raise _renamed(exc, renames or {}) from None
    except PricingError as exc:
        raise CompatError(Kind.BAD_REQUEST, str(exc), param="model") from None
    except InsufficientCredits as exc:
        raise CompatError(Kind.INSUFFICIENT_CREDITS, str(exc)) from None
    except SpendLimitExceeded as exc:
        raise CompatError(Kind.SPEND_LIMIT, str(exc)) from None
    except TooManyOpenHolds as exc:
        raise CompatError(Kind.RATE_LIMITED, str(exc), retry_after=RUNNING_JOBS_RETRY_AFTER) from None


def upload_accept(api_key: ApiKey, data: bytes, *, field: str) -> Upload:
    """Store an image for later use as a frame, under the same rules as the native uploads."""
    try:
        return upload_create(organization=api_key.organization, data=data, field=field)
    except ParamError as exc:
        raise CompatError(Kind.BAD_REQUEST, exc.message, param=exc.param) from None


def job_get(api_key: ApiKey, public_id: str) -> Generation:
    """One of the key's organization's jobs; another organization's id is as unknown as a made-up one."""
    try:
        return selectors.generation_get(api_key.organization, public_id)
    except Http404:
        raise CompatError(Kind.NOT_FOUND, f"No request with id {public_id!r}.") from None


@dataclass(frozen=True)
class JobView:
    """A job as every provider shape needs it: one state, the video link, the error, the timings."""

    id: str
    state: str  # queued | running | succeeded | failed
    video_url: str | None
    error_code: str | None
    error_message: str | None
    expired: bool
    queue_seconds: float | None
    generation_seconds: float | None
    created_at: str | None
    completed_at: str | None


_STATES: dict[str, str] = {
    Status.QUEUED: "queued",
    Status.SUBMITTING: "queued",
    Status.RUNNING: "running",
    Status.SUCCEEDED: "succeeded",
}


def job_view(generation: Generation) -> JobView:
    """Read the job through the native job object, so every API tells the same story."""
    job = generation_to_dict(generation)
    state = _STATES.get(generation.status, "failed")
    error = job["error"] or {}
    output = job["output"] or {}
    expired = state == "succeeded" and not output
    if state == "failed" and not error:
        error = {"code": generation.status, "message": f"The request ended as {generation.status}."}
    return JobView(
        id=job["id"],
        state=state,
        video_url=output.get("video_url"),
        error_code=error.get("code"),
        error_message=error.get("message"),
        expired=expired,
        queue_seconds=job["timings"]["queue_seconds"],
        generation_seconds=job["timings"]["generation_seconds"],
        created_at=job["created_at"],
        completed_at=job["completed_at"],
    )


def failure_kind(view: JobView) -> str:
    """How a failed job reads as an HTTP error (the synchronous endpoint has no FAILED body)."""
    if view.error_code in {"content_policy", "content_blocked"}:
        return Kind.CONTENT_BLOCKED
    if view.error_code == "no_provider_available":
        return Kind.UNAVAILABLE
    if view.error_code in {"deadline_exceeded", Status.TIMED_OUT}:
        return Kind.TIMEOUT
    return Kind.JOB_FAILED


# --- waiting without holding a thread ---------------------------------------------------


def in_thread(func: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """Run blocking work (database, storage) on the event loop's thread pool.

    Not thread-sensitive: calls do not queue behind one shared thread, and a
    waiting request holds no thread between calls. Old or broken connections
    are closed first, as Django does at the start of every request.
    """

    @wraps(func)
    def fresh(*args: Any, **kwargs: Any) -> Any:
        close_old_connections()
        try:
            return func(*args, **kwargs)
        finally:
            close_old_connections()  # gives the connection back to the pool

    return sync_to_async(fresh, thread_sensitive=False)


def job_abandon(pk: int, reason: str) -> Generation:
    """Cancel a job nobody waits for any more (no charge); returns the job as it now stands.

    If it finished meanwhile, nothing changes and the finished job is returned.
    """
    generation = Generation.objects.select_related("organization").get(pk=pk)
    generation_cancel(generation=generation, reason=reason)
    generation.refresh_from_db()
    return generation


def job_reload(pk: int) -> Generation:
    return Generation.objects.select_related("organization").get(pk=pk)
