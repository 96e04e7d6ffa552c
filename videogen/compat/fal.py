"""fal's queue API, served by our jobs (drop-in for the `fal-client` package and fal's REST calls).

The client builds every URL from two host names, `FAL_QUEUE_RUN_HOST` and
`FAL_RUN_HOST` (always https), read from the environment when it is
imported. Pointing the queue host at us is the one change a customer makes:

- `POST /{app_id}` submits, e.g. `/fal-ai/minimax/hailuo-02/standard/image-to-video`
  -> `{"request_id", "response_url", "status_url", "cancel_url", "queue_position"}`;
  `?fal_webhook=<url>` asks for fal's webhook when the request completes.
- `GET /fal-ai/minimax/requests/{id}/status` (the app id's first two parts, as
  fal does) -> `IN_QUEUE` with `queue_position`, `IN_PROGRESS`, or `COMPLETED`
  (with `error` and `error_type` when it failed); `logs` when `?logs=1`.
  While the request is unfinished the answer waits up to STATUS_HOLD_SECONDS
  for it to finish (no thread held): `subscribe` polls every 0.1 s by default,
  which would otherwise spend a key's whole per-minute budget on one video.
- `GET /fal-ai/minimax/requests/{id}` -> `{"video": {"url", "content_type",
  "file_name", "file_size"}}`, or the failure in fal's error shape.
- `PUT /fal-ai/minimax/requests/{id}/cancel` -> 202 `CANCELLATION_REQUESTED`
  (the job is canceled unpaid at once) or 400 `ALREADY_COMPLETED`.
- `POST /fal-run/{app_id}`: `fal_client.run`, synchronous, answers with the
  output. fal serves it on another host; we serve it under a path, so set
  `FAL_RUN_HOST=<our host>/fal-run` (the client puts the host in the URL as written).

Keys come as `Authorization: Key <key>` (what the client sends) or `Bearer`.
Errors are fal's: `{"detail": "<message>"}` (401, 403 also for exhausted
credit, 404, 405, 429 with Retry-After), and 422 for invalid input with
`detail` as a list of `{"loc": ["body", <field>], "msg", "type"}` naming the
field as fal's schema does (`image_url`, `end_image_url`, `duration`, ...).
Request failures carry `error_type` in the body and `X-Fal-Error-Type`.

Application ids map only onto models we sell, at the resolution fal's id
means (APPS); any other id, Hailuo 2.3 (not fast) included, is fal's 404.
Headers fal uses for its own scheduling (`X-Fal-Runner-Hint`,
`X-Fal-Queue-Priority`, `X-Fal-Request-Timeout`) are accepted and ignored.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import wraps
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from accounts.permissions import Action
from api.waiting import wait_until_finished
from videogen import catalog, selectors
from videogen.compat.common import (
    CompatError,
    JobView,
    Kind,
    authenticate,
    compat_view,
    failure_kind,
    in_thread,
    job_abandon,
    job_create,
    job_get,
    job_reload,
    job_view,
    json_body,
    public_base,
    require_method,
)
from videogen.models import ACTIVE_STATUSES, Generation, Source, Status
from videogen.services.generations import generation_cancel

OWNER = "fal-ai"
ALIAS = "minimax"  # every Hailuo app id is fal-ai/minimax/...: status, result and cancel live under it
RUN_PREFIX = "fal-run"
STATUS_HOLD_SECONDS = 1.0
SYNC_WAIT_SECONDS = 600
FINAL_EVENTS = ["generation.succeeded", "generation.failed", "generation.canceled", "generation.timed_out"]


@dataclass(frozen=True)
class App:
    """One fal application id: the model it runs, at which resolution, and whether it animates an image."""

    model: str
    resolution: str
    image: bool
    # fal's `resolution` values this id takes, each with the (model, resolution) it means.
    resolutions: tuple[tuple[str, str, str], ...] = ()


APPS: dict[str, App] = {
    # Hailuo 02 standard: 768P, or 512P on image-to-video (the 512p model we sell as hailuo-02-fast).
    "minimax/hailuo-02/standard/image-to-video": App(
        "hailuo-02", "768p", True, (("768P", "hailuo-02", "768p"), ("512P", "hailuo-02-fast", "512p"))
    ),
    # Text-to-video ids take no 512P: that is hailuo-02-fast, which needs a first frame.
    "minimax/hailuo-02/standard/text-to-video": App("hailuo-02", "768p", False),
    # Hailuo 02 pro: native 1080p, 6 seconds.
    "minimax/hailuo-02/pro/image-to-video": App("hailuo-02", "1080p", True),
    "minimax/hailuo-02/pro/text-to-video": App("hailuo-02", "1080p", False),
    "minimax/hailuo-02-fast/image-to-video": App("hailuo-02-fast", "512p", True),
    # Hailuo 2.3 Fast animates a first frame only: standard 768p, pro 1080p.
    "minimax/hailuo-2.3-fast/standard/image-to-video": App("hailuo-2.3-fast", "768p", True),
    "minimax/hailuo-2.3-fast/pro/image-to-video": App("hailuo-2.3-fast", "1080p", True),
}
# fal's input names -> ours (what catalog.validate_params takes).
INPUTS = {
    "prompt": "prompt",
    "image_url": "first_frame_image",
    "end_image_url": "last_frame_image",
    "duration": "duration",
    "prompt_optimizer": "prompt_optimizer",
}
RENAMES = {ours: theirs for theirs, ours in INPUTS.items()} | {"webhook": "fal_webhook"}

# Refusals only fal has: a result read before the request finished, a canceled request's result.
IN_PROGRESS = "in_progress"
CANCELED = "canceled"

HTTP_STATUS = {
    IN_PROGRESS: 400,
    CANCELED: 400,
    Kind.BAD_REQUEST: 422,
    Kind.UNAUTHORIZED: 401,
    Kind.FORBIDDEN: 403,
    Kind.INSUFFICIENT_CREDITS: 403,
    Kind.SPEND_LIMIT: 403,
    Kind.NOT_FOUND: 404,
    Kind.METHOD_NOT_ALLOWED: 405,
    Kind.RATE_LIMITED: 429,
    Kind.CONTENT_BLOCKED: 422,
    Kind.JOB_FAILED: 500,
    Kind.SERVER_ERROR: 500,
    Kind.UNAVAILABLE: 503,
    Kind.TIMEOUT: 504,
}
# fal's request error types (`error_type`, `X-Fal-Error-Type`) for what ends a request without a video.
ERROR_TYPES = {
    Kind.JOB_FAILED: "internal_server_error",
    Kind.SERVER_ERROR: "internal_server_error",
    Kind.UNAVAILABLE: "runner_scheduling_failure",
    Kind.TIMEOUT: "request_timeout",
}
QUERY_PARAMS = {"fal_webhook"}


# --- errors --------------------------------------------------------------------------------


def _detail(exc: CompatError) -> Any:
    if exc.kind == Kind.BAD_REQUEST:
        field = exc.param or ""
        loc = ["query" if field in QUERY_PARAMS else "body", *([field] if field else [])]
        message = exc.message
        if field and message.startswith(f"{field}:"):
            message = message[len(field) + 1 :].strip()
        return [{"loc": loc, "msg": message, "type": "value_error"}]
    if exc.kind == Kind.CONTENT_BLOCKED:
        return [
            {
                "loc": ["body", "prompt"],
                "msg": exc.message,
                "type": "content_policy_violation",
                "url": "https://docs.fal.ai/errors#content_policy_violation",
            }
        ]
    if exc.kind == Kind.INSUFFICIENT_CREDITS:
        return f"Exhausted balance. {exc.message}"  # fal's words for it; a spend limit keeps its own
    return exc.message


def render_error(request: HttpRequest, exc: CompatError) -> HttpResponse:
    body: dict[str, Any] = {"detail": _detail(exc)}
    error_type = ERROR_TYPES.get(exc.kind)
    if error_type:
        body["error_type"] = error_type
    response = JsonResponse(body, status=HTTP_STATUS.get(exc.kind, 500))
    if error_type:
        response["X-Fal-Error-Type"] = error_type
    if exc.request_id:
        response["X-Fal-Request-Id"] = exc.request_id
    return response


def fal_view(view: Any = None, *, status_reads: bool = False) -> Any:
    """`compat_view` in fal's error style, taking fal's `Authorization: Key <key>` as well as Bearer.

    `@fal_view(status_reads=True)`: the view's GET reads a request's status or result, counted in the key's
    status-read budget (see `compat_view`).
    """
    if view is None:
        return lambda given: fal_view(given, status_reads=status_reads)
    inner = compat_view(render_error, status_reads=status_reads)(view)

    def key_scheme(request: HttpRequest) -> None:
        scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "key":
            request.META["HTTP_AUTHORIZATION"] = f"Bearer {value}"

    if iscoroutinefunction(inner):

        @wraps(view)
        async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            key_scheme(request)
            response: HttpResponseBase = await inner(request, *args, **kwargs)
            return response

        return csrf_exempt(async_wrapper)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        key_scheme(request)
        response: HttpResponseBase = inner(request, *args, **kwargs)
        return response

    return csrf_exempt(wrapper)


# --- submitting ----------------------------------------------------------------------------


def app_for(app_path: str) -> App:
    app = APPS.get(app_path.strip("/"))
    if app is None:
        raise CompatError(Kind.NOT_FOUND, f"Application '{OWNER}/{app_path}' not found.")
    return app


def translate(app: App, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """fal's input for one application id as our model and parameters; 422 naming fal's field otherwise."""
    params = {ours: body[theirs] for theirs, ours in INPUTS.items() if body.get(theirs) is not None}
    if app.image and body.get("image_url") in (None, ""):
        raise CompatError(Kind.BAD_REQUEST, "image_url: Field required.", param="image_url")
    model, resolution = app.model, app.resolution
    asked = body.get("resolution")
    if asked not in (None, ""):
        allowed = app.resolutions or ((app.resolution.upper(), app.model, app.resolution),)
        match = [(m, r) for value, m, r in allowed if str(asked).upper() == value]
        if not match:
            names = " or ".join(f"'{value}'" for value, _, _ in allowed)
            raise CompatError(Kind.BAD_REQUEST, f"resolution: Input should be {names}.", param="resolution")
        model, resolution = match[0]
    params["resolution"] = resolution
    if params.get("last_frame_image") not in (None, "") and not catalog.MODELS[model].last_frame:
        raise CompatError(
            Kind.BAD_REQUEST, f"end_image_url: {OWNER}/{ALIAS} {model} takes no end image.", param="end_image_url"
        )
    return model, params


def _accept(request: HttpRequest, app_path: str) -> Generation:
    api_key = authenticate(request)
    app = app_for(app_path)
    model, params = translate(app, json_body(request))
    webhook = request.GET.get("fal_webhook", "").strip()
    return job_create(
        api_key=api_key,
        model=model,
        params=params,
        source=Source.FAL,
        renames=RENAMES,
        webhook_url=webhook,
        webhook_events=FINAL_EVENTS if webhook else None,
    )


def _urls(request: HttpRequest, request_id: str) -> dict[str, str]:
    base = f"{public_base(request)}/{OWNER}/{ALIAS}/requests/{request_id}"
    return {"response_url": base, "status_url": f"{base}/status", "cancel_url": f"{base}/cancel"}


def queue_position(generation: Generation) -> int:
    """How many of the organization's requests wait ahead of this one (0: next)."""
    return Generation.objects.filter(
        organization_id=generation.organization_id,
        status__in=(Status.QUEUED, Status.SUBMITTING),
        created_at__lt=generation.created_at,
    ).count()


@fal_view
def submit(request: HttpRequest, app_path: str) -> HttpResponse:
    """Queue the request; answer with where to follow it."""
    require_method(request, "POST")
    generation = _accept(request, app_path)
    body = {
        "status": "IN_QUEUE",
        "request_id": generation.public_id,
        "gateway_request_id": generation.public_id,
        **_urls(request, generation.public_id),
        "queue_position": queue_position(generation),
    }
    response = JsonResponse(body)
    response["X-Fal-Request-Id"] = generation.public_id
    return response


# --- following -----------------------------------------------------------------------------


def _job(request: HttpRequest, alias: str, request_id: str, action: Action | None = None) -> Generation:
    api_key = authenticate(request, action)
    if alias != ALIAS:
        raise CompatError(Kind.NOT_FOUND, f"Request '{request_id}' not found.")
    try:
        return job_get(api_key, request_id)
    except CompatError:
        raise CompatError(Kind.NOT_FOUND, f"Request '{request_id}' not found.") from None


def _logs(generation: Generation) -> list[dict[str, Any]]:
    """The job's timeline as fal's log lines."""
    lines = []
    for step in generation.transitions.order_by("at", "pk"):
        failed = step.to_status in (Status.FAILED, Status.TIMED_OUT)
        message = f"{step.to_status}: {step.detail}" if step.detail else step.to_status
        lines.append(
            {
                "message": message,
                "level": "ERROR" if failed else "INFO",
                "source": "user",
                "timestamp": step.at.isoformat().replace("+00:00", "Z"),
            }
        )
    return lines


def _failure(view: JobView, generation: Generation) -> CompatError:
    if generation.status == Status.CANCELED:
        return CompatError(CANCELED, f"Request was canceled: {view.error_message}", request_id=view.id)
    return CompatError(failure_kind(view), view.error_message or "The request failed.", request_id=view.id)


def _status_body(request: HttpRequest, generation: Generation, with_logs: bool) -> dict[str, Any]:
    view = job_view(generation)
    body: dict[str, Any] = {"request_id": view.id, **_urls(request, view.id)}
    body["logs"] = _logs(generation) if with_logs else None
    if view.state == "queued":
        body.update(status="IN_QUEUE", queue_position=queue_position(generation))
    elif view.state == "running":
        body["status"] = "IN_PROGRESS"
    else:
        body["status"] = "COMPLETED"
        body["metrics"] = {"inference_time": view.generation_seconds}
        if view.state == "failed":
            failure = _failure(view, generation)
            body["error"] = failure.message
            body["error_type"] = (
                "content_policy_violation" if failure.kind == Kind.CONTENT_BLOCKED else ERROR_TYPES.get(failure.kind)
            )
    return body


def _read(request: HttpRequest, alias: str, request_id: str) -> Generation:
    require_method(request, "GET")
    return _job(request, alias, request_id)


@fal_view(status_reads=True)
async def request_status(request: HttpRequest, alias: str, request_id: str) -> HttpResponse:
    generation = await in_thread(_read)(request, alias, request_id)
    if generation.status in ACTIVE_STATUSES:
        held = await wait_until_finished(
            generation.pk, STATUS_HOLD_SECONDS, finished_among=selectors.generations_finished_among
        )
        if held:
            generation = await in_thread(job_reload)(generation.pk)
    with_logs = request.GET.get("logs", "").lower() in ("1", "true")
    body = await in_thread(_status_body)(request, generation, with_logs)
    # fal answers 202 while the request is unfinished, 200 once it completed.
    return JsonResponse(body, status=200 if body["status"] == "COMPLETED" else 202)


def output(generation: Generation) -> dict[str, Any]:
    """fal's output of a Hailuo request."""
    view = job_view(generation)
    return {
        "video": {
            "url": view.video_url,
            "content_type": "video/mp4",
            "file_name": f"{generation.public_id}.mp4",
            "file_size": generation.output_bytes,
        }
    }


def _result(generation: Generation) -> dict[str, Any]:
    view = job_view(generation)
    if view.state in ("queued", "running"):
        raise CompatError(IN_PROGRESS, "Request is still in progress.", request_id=view.id)
    if view.state == "failed":
        raise _failure(view, generation)
    if view.expired:
        raise CompatError(Kind.NOT_FOUND, f"The result of request '{view.id}' has expired.", request_id=view.id)
    return output(generation)


@fal_view(status_reads=True)
def request_result(request: HttpRequest, alias: str, request_id: str) -> HttpResponse:
    generation = _read(request, alias, request_id)
    response = JsonResponse(_result(generation))
    response["X-Fal-Request-Id"] = generation.public_id
    return response


@fal_view
def request_cancel(request: HttpRequest, alias: str, request_id: str) -> HttpResponse:
    """Cancel a request that has not finished: it ends canceled at once and is never charged."""
    require_method(request, "PUT")
    generation = _job(request, alias, request_id, Action.JOBS_CANCEL)
    if generation_cancel(generation=generation, reason="Canceled through fal's cancel endpoint."):
        return JsonResponse({"status": "CANCELLATION_REQUESTED"}, status=202)
    return JsonResponse({"status": "ALREADY_COMPLETED"}, status=400)


# --- run: synchronous ----------------------------------------------------------------------


@fal_view
async def run(request: HttpRequest, app_path: str) -> HttpResponse:
    """`fal_client.run`: accept, wait for the video, answer with the output (or fal's error)."""
    require_method(request, "POST")
    generation = await in_thread(_accept)(request, app_path)
    pk = generation.pk
    try:
        finished = await wait_until_finished(pk, SYNC_WAIT_SECONDS, finished_among=selectors.generations_finished_among)
    except asyncio.CancelledError:
        await in_thread(job_abandon)(pk, "The client closed the connection before the video was ready.")
        raise
    if finished:
        generation = await in_thread(job_reload)(pk)
    else:
        generation = await in_thread(job_abandon)(pk, f"Not ready within the {SYNC_WAIT_SECONDS} s a run waits.")
        if generation.status == Status.CANCELED:
            raise CompatError(
                Kind.TIMEOUT,
                "Request timed out: it was canceled and not charged; use the queue (submit) for long jobs.",
                request_id=generation.public_id,
            )
    body = await in_thread(_result)(generation)
    response = JsonResponse(body)
    response["X-Fal-Request-Id"] = generation.public_id
    return response


# --- webhooks ------------------------------------------------------------------------------


def webhook_body(generation: Generation) -> dict[str, Any] | None:
    """fal's webhook body for a request submitted with `fal_webhook`, once it completed; None before that.

    Made when the job finishes and stored with its delivery, so every retry and replay sends the same body.
    """
    view = job_view(generation)
    if view.state in ("queued", "running"):
        return None
    request_id = view.id
    body: dict[str, Any] = {"request_id": request_id, "gateway_request_id": request_id}
    if view.state == "succeeded" and not view.expired:
        body["status"] = "OK"
        body["payload"] = output(generation)
        return body
    failure = _failure(view, generation) if view.state == "failed" else None
    message = failure.message if failure else f"The result of request '{request_id}' has expired."
    body["status"] = "ERROR"
    body["error"] = message
    blocked = failure is not None and failure.kind == Kind.CONTENT_BLOCKED
    body["payload"] = {
        "detail": [{"loc": ["body", "prompt"], "msg": message, "type": "content_policy_violation"}]
        if blocked
        else message
    }
    return body
