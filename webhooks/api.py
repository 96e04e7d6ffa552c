"""REST API for webhook endpoints (`/api/v1/webhook-endpoints`) and the per-job webhook secret.

An endpoint's signing secret is in the response only when it is created and
when it is rotated. Another organization's endpoint is a 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import Action
from api.views import ApiRequest, ApiView
from core import outbound
from core.errors import ApiError
from webhooks import selectors, services
from webhooks.errors import WebhookError
from webhooks.models import SUBSCRIBABLE_TYPES, JobWebhookSecret, WebhookEndpoint

FIELDS = ("url", "description", "event_types", "enabled")

# --- OpenAPI descriptions only: the views below parse and answer by hand ----------------------


def _event_types() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(choices=SUBSCRIBABLE_TYPES),
        required=False,
        help_text="Event types to send; empty for all (including types added later).",
    )


class WebhookEndpointCreateSerializer(serializers.Serializer):
    url = serializers.CharField(help_text="Public http(s) URL; private, loopback and metadata addresses are refused.")
    description = serializers.CharField(max_length=200, required=False)
    event_types = _event_types()
    enabled = serializers.BooleanField(required=False)


class WebhookEndpointUpdateSerializer(WebhookEndpointCreateSerializer):
    url = serializers.CharField(required=False, help_text="Public http(s) URL, checked like on creation.")


class WebhookEndpointSerializer(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(default="webhook_endpoint")
    url = serializers.CharField()
    description = serializers.CharField()
    event_types = _event_types()
    enabled = serializers.BooleanField()
    disabled_reason = serializers.ChoiceField(choices=["manual", "gone", "failing"], allow_null=True)
    disabled_at = serializers.DateTimeField(allow_null=True)
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="While a rotation overlaps, the old secret also signs until then."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="whsec_... ; shown only in this response.")


class WebhookEndpointListSerializer(serializers.Serializer):
    object = serializers.CharField(default="list")
    data = WebhookEndpointSerializer(many=True)  # type: ignore[assignment]  # a field named "data"
    has_more = serializers.BooleanField()


ENDPOINT_DELETED = inline_serializer(
    "WebhookEndpointDeleted",
    {"id": serializers.CharField(), "object": serializers.CharField(), "deleted": serializers.BooleanField()},
)
JOB_SECRET = inline_serializer(
    "WebhookSecret",
    {
        "object": serializers.CharField(default="webhook_secret"),
        "secret": serializers.CharField(),
        "previous_secret_expires_at": serializers.DateTimeField(allow_null=True),
    },
)
ERROR = inline_serializer(
    "WebhookError",
    {
        "error": inline_serializer(
            "WebhookErrorDetails",
            {
                "type": serializers.CharField(),
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "param": serializers.CharField(allow_null=True),
            },
        )
    },
)
BAD_REQUEST = OpenApiResponse(ERROR, description="A parameter is invalid or the URL is refused (`url_refused`).")
NOT_FOUND = OpenApiResponse(ERROR, description="No such endpoint in your organization.")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _rotation_ends(holder: WebhookEndpoint | JobWebhookSecret) -> str | None:
    return _iso(holder.previous_secret_expires_at) if holder.rotating(timezone.now()) else None


def endpoint_data(endpoint: WebhookEndpoint, *, secret: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": endpoint.public_id,
        "object": "webhook_endpoint",
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason or None,
        "disabled_at": _iso(endpoint.disabled_at),
        "previous_secret_expires_at": _rotation_ends(endpoint),
        "created_at": _iso(endpoint.created_at),
        "updated_at": _iso(endpoint.updated_at),
    }
    if secret is not None:
        data["secret"] = secret
    return data


def _api_error(exc: WebhookError) -> ApiError:
    if exc.param == "url" and exc.code in outbound.REASON_CODES:
        extra = {"reason": exc.code}
        return ApiError(400, "invalid_request_error", "url_refused", exc.message, param="url", extra=extra)
    code = "limit_reached" if exc.code == "limit_reached" else "invalid_parameter"
    return ApiError(400, "invalid_request_error", code, exc.message, param=exc.param)


def _changes(request: Request, *, required: tuple[str, ...] = ()) -> dict[str, Any]:
    body = request.data
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request_error", "invalid_body", "The request body must be a JSON object.")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        message = f"{unknown[0]}: unknown parameter; allowed are {', '.join(FIELDS)}."
        raise ApiError(400, "invalid_request_error", "unknown_parameter", message, param=unknown[0])
    for name in required:
        if name not in body:
            raise ApiError(400, "invalid_request_error", "missing_parameter", f"{name}: is required.", param=name)
    return {name: body[name] for name in FIELDS if name in body}


class EndpointListView(ApiView):
    parser_classes = [JSONParser]
    actions = {"GET": Action.WEBHOOKS_VIEW, "POST": Action.WEBHOOKS_MANAGE}

    @extend_schema(operation_id="webhook_endpoints_list", responses=WebhookEndpointListSerializer)
    def get(self, request: ApiRequest) -> Response:
        endpoints = selectors.endpoints_list(request.organization)
        return Response({"object": "list", "data": [endpoint_data(e) for e in endpoints], "has_more": False})

    @extend_schema(
        operation_id="webhook_endpoints_create",
        request=WebhookEndpointCreateSerializer,
        responses={201: WebhookEndpointWithSecretSerializer, 400: BAD_REQUEST},
    )
    def post(self, request: ApiRequest) -> Response:
        changes = _changes(request, required=("url",))
        try:
            endpoint, secret = services.endpoint_create(organization=request.organization, **changes)
        except WebhookError as exc:
            raise _api_error(exc) from None
        return Response(endpoint_data(endpoint, secret=secret), status=201)


class EndpointDetailView(ApiView):
    parser_classes = [JSONParser]
    actions = {"GET": Action.WEBHOOKS_VIEW, "PATCH": Action.WEBHOOKS_MANAGE, "DELETE": Action.WEBHOOKS_MANAGE}

    @extend_schema(
        operation_id="webhook_endpoints_retrieve", responses={200: WebhookEndpointSerializer, 404: NOT_FOUND}
    )
    def get(self, request: ApiRequest, public_id: str) -> Response:
        return Response(endpoint_data(selectors.endpoint_get(request.organization, public_id)))

    @extend_schema(
        operation_id="webhook_endpoints_update",
        request=WebhookEndpointUpdateSerializer,
        responses={200: WebhookEndpointSerializer, 400: BAD_REQUEST, 404: NOT_FOUND},
    )
    def patch(self, request: ApiRequest, public_id: str) -> Response:
        endpoint = selectors.endpoint_get(request.organization, public_id)
        try:
            endpoint = services.endpoint_update(endpoint=endpoint, **_changes(request))
        except WebhookError as exc:
            raise _api_error(exc) from None
        return Response(endpoint_data(endpoint))

    @extend_schema(operation_id="webhook_endpoints_delete", responses={200: ENDPOINT_DELETED, 404: NOT_FOUND})
    def delete(self, request: ApiRequest, public_id: str) -> Response:
        endpoint = selectors.endpoint_get(request.organization, public_id)
        services.endpoint_delete(endpoint=endpoint)
        return Response({"id": public_id, "object": "webhook_endpoint", "deleted": True})


class EndpointRotateView(ApiView):
    """New signing secret; the old one keeps signing alongside it for 24 hours."""

    actions = {"POST": Action.WEBHOOKS_MANAGE}

    @extend_schema(
        operation_id="webhook_endpoints_rotate",
        request=None,
        responses={200: WebhookEndpointWithSecretSerializer, 404: NOT_FOUND},
    )
    def post(self, request: ApiRequest, public_id: str) -> Response:
        endpoint = selectors.endpoint_get(request.organization, public_id)
        secret = services.endpoint_secret_rotate(endpoint=endpoint)
        return Response(endpoint_data(endpoint, secret=secret))


def job_secret_data(holder: JobWebhookSecret, secret: str) -> dict[str, Any]:
    return {"object": "webhook_secret", "secret": secret, "previous_secret_expires_at": _rotation_ends(holder)}


class JobSecretView(ApiView):
    """The secret that signs the per-job webhooks (the `webhook` URL given with a generation)."""

    actions = {"GET": Action.WEBHOOKS_JOB_SECRET}

    @extend_schema(operation_id="webhook_secret_retrieve", responses=JOB_SECRET)
    def get(self, request: ApiRequest) -> Response:
        holder = services.job_secret_ensure(request.organization)
        return Response(job_secret_data(holder, holder.secret))


class JobSecretRotateView(ApiView):
    """New per-job secret; the old one keeps signing alongside it for 24 hours."""

    actions = {"POST": Action.WEBHOOKS_JOB_SECRET}

    @extend_schema(operation_id="webhook_secret_rotate", request=None, responses=JOB_SECRET)
    def post(self, request: ApiRequest) -> Response:
        secret = services.job_secret_rotate(organization=request.organization)
        holder = services.job_secret_ensure(request.organization)
        return Response(job_secret_data(holder, secret))
