"""Replicate's HTTP API for the Hailuo models, served by our jobs (drop-in for the `replicate` package).

A customer changes the host (`replicate.Client(base_url="https://<us>")` or
`REPLICATE_BASE_URL`) and the key; `run`, `predictions.create/get/list/cancel`,
`models.get` and `wait()` then work unchanged. Replicate's paths:

- `POST /v1/models/{owner}/{name}/predictions` `{"input", "webhook",
  "webhook_events_filter"}` (official models), and `POST /v1/predictions`
  with `"version"`: a model name, `name:<version id>` or the version id;
  both honour `Prefer: wait` / `Prefer: wait=N` (N at most 60) and answer 201
- `GET /v1/predictions` (newest first, 100 a page, `next` / `previous` as
  URLs), `GET /v1/predictions/{id}`, `POST /v1/predictions/{id}/cancel`
- `GET /v1/models`, `GET /v1/models/{owner}/{name}` (with `latest_version`
  and its OpenAPI `Input` schema), `.../versions`, `.../versions/{id}`
- `GET /v1/webhooks/default/secret`: the key that signs job webhooks

Models (Replicate's names, each mapped to one catalog model): `minimax/hailuo-02`
and `minimax/hailuo-2.3-fast` as Replicate publishes them; `minimax/hailuo-02-fast`
and `minimax/hailuo-2` name our other models in the same style. Any other name,
Replicate's `minimax/hailuo-2.3` included, is a 404: we do not offer it.
Replicate's own defaults apply where they differ from ours: `minimax/hailuo-02`
renders 1080p unless asked otherwise (768p when 10 s are asked for, the only
resolution that renders them); `minimax/hailuo-2` takes `resolution` and picks
the mode that renders it. Replicate's 512p of hailuo-02 is our
`minimax/hailuo-02-fast`: asked of `minimax/hailuo-02`, it is a 422 saying so.

Statuses: queued and submitting read `starting`, running `processing`, then
`succeeded`, `failed` (timed out too) or `canceled`. A `Prefer: wait` answer
for a job still running reads `starting`: Replicate answers so when the wait
runs out, and the package's `run()` takes anything else as final (it would
return no output for a video still rendering). A prediction's `input` is
the job's parameters as accepted: defaults filled in, images as the upload
ids we keep them under; `logs` is empty (we keep none).

Errors are RFC 7807 problem details, `{"title", "detail", "status"}` as
`application/problem+json` (the package raises them as `ReplicateError`):
401 key, 402 insufficient credit or a spend limit (nothing is held or
charged), 403 role, 404 unknown model or another organization's prediction,
422 invalid input naming the field (`input.duration`) with `invalid_fields`,
429 with `Retry-After`. Streaming (`"stream": true`, what `replicate.stream`
sends) is a 422 before any job exists: video models have no token stream.

Webhooks: `webhook` with `webhook_events_filter` (`start`, `output`, `logs`,
`completed`; by default `output` and `completed`, as Replicate) go through
the per-job webhook deliveries (signed, retried, outbound URL rules); the
body is the prediction object, as Replicate sends it. A video's output
arrives with its completion, so `output` and `completed` are one delivery;
we keep no logs, so `logs` sends nothing.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from accounts.models import ApiKey, Organization
from accounts.permissions import Action
from api.waiting import wait_until_finished
from videogen import catalog, selectors
from videogen.api.parsing import prefer_wait
from videogen.compat.common import (
    CompatError,
    Kind,
    authenticate,
    compat_view,
    in_thread,
    job_create,
    job_get,
    job_reload,
    job_view,
    json_body,
    public_base,
    require_method,
)
from videogen.models import ACTIVE_STATUSES, FINAL_STATUSES, Generation, Source, Status
from videogen.services.generations import generation_cancel
from webhooks.models import EventType
from webhooks.services import job_secret_ensure

OWNER = "minimax"
# Replicate's model names -> our catalog's slugs (only the ones the catalog sells).
MODELS: dict[str, str] = {
    name: slug
    for name, slug in {
        "minimax/hailuo-02": "hailuo-02",
        "minimax/hailuo-02-fast": "hailuo-02-fast",
        "minimax/hailuo-2.3-fast": "hailuo-2.3-fast",
        "minimax/hailuo-2": "minimax-hailuo-2",
    }.items()
    if slug in catalog.MODELS
}
NAMES = {slug: name for name, slug in MODELS.items()}
# Replicate's default resolution where it differs from the catalog's.
DEFAULT_RESOLUTION = {"hailuo-02": "1080p"}
PAGE_SIZE = 100  # Replicate's page of predictions
# When this translation's schemas were written; a version's `created_at` (the package requires one).
SCHEMA_DATE = "2026-12-02T00:00:00Z"

_FINAL_EVENTS: list[str] = [
    EventType.GENERATION_SUCCEEDED,
    EventType.GENERATION_FAILED,
    EventType.GENERATION_CANCELED,
    EventType.GENERATION_TIMED_OUT,
]
WEBHOOK_EVENTS: dict[str, list[str]] = {
    "start": [EventType.GENERATION_STARTED],
    "output": _FINAL_EVENTS,  # a video is the whole output, at once, on completion
    "logs": [],  # we keep no logs
    "completed": _FINAL_EVENTS,
}
DEFAULT_WEBHOOK_FILTER = ["output", "completed"]

STATUS_NAMES: dict[str, str] = {
    Status.QUEUED: "starting",
    Status.SUBMITTING: "starting",
    Status.RUNNING: "processing",
    Status.SUCCEEDED: "succeeded",
    Status.FAILED: "failed",
    Status.TIMED_OUT: "failed",
    Status.CANCELED: "canceled",
}


# --- Errors ----------------------------------------------------------------------------

HTTP_STATUS = {
    Kind.BAD_REQUEST: 422,
    Kind.UNAUTHORIZED: 401,
    Kind.INSUFFICIENT_CREDITS: 402,
    Kind.SPEND_LIMIT: 402,
    Kind.FORBIDDEN: 403,
    Kind.NOT_FOUND: 404,
    Kind.METHOD_NOT_ALLOWED: 405,
    Kind.RATE_LIMITED: 429,
}
TITLES = {
    400: "Bad request",
    401: "Unauthenticated",
    402: "Insufficient credit",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    422: "Input validation failed",
    429: "Too many requests",
    500: "Internal server error",
}


def render_error(request: HttpRequest, exc: CompatError) -> HttpResponse:
    status = HTTP_STATUS.get(exc.kind, 500)
    if exc.kind == Kind.BAD_REQUEST and exc.param is None:
        status = 400  # the body itself could not be read; nothing names a field
    title = "Monthly spend limit reached" if exc.kind == Kind.SPEND_LIMIT else TITLES[status]
    body: dict[str, Any] = {"title": title, "detail": exc.message, "status": status}
    if status == 422 and exc.param:
        body["invalid_fields"] = [{"type": "invalid", "field": exc.param, "description": exc.message}]
    return JsonResponse(body, status=status, content_type="application/problem+json")


def invalid(field: str, message: str) -> CompatError:
    return CompatError(Kind.BAD_REQUEST, f"{field}: {message}", param=field)


def _token_as_bearer(request: HttpRequest) -> None:
    """Replicate's older `Authorization: Token <key>` is read as Bearer by the one authentication path."""
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "token":
        request.META["HTTP_AUTHORIZATION"] = f"Bearer {value}"


def replicate_view(view: Callable[..., Any] | None = None, *, status_reads: bool = False) -> Any:
    """`compat_view` in Replicate's error shape, taking the `Token` scheme as well as `Bearer`.

    `@replicate_view(status_reads=True)`: the view's GET reads a prediction's status, counted in the key's
    status-read budget (see `compat_view`).
    """
    if view is None:
        return lambda given: replicate_view(given, status_reads=status_reads)
    checked = compat_view(render_error, status_reads=status_reads)(view)
    if iscoroutinefunction(view):

        @wraps(checked)
        async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            _token_as_bearer(request)
            return await checked(request, *args, **kwargs)

        return csrf_exempt(async_wrapper)

    @wraps(checked)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        _token_as_bearer(request)
        return checked(request, *args, **kwargs)

    return csrf_exempt(wrapper)


# --- Models and their schemas ------------------------------------------------------------


def default_resolution(slug: str, duration: Any = None) -> str:
    """Replicate's default for the model; the catalog's when Replicate's cannot render the duration asked."""
    spec = catalog.MODELS[slug]
    wanted = DEFAULT_RESOLUTION.get(slug, spec.default_resolution)
    limit = spec.max_duration_for(wanted)
    seconds = str(duration).strip()
    if limit is not None and seconds.isdigit() and int(seconds) > limit:
        return spec.default_resolution
    return wanted


def input_schema(slug: str) -> dict[str, Any]:
    """The model's inputs as Cog describes them (`components.schemas.Input` of a version's OpenAPI schema)."""
    spec = catalog.MODELS[slug]
    image = {"type": "string", "format": "uri"}
    fields: list[tuple[str, dict[str, Any]]] = [
        (
            "prompt",
            {
                "type": "string",
                "maxLength": catalog.MAX_PROMPT_CHARS,
                "description": "Text prompt for generation (may be left out when a first frame is given).",
            },
        ),
        (
            "first_frame_image",
            {**image, "description": "First frame: an https URL, a data URL or base64 (JPEG, PNG or WebP)."},
        ),
    ]
    if spec.last_frame:
        fields.append(("last_frame_image", {**image, "description": "Last frame; needs a first frame as well."}))
    fields.append(
        (
            "duration",
            {
                "type": "integer",
                "enum": list(spec.durations),
                "default": spec.default_duration,
                "description": "Duration of the video in seconds.",
            },
        )
    )
    limits = ", ".join(f"{res} renders at most {seconds} s" for res, seconds in spec.resolution_max_duration)
    fields.append(
        (
            "resolution",
            {
                "type": "string",
                "enum": list(spec.resolutions),
                "default": default_resolution(slug),
                "description": f"Resolution of the video{'; ' + limits if limits else ''}.",
            },
        )
    )
    if spec.modes:
        fields.append(
            (
                "mode",
                {
                    "type": "string",
                    "enum": [mode for mode, _ in spec.modes],
                    "default": spec.modes[0][0],
                    "description": "; ".join(f"{mode} renders {res}" for mode, res in spec.modes) + ".",
                },
            )
        )
    fields.append(("prompt_optimizer", {"type": "boolean", "default": True, "description": "Use prompt optimizer."}))
    if spec.go_fast:
        fields.append(("go_fast", {"type": "boolean", "default": False, "description": "Faster, at some quality."}))
    properties = {
        name: {"title": name.replace("_", " ").capitalize(), "x-order": order, **schema}
        for order, (name, schema) in enumerate(fields)
    }
    schema: dict[str, Any] = {"type": "object", "title": "Input", "properties": properties}
    if spec.first_frame == "required":
        schema["required"] = ["first_frame_image"]
    return schema


def openapi_schema(slug: str) -> dict[str, Any]:
    return {
        "openapi": "3.0.2",
        "info": {"title": catalog.MODELS[slug].name, "version": "1.0.0"},
        "paths": {},
        "components": {
            "schemas": {
                "Input": input_schema(slug),
                "Output": {"type": "string", "format": "uri", "title": "Output"},
            }
        },
    }


def _version_id(slug: str) -> str:
    """A version id that changes exactly when the model's schema does (Replicate's ids are 64 hex digits too)."""
    return hashlib.sha256(json.dumps(openapi_schema(slug), sort_keys=True).encode()).hexdigest()


VERSIONS = {slug: _version_id(slug) for slug in MODELS.values()}


def version_to_dict(slug: str) -> dict[str, Any]:
    # No Cog runs here: the version has no cog_version.
    return {"id": VERSIONS[slug], "created_at": SCHEMA_DATE, "cog_version": "", "openapi_schema": openapi_schema(slug)}


def model_to_dict(name: str, base: str, organization: Organization) -> dict[str, Any]:
    slug = MODELS[name]
    spec = catalog.MODELS[slug]
    owner, model_name = name.split("/", 1)
    return {
        "url": f"{base}/v1/models/{name}",
        "owner": owner,
        "name": model_name,
        "description": spec.description,
        "visibility": "public",
        "github_url": None,
        "paper_url": None,
        "license_url": None,
        # This organization's runs: other tenants' volumes are not theirs to see.
        "run_count": selectors.generations_list(organization).filter(model=slug).count(),
        "cover_image_url": None,
        "default_example": None,
        "latest_version": version_to_dict(slug),
    }


def model_for_name(name: str) -> str:
    """Our catalog slug for a Replicate model name; Replicate's 404 for a model we do not offer."""
    if name not in MODELS:
        offered = ", ".join(MODELS)
        raise CompatError(Kind.NOT_FOUND, f"Model {name!r} is not offered here; the models are {offered}.")
    return MODELS[name]


def _version_model(value: Any) -> str:
    """The model name a `version` field names: `owner/name`, `owner/name:<id>` or a version id alone."""
    if not isinstance(value, str) or not value.strip():
        raise invalid("version", "is required: a model name such as minimax/hailuo-02, or a version id.")
    name, _, version_id = value.strip().partition(":")
    if "/" in name:
        if name in MODELS and version_id in ("", VERSIONS[MODELS[name]]):
            return name
    else:
        for known, slug in MODELS.items():
            if VERSIONS[slug] == value.strip():
                return known
    raise invalid("version", f"{value!r} is not a version of a model offered here ({', '.join(MODELS)}).")


# --- Predictions --------------------------------------------------------------------------


def prediction_to_dict(generation: Generation, base: str, *, wait_ran_out: bool = False) -> dict[str, Any]:
    """The job as Replicate's prediction object (API answers and webhook bodies alike)."""
    view = job_view(generation)
    status = STATUS_NAMES[generation.status]
    if wait_ran_out and status == "processing":
        status = "starting"  # see the module's docstring: `run()` polls on only from "starting"
    url = f"{base}/v1/predictions/{generation.public_id}"
    metrics: dict[str, Any] = {}
    if generation.status in FINAL_STATUSES and view.generation_seconds is not None:
        metrics["predict_time"] = view.generation_seconds
    if generation.completed_at is not None:
        metrics["total_time"] = round((generation.completed_at - generation.created_at).total_seconds(), 3)
    return {
        "id": generation.public_id,
        "model": NAMES.get(generation.model, f"{OWNER}/{generation.model}"),
        "version": VERSIONS.get(generation.model, ""),
        "input": {name: value for name, value in generation.input.items() if value is not None},
        "output": view.video_url if status == "succeeded" else None,
        "logs": "",
        "error": view.error_message if status == "failed" else None,
        "status": status,
        "source": "web" if generation.source == Source.WEB else "api",
        "data_removed": view.expired,
        "created_at": view.created_at,
        "started_at": job_started_at(generation),
        "completed_at": view.completed_at,
        "urls": {"get": url, "cancel": f"{url}/cancel"},
        "metrics": metrics,
    }


def job_started_at(generation: Generation) -> str | None:
    started = generation.started_at
    return started.isoformat().replace("+00:00", "Z") if started else None


def translate(slug: str, name: str, given: Any) -> dict[str, Any]:
    """Replicate's `input` object as our parameters (the names are the same; the defaults are Replicate's)."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise invalid("input", "must be an object of the model's inputs.")
    known = input_schema(slug)["properties"]
    for field in given:
        if field not in known:
            raise invalid(f"input.{field}", f"is not an input of {name}; its inputs are {', '.join(known)}.")
    params = {field: value for field, value in given.items() if value is not None}
    resolution = str(params.get("resolution", "")).strip().lower()
    spec = catalog.MODELS[slug]
    if slug == "hailuo-02" and resolution == "512p" and "512p" not in spec.resolutions:
        fast = NAMES.get("hailuo-02-fast", "")
        elsewhere = f"; 512p is {fast} here" if fast else ""
        raise invalid("input.resolution", f"must be one of {', '.join(spec.resolutions)} for {name}{elsewhere}.")
    if spec.modes and resolution and params.get("mode") in (None, ""):
        modes = {res: mode for mode, res in spec.modes}
        if resolution not in modes:
            raise invalid("input.resolution", f"must be one of {', '.join(modes)} for {name}.")
        params["mode"] = modes[resolution]
    if not spec.modes and not resolution:
        params["resolution"] = default_resolution(slug, params.get("duration"))
    return params


def _webhook(body: dict[str, Any]) -> tuple[str, list[str] | None]:
    """The job's webhook URL and the events it receives, from Replicate's `webhook` and `webhook_events_filter`."""
    url, wanted = body.get("webhook"), body.get("webhook_events_filter")
    if url in (None, "") and body.get("webhook_completed") not in (None, ""):
        url, wanted = body["webhook_completed"], wanted or ["completed"]  # the package's older parameter
    if url in (None, ""):
        if wanted not in (None, []):
            raise invalid("webhook_events_filter", "give a webhook URL to send the events to.")
        return "", None
    if not isinstance(url, str):
        raise invalid("webhook", "must be an https URL.")
    if wanted is None:
        wanted = DEFAULT_WEBHOOK_FILTER
    if not isinstance(wanted, list) or not all(isinstance(event, str) for event in wanted):
        raise invalid("webhook_events_filter", f"must be a list of {', '.join(WEBHOOK_EVENTS)}.")
    for event in wanted:
        if event not in WEBHOOK_EVENTS:
            raise invalid("webhook_events_filter", f"{event!r} is not one of {', '.join(WEBHOOK_EVENTS)}.")
    return url, sorted({ours for event in wanted for ours in WEBHOOK_EVENTS[event]})


def _accept(request: HttpRequest, name: str | None) -> Generation:
    """Accept the job as the native API does; `name` is the model in the path (None: the body's `version`)."""
    api_key = authenticate(request)
    body = json_body(request)
    name = name if name is not None else _version_model(body.get("version"))
    slug = model_for_name(name)
    if body.get("stream") not in (None, False):
        raise invalid(
            "stream",
            "streaming is not offered: video models have no output stream. Leave stream out, then wait "
            "(Prefer: wait, or poll the prediction) or give a webhook.",
        )
    params = translate(slug, name, body.get("input"))
    url, events = _webhook(body)
    try:
        return job_create(
            api_key=api_key,
            model=slug,
            params=params,
            source=Source.REPLICATE,
            webhook_url=url,
            webhook_events=events,
        )
    except CompatError as exc:
        raise _named_as_input(exc, slug) from None


def _named_as_input(exc: CompatError, slug: str) -> CompatError:
    """A refused parameter named as the client sent it: `input.duration`."""
    if exc.kind != Kind.BAD_REQUEST or exc.param is None or exc.param not in input_schema(slug)["properties"]:
        return exc
    message = exc.message.removeprefix(f"{exc.param}:").strip()
    return invalid(f"input.{exc.param}", message)


async def _create(request: HttpRequest, name: str | None) -> HttpResponse:
    started = time.monotonic()
    wait = prefer_wait(request)
    generation = await in_thread(_accept)(request, name)
    ran_out = False
    if wait is not None and generation.status in ACTIVE_STATUSES:
        finished_among = selectors.generations_finished_among
        remaining = wait - (time.monotonic() - started)
        ran_out = not await wait_until_finished(generation.pk, remaining, finished_among=finished_among)
        generation = await in_thread(job_reload)(generation.pk)
    data = await in_thread(prediction_to_dict)(generation, public_base(request), wait_ran_out=ran_out)
    response = JsonResponse(data, status=201)
    if wait is not None:
        response["Preference-Applied"] = f"wait={wait}"
    return response


def _prediction(api_key: ApiKey, prediction_id: str) -> Generation:
    try:
        return job_get(api_key, prediction_id)
    except CompatError:
        raise CompatError(Kind.NOT_FOUND, f"Prediction {prediction_id!r} not found.") from None


def predictions_page(organization: Organization, cursor: str, base: str) -> dict[str, Any]:
    """One page of the organization's predictions, newest first; cursors are `a.<id>` (older) or `b.<id>` (newer)."""
    jobs = selectors.generations_list(organization)
    older_exist, newer_exist = False, False
    if not cursor:
        rows = list(jobs[: PAGE_SIZE + 1])
        older_exist = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
    else:
        direction, _, public_id = cursor.partition(".")
        position = jobs.filter(public_id=public_id).values("created_at", "pk").first()
        if direction not in ("a", "b") or position is None:
            raise invalid("cursor", "use the next or previous URL of a page as it is.")
        at, pk = position["created_at"], position["pk"]
        if direction == "a":
            rows = list(jobs.filter(Q(created_at__lt=at) | Q(created_at=at, pk__lt=pk))[: PAGE_SIZE + 1])
            older_exist, newer_exist = len(rows) > PAGE_SIZE, True
            rows = rows[:PAGE_SIZE]
        else:
            newer = jobs.filter(Q(created_at__gt=at) | Q(created_at=at, pk__gt=pk)).order_by("created_at", "pk")
            rows = list(newer[: PAGE_SIZE + 1])
            older_exist, newer_exist = True, len(rows) > PAGE_SIZE
            rows = rows[:PAGE_SIZE][::-1]
    url = f"{base}/v1/predictions?cursor="
    return {
        "next": f"{url}a.{rows[-1].public_id}" if rows and older_exist else None,
        "previous": f"{url}b.{rows[0].public_id}" if rows and newer_exist else None,
        "results": [prediction_to_dict(job, base) for job in rows],
    }


def _list(request: HttpRequest) -> HttpResponse:
    api_key = authenticate(request)
    return JsonResponse(predictions_page(api_key.organization, request.GET.get("cursor", ""), public_base(request)))


# --- Views --------------------------------------------------------------------------------


@replicate_view
async def predictions(request: HttpRequest) -> HttpResponse:
    """`GET`: the organization's predictions; `POST`: create one for the model or version in the body."""
    require_method(request, "POST", "GET")
    if request.method == "GET":
        response: HttpResponse = await in_thread(_list)(request)
        return response
    return await _create(request, None)


@replicate_view
async def model_predictions(request: HttpRequest, owner: str, name: str) -> HttpResponse:
    """Create a prediction of an official model (Replicate's path for them)."""
    require_method(request, "POST")
    return await _create(request, f"{owner}/{name}")


@replicate_view(status_reads=True)
def prediction(request: HttpRequest, prediction_id: str) -> HttpResponse:
    require_method(request, "GET")
    api_key = authenticate(request)
    return JsonResponse(prediction_to_dict(_prediction(api_key, prediction_id), public_base(request)))


@replicate_view
def prediction_cancel(request: HttpRequest, prediction_id: str) -> HttpResponse:
    """Cancel a prediction still starting or processing (its hold is released); a finished one comes back as it is."""
    require_method(request, "POST")
    api_key = authenticate(request, Action.JOBS_CANCEL)
    generation = _prediction(api_key, prediction_id)
    generation_cancel(generation=generation, reason="Canceled through the Replicate-compatible API.")
    generation.refresh_from_db()
    return JsonResponse(prediction_to_dict(generation, public_base(request)))


@replicate_view
def models(request: HttpRequest) -> HttpResponse:
    require_method(request, "GET")
    api_key = authenticate(request)
    base = public_base(request)
    results = [model_to_dict(name, base, api_key.organization) for name in MODELS]
    return JsonResponse({"next": None, "previous": None, "results": results})


@replicate_view
def model(request: HttpRequest, owner: str, name: str) -> HttpResponse:
    require_method(request, "GET")
    api_key = authenticate(request)
    full_name = f"{owner}/{name}"
    model_for_name(full_name)
    return JsonResponse(model_to_dict(full_name, public_base(request), api_key.organization))


@replicate_view
def model_versions(request: HttpRequest, owner: str, name: str) -> HttpResponse:
    require_method(request, "GET")
    authenticate(request)
    slug = model_for_name(f"{owner}/{name}")
    return JsonResponse({"next": None, "previous": None, "results": [version_to_dict(slug)]})


@replicate_view
def model_version(request: HttpRequest, owner: str, name: str, version_id: str) -> HttpResponse:
    require_method(request, "GET")
    authenticate(request)
    slug = model_for_name(f"{owner}/{name}")
    if version_id != VERSIONS[slug]:
        raise CompatError(Kind.NOT_FOUND, f"Version {version_id!r} of {owner}/{name} not found.")
    return JsonResponse(version_to_dict(slug))


@replicate_view
def webhook_secret(request: HttpRequest) -> HttpResponse:
    """The key that signs this organization's job webhooks (Standard Webhooks, as Replicate signs them)."""
    require_method(request, "GET")
    api_key = authenticate(request, Action.WEBHOOKS_JOB_SECRET)
    return JsonResponse({"key": job_secret_ensure(api_key.organization).secret})
