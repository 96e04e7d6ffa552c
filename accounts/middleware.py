"""Resolves the signed-in user's active organization once per request."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from accounts import selectors

SESSION_KEY = "active_org"


class ActiveOrganizationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = SimpleLazyObject(lambda: _active_membership(request))  # type: ignore[attr-defined]
        return self.get_response(request)


def _active_membership(request: HttpRequest) -> object:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return selectors.active_membership(user, request.session.get(SESSION_KEY))
