"""Segmind's serverless API, served by our jobs (drop-in for Segmind clients and the `segmind` SDK).

- `POST /v1/{slug}` (synchronous): holds the request until the video is
  ready and answers with its bytes as `video/mp4`. An async view: while it
  waits the request holds no thread and no database connection.
- `POST /v2/{slug}` -> `{"request_id", "status", "status_url", "response_url"}`
- `GET /v2/requests/{id}/status` -> QUEUED | PROCESSING | COMPLETED, or
  FAILED served as HTTP 422 with `error`
- `GET /v2/requests/{id}` -> `{"request_id", "status", "output": <video URL>, "metrics"}`

Keys come as `x-api-key` (what the SDK sends) or `Authorization: Bearer`.
Errors are `{"error": "<message>"}` with Segmind's codes: 400 bad
parameters, 401 key, 404 unknown model or request, 406 insufficient credits
or a spend limit, 500, 502 no provider available, 504 not ready in time.

The SDK takes its host from the constructor only (there is no environment
variable for it): `SegmindClient(api_key=..., base_url="https://<us>/v1")`.
It submits to `<base without /v1>/v2/{slug}` and then follows `status_url`
and `response_url` exactly as we return them, so those are built from the
host the client used (see `common.public_base`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from django.core.files.storage import Storage
from django.core.handlers.asgi import ASGIRequest
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

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
from videogen.models import Generation, Source, Status

# The longest a synchronous request waits; longer jobs belong on /v2 (Segmind's SDK default deadline too).
SYNC_WAIT_SECONDS = 600
STREAM_CHUNK_BYTES = 1024 * 1024

PARAMS = (
    "prompt",
    "first_frame_image",
    "last_frame_image",
    "duration",
    "resolution",
    "prompt_optimizer",
    "go_fast",
    "mode",
)

STATUS_NAMES = {"queued": "QUEUED", "running": "PROCESSING", "succeeded": "COMPLETED", "failed": "FAILED"}

HTTP_STATUS = {
    Kind.BAD_REQUEST: 400,
    Kind.CONTENT_BLOCKED: 400,
    Kind.UNAUTHORIZED: 401,
    Kind.FORBIDDEN: 403,
    Kind.RATE_LIMITED: 429,
    Kind.NOT_FOUND: 404,
    Kind.METHOD_NOT_ALLOWED: 405,
    Kind.INSUFFICIENT_CREDITS: 406,
    Kind.SPEND_LIMIT: 406,
    Kind.JOB_FAILED: 500,
    Kind.SERVER_ERROR: 500,
    Kind.UNAVAILABLE: 502,
    Kind.TIMEOUT: 504,
}


def render_error(request: HttpRequest, exc: CompatError) -> HttpResponse:
    body: dict[str, Any] = {"error": exc.message}
    if exc.request_id:
        body["request_id"] = exc.request_id
    return JsonResponse(body, status=HTTP_STATUS.get(exc.kind, 500))


def model_for_slug(slug: str) -> str:
    """Segmind's slugs are our catalog's: hailuo-02-fast, hailuo-2.3-fast, minimax-hailuo-2 (and hailuo-02)."""
    if slug not in catalog.MODELS:
        raise CompatError(Kind.NOT_FOUND, f"Model {slug!r} not found.")
    return slug


def translate(body: dict[str, Any], slug: str = "") -> tuple[dict[str, Any], dict[str, str]]:
    """Segmind's parameters as ours, and the renames to report errors under the client's names.

    minimax-hailuo-2 takes its first frame as `image_url`; other names are ours already.
    Defaults are the seed pages': `go_fast` false (the catalog's default too), and
    hailuo-2.3-fast at "1080p" when no resolution is given (priced as 1080p; 1080p
    renders 6 s only, so a 10 s request without a resolution gets 768p, the only
    resolution that renders it).
    """
    params = {name: body[name] for name in PARAMS if name in body}
    renames: dict[str, str] = {}
    if body.get("image_url") not in (None, "") and params.get("first_frame_image") in (None, ""):
        params["first_frame_image"] = body["image_url"]
        renames["first_frame_image"] = "image_url"
    if slug == "hailuo-2.3-fast" and params.get("resolution") in (None, ""):
        ten_seconds = str(params.get("duration", "")).strip() == "10"
        params["resolution"] = "768p" if ten_seconds else "1080p"
    return params, renames


def _accept(request: HttpRequest, slug: str) -> Generation:
    api_key = authenticate(request)
    model = model_for_slug(slug)
    params, renames = translate(json_body(request), model)
    return job_create(api_key=api_key, model=model, params=params, source=Source.SEGMIND, renames=renames)


# --- v1: synchronous ----------------------------------------------------------------------


@compat_view(render_error)
async def run_sync(request: HttpRequest, slug: str) -> HttpResponseBase:
    """Run the model and answer with the video itself."""
    require_method(request, "POST")
    generation = await in_thread(_accept)(request, slug)
    generation = await _wait(generation.pk)
    view = job_view(generation)
    if view.state == "succeeded" and not view.expired:
        return await _video_response(request, generation)
    raise CompatError(failure_kind(view), view.error_message or "The request failed.", request_id=view.id)


async def _wait(pk: int) -> Generation:
    """The finished job; a job nobody can receive any more is canceled unpaid.

    That is the case when the client hangs up, and when SYNC_WAIT_SECONDS pass
    (the client then gets a 504, so it must not be charged for the video either).
    """
    try:
        finished = await wait_until_finished(pk, SYNC_WAIT_SECONDS, finished_among=selectors.generations_finished_among)
    except asyncio.CancelledError:
        await in_thread(job_abandon)(pk, "The client closed the connection before the video was ready.")
        raise
    if finished:
        return await in_thread(job_reload)(pk)
    reason = f"Not ready within the {SYNC_WAIT_SECONDS} s a synchronous request waits."
    generation = await in_thread(job_abandon)(pk, reason)
    if generation.status == Status.CANCELED:
        raise CompatError(
            Kind.TIMEOUT,
            f"Request timed out: {reason} It was canceled and not charged; use POST /v2/{{slug}} for long jobs.",
            request_id=generation.public_id,
        )
    return generation


async def _chunks(handle: Any) -> AsyncIterator[bytes]:
    try:
        while chunk := await in_thread(handle.read)(STREAM_CHUNK_BYTES):
            yield chunk
    finally:
        await in_thread(handle.close)()


async def _video_response(request: HttpRequest, generation: Generation) -> HttpResponseBase:
    storage: Storage = generation.video.storage
    name = generation.video.name
    handle = await in_thread(storage.open)(name, "rb")
    if isinstance(request, ASGIRequest):
        # Read in chunks off the event loop; a sync file iterator would be read whole into memory.
        response: HttpResponseBase = StreamingHttpResponse(_chunks(handle), content_type="video/mp4")
        response["Content-Length"] = str(await in_thread(storage.size)(name))
    else:
        response = FileResponse(handle, content_type="video/mp4")
    response["Content-Disposition"] = f'inline; filename="{generation.public_id}.mp4"'
    response["X-Request-Id"] = generation.public_id
    return response


# --- v2: submit and poll ------------------------------------------------------------------


@compat_view(render_error)
def submit(request: HttpRequest, slug: str) -> HttpResponse:
    """Queue the job; answer with where to poll it."""
    require_method(request, "POST")
    generation = _accept(request, slug)
    base = public_base(request)
    request_id = generation.public_id
    return JsonResponse(
        {
            "request_id": request_id,
            "status": "QUEUED",
            "status_url": f"{base}/v2/requests/{request_id}/status",
            "response_url": f"{base}/v2/requests/{request_id}",
        }
    )


def _view_for(request: HttpRequest, request_id: str) -> JobView:
    require_method(request, "GET")
    api_key = authenticate(request)
    view = job_view(job_get(api_key, request_id))
    if view.expired:
        raise CompatError(Kind.NOT_FOUND, f"The result of request {request_id!r} has expired.")
    return view


def _failed(view: JobView) -> JsonResponse:
    body = {"request_id": view.id, "status": "FAILED", "error": view.error_message, "error_code": view.error_code}
    return JsonResponse(body, status=422)


@compat_view(render_error, status_reads=True)
def request_status(request: HttpRequest, request_id: str) -> HttpResponse:
    view = _view_for(request, request_id)
    if view.state == "failed":
        return _failed(view)
    return JsonResponse({"request_id": view.id, "status": STATUS_NAMES[view.state]})


@compat_view(render_error, status_reads=True)
def request_result(request: HttpRequest, request_id: str) -> HttpResponse:
    view = _view_for(request, request_id)
    if view.state == "failed":
        return _failed(view)
    body = {
        "request_id": view.id,
        "status": STATUS_NAMES[view.state],
        "output": view.video_url,
        "metrics": {"queue_time": view.queue_seconds, "inference_time": view.generation_seconds},
        "created_at": view.created_at,
        "completed_at": view.completed_at,
    }
    # Not finished yet: 202, so a client that reads the result too early can tell.
    return JsonResponse(body, status=200 if view.state == "succeeded" else 202)
