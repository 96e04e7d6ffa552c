"""Native REST API endpoints: models, generations, uploads.

Ordinary DRF views on `api.views.ApiView` (the key's one authentication path,
rate limits, roles, one error shape); the OpenAPI schema is generated from
them. Thin: parse, call a service or selector, render.

Two endpoints may wait for a job to finish (`Prefer: wait`): their URLs
point at async views around the DRF views (`_waiting`). The DRF view does
the request's work; then, if the job is still running, the async view waits
for it on the event loop, holding neither a thread nor a database
connection, and answers with the job as it then stands.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.http import Http404, HttpRequest, HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import Action
from api import idempotency, ratelimit
from api.authentication import StatusReadAuthentication
from api.errors import api_error
from api.views import ApiRequest, ApiView
from api.waiting import wait_until_finished
from billing import selectors as billing_selectors
from billing.errors import InsufficientCredits, SpendLimitExceeded
from core.errors import ApiError
from videogen import catalog, selectors
from videogen.api import serializers as s
from videogen.api.listing import DEFAULT_LIMIT, MAX_LIMIT, generations_page
from videogen.api.parsing import invalid, media_type, prefer_wait, unstorable_field
from videogen.api.schema import IDEMPOTENCY_KEY, NOT_FOUND, PREFER, TOO_MANY, UNAUTHORIZED, error_response
from videogen.media import MAX_IMAGE_BYTES
from videogen.models import ACTIVE_STATUSES, Generation, Source, Status, Upload
from videogen.presenters import GENERATION_FIELDS, generation_to_dict
from videogen.services.files import signed_url
from videogen.services.generations import generation_cancel, generation_create
from videogen.services.uploads import upload_create

# Top-level fields of a create request; with no "input" object, every other field is a model parameter.
REQUEST_FIELDS = ("model", "input", "webhook", "webhook_events_filter", "metadata")
MODEL_PARAMETERS = frozenset(name for spec in catalog.MODELS.values() for name in spec.describe())
# Multipart overhead allowed on top of the largest image before we refuse without reading the body.
UPLOAD_SLACK_BYTES = 1024 * 1024
GENERATION_ID = OpenApiParameter("generation_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="gen_...")


# --- Models ------------------------------------------------------------------


class ModelsView(ApiView):
    actions = {"GET": None}

    @extend_schema(
        operation_id="models_list",
        summary="List models",
        description="Every model with its parameters, their rules, and the price of each variant.",
        responses={200: s.ModelListSerializer, 401: UNAUTHORIZED, 429: TOO_MANY},
        tags=["models"],
    )
    def get(self, request: ApiRequest) -> Response:
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
        return Response({"object": "list", "data": data})


# --- Creating and listing generations ----------------------------------------------


@dataclass
class CreateRequest:
    model: str
    params: dict[str, Any]
    webhook: str = ""
    webhook_events: Any = None
    metadata: Any = None


def _json_payload(request: Request) -> dict[str, Any]:
    content_type = media_type(request)
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


def _accept(request: ApiRequest, create: CreateRequest, record: Any) -> Response:
    limits = ratelimit.limits_for(request.organization.pk)
    accepted: dict[str, Any] = {}

    def in_transaction(generation: Generation) -> None:
        # The body saved under the idempotency key commits with the job or not at all.
        accepted["body"] = generation_to_dict(generation)
        if record is not None:
            idempotency.idempotency_complete(record, status=201, body=accepted["body"])

    try:
        generation_create(
            organization=request.organization,
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
    except (InsufficientCredits, SpendLimitExceeded) as exc:
        # A refusal the service recorded for operators: saved under the key like any outcome of the work.
        refusal = api_error(exc)
        assert refusal is not None  # billing refusals always map to an HTTP error
        if record is not None:
            idempotency.idempotency_complete(record, status=refusal.status_code, body=refusal.body())
        raise refusal from None
    return Response(accepted["body"], status=201)


def _create(request: ApiRequest) -> Response:
    payload = _json_payload(request)
    key = idempotency.idempotency_key(request)
    create = parse_create(payload)
    record = None
    if key is not None:
        fingerprint = idempotency.request_fingerprint(request.method or "POST", request.path, payload)
        claimed = idempotency.idempotency_begin(organization=request.organization, key=key, fingerprint=fingerprint)
        if isinstance(claimed, idempotency.Replay):
            return Response(claimed.body, status=claimed.status, headers={REPLAYED: "true"})
        record = claimed
    try:
        return _accept(request, create, record)
    except Exception:
        if record is not None:
            idempotency.idempotency_release(record)  # a no-op when the outcome was saved with the key
        raise


REPLAYED = "Idempotent-Replayed"


class GenerationsView(ApiView):
    actions = {"GET": Action.JOBS_VIEW, "POST": Action.GENERATE}
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="generations_list",
        summary="List generations",
        description="Newest first. Pass `next_cursor` of a page as `cursor` to get the next one.",
        parameters=[
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                description="One status or several separated by commas: " + ", ".join(x.value for x in Status),
            ),
            OpenApiParameter("model", OpenApiTypes.STR, enum=list(catalog.MODELS)),
            OpenApiParameter("created_after", OpenApiTypes.DATETIME, description="RFC 3339, exclusive."),
            OpenApiParameter("created_before", OpenApiTypes.DATETIME, description="RFC 3339, exclusive."),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                description=f"1 to {MAX_LIMIT}; default {DEFAULT_LIMIT}.",
            ),
            OpenApiParameter("cursor", OpenApiTypes.STR, description="`next_cursor` of the previous page."),
        ],
        responses={
            200: s.GenerationListSerializer,
            400: error_response("A filter is invalid (`param` names it)."),
            401: UNAUTHORIZED,
            429: TOO_MANY,
        },
        tags=["generations"],
    )
    def get(self, request: ApiRequest) -> Response:
        return Response(generations_page(request.organization, request.query_params))

    @extend_schema(
        operation_id="generations_create",
        summary="Create a generation",
        description=(
            "Validates and prices the request, reserves its price from your credit and queues the job. "
            "You are charged only if it succeeds. Give model parameters in `input` or at the top level."
        ),
        request=s.GenerationCreateSerializer,
        parameters=[IDEMPOTENCY_KEY, PREFER],
        responses={
            201: OpenApiResponse(s.GenerationSerializer, description="Accepted (or finished, with `Prefer: wait`)."),
            400: error_response("A parameter breaks a rule (`param` names it, `code` names the rule), or bad JSON."),
            401: UNAUTHORIZED,
            402: error_response("`insufficient_credits` (with price and available) or `spend_limit_exceeded`."),
            404: error_response("An upload id that does not exist in your organization (`param` names the field)."),
            409: error_response("`idempotency_conflict` or `idempotency_in_progress` (with Retry-After)."),
            413: error_response("The request body is too large."),
            415: error_response("The body is not application/json."),
            429: TOO_MANY,
        },
        tags=["generations"],
    )
    def post(self, request: ApiRequest) -> Response:
        return _create(request)


# --- One generation -----------------------------------------------------------------


def _generation(request: ApiRequest, public_id: str, fields: tuple[str, ...] = ()) -> Generation:
    if unstorable_field(public_id) is not None:
        raise Http404("No such generation.")  # no id has such characters
    return selectors.generation_get(request.organization, public_id, fields=fields)


class GenerationView(ApiView):
    actions = {"GET": Action.JOBS_VIEW}
    # Clients poll a job while it runs: its reads count in the key's status-read budget (api.ratelimit).
    authentication_classes = [StatusReadAuthentication]

    @extend_schema(
        operation_id="generations_retrieve",
        summary="Get a generation",
        parameters=[GENERATION_ID, PREFER],
        responses={200: s.GenerationSerializer, 401: UNAUTHORIZED, 404: NOT_FOUND, 429: TOO_MANY},
        tags=["generations"],
    )
    def get(self, request: ApiRequest, generation_id: str) -> Response:
        return Response(generation_to_dict(_generation(request, generation_id, GENERATION_FIELDS)))


class GenerationCancelView(ApiView):
    actions = {"POST": Action.JOBS_CANCEL}
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="generations_cancel",
        summary="Cancel a generation",
        description="Stops a queued or running job and releases its reserved credit.",
        request=None,
        parameters=[GENERATION_ID],
        responses={
            200: OpenApiResponse(s.GenerationSerializer, description="Canceled."),
            401: UNAUTHORIZED,
            404: NOT_FOUND,
            409: error_response("`not_cancelable`: the job has already finished."),
            429: TOO_MANY,
        },
        tags=["generations"],
    )
    def post(self, request: ApiRequest, generation_id: str) -> Response:
        job = _generation(request, generation_id)
        if not generation_cancel(generation=job, reason="Canceled through the API."):
            job.refresh_from_db()
            raise ApiError(
                409,
                "invalid_request_error",
                "not_cancelable",
                f"{job.public_id} has already finished ({job.status}); "
                "only queued or running generations can be canceled.",
                extra={"status": job.status},
            )
        job.refresh_from_db()
        return Response(generation_to_dict(job))


# --- Waiting ---------------------------------------------------------------------------


def _serve(view: Callable[..., HttpResponseBase], request: HttpRequest, kwargs: dict[str, Any], release: bool) -> Any:
    try:
        return view(request, **kwargs)
    finally:
        if release:
            close_old_connections()  # the connection goes back before the client waits


def _job_now(public_id: str) -> dict[str, Any]:
    return generation_to_dict(Generation.objects.only(*GENERATION_FIELDS).get(public_id=public_id))


def _waiting(view_class: type[ApiView], method: str) -> Callable[..., Coroutine[Any, Any, HttpResponseBase]]:
    """An async view around `view_class` that honours `Prefer: wait` on `method` (see the module's docstring)."""
    serve = view_class.as_view()

    # Wrapping copies the DRF view's attributes (its class among them): the schema describes the view that serves.
    @functools.wraps(serve)
    async def view(request: HttpRequest, **kwargs: Any) -> HttpResponseBase:
        started = time.monotonic()
        wait = prefer_wait(request) if request.method == method else None
        response = await sync_to_async(_serve)(serve, request, kwargs, wait is not None)
        if wait is None or response.status_code not in (200, 201) or response.get(REPLAYED):
            return response
        job = response.data
        if job["status"] in ACTIVE_STATUSES:
            finished_among = selectors.generations_finished_among_public_ids
            await wait_until_finished(job["id"], wait - (time.monotonic() - started), finished_among=finished_among)
            response.data = await sync_to_async(_job_now)(job["id"])
        response["Preference-Applied"] = f"wait={wait}"
        return response

    return view


generations = _waiting(GenerationsView, "POST")
generation = _waiting(GenerationView, "GET")


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


class UploadsView(ApiView):
    actions = {"POST": Action.GENERATE}
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="uploads_create",
        summary="Upload an image",
        description="Stores a first or last frame; use the returned id as `first_frame_image`.",
        request=s.UploadCreateSerializer,
        responses={
            201: s.UploadSerializer,
            400: error_response("No `file` field, or the image breaks a rule (format, size, sides, ratio)."),
            401: UNAUTHORIZED,
            413: error_response("The image is over 20 MB."),
            415: error_response("The body is not multipart/form-data."),
            429: TOO_MANY,
        },
        tags=["uploads"],
    )
    def post(self, request: ApiRequest) -> Response:
        if media_type(request) != "multipart/form-data":
            raise invalid(None, "unsupported_media_type", "Send the image as multipart/form-data, field 'file'.", 415)
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_IMAGE_BYTES + UPLOAD_SLACK_BYTES:
            raise _too_large()
        file = request.FILES.get("file")
        if file is None:
            raise invalid("file", "required", "file: send the image in the multipart field 'file'.")
        if file.size > MAX_IMAGE_BYTES:
            raise _too_large()
        upload = upload_create(organization=request.organization, data=file.read(), field="file")
        return Response(upload_to_dict(upload), status=201)
