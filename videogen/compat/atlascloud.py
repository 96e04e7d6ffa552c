"""Atlas Cloud's prediction API, served by our jobs (drop-in for Atlas Cloud clients).

- `POST /api/v1/model/generateVideo` (Bearer) with `model` and the inputs
  either flat or under `input` -> `{"code": 200, "data": {"id", "status", ...}}`
- `GET /api/v1/model/prediction/{id}` -> `data.status` (processing,
  completed or failed), `data.outputs` ([video URL] once completed),
  `data.metrics.predict_time`, `data.error`
- `POST /api/v1/model/uploadMedia` (multipart field `file`) -> `data.download_url`,
  a signed link that also works as `image` in generateVideo

The seed page shows two readings of one response: its scripts read
`result["data"]["id"]` while its response sample has `id` and `status` at
the top level. We send the prediction both ways, so both scripts work.

Model ids: minimax/hailuo-02/fast (our hailuo-02-fast, 512p),
minimax/hailuo-02/standard and minimax/hailuo-02/pro (hailuo-02 at 768p and
1080p), minimax/hailuo-02 (hailuo-02, resolution as given) and
minimax/hailuo-2.3/fast (hailuo-2.3-fast), minimax/hailuo-2.3/i2v-standard
(hailuo-2.3 at 768p, from an image). Inputs: `prompt` (optional when
`image` is given), `image` (first frame: URL, data URL or base64; required
for the /fast and i2v models, as on Atlas), `end_image` (last frame),
`enable_prompt_expansion`, `go_fast` (passed through to the fast model),
`duration`, `resolution`; our own names (first_frame_image,
last_frame_image, prompt_optimizer) work too.

The seed page's example, Atlas's generic one for every video model, sends
`width`, `height`, `duration: 3` and `fps`. Hailuo renders fixed sizes (512p
for the fast model, at the first frame's aspect ratio) at its own frame
rate, so width, height and fps are ignored; and a duration shorter than the
model's shortest clip (6 s) is raised to it, priced as that clip, and
said so in `data.warnings`. Any other duration the model does not offer
is a 400: silently shortening a 15 s request would hide a real mistake.

Errors use Atlas's envelope `{"code", "msg", "request_id", "data": null}`
(plus `message`) with the same HTTP status: 400 (the message names the
field), 401, 403 "Forbidden (quota)" for insufficient credit or a spend
limit (as Atlas answers an exhausted balance), 404 unknown model or
prediction, 500.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from videogen import catalog
from videogen.compat.common import (
    CompatError,
    JobView,
    Kind,
    authenticate,
    compat_view,
    job_create,
    job_get,
    job_view,
    json_body,
    require_method,
    upload_accept,
)
from videogen.models import Generation, Source
from videogen.services.files import signed_url

# Atlas model id -> (our model, the resolution the id fixes or "").
MODELS = {
    "minimax/hailuo-02/fast": ("hailuo-02-fast", ""),
    "minimax/hailuo-02/standard": ("hailuo-02", "768p"),
    "minimax/hailuo-02/pro": ("hailuo-02", "1080p"),
    "minimax/hailuo-2.3/fast": ("hailuo-2.3-fast", ""),
    "minimax/hailuo-2.3/i2v-standard": ("hailuo-2.3", "768p"),
    "minimax/hailuo-02": ("hailuo-02", ""),
}
# Atlas input name -> ours. Our own names pass through and win when both are sent.
ALIASES = {"image": "first_frame_image", "end_image": "last_frame_image", "enable_prompt_expansion": "prompt_optimizer"}
OURS = (
    "prompt",
    "first_frame_image",
    "last_frame_image",
    "prompt_optimizer",
    "duration",
    "resolution",
    "mode",
    "go_fast",
)
# Models whose Atlas input requires `image` (and takes `prompt` as optional).
IMAGE_REQUIRED = frozenset({"minimax/hailuo-02/fast", "minimax/hailuo-2.3/fast", "minimax/hailuo-2.3/i2v-standard"})
IGNORED = ("width", "height", "fps")
STATUS_NAMES = {"queued": "processing", "running": "processing", "succeeded": "completed", "failed": "failed"}

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
        message = f"Forbidden (quota): {message}"  # how Atlas answers an exhausted balance
    body = {"code": status, "msg": message, "message": message, "request_id": str(uuid.uuid4()), "data": None}
    return JsonResponse(body, status=status)


def _success(payload: dict[str, Any], *, mirror: bool = True) -> JsonResponse:
    body: dict[str, Any] = {"code": 200, "message": "success"}
    if mirror:
        body.update(payload)
    body["data"] = payload
    return JsonResponse(body)


# --- generateVideo --------------------------------------------------------------------------


def _model(body: dict[str, Any]) -> tuple[str, str, str]:
    atlas_model = body.get("model")
    if atlas_model in (None, ""):
        raise CompatError(Kind.BAD_REQUEST, "model: is required.", param="model")
    if not isinstance(atlas_model, str) or atlas_model not in MODELS:
        known = ", ".join(MODELS)
        raise CompatError(Kind.NOT_FOUND, f"model: {atlas_model!r} is not available; choose one of {known}.")
    model, resolution = MODELS[atlas_model]
    return atlas_model, model, resolution


def _inputs(body: dict[str, Any]) -> dict[str, Any]:
    nested = body.get("input")
    if nested is not None and not isinstance(nested, dict):
        raise CompatError(Kind.BAD_REQUEST, "input: must be an object.", param="input")
    return {**{k: v for k, v in body.items() if k not in ("model", "input")}, **(nested or {})}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def translate(
    fields: dict[str, Any], atlas_model: str, model: str, fixed_resolution: str
) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """Atlas inputs as our parameters, the renames for error messages, and warnings for the client."""
    params = {name: fields[name] for name in OURS if fields.get(name) is not None}
    renames: dict[str, str] = {}
    for theirs, ours in ALIASES.items():
        if fields.get(theirs) not in (None, "") and params.get(ours) in (None, ""):
            params[ours] = fields[theirs]
            renames[ours] = theirs
    warnings = [
        f"{name}: ignored; {atlas_model} renders its own size and frame rate." for name in IGNORED if name in fields
    ]
    shortest = min(catalog.MODELS[model].durations)
    requested = _number(params.get("duration"))
    if requested is not None and requested < shortest:
        warnings.append(f"duration: {atlas_model} renders clips of at least {shortest} s; rendered {shortest} s.")
        params["duration"] = shortest
    if atlas_model in IMAGE_REQUIRED and params.get("first_frame_image") in (None, ""):
        raise CompatError(Kind.BAD_REQUEST, f"image: is required for {atlas_model}.", param="image")
    if fixed_resolution:
        given = str(params.get("resolution") or fixed_resolution).lower()
        if given != fixed_resolution:
            raise CompatError(
                Kind.BAD_REQUEST, f"resolution: {atlas_model} renders {fixed_resolution}.", param="resolution"
            )
        params["resolution"] = fixed_resolution
    return params, renames, warnings


def atlas_model_for(generation: Generation) -> str:
    resolution = generation.input.get("resolution", "")
    for atlas_model, (model, fixed) in MODELS.items():
        if model == generation.model and fixed in ("", resolution):
            return atlas_model
    return generation.model


def _prediction(view: JobView, atlas_model: str) -> dict[str, Any]:
    return {
        "id": view.id,
        "status": STATUS_NAMES[view.state],
        "model": atlas_model,
        "outputs": [view.video_url] if view.video_url else [],
        "error": view.error_message if view.state == "failed" else None,
        "metrics": {"predict_time": view.generation_seconds},
        "created_at": view.created_at,
        "completed_at": view.completed_at,
    }


@compat_view(render_error)
def generate_video(request: HttpRequest) -> HttpResponse:
    require_method(request, "POST")
    api_key = authenticate(request)
    body = json_body(request)
    atlas_model, model, fixed_resolution = _model(body)
    params, renames, warnings = translate(_inputs(body), atlas_model, model, fixed_resolution)
    generation = job_create(api_key=api_key, model=model, params=params, source=Source.ATLASCLOUD, renames=renames)
    payload = _prediction(job_view(generation), atlas_model)
    payload["warnings"] = warnings
    return _success(payload)


# --- prediction -----------------------------------------------------------------------------


@compat_view(render_error, status_reads=True)
def prediction(request: HttpRequest, prediction_id: str) -> HttpResponse:
    require_method(request, "GET")
    api_key = authenticate(request)
    generation = job_get(api_key, prediction_id)
    return _success(_prediction(job_view(generation), atlas_model_for(generation)))


# --- uploadMedia ----------------------------------------------------------------------------


@compat_view(render_error)
def upload_media(request: HttpRequest) -> HttpResponse:
    require_method(request, "POST")
    api_key = authenticate(request)
    upload_file = request.FILES.get("file")
    if upload_file is None:
        raise CompatError(
            Kind.BAD_REQUEST, "file: is required (a multipart/form-data field named 'file').", param="file"
        )
    upload = upload_accept(api_key, upload_file.read(), field="file")
    payload = {
        "download_url": signed_url(upload.file.name),
        "file_name": upload_file.name,
        "content_type": upload.content_type,
        "size": upload.size_bytes,
    }
    return _success(payload, mirror=False)
