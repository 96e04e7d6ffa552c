"""Operators' view of money: prices are editable (in USD), every money record is read-only.

Also the credit parts of the organization page (composed in videogen/admin/organizations.py):
the credit settings, the newest ledger entries, and the credit adjustment, which goes through
credits_adjust with the staff user and a reason.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any, cast
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.db.models import F, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from accounts.models import Organization, User
from billing.errors import BillingError
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
from billing.selectors import balance_get
from billing.services import credit_settings_update, credits_adjust
from core.admin import (
    OrganizationFilter,
    ReadOnlyAdmin,
    ReadOnlyInline,
    Target,
    applying,
    change_url,
    link,
    operation_page,
    pretty_json,
)
from videogen import catalog

USD_FIELD: dict[str, Any] = {"max_digits": 12, "decimal_places": 6, "min_value": Decimal(0)}


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
        margin = obj.price_micros - obj.upstream_cost_micros
        if margin <= 0:
            # A run at this price earns nothing or loses money upstream: flagged for the operator.
            return format_html('<strong class="errornote">{} (no margin)</strong>', usd(margin))
        return usd(margin)


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
    fields = readonly_fields = (
        "event_id",
        "type",
        "livemode",
        "outcome",
        "detail",
        "organization",
        "topup",
        "received_at",
        "payload_json",
    )

    @admin.display(description="payload")
    def payload_json(self, obj: StripeEvent) -> str:
        return pretty_json(obj.payload)


# --- On the organization page (composed in videogen/admin/organizations.py) ------------------------

LEDGER_INLINE_ROWS = 50
MONEY_FIELD: dict[str, Any] = {"max_digits": 12, "decimal_places": 6}


class CreditSettingsForm(forms.ModelForm):
    """The organization's alert threshold and monthly cap, in dollars; saved through credit_settings_update."""

    low_balance_threshold_usd = forms.DecimalField(
        label="Low-balance alert below (USD)", min_value=Decimal(0), **MONEY_FIELD
    )
    monthly_cap_usd = forms.DecimalField(
        label="Monthly spend cap (USD)", required=False, min_value=Decimal(0), help_text="Empty: no cap.", **MONEY_FIELD
    )

    class Meta:
        model = CreditAccount
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        account = self.instance
        self.initial["low_balance_threshold_usd"] = micros_to_decimal(account.low_balance_threshold_micros)
        if account.monthly_cap_micros is not None:
            self.initial["monthly_cap_usd"] = micros_to_decimal(account.monthly_cap_micros)


class CreditInline(admin.StackedInline):
    model = CreditAccount
    form = CreditSettingsForm
    can_delete = False
    max_num = 1
    verbose_name = "credit and spend cap"
    verbose_name_plural = "credit and spend cap"
    fields = ["balance", "held", "available", "low_balance_threshold_usd", "monthly_cap_usd"]
    readonly_fields = ["balance", "held", "available"]

    @admin.display(description="balance")
    def balance(self, obj: CreditAccount) -> str:
        return usd(obj.balance_micros) if obj.pk else "—"

    @admin.display(description="held")
    def held(self, obj: CreditAccount) -> str:
        return usd(obj.held_micros) if obj.pk else "—"

    @admin.display(description="available")
    def available(self, obj: CreditAccount) -> str:
        return usd(obj.available_micros) if obj.pk else "—"


class RecentEntriesFormSet(BaseInlineFormSet):
    """The newest entries only: an active customer has thousands."""

    def get_queryset(self) -> QuerySet[LedgerEntry]:
        if not hasattr(self, "_recent"):
            self._recent = super().get_queryset()[:LEDGER_INLINE_ROWS]
        return self._recent


class LedgerEntryInline(ReadOnlyInline):
    model = LedgerEntry
    formset = RecentEntriesFormSet
    ordering = ["-id"]
    fields = readonly_fields = (
        "created_at",
        "kind",
        "amount",
        "held_change",
        "balance_after",
        "job",
        "reason",
        "staff_user",
    )
    verbose_name_plural = f"ledger (newest {LEDGER_INLINE_ROWS})"

    @admin.display(description="generation")
    def job(self, obj: LedgerEntry) -> str:
        if not obj.reference:
            return "—"
        url = reverse("admin:videogen_generation_changelist") + "?" + urlencode({"q": obj.reference})
        return format_html('<a href="{}">{}</a>', url, obj.reference)

    @admin.display(description="amount")
    def amount(self, obj: LedgerEntry) -> str:
        return usd(obj.amount_micros)

    @admin.display(description="held change")
    def held_change(self, obj: LedgerEntry) -> str:
        return usd(obj.held_delta_micros)

    @admin.display(description="balance after")
    def balance_after(self, obj: LedgerEntry) -> str:
        return usd(obj.balance_after_micros)


class AdjustCreditForm(forms.Form):
    amount_usd = forms.DecimalField(
        label="Amount (USD)",
        help_text="Positive adds credit; negative takes it away (at most what is available).",
        **MONEY_FIELD,
    )
    reason = forms.CharField(
        max_length=300,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text="Required; the ledger keeps it with your name. Internal: the customer never sees it.",
    )
    description = forms.CharField(
        max_length=300,
        required=False,
        label="What the customer sees",
        widget=forms.TextInput(attrs={"size": 60}),
        help_text="Shown on the customer's billing page and in their ledger download; blank shows "
        "“Adjustment by our team”.",
    )
    # One token per form: submitting the same form twice adjusts once.
    token = forms.CharField(widget=forms.HiddenInput, initial=lambda: uuid.uuid4().hex)

    def clean_amount_usd(self) -> Decimal:
        amount = self.cleaned_data["amount_usd"]
        if amount == 0:
            raise forms.ValidationError("Enter an amount other than zero.")
        return amount

    def clean_token(self) -> str:
        token = self.cleaned_data["token"]
        if not re.fullmatch(r"[0-9a-f]{32}", token):
            raise forms.ValidationError("Reload the page and try again.")
        return token


def credit_settings_save(formset: Any, organization: Organization) -> None:
    """Save the credit inline through credit_settings_update (the only way the settings change)."""
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    for credit_form in formset.forms:
        if not credit_form.has_changed():
            continue
        cap = credit_form.cleaned_data.get("monthly_cap_usd")
        account = credit_settings_update(
            organization=organization,
            low_balance_threshold_micros=usd_to_micros(credit_form.cleaned_data["low_balance_threshold_usd"]),
            monthly_cap_micros=None if cap is None else usd_to_micros(cap),
        )
        formset.changed_objects.append((account, credit_form.changed_data))


def adjust_credit_page(model_admin: admin.ModelAdmin, request: HttpRequest, organization: Organization) -> HttpResponse:
    """The adjust-credit operation: a form, then credits_adjust with the staff user and the reason."""
    form = AdjustCreditForm(request.POST if applying(request) else None)
    if form.is_bound and form.is_valid():
        try:
            entry = credits_adjust(
                organization=organization,
                amount_micros=usd_to_micros(form.cleaned_data["amount_usd"]),
                reason=form.cleaned_data["reason"],
                description=form.cleaned_data["description"],
                staff_user=cast(User, request.user),  # the admin serves staff only
                idempotency_key=f"adjust:admin:{form.cleaned_data['token']}",
            )
        except BillingError as exc:
            form.add_error("amount_usd", str(exc))
        else:
            model_admin.message_user(
                request, f"Adjusted the credit of {organization} by {usd(entry.amount_micros)} ({entry.public_id})."
            )
            return HttpResponseRedirect(change_url(organization))
    balance = balance_get(organization)
    return operation_page(
        model_admin,
        request,
        action="adjust_credit",
        title=f"Adjust the credit of {organization}",
        intro="The change is booked in the ledger as a manual adjustment with your name and the reason.",
        targets=[
            Target(
                label=str(organization),
                detail=f"balance {usd(balance.balance_micros)}, held {usd(balance.held_micros)}, "
                f"available {usd(balance.available_micros)}",
                url=change_url(organization),
            )
        ],
        selected=[],
        form=form,
        submit_label="Adjust credit",
        cancel_url=change_url(organization),
    )
