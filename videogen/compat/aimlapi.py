"""AI/ML API's MiniMax video endpoint, served by our jobs (drop-in for AIML API clients).

- `POST /v2/generate/video/minimax/generation` with `Authorization: Bearer`
  and `model`, `prompt`, `prompt_optimizer`, `first_frame_image` (URL or
  base64), `last_frame_image`, `duration` (6 or 10), `resolution`
  ("768P"/"1080P", any case) -> 201 `{"generation_id", "status", "meta"}`
- `GET` the same path with `?generation_id=` -> `{"id", "status", "video":
  {"url"} | null, "error": {"code", "message"} | null}`; status is queued,
  generating, completed or failed (AIML's waiting/active never occur here)

Model ids: "minimax/hailuo-02" (AIML's own) and, for our other models,
"minimax/hailuo-02-fast", "minimax/hailuo-2.3-fast" and "minimax/hailuo-2";
each bare catalog slug ("hailuo-02-fast", ...) works too.

Errors use AIML's shape `{"message", "path", "requestId", "statusCode",
"timestamp"}` and its codes: 400 invalid body (the message names the
field), 401 key, 403 no credits (insufficient credit or a spend limit), 404
unknown generation, 500; a job's own failure is `status: failed` with `error`.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from billing.money import usd_string
from videogen import catalog
from videogen.compat.common import (
    CompatError,
    Kind,
    authenticate,
    compat_view,
    job_create,
    job_get,
    job_view,
    json_body,
    require_method,
)
from videogen.models import Source

MODELS = {
    "minimax/hailuo-02": "hailuo-02",
    "minimax/hailuo-02-fast": "hailuo-02-fast",
    "minimax/hailuo-2.3-fast": "hailuo-2.3-fast",
    "minimax/hailuo-2": "minimax-hailuo-2",
    **{slug: slug for slug in catalog.MODELS},
}
PARAMS = ("prompt", "prompt_optimizer", "first_frame_image", "last_frame_image", "duration", "resolution", "mode")
STATUS_NAMES = {"queued": "queued", "running": "generating", "succeeded": "completed", "failed": "failed"}

HTTP_STATUS = {
    Kind.BAD_REQUEST: 400,
    Kind.UNAUTHORIZED: 401,
    Kind.FORBIDDEN: 403,
    Kind.RATE_LIMITED: 429,
    Kind.INSUFFICIENT_CREDITS: 403,
    Kind.SPEND_LIMIT: 403,
    Kind.NOT_FOUND: 404,
    Kind.METHOD_NOT_ALLOWED: 405,
}


def render_error(request: HttpRequest, exc: CompatError) -> HttpResponse:
    status = HTTP_STATUS.get(exc.kind, 500)
    body = {
        "message": exc.message,
        "path": request.path,
        "requestId": str(uuid.uuid4()),
        "statusCode": status,
        "timestamp": timezone.now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    return JsonResponse(body, status=status)


@compat_view(render_error)
def generation(request: HttpRequest) -> HttpResponse:
    require_method(request, "POST", "GET")
    if request.method == "POST":
        return _create(request)
    return _read(request)


def _model(body: dict[str, Any]) -> str:
    value = body.get("model")
    if not isinstance(value, str) or value not in MODELS:
        known = ", ".join(name for name in MODELS if name.startswith("minimax/"))
        raise CompatError(Kind.BAD_REQUEST, f"model: must be one of {known}; got {value!r}.", param="model")
    return MODELS[value]


def _create(request: HttpRequest) -> HttpResponse:
    api_key = authenticate(request)
    body = json_body(request)
    model = _model(body)
    params = {name: body[name] for name in PARAMS if name in body}
    job = job_create(api_key=api_key, model=model, params=params, source=Source.AIMLAPI)
    return JsonResponse(
        {
            "generation_id": job.public_id,
            "status": "queued",
            # AIML counts tokens; we sell per video, so usage is the price held for this one.
            "meta": {"usage": {"amount": usd_string(job.price_micros), "currency": "usd"}},
        },
        status=201,
    )


def _read(request: HttpRequest) -> HttpResponse:
    api_key = authenticate(request)
    generation_id = request.GET.get("generation_id", "").strip()
    if not generation_id:
        raise CompatError(Kind.BAD_REQUEST, "generation_id: is required.", param="generation_id")
    view = job_view(job_get(api_key, generation_id))
    error = None
    if view.state == "failed":
        error = {"code": view.error_code, "message": view.error_message}
    elif view.expired:
        error = {"code": "expired", "message": "The video of this generation has expired."}
    return JsonResponse(
        {
            "id": view.id,
            "status": STATUS_NAMES[view.state],
            "video": {"url": view.video_url} if view.video_url else None,
            "error": error,
        }
    )
