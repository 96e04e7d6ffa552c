"""The OpenAPI 3 schema at /api/v1/schema and the Swagger UI (local files from the sidecar, no CDN).

The schema is generated from the DRF views that serve /api/v1 (their
serializers and `extend_schema` descriptions). A postprocessing step adds
what serializers cannot say: the rate-limit and other response headers, the
401 of every endpoint that needs a key, and the duration that may be a string.
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
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from api.authentication import OptionalApiKeyAuthentication, raw_key_from_headers, request_authenticate
from api.idempotency import HEADER as IDEMPOTENCY_HEADER
from api.idempotency import KEY_MAX_LENGTH
from api.views import RateLimitHeadersMixin
from videogen.api import serializers as s

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


class StatusReadKeyScheme(ApiKeyScheme):
    """The same key, on the endpoints whose reads count in the key's status-read budget."""

    target_class = "api.authentication.StatusReadAuthentication"


def error_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=s.ErrorResponseSerializer, description=description)


UNAUTHORIZED = error_response("No API key, a malformed header, or an unknown or revoked key.")
TOO_MANY = error_response(
    "Over a rate limit (`rate_limit_exceeded`: requests per minute of the key or the organization; "
    "reading one generation counts in the key's own status-read budget), "
    "or (creating a generation) `too_many_running_jobs`. Retry after `Retry-After` seconds."
)
NOT_FOUND = error_response("No such object in your organization (another organization's objects are not found either).")

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
    """The routes under /api/v1/ (every app's): the schema describes those and nothing else of the site."""
    api_v1: list = []
    for pattern in get_resolver().url_patterns:
        if isinstance(pattern, URLResolver) and str(pattern.pattern) == API_PREFIX:
            api_v1 = list(pattern.url_patterns)
    return [path(API_PREFIX, include(api_v1))]


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
