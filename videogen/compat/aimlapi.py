"""AI/ML API's video endpoints, served by our jobs (drop-in for AIML API clients).

Two paths, as AIML publishes them (aimlapi/api-docs):
- universal, what the current docs use for every video model:
  `POST /v2/video/generations` with `model`, `prompt`, `duration` (6 or
  10), `resolution` ("768P"/"1080P", any case), `image_url` (first frame;
  required for minimax/hailuo-2.3-fast), `last_image_url` (last frame),
  `enhance_prompt`; `GET /v2/video/generations?generation_id=`
- legacy `POST /v2/generate/video/minimax/generation` with
  `first_frame_image` and `prompt_optimizer` instead; `GET` the same path
  with `?generation_id=`
Either path takes either spelling (and our own `last_frame_image`).

POST answers 200 `{"id", "generation_id", "status": "queued", "meta"}`
(the universal schema names it `id`, the legacy one `generation_id`: both
are sent). GET answers `{"id", "status", "video": {"url"} | null, "error":
{"name", "message"} | null}`; status is queued, generating, completed or
`error` (AIML's fetch schema since 2025-06-20; waiting/active never occur).

Model ids: "minimax/hailuo-02", "minimax/hailuo-2.3", "minimax/hailuo-2.3-fast"
(AIML's own) and, for our other models, "minimax/hailuo-02-fast" and
"minimax/hailuo-2"; each bare catalog slug ("hailuo-02-fast", ...) works too.

Errors use AIML's shape `{"message", "path", "requestId", "statusCode",
"timestamp"}` and its codes: 400 invalid body (the message names the
field), 401 key, 403 "You've run out of credits" (insufficient credit or a
spend limit), 404 unknown generation, 500.
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
    "minimax/hailuo-2.3": "hailuo-2.3",
    "minimax/hailuo-2.3-fast": "hailuo-2.3-fast",
    "minimax/hailuo-2": "minimax-hailuo-2",
    **{slug: slug for slug in catalog.MODELS},
}
PARAMS = ("prompt", "prompt_optimizer", "first_frame_image", "last_frame_image", "duration", "resolution", "mode")
UNIVERSAL_PATH = "/v2/video/generations"
# AIML's names -> ours; ours win when both are sent.
ALIASES = {"image_url": "first_frame_image", "last_image_url": "last_frame_image", "enhance_prompt": "prompt_optimizer"}
STATUS_NAMES = {"queued": "queued", "running": "generating", "succeeded": "completed", "failed": "error"}

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
    message = exc.message
    if exc.kind in (Kind.INSUFFICIENT_CREDITS, Kind.SPEND_LIMIT):
        message = f"You've run out of credits. {message}"
    body = {
        "message": message,
        "path": request.path,
        "requestId": str(uuid.uuid4()),
        "statusCode": status,
        "timestamp": timezone.now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    return JsonResponse(body, status=status)


@compat_view(render_error, status_reads=True)
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


def translate(body: dict[str, Any], *, universal: bool = True) -> tuple[dict[str, Any], dict[str, str]]:
    """AIML's fields as our parameters, and the renames to report errors under the client's names.

    A field the client did not send at all is named as its path's schema
    names it (`image_url` on the universal path, `first_frame_image` on the
    legacy one), so "image_url: is required" reads right.
    """
    params = {name: body[name] for name in PARAMS if body.get(name) is not None}
    renames: dict[str, str] = {}
    for theirs, ours in ALIASES.items():
        if body.get(theirs) is not None and params.get(ours) is None:
            params[ours] = body[theirs]
            renames[ours] = theirs
        elif universal and ours not in body:
            renames[ours] = theirs
    if not universal and "last_frame_image" not in body:
        renames.setdefault("last_frame_image", "last_image_url")
    return params, renames


def _create(request: HttpRequest) -> HttpResponse:
    api_key = authenticate(request)
    body = json_body(request)
    model = _model(body)
    params, renames = translate(body, universal=request.path.rstrip("/").endswith(UNIVERSAL_PATH))
    job = job_create(api_key=api_key, model=model, params=params, source=Source.AIMLAPI, renames=renames)
    return JsonResponse(
        {
            "id": job.public_id,
            "generation_id": job.public_id,
            "status": "queued",
            # AIML counts tokens; we sell per video, so usage is the price held for this one.
            "meta": {"usage": {"amount": usd_string(job.price_micros), "currency": "usd"}},
        }
    )


def _read(request: HttpRequest) -> HttpResponse:
    api_key = authenticate(request)
    generation_id = request.GET.get("generation_id", "").strip()
    if not generation_id:
        raise CompatError(Kind.BAD_REQUEST, "generation_id: is required.", param="generation_id")
    view = job_view(job_get(api_key, generation_id))
    error = None
    if view.state == "failed":
        error = {"name": view.error_code or "GenerationError", "message": view.error_message}
    elif view.expired:
        error = {"name": "expired", "message": "The video of this generation has expired."}
    return JsonResponse(
        {
            "id": view.id,
            "status": STATUS_NAMES[view.state],
            "video": {"url": view.video_url} if view.video_url else None,
            "error": error,
        }
    )
