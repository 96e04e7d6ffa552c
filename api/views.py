"""The base of every API endpoint: key authentication counted against the limits, roles, one error shape."""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey, Organization
from accounts.permissions import Action
from api.authentication import ApiKeyAuthentication, rate_limit_headers
from api.permissions import ActionPermission


class ApiRequest(Request):
    """What an endpoint behind `ApiKeyAuthentication` receives (for the type checker)."""

    auth: ApiKey
    organization: Organization


class RateLimitHeadersMixin:
    """Every response to a counted request carries `X-RateLimit-*` (errors included)."""

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        rate_limit_headers(request, response)
        return response


class ApiView(RateLimitHeadersMixin, APIView):
    """An API endpoint. `actions` names what each method does in the permission table (None: any key)."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [ActionPermission]
    actions: ClassVar[dict[str, Action | None]] = {}

    @property
    def allowed_methods(self) -> list[str]:
        """What `Allow` lists on a 405 (and the schema describes): the methods the view declares."""
        return list(self.actions)
