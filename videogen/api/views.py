"""Native REST API endpoints: models, generations, uploads.

Thin: parse, call a service or selector, render. Every view is async (see
core.py); the blocking work of a request is one trip to the database threads.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse

from accounts.permissions import Action
from api import idempotency, ratelimit
from api.errors import api_error
from api.waiting import wait_until_finished
from billing import selectors as billing_selectors
from billing.errors import InsufficientCredits, SpendLimitExceeded, TooManyOpenHolds
from core.errors import ApiError
from videogen import catalog, selectors
from videogen.api.core import (
    api_endpoint,
    authorize,
    invalid,
    json_response,
    prefer_wait,
    run_sync,
    sync_handler,
    unstorable_field,
)
from videogen.api.listing import generations_page
from videogen.media import MAX_IMAGE_BYTES
from videogen.models import Generation, Source, Upload
from videogen.presenters import generation_to_dict
from videogen.services.files import signed_url
from videogen.services.generations import generation_cancel, generation_create
from videogen.services.uploads import upload_create

# Top-level fields of a create request; with no "input" object, every other field is a model parameter.
REQUEST_FIELDS = ("model", "input", "webhook", "webhook_events_filter", "metadata")
MODEL_PARAMETERS = frozenset(name for spec in catalog.MODELS.values() for name in spec.describe())
# Multipart overhead allowed on top of the largest image before we refuse without reading the body.
UPLOAD_SLACK_BYTES = 1024 * 1024


# --- Models ------------------------------------------------------------------


def _models(request: HttpRequest) -> HttpResponse:
    prices = billing_selectors.price_list(catalog.all_variants())
    data = [
        {
            "id": spec.slug,
            "object": "model",
            "name": spec.name,
            "description": spec.description,
            "parameters": spec.describe(),
            "prices": [price for price in prices if price["model"] == spec.slug],
        }
        for spec in catalog.MODELS.values()
    ]
    return json_response({"object": "list", "data": data})


models = api_endpoint(get=sync_handler(_models, None))


# --- Creating a generation ---------------------------------------------------------


@dataclass
class CreateRequest:
    model: str
    params: dict[str, Any]
    webhook: str = ""
    webhook_events: Any = None
    metadata: Any = None


@dataclass
class Outcome:
    """What the database work of a request produced, before any waiting."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    generation_pk: int | None = None
    final: bool = True


def _json_payload(request: HttpRequest) -> dict[str, Any]:
    content_type = request.content_type or ""
    if content_type and content_type != "application/json":
        raise invalid(None, "unsupported_media_type", "Send the request as application/json.", status=415)
    try:
        payload = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise invalid(None, "invalid_json", "The request body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise invalid(None, "invalid_json", "The request body must be a JSON object.")
    field = unstorable_field(payload)
    if field is not None:
        field = field.removeprefix("input.")  # parameters are named as in the catalog's errors
        raise invalid(field, "invalid_characters", f"{field}: contains characters that are not allowed (NUL).")
    return payload


def _unknown(params: dict[str, Any], known: frozenset[str] | tuple[str, ...]) -> None:
    for name in params:
        if name not in known:
            raise invalid(name, "unknown_parameter", f"{name}: unknown parameter.")


def _check_image_text(params: dict[str, Any]) -> None:
    # Only a URL may carry non-ASCII text; ids and base64 never do (and the decoder is not asked to cope).
    for name in catalog.IMAGE_FIELDS:
        value = params.get(name)
        if isinstance(value, str) and not value.isascii() and not value.lower().startswith(("http://", "https://")):
            raise invalid(name, "encoding", f"{name}: must be an https URL, a data URL, base64 or an upload id.")


def _delivery(payload: dict[str, Any]) -> tuple[str, Any, Any]:
    """The webhook, its events filter and the metadata, checked for type (the service checks the rest)."""
    webhook, events, metadata = payload.get("webhook"), payload.get("webhook_events_filter"), payload.get("metadata")
    if webhook is not None and not isinstance(webhook, str):
        raise invalid("webhook", "type", "webhook: must be an https URL.")
    if events is not None and not webhook:
        raise invalid(
            "webhook_events_filter", "requires_webhook", "webhook_events_filter: give a webhook URL to send them to."
        )
    if events is not None and not isinstance(events, list):
        raise invalid("webhook_events_filter", "type", "webhook_events_filter: must be a list of event types.")
    if metadata is not None and not isinstance(metadata, dict):
        raise invalid("metadata", "type", "metadata: must be an object of string keys and string values.")
    return webhook or "", events, metadata


def parse_create(payload: dict[str, Any]) -> CreateRequest:
    """Read a create request: parameters in `input`, or (like Replicate's lenient clients) at the top level."""
    model = payload.get("model")
    if model in (None, ""):
        raise invalid("model", "required", f"model: is required; choose one of {', '.join(catalog.MODELS)}.")
    if not isinstance(model, str):
        raise invalid("model", "type", "model: must be a string.")
    if "input" in payload:
        params = payload["input"]
        if not isinstance(params, dict):
            raise invalid("input", "type", "input: must be an object of model parameters.")
        _unknown(payload, REQUEST_FIELDS)
    else:
        params = {k: v for k, v in payload.items() if k not in REQUEST_FIELDS}
    _unknown(params, MODEL_PARAMETERS)
    _check_image_text(params)
    webhook, events, metadata = _delivery(payload)
    return CreateRequest(model=model, params=params, webhook=webhook, webhook_events=events, metadata=metadata)


def _accept(request: HttpRequest, create: CreateRequest, record: Any, limits: ratelimit.Limits) -> Outcome:
    organization = request.organization
    accepted: dict[str, Any] = {}

    def in_transaction(generation: Generation) -> None:
        # The body saved under the idempotency key commits with the job or not at all.
        accepted["body"] = generation_to_dict(generation)
        if record is not None:
            idempotency.idempotency_complete(record, status=201, body=accepted["body"])

    try:
        generation = generation_create(
            organization=organization,
            model=create.model,
            params=create.params,
            source=Source.API,
            api_key=request.auth,
            webhook_url=create.webhook,
            webhook_events=create.webhook_events,
            metadata=create.metadata,
            max_running=limits.max_running_jobs,
            in_transaction=in_transaction,
        )
    except TooManyOpenHolds:
        raise ratelimit.too_many_running_jobs(limits) from None
    except (InsufficientCredits, SpendLimitExceeded) as exc:
        # A refusal the service recorded for operators: saved under the key like any outcome of the work.
        refusal = api_error(exc)
        if record is not None:
            idempotency.idempotency_complete(record, status=refusal.status_code, body=refusal.body())
        raise refusal from None
    return Outcome(status=201, body=accepted["body"], generation_pk=generation.pk, final=generation.is_final)


def _create(request: HttpRequest) -> Outcome:
    authorize(request, Action.GENERATE)
    payload = _json_payload(request)
    key = idempotency.idempotency_key(request)
    create = parse_create(payload)
    record = None
    if key is not None:
        fingerprint = idempotency.request_fingerprint(request.method, request.path, payload)
        claimed = idempotency.idempotency_begin(organization=request.organization, key=key, fingerprint=fingerprint)
        if isinstance(claimed, idempotency.Replay):
            return Outcome(status=claimed.status, body=claimed.body, headers={"Idempotent-Replayed": "true"})
        record = claimed
    try:
        return _accept(request, create, record, ratelimit.limits_for(request.organization.pk))
    except Exception:
        if record is not None:
            idempotency.idempotency_release(record)  # a no-op when the outcome was saved with the key
        raise


def _generation(request: HttpRequest, public_id: str) -> Generation:
    if unstorable_field(public_id) is not None:
        raise Http404("No such generation.")  # no id has such characters
    return selectors.generation_get(request.organization, public_id)


def _reload(request: HttpRequest, public_id: str) -> Outcome:
    generation = _generation(request, public_id)
    return Outcome(
        status=200, body=generation_to_dict(generation), generation_pk=generation.pk, final=generation.is_final
    )


async def _wait_and_reload(request: HttpRequest, outcome: Outcome, wait: int, started: float) -> Outcome:
    await wait_until_finished(
        outcome.generation_pk,
        wait - (time.monotonic() - started),
        finished_among=selectors.generations_finished_among,
    )
    fresh = await run_sync(_reload, request, outcome.body["id"])
    fresh.status = outcome.status
    return fresh


async def _respond(request: HttpRequest, outcome: Outcome, wait: int | None, started: float) -> HttpResponse:
    headers = dict(outcome.headers)
    if wait and outcome.generation_pk is not None:
        if not outcome.final:
            outcome = await _wait_and_reload(request, outcome, wait, started)
        headers["Preference-Applied"] = f"wait={wait}"
    return json_response(outcome.body, status=outcome.status, headers=headers)


async def _generations_post(request: HttpRequest) -> HttpResponse:
    started = time.monotonic()
    wait = prefer_wait(request)
    outcome = await run_sync(_create, request)
    return await _respond(request, outcome, wait, started)


def _list(request: HttpRequest) -> HttpResponse:
    return json_response(generations_page(request.organization, request.GET))


generations = api_endpoint(get=sync_handler(_list, Action.JOBS_VIEW), post=_generations_post)


# --- One generation -----------------------------------------------------------------


def _detail(request: HttpRequest, public_id: str) -> Outcome:
    authorize(request, Action.JOBS_VIEW)
    return _reload(request, public_id)


async def _generation_get(request: HttpRequest, generation_id: str) -> HttpResponse:
    started = time.monotonic()
    wait = prefer_wait(request)
    outcome = await run_sync(_detail, request, generation_id)
    return await _respond(request, outcome, wait, started)


generation = api_endpoint(get=_generation_get)


def _cancel(request: HttpRequest, generation_id: str) -> HttpResponse:
    job = _generation(request, generation_id)
    if not generation_cancel(generation=job, reason="Canceled through the API."):
        job.refresh_from_db()
        raise ApiError(
            409,
            "invalid_request_error",
            "not_cancelable",
            f"{job.public_id} has already finished ({job.status}); only queued or running generations can be canceled.",
            extra={"status": job.status},
        )
    job.refresh_from_db()
    return json_response(generation_to_dict(job))


generation_cancel_view = api_endpoint(post=sync_handler(_cancel, Action.JOBS_CANCEL))


# --- Uploads -------------------------------------------------------------------------------


def upload_to_dict(upload: Upload) -> dict[str, Any]:
    return {
        "id": upload.public_id,
        "object": "upload",
        "url": signed_url(upload.file.name),
        "content_type": upload.content_type,
        "size_bytes": upload.size_bytes,
        "width": upload.width,
        "height": upload.height,
        "created_at": upload.created_at.isoformat().replace("+00:00", "Z"),
    }


def _too_large() -> ApiError:
    return invalid("file", "too_large", f"file: images must be at most 20 MB ({MAX_IMAGE_BYTES:,} bytes).", status=413)


def _upload(request: HttpRequest) -> HttpResponse:
    if request.content_type != "multipart/form-data":
        raise invalid(None, "unsupported_media_type", "Send the image as multipart/form-data, field 'file'.", 415)
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_IMAGE_BYTES + UPLOAD_SLACK_BYTES:
        raise _too_large()
    file = request.FILES.get("file")
    if file is None:
        raise invalid("file", "required", "file: send the image in the multipart field 'file'.")
    if file.size > MAX_IMAGE_BYTES:
        raise _too_large()
    upload = upload_create(organization=request.organization, data=file.read(), field="file")
    return json_response(upload_to_dict(upload), status=201)


uploads = api_endpoint(post=sync_handler(_upload, Action.GENERATE))
