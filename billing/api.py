"""REST API: balance, ledger (cursor-paginated, newest first) and prices."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from accounts.permissions import Action
from api.authentication import OptionalApiKeyAuthentication
from api.views import ApiRequest, ApiView
from billing import selectors
from billing.models import LedgerEntry
from billing.money import usd_string
from billing.views import entry_words
from core.errors import ApiError
from videogen import catalog

LEDGER_DEFAULT_LIMIT = 20
LEDGER_MAX_LIMIT = 100


def _amount_fields(*names: str) -> dict[str, serializers.Field]:
    fields: dict[str, serializers.Field] = {}
    for name in names:
        fields[name] = serializers.CharField(help_text="USD as a decimal string, e.g. 0.10")
        fields[f"{name}_micros"] = serializers.IntegerField(help_text="micro-dollars (1 USD = 1000000)")
    return fields


BALANCE_SCHEMA = inline_serializer(
    "Balance",
    {
        "object": serializers.CharField(),
        "currency": serializers.CharField(),
        **_amount_fields("balance", "held", "available"),
    },
)


class BalanceView(ApiView):
    """Credit of the key's organization: available = balance − held (reserved for running generations)."""

    actions = {"GET": Action.BILLING_VIEW}

    @extend_schema(responses=BALANCE_SCHEMA)
    def get(self, request: ApiRequest) -> Response:
        balance = selectors.balance_get(request.organization)
        return Response(
            {
                "object": "balance",
                "currency": balance.currency,
                "balance": usd_string(balance.balance_micros),
                "balance_micros": balance.balance_micros,
                "held": usd_string(balance.held_micros),
                "held_micros": balance.held_micros,
                "available": usd_string(balance.available_micros),
                "available_micros": balance.available_micros,
            }
        )


def ledger_entry_data(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "id": entry.public_id,
        "object": "ledger_entry",
        "kind": entry.kind,
        "currency": "usd",
        "amount": usd_string(entry.amount_micros),
        "amount_micros": entry.amount_micros,
        "held_delta": usd_string(entry.held_delta_micros),
        "held_delta_micros": entry.held_delta_micros,
        "balance_after": usd_string(entry.balance_after_micros),
        "balance_after_micros": entry.balance_after_micros,
        # What the customer is told (billing.views.entry_words), never the operators' internal note.
        "reason": entry_words(entry),
        "generation": entry.reference or None,
        "api_key": entry.api_key.public_id if entry.api_key else None,
        "created_at": entry.created_at.isoformat(),
    }


def _limit(raw: str | None) -> int:
    if raw in (None, ""):
        return LEDGER_DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= LEDGER_MAX_LIMIT:
        raise ApiError(
            400,
            "invalid_request_error",
            "invalid_parameter",
            f"limit: must be a whole number from 1 to {LEDGER_MAX_LIMIT}.",
            param="limit",
        )
    return int(raw)


class LedgerView(ApiView):
    """Newest first. Pass `cursor` = the `next_cursor` of the previous page to get the next one."""

    actions = {"GET": Action.BILLING_VIEW}

    @extend_schema(
        parameters=[
            OpenApiParameter("limit", int, description=f"entries per page, 1 to {LEDGER_MAX_LIMIT}"),
            OpenApiParameter("cursor", str, description="the next_cursor of the previous page"),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: ApiRequest) -> Response:
        limit = _limit(request.query_params.get("limit"))
        entries = selectors.ledger_list(request.organization)
        cursor = request.query_params.get("cursor")
        if cursor:
            after = entries.filter(public_id=cursor).values_list("pk", flat=True).first()
            if after is None:
                raise ApiError(
                    400,
                    "invalid_request_error",
                    "invalid_parameter",
                    "cursor: not a cursor from this ledger.",
                    param="cursor",
                )
            entries = entries.filter(pk__lt=after)
        page = list(entries[: limit + 1])
        has_more = len(page) > limit
        page = page[:limit]
        return Response(
            {
                "object": "list",
                "data": [ledger_entry_data(entry) for entry in page],
                "has_more": has_more,
                "next_cursor": page[-1].public_id if has_more else None,
            }
        )


class PricingView(ApiView):
    """Prices are public, like the pricing page: no key needed (a key given is checked and counted)."""

    authentication_classes = [OptionalApiKeyAuthentication]
    actions = {"GET": None}

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: ApiRequest) -> Response:
        return Response({"object": "list", "data": selectors.price_list(catalog.all_variants())})
