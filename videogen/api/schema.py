"""The OpenAPI 3 schema at /api/v1/schema and the Swagger UI (local files from the sidecar, no CDN).

The native endpoints are async Django views, which drf-spectacular cannot
inspect, so each has a DRF "twin" here that exists only to be described: the
generator reads the twins in place of the real views, under the same paths.
A postprocessing step adds what serializers cannot say: the rate-limit and
other response headers, the 401 of every endpoint that needs a key, and the
duration that may be a string.
"""

from __future__ import annotations

import copy
from typing import Any

from django.urls import URLResolver, get_resolver, include, path
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import OptionalApiKeyAuthentication, raw_key_from_headers, request_authenticate
from api.idempotency import HEADER as IDEMPOTENCY_HEADER
from api.idempotency import KEY_MAX_LENGTH
from api.views import RateLimitHeadersMixin
from videogen import catalog
from videogen.api import serializers as s
from videogen.api.listing import DEFAULT_LIMIT, MAX_LIMIT
from videogen.models import Status

API_PREFIX = "api/v1/"


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Either header carries the key: `Authorization: Bearer <key>` or `x-api-key: <key>`."""

    target_class = "api.authentication.ApiKeyAuthentication"
    name = ["BearerAuth", "ApiKeyAuth"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
        return [{"BearerAuth": []}, {"ApiKeyAuth": []}]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <API key>"},
            {"type": "apiKey", "in": "header", "name": "x-api-key", "description": "x-api-key: <API key>"},
        ]


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=s.ErrorResponseSerializer, description=description)


UNAUTHORIZED = _error("No API key, a malformed header, or an unknown or revoked key.")
TOO_MANY = _error(
    "Over a rate limit (`rate_limit_exceeded`: requests per minute of the key or the organization), "
    "or (creating a generation) `too_many_running_jobs`. Retry after `Retry-After` seconds."
)
NOT_FOUND = _error("No such object in your organization (another organization's objects are not found either).")

PREFER = OpenApiParameter(
    "Prefer",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        "`wait=N` holds the request up to N seconds (at most 60; larger values count as 60; bare `wait` is 60) "
        "and answers as soon as the generation is finished, or with its current state when time is up. "
        "`Preference-Applied` echoes the wait that was applied. Other preferences are ignored."
    ),
)
IDEMPOTENCY_KEY = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    {"type": "string", "minLength": 1, "maxLength": KEY_MAX_LENGTH},
    OpenApiParameter.HEADER,
    description=(
        "Makes retries safe: the same key with the same body within 24 hours returns the first response "
        "(with `Idempotent-Replayed: true`) and creates nothing; the same key with another body is a 409 "
        "`idempotency_conflict`; while the first request is still working, a 409 `idempotency_in_progress` "
        "with Retry-After. Requests refused before any work (400, 429) are not saved. "
        f"1 to {KEY_MAX_LENGTH} characters."
    ),
)
GENERATION_ID = OpenApiParameter("generation_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="gen_...")


class ModelsSchema(APIView):
    @extend_schema(
        operation_id="models_list",
        summary="List models",
        description="Every model with its parameters, their rules, and the price of each variant.",
        responses={200: s.ModelListSerializer, 401: UNAUTHORIZED, 429: TOO_MANY},
        tags=["models"],
    )
    def get(self, request: Request) -> Response:
        raise NotImplementedError("documentation only")


class GenerationsSchema(APIView):
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
            400: _error("A filter is invalid (`param` names it)."),
            401: UNAUTHORIZED,
            429: TOO_MANY,
        },
        tags=["generations"],
    )
    def get(self, request: Request) -> Response:
        raise NotImplementedError("documentation only")

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
            400: _error("A parameter breaks a rule (`param` names it, `code` names the rule), or bad JSON."),
            401: UNAUTHORIZED,
            402: _error("`insufficient_credits` (with price and available) or `spend_limit_exceeded`."),
            404: _error("An upload id that does not exist in your organization (`param` names the field)."),
            409: _error("`idempotency_conflict` or `idempotency_in_progress` (with Retry-After)."),
            413: _error("The request body is too large."),
            415: _error("The body is not application/json."),
            429: TOO_MANY,
        },
        tags=["generations"],
    )
    def post(self, request: Request) -> Response:
        raise NotImplementedError("documentation only")


class GenerationSchema(APIView):
    @extend_schema(
        operation_id="generations_retrieve",
        summary="Get a generation",
        parameters=[GENERATION_ID, PREFER],
        responses={200: s.GenerationSerializer, 401: UNAUTHORIZED, 404: NOT_FOUND, 429: TOO_MANY},
        tags=["generations"],
    )
    def get(self, request: Request, generation_id: str) -> Response:
        raise NotImplementedError("documentation only")


class GenerationCancelSchema(APIView):
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
            409: _error("`not_cancelable`: the job has already finished."),
            429: TOO_MANY,
        },
        tags=["generations"],
    )
    def post(self, request: Request, generation_id: str) -> Response:
        raise NotImplementedError("documentation only")


class UploadsSchema(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="uploads_create",
        summary="Upload an image",
        description="Stores a first or last frame; use the returned id as `first_frame_image`.",
        request=s.UploadCreateSerializer,
        responses={
            201: s.UploadSerializer,
            400: _error("No `file` field, or the image breaks a rule (format, size, sides, ratio)."),
            401: UNAUTHORIZED,
            413: _error("The image is over 20 MB."),
            415: _error("The body is not multipart/form-data."),
            429: TOO_MANY,
        },
        tags=["uploads"],
    )
    def post(self, request: Request) -> Response:
        raise NotImplementedError("documentation only")


# Same routes as videogen/api/urls.py: the generator describes these in place of the async views.
TWINS = [
    path("models", ModelsSchema.as_view()),
    path("generations", GenerationsSchema.as_view()),
    path("generations/<str:generation_id>", GenerationSchema.as_view()),
    path("generations/<str:generation_id>/cancel", GenerationCancelSchema.as_view()),
    path("uploads", UploadsSchema.as_view()),
]
NATIVE_OPERATIONS = {
    ("/api/v1/models", "get"),
    ("/api/v1/generations", "get"),
    ("/api/v1/generations", "post"),
    ("/api/v1/generations/{generation_id}", "get"),
    ("/api/v1/generations/{generation_id}/cancel", "post"),
    ("/api/v1/uploads", "post"),
}
WAITING_OPERATIONS = {("/api/v1/generations", "post"), ("/api/v1/generations/{generation_id}", "get")}


def schema_patterns() -> list:
    """Everything under /api/v1/ (other apps' DRF views included), with the twins for our async views."""
    api_v1: list = []
    for pattern in get_resolver().url_patterns:
        if isinstance(pattern, URLResolver) and str(pattern.pattern) == API_PREFIX:
            api_v1 = list(pattern.url_patterns)
    return [path(API_PREFIX, include([*api_v1, *TWINS]))]


def _int_header(description: str, required: bool = True) -> dict[str, Any]:
    return {"schema": {"type": "integer"}, "description": description, "required": required}


RATE_HEADERS = {
    "X-RateLimit-Limit": _int_header("Requests allowed this minute (the tighter of the key's and organization's)."),
    "X-RateLimit-Remaining": _int_header("Requests left this minute."),
    "X-RateLimit-Reset": _int_header("Unix time when the minute's counts start again."),
}
ERROR_500 = {
    "description": "Something went wrong on our side (logged; the body never shows internals).",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
}


def _secured(operation: dict[str, Any]) -> bool:
    return any(requirement for requirement in operation.get("security", []))


def _add_headers(route: str, method: str, responses: dict[str, Any]) -> None:
    for status, response in responses.items():
        if status == "401":
            continue
        headers = response.setdefault("headers", {})
        headers.update(copy.deepcopy(RATE_HEADERS))
        if status == "429":
            headers["Retry-After"] = _int_header("Seconds to wait before retrying.")
        if status == "409" and method == "post" and route == "/api/v1/generations":
            headers["Retry-After"] = _int_header("With idempotency_in_progress: seconds to wait.", required=False)
        if status in ("200", "201") and (route, method) in WAITING_OPERATIONS:
            headers["Preference-Applied"] = {
                "schema": {"type": "string"},
                "description": "wait=N when `Prefer: wait` was honoured.",
            }
        if status == "201" and method == "post" and route == "/api/v1/generations":
            headers["Idempotent-Replayed"] = {
                "schema": {"type": "string", "enum": ["true"]},
                "description": "Present when this is the saved response to an earlier request with the same key.",
            }


def _describe_request_bodies(schemas: dict[str, Any]) -> None:
    """Say what the input accepts beyond serializer types: "6" for 6, "true" for true, text metadata."""
    params = schemas.get("GenerationInputRequest")
    create = schemas.get("GenerationCreateRequest")
    if params is None or create is None:
        return
    properties = params["properties"]
    properties["duration"] = {
        "oneOf": [{"type": "integer", "enum": [6, 10]}, {"type": "string", "enum": ["6", "10", ""]}],
        "nullable": True,
        "description": "Seconds; which values a model allows is in GET /api/v1/models.",
    }
    for name in ("prompt_optimizer", "go_fast"):
        properties[name] = {
            "oneOf": [{"type": "boolean"}, {"type": "string", "enum": ["true", "false"]}],
            "nullable": True,
            "description": properties[name].get("description", ""),
        }
    params["additionalProperties"] = False
    create["properties"]["metadata"] = {
        "type": "object",
        "maxProperties": 50,
        "additionalProperties": {
            "oneOf": [{"type": "string", "maxLength": 500}, {"type": "number"}, {"type": "boolean"}]
        },
        "nullable": True,
        "description": create["properties"]["metadata"].get("description", ""),
    }
    # The lenient form: parameters at the top level when there is no `input` object.
    for name, definition in properties.items():
        create["properties"].setdefault(name, copy.deepcopy(definition))
    create["additionalProperties"] = False


GUIDE = """
**Authentication.** Send your API key as `Authorization: Bearer <key>` or `x-api-key: <key>`.
A key acts for its organization with its creator's current role (owner, admin or member; see
the README's permission table): a request its role may not make is a 403 (`permission_error`,
naming the role and the action). A missing, malformed, unknown or revoked key, or the key of
someone who left the organization, is a 401.

**Errors** have one shape: `{"error": {"type", "code", "message", "param"}}`, where `param`
names the field (or header) at fault. Another organization's objects are simply not found (404).

**Rate limits.** Requests per minute per key and per organization, and generations queued or
running at once per organization. Every response to an authenticated request carries
`X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`; over a limit you get a
429 with `Retry-After`.

**Retries** are safe with an `Idempotency-Key` on POST /api/v1/generations. **Waiting**:
`Prefer: wait=N` (at most 60) answers when the generation finishes.
"""


def postprocess(result: dict[str, Any]) -> dict[str, Any]:
    """Add the guide, and the headers, 401s and 500s that serializers cannot express."""
    info = result.setdefault("info", {})
    info["description"] = f"{info.get('description', '')}\n{GUIDE}".strip()
    for route, item in result.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            if _secured(operation) and "401" not in responses:
                responses["401"] = {
                    "description": UNAUTHORIZED.description,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
                }
            if (route, method) in NATIVE_OPERATIONS:
                responses["500"] = copy.deepcopy(ERROR_500)
                _add_headers(route, method, responses)
    _describe_request_bodies(result.get("components", {}).get("schemas", {}))
    return result


class ApiSchemaGenerator(SchemaGenerator):
    def get_schema(self, request: Any = None, public: bool = False) -> dict[str, Any]:
        return postprocess(super().get_schema(request=request, public=public))


class SchemaView(RateLimitHeadersMixin, SpectacularAPIView):
    """GET /api/v1/schema: public, like the docs page that reads it (a key given is checked and counted)."""

    authentication_classes = [OptionalApiKeyAuthentication]
    permission_classes = [AllowAny]
    generator_class = ApiSchemaGenerator
    # JSON unless YAML is asked for (Accept: application/vnd.oai.openapi or ?format=yaml).
    renderer_classes = [OpenApiJsonRenderer, OpenApiJsonRenderer2, OpenApiYamlRenderer, OpenApiYamlRenderer2]

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.patterns = schema_patterns()
        return super().get(request, *args, **kwargs)


class DocsView(RateLimitHeadersMixin, SpectacularSwaggerView):
    """Swagger UI from drf_spectacular_sidecar's static files: nothing is loaded from another host.

    A page for people: a key, if one is sent, is checked and counted, but the
    page renders as the signed-in person (its templates know people, not keys).
    """

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if raw_key_from_headers(request) is not None:
            request_authenticate(request)

    url_name = "api-schema"


docs_view = DocsView.as_view()
