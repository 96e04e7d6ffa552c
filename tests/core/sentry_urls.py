"""A view that fails with an unhandled error, and one that says whether Sentry is initialised."""

from __future__ import annotations

import sentry_sdk
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

MARKER = "an unhandled error for the Sentry test"


def fails(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(MARKER)


def sentry_state(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"active": sentry_sdk.get_client().is_active()})


urlpatterns = [path("fails", fails), path("sentry", sentry_state)]
