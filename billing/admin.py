"""Operators' view of money: prices are editable (in USD), every money record is read-only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import F, QuerySet
from django.http import HttpRequest

from billing.models import (
    CreditAccount,
    Hold,
    InsufficientCreditRejection,
    LedgerEntry,
    PriceRule,
    StripeEvent,
    TopUp,
)
from billing.money import format_usd, micros_to_decimal, usd_to_micros
from core.admin import OrganizationFilter, ReadOnlyAdmin, link, pretty_json
from videogen import catalog

USD_FIELD = {"max_digits": 12, "decimal_places": 6, "min_value": Decimal(0)}


def usd(micros: int | None) -> str:
    return "—" if micros is None else format_usd(micros)


class PriceRuleForm(forms.ModelForm):
    """Prices in dollars (exact to the micro-dollar), stored as micro-dollars."""

    model = forms.ChoiceField(choices=[(slug, slug) for slug in catalog.MODELS])
    price_usd = forms.DecimalField(label="Price (USD)", help_text="What the customer pays per run.", **USD_FIELD)
    upstream_cost_usd = forms.DecimalField(
        label="Upstream cost (USD)", help_text="What a provider charges us per run.", **USD_FIELD
    )

    class Meta:
        model = PriceRule
        fields = ["model", "duration", "resolution", "mode", "active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["price_usd"] = micros_to_decimal(self.instance.price_micros)
            self.initial["upstream_cost_usd"] = micros_to_decimal(self.instance.upstream_cost_micros)

    def clean_price_usd(self) -> Decimal:
        value = self.cleaned_data["price_usd"]
        if value <= 0:
            raise forms.ValidationError("A price must be more than zero.")
        return value

    def save(self, commit: bool = True) -> PriceRule:
        self.instance.price_micros = usd_to_micros(self.cleaned_data["price_usd"])
        self.instance.upstream_cost_micros = usd_to_micros(self.cleaned_data["upstream_cost_usd"])
        return super().save(commit)


@admin.register(PriceRule)
class PriceRuleAdmin(admin.ModelAdmin):
    form = PriceRuleForm
    list_display = ["variant", "model", "duration", "resolution", "mode", "price", "upstream_cost", "margin", "active"]
    list_editable = ["active"]
    list_filter = ["model", "active", "resolution"]
    fields = ["model", "duration", "resolution", "mode", "price_usd", "upstream_cost_usd", "active"]

    @admin.display(description="variant")
    def variant(self, obj: PriceRule) -> str:
        return obj.variant_key

    @admin.display(description="price", ordering="price_micros")
    def price(self, obj: PriceRule) -> str:
        return usd(obj.price_micros)

    @admin.display(description="upstream cost", ordering="upstream_cost_micros")
    def upstream_cost(self, obj: PriceRule) -> str:
        return usd(obj.upstream_cost_micros)

    @admin.display(description="margin")
    def margin(self, obj: PriceRule) -> str:
        return usd(obj.price_micros - obj.upstream_cost_micros)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "public_id",
        "organization",
        "kind",
        "amount",
        "held_delta",
        "balance_after",
        "reference",
        "staff_user",
        "reason",
    ]
    list_filter = ["kind", OrganizationFilter, "created_at"]
    search_fields = ["public_id", "organization__public_id", "organization__slug", "reference", "idempotency_key"]
    list_select_related = ["organization", "staff_user"]
    show_full_result_count = False

    @admin.display(description="amount", ordering="amount_micros")
    def amount(self, obj: LedgerEntry) -> str:
        return usd(obj.amount_micros)

    @admin.display(description="held change")
    def held_delta(self, obj: LedgerEntry) -> str:
        return usd(obj.held_delta_micros)

    @admin.display(description="balance after")
    def balance_after(self, obj: LedgerEntry) -> str:
        return usd(obj.balance_after_micros)


class BelowThresholdFilter(admin.SimpleListFilter):
    title = "credit"
    parameter_name = "credit"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("low", "Available below the low-balance threshold"), ("empty", "Nothing available")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "low":
            return queryset.filter(balance_micros__lt=F("held_micros") + F("low_balance_threshold_micros"))
        if self.value() == "empty":
            return queryset.filter(balance_micros__lte=F("held_micros"))
        return queryset


@admin.register(CreditAccount)
class CreditAccountAdmin(ReadOnlyAdmin):
    """Who is running out of credit; spend caps are set on the organization's page."""

    list_display = ["organization_link", "balance", "held", "available", "low_balance_threshold", "monthly_cap"]
    list_filter = [BelowThresholdFilter, OrganizationFilter]
    search_fields = ["organization__name", "organization__slug", "organization__public_id"]
    list_select_related = ["organization"]
    exclude = ["stripe_customer_id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CreditAccount]:
        return super().get_queryset(request).annotate(available=F("balance_micros") - F("held_micros"))

    @admin.display(description="organization", ordering="organization__name")
    def organization_link(self, obj: CreditAccount) -> str:
        return link(obj.organization)

    @admin.display(description="balance", ordering="balance_micros")
    def balance(self, obj: CreditAccount) -> str:
        return usd(obj.balance_micros)

    @admin.display(description="held", ordering="held_micros")
    def held(self, obj: CreditAccount) -> str:
        return usd(obj.held_micros)

    @admin.display(description="available", ordering="available")
    def available(self, obj: CreditAccount) -> str:
        return usd(obj.available_micros)

    @admin.display(description="low-balance alert below")
    def low_balance_threshold(self, obj: CreditAccount) -> str:
        return usd(obj.low_balance_threshold_micros)

    @admin.display(description="monthly cap")
    def monthly_cap(self, obj: CreditAccount) -> str:
        return usd(obj.monthly_cap_micros) if obj.monthly_cap_micros is not None else "none"


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "reference", "organization", "status", "amount", "upstream_cost", "settled_at"]
    list_filter = ["status", OrganizationFilter, "created_at"]
    search_fields = ["reference", "organization__slug", "organization__public_id"]
    list_select_related = ["organization"]
    show_full_result_count = False

    @admin.display(description="amount", ordering="amount_micros")
    def amount(self, obj: Hold) -> str:
        return usd(obj.amount_micros)

    @admin.display(description="upstream cost")
    def upstream_cost(self, obj: Hold) -> str:
        return usd(obj.upstream_cost_micros)


@admin.register(InsufficientCreditRejection)
class InsufficientCreditRejectionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "organization", "kind", "model", "price", "available", "limit", "api_key"]
    list_filter = ["kind", OrganizationFilter, "model", "created_at"]
    search_fields = ["organization__name", "organization__slug", "organization__public_id"]
    list_select_related = ["organization", "api_key"]
    date_hierarchy = "created_at"

    @admin.display(description="price", ordering="price_micros")
    def price(self, obj: InsufficientCreditRejection) -> str:
        return usd(obj.price_micros)

    @admin.display(description="available")
    def available(self, obj: InsufficientCreditRejection) -> str:
        return usd(obj.available_micros)


@admin.register(TopUp)
class TopUpAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "public_id", "organization", "amount", "status", "refunded", "refund_shortfall"]
    list_filter = ["status", OrganizationFilter]
    search_fields = ["public_id", "stripe_session_id", "stripe_payment_intent_id", "organization__slug"]
    list_select_related = ["organization"]

    @admin.display(description="amount", ordering="amount_micros")
    def amount(self, obj: TopUp) -> str:
        return usd(obj.amount_micros)

    @admin.display(description="refunded")
    def refunded(self, obj: TopUp) -> str:
        return usd(obj.refunded_micros)

    @admin.display(description="refund shortfall")
    def refund_shortfall(self, obj: TopUp) -> str:
        return usd(obj.refund_shortfall_micros)


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "event_id", "type", "outcome", "organization", "detail"]
    list_filter = ["outcome", "type", "livemode"]
    search_fields = ["event_id", "organization__slug"]
    list_select_related = ["organization"]
    fields = [
        "event_id",
        "type",
        "livemode",
        "outcome",
        "detail",
        "organization",
        "topup",
        "received_at",
        "payload_json",
    ]
    readonly_fields = fields

    @admin.display(description="payload")
    def payload_json(self, obj: StripeEvent) -> str:
        return pretty_json(obj.payload)
