from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from api.views import ApiRequest, ApiView


class MeView(ApiView):
    """The organization and key a request acts for."""

    actions = {"GET": None}

    @extend_schema(
        responses=inline_serializer(
            "Me",
            {
                "organization": inline_serializer(
                    "MeOrganization",
                    {"id": serializers.CharField(), "name": serializers.CharField(), "slug": serializers.CharField()},
                ),
                "api_key": inline_serializer(
                    "MeApiKey",
                    {"id": serializers.CharField(), "name": serializers.CharField(), "prefix": serializers.CharField()},
                ),
            },
        )
    )
    def get(self, request: ApiRequest) -> Response:
        key = request.auth
        org = key.organization
        return Response(
            {
                "organization": {"id": org.public_id, "name": org.name, "slug": org.slug},
                "api_key": {"id": key.public_id, "name": key.name, "prefix": key.prefix},
            }
        )
