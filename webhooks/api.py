"""REST API for webhook endpoints (`/api/v1/webhook-endpoints`) and the per-job webhook secret.

An endpoint's signing secret is in the response only when it is created and
when it is rotated. Another organization's endpoint is a 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from videogen import outbound
from videogen.api_errors import ApiError
from webhooks import selectors, services
from webhooks.errors import WebhookError
from webhooks.models import JobWebhookSecret, WebhookEndpoint

FIELDS = ("url", "description", "event_types", "enabled")


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


class EndpointListView(APIView):
    def get(self, request: Request) -> Response:
        endpoints = selectors.endpoints_list(request.organization)
        return Response({"object": "list", "data": [endpoint_data(e) for e in endpoints], "has_more": False})

    def post(self, request: Request) -> Response:
        changes = _changes(request, required=("url",))
        try:
            endpoint, secret = services.endpoint_create(organization=request.organization, **changes)
        except WebhookError as exc:
            raise _api_error(exc) from None
        return Response(endpoint_data(endpoint, secret=secret), status=201)


class EndpointDetailView(APIView):
    def get(self, request: Request, public_id: str) -> Response:
        return Response(endpoint_data(selectors.endpoint_get(request.organization, public_id)))

    def patch(self, request: Request, public_id: str) -> Response:
        endpoint = selectors.endpoint_get(request.organization, public_id)
        try:
            endpoint = services.endpoint_update(endpoint=endpoint, **_changes(request))
        except WebhookError as exc:
            raise _api_error(exc) from None
        return Response(endpoint_data(endpoint))

    def delete(self, request: Request, public_id: str) -> Response:
        endpoint = selectors.endpoint_get(request.organization, public_id)
        services.endpoint_delete(endpoint=endpoint)
        return Response({"id": public_id, "object": "webhook_endpoint", "deleted": True})


class EndpointRotateView(APIView):
    """New signing secret; the old one keeps signing alongside it for 24 hours."""

    def post(self, request: Request, public_id: str) -> Response:
        endpoint = selectors.endpoint_get(request.organization, public_id)
        secret = services.endpoint_secret_rotate(endpoint=endpoint)
        return Response(endpoint_data(endpoint, secret=secret))


def job_secret_data(holder: JobWebhookSecret, secret: str) -> dict[str, Any]:
    return {"object": "webhook_secret", "secret": secret, "previous_secret_expires_at": _rotation_ends(holder)}


class JobSecretView(APIView):
    """The secret that signs the per-job webhooks (the `webhook` URL given with a generation)."""

    def get(self, request: Request) -> Response:
        holder = services.job_secret_ensure(request.organization)
        return Response(job_secret_data(holder, holder.secret))


class JobSecretRotateView(APIView):
    def post(self, request: Request) -> Response:
        secret = services.job_secret_rotate(organization=request.organization)
        holder = services.job_secret_ensure(request.organization)
        return Response(job_secret_data(holder, secret))
