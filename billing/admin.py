"""Minimal operator access until the admin task: prices are editable, money records are read-only."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from billing.models import InsufficientCreditRejection, LedgerEntry, PriceRule, StripeEvent, TopUp


@admin.register(PriceRule)
class PriceRuleAdmin(admin.ModelAdmin):
    list_display = ["model", "duration", "resolution", "mode", "price_micros", "upstream_cost_micros", "active"]
    list_editable = ["price_micros", "upstream_cost_micros", "active"]
    list_filter = ["model", "active"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "organization", "kind", "amount_micros", "held_delta_micros", "reference"]
    list_filter = ["kind"]
    search_fields = ["organization__public_id", "reference", "idempotency_key"]


@admin.register(InsufficientCreditRejection)
class InsufficientCreditRejectionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "organization", "kind", "model", "price_micros", "available_micros", "limit"]
    list_filter = ["kind"]


@admin.register(TopUp)
class TopUpAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "organization",
        "amount_micros",
        "status",
        "refunded_micros",
        "refund_shortfall_micros",
    ]
    list_filter = ["status"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "type", "outcome", "organization", "detail"]
    list_filter = ["outcome", "type"]
