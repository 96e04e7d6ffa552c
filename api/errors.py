"""The API's errors: domain refusals mapped to HTTP, DRF's errors reshaped, and JSON 404/500 for programs.

Every error has one shape, `{"error": {"type", "code", "message", "param"}}` (see core.errors).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from api.ratelimit import RUNNING_JOBS_RETRY_AFTER
from billing.errors import InsufficientCredits, PricingError, SpendLimitExceeded, TooManyOpenHolds
from billing.money import usd_string
from core.errors import ApiError, ParamError, error_body, server_error_body

logger = logging.getLogger(__name__)


# Where the clients are programs: Django's own 404 and 500 answer these paths in JSON.
MACHINE_PATH_PREFIXES = ("/api/v1/", "/v1/", "/v2/", "/files/", "/hooks/", "/healthz", "/readyz")


def api_error(exc: Exception) -> ApiError | None:
    """The HTTP shape of a domain error (a refusal the rules made); None for anything else."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ParamError):
        # An id that names nothing in this organization is as unknown as a made-up one.
        status_code = 404 if exc.rule == "not_found" else 400
        return ApiError(status_code, "invalid_request_error", exc.rule, exc.message, param=exc.param)
    if isinstance(exc, PricingError):
        return ApiError(400, "invalid_request_error", "variant_not_available", str(exc), param="model")
    if isinstance(exc, InsufficientCredits):
        return ApiError(
            402,
            "insufficient_credits",
            "insufficient_credits",
            str(exc),
            extra={
                "currency": "usd",
                "price": usd_string(exc.price_micros),
                "price_micros": exc.price_micros,
                "available": usd_string(exc.available_micros),
                "available_micros": exc.available_micros,
            },
        )
    if isinstance(exc, SpendLimitExceeded):
        return ApiError(
            402,
            "spend_limit_exceeded",
            f"{exc.limit}_limit_exceeded",
            str(exc),
            extra={
                "limit": exc.limit,
                "currency": "usd",
                "limit_usd": usd_string(exc.limit_micros),
                "limit_micros": exc.limit_micros,
                "spent": usd_string(exc.spent_micros),
                "spent_micros": exc.spent_micros,
                "price": usd_string(exc.price_micros),
                "price_micros": exc.price_micros,
            },
        )
    if isinstance(exc, TooManyOpenHolds):
        return ApiError(
            429,
            "rate_limit_error",
            "too_many_running_jobs",
            f"Your organization already has {exc.limit} generations queued or running; wait for one to finish.",
            extra={"scope": "running_jobs", "limit": exc.limit},
            headers={"Retry-After": str(RUNNING_JOBS_RETRY_AFTER)},
        )
    return None


def _invalid(code: str, message: str, status_code: int = 400) -> ApiError:
    return ApiError(status_code, "invalid_request_error", code, message)


def _request_error(exc: Exception) -> ApiError | None:
    """What Django and the database say about a request we could not read or store."""
    if isinstance(exc, Http404):
        return ApiError(404, "not_found", "not_found", str(exc) or "Not found.")
    if isinstance(exc, RequestDataTooBig):
        return _invalid("request_too_large", "The request body is too large.", 413)
    if isinstance(exc, MultiPartParserError | TooManyFieldsSent | TooManyFilesSent):
        return _invalid("invalid_multipart", f"The multipart body could not be read: {exc}")
    if isinstance(exc, DataError):
        # Input the database cannot take that no check caught: the client's data, not our failure.
        logger.warning("API request refused by the database: %s", exc)
        return _invalid("invalid_data", "The request contains data that cannot be stored.")
    return None


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
    mapped = api_error(exc) or _request_error(exc)
    if mapped is not None:
        return Response(mapped.body(), status=mapped.status_code, headers=mapped.headers)
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
