"""One JSON error shape for the whole API: {"error": {"type", "code", "message", "param"}}."""

from __future__ import annotations

import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from videogen.middleware import MACHINE_PATH_PREFIXES

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """An error with our type, code and the parameter it concerns."""

    def __init__(
        self,
        status_code: int,
        type: str,
        code: str,
        message: str,
        *,
        param: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.type = type
        self.code = code
        self.message = message
        self.param = param
        self.extra = extra or {}
        self.headers = headers or {}


def error_body(type: str, code: str, message: str, param: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"error": {"type": type, "code": code, "message": message, "param": param, **extra}}


def server_error_body() -> dict[str, Any]:
    """What a 500 says: that it happened, never what failed."""
    return error_body("api_error", "internal_error", "Something went wrong on our side; it has been logged.")


_DRF_TYPES = {
    status.HTTP_400_BAD_REQUEST: "invalid_request_error",
    status.HTTP_401_UNAUTHORIZED: "authentication_error",
    status.HTTP_403_FORBIDDEN: "permission_error",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "invalid_request_error",
    status.HTTP_406_NOT_ACCEPTABLE: "invalid_request_error",
    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: "invalid_request_error",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "invalid_request_error",
    status.HTTP_429_TOO_MANY_REQUESTS: "rate_limit_error",
}


def _first_validation_error(detail: Any, prefix: str = "") -> tuple[str | None, str]:
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = key if key != "non_field_errors" else None
            param, message = _first_validation_error(value, f"{prefix}{name}" if name else prefix)
            return param or (f"{prefix}{name}" if name else None), message
    if isinstance(detail, list) and detail:
        return _first_validation_error(detail[0], prefix)
    return (prefix or None), str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, reshaped; anything unexpected becomes a 500 without internals."""
    if isinstance(exc, ApiError):
        body = error_body(exc.type, exc.code, exc.message, exc.param, **exc.extra)
        return Response(body, status=exc.status_code, headers=exc.headers)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled API error", exc_info=exc)
        return Response(server_error_body(), status=500)
    if isinstance(exc, exceptions.ValidationError):
        param, message = _first_validation_error(exc.detail)
        text = f"{param}: {message}" if param else message
        response.data = error_body("invalid_request_error", "invalid_parameter", text, param)
        return response
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else code
    message = str(exc.detail) if isinstance(exc, exceptions.APIException) else str(exc)
    response.data = error_body(_DRF_TYPES.get(response.status_code, "api_error"), code, message)
    return response


# --- Django's own 404 and 500 pages, for machine clients ---------------------------


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: the JSON error shape for machine clients, the site's page for everyone else."""
    if request.path.startswith(MACHINE_PATH_PREFIXES):
        message = f"No endpoint at {request.path}; see /api/docs."
        return JsonResponse(error_body("not_found", "not_found", message), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: the JSON error shape for machine clients, never the details of what failed."""
    if request.path.startswith(MACHINE_PATH_PREFIXES):
        return JsonResponse(server_error_body(), status=500)
    return defaults.server_error(request)
