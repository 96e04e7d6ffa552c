"""Operators' view of people and organizations: credit, spend caps, rate limits, members and API keys.

Money moves only through billing services (credit adjustments record the
staff user and a reason); API keys show their prefix only and are revoked
through the accounts service.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.models import ApiKey, Invitation, Membership, Organization, User
from accounts.services import api_key_revoke, organization_rename
from api.models import OrganizationApiLimits
from billing.admin import usd
from billing.errors import BillingError
from billing.models import CreditAccount, LedgerEntry
from billing.money import micros_to_decimal, usd_to_micros
from billing.selectors import balance_get
from billing.services import credit_settings_update, credits_adjust
from core.admin import (
    OrganizationFilter,
    ReadOnlyAdmin,
    ReadOnlyInline,
    Target,
    applying,
    change_url,
    changelist_url,
    link,
    object_operation,
    operation_page,
)
from videogen.models import Generation

LEDGER_INLINE_ROWS = 50
USD_FIELD = {"max_digits": 12, "decimal_places": 6}


# --- Users ----------------------------------------------------------------------------------------


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserChangeForm(DjangoUserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class UserMembershipInline(ReadOnlyInline):
    model = Membership
    fk_name = "user"
    fields = ["organization_link", "role", "created_at"]
    readonly_fields = fields
    verbose_name_plural = "organizations"

    @admin.display(description="organization")
    def organization_link(self, obj: Membership) -> str:
        return link(obj.organization)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_superuser", "is_active", "date_joined", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "name"]
    inlines = [UserMembershipInline]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Personal info", {"fields": ["name"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Important dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "usable_password", "password1", "password2"]})]


# --- Organizations ------------------------------------------------------------------------------------


class CreditSettingsForm(forms.ModelForm):
    """The organization's alert threshold and monthly cap, in dollars; saved through credit_settings_update."""

    low_balance_threshold_usd = forms.DecimalField(
        label="Low-balance alert below (USD)", min_value=Decimal(0), **USD_FIELD
    )
    monthly_cap_usd = forms.DecimalField(
        label="Monthly spend cap (USD)", required=False, min_value=Decimal(0), help_text="Empty: no cap.", **USD_FIELD
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


class MembershipInline(ReadOnlyInline):
    model = Membership
    fields = ["user_link", "role", "created_at"]
    readonly_fields = fields
    verbose_name_plural = "members"

    @admin.display(description="user")
    def user_link(self, obj: Membership) -> str:
        return link(obj.user)


class ApiKeyInline(ReadOnlyInline):
    model = ApiKey
    fields = ["public_id", "name", "key_prefix", "created_at", "last_used_at", "spend_limit", "state"]
    readonly_fields = fields
    verbose_name_plural = "API keys (prefix only)"

    @admin.display(description="key")
    def key_prefix(self, obj: ApiKey) -> str:
        return f"{obj.prefix}…"

    @admin.display(description="spend limit")
    def spend_limit(self, obj: ApiKey) -> str:
        return usd(obj.spend_limit_micros) if obj.spend_limit_micros is not None else "none"

    @admin.display(description="state")
    def state(self, obj: ApiKey) -> str:
        if obj.revoked_at:
            return f"revoked {obj.revoked_at:%Y-%m-%d %H:%M}"
        return format_html('active · <a href="{}">Revoke…</a>', reverse("admin:accounts_apikey_revoke", args=[obj.pk]))


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
    fields = ["created_at", "kind", "amount", "held_change", "balance_after", "job", "reason", "staff_user"]
    readonly_fields = fields
    verbose_name_plural = f"ledger (newest {LEDGER_INLINE_ROWS})"

    @admin.display(description="generation")
    def job(self, obj: LedgerEntry) -> str:
        if not obj.reference:
            return "—"
        return format_html('<a href="{}">{}</a>', changelist_url(Generation, q=obj.reference), obj.reference)

    @admin.display(description="amount")
    def amount(self, obj: LedgerEntry) -> str:
        return usd(obj.amount_micros)

    @admin.display(description="held change")
    def held_change(self, obj: LedgerEntry) -> str:
        return usd(obj.held_delta_micros)

    @admin.display(description="balance after")
    def balance_after(self, obj: LedgerEntry) -> str:
        return usd(obj.balance_after_micros)


class ApiLimitsInline(admin.StackedInline):
    """The organization's API limits (empty fields: the defaults)."""

    model = OrganizationApiLimits
    can_delete = False
    max_num = 1
    verbose_name = "API rate limits"
    verbose_name_plural = "API rate limits (empty fields: the defaults)"
    exclude = ["updated_at"]


class AdjustCreditForm(forms.Form):
    amount_usd = forms.DecimalField(
        label="Amount (USD)",
        help_text="Positive adds credit; negative takes it away (at most what is available).",
        **USD_FIELD,
    )
    reason = forms.CharField(
        max_length=300,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text="Required; the ledger keeps it with your name.",
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


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "public_id", "balance", "held", "available", "monthly_cap", "members", "created_at"]
    search_fields = ["name", "slug", "public_id", "memberships__user__email"]
    search_help_text = "Name, slug, public id or a member's email."
    list_select_related = ["credit_account"]
    fields = ["name", "slug", "public_id", "created_at", "balance", "held", "available", "records"]
    readonly_fields = ["slug", "public_id", "created_at", "balance", "held", "available", "records"]
    actions = ["adjust_credit"]

    def get_inlines(self, request: HttpRequest, obj: Organization | None) -> list:
        return [CreditInline, ApiLimitsInline, MembershipInline, ApiKeyInline, LedgerEntryInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organization]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                member_count=Count("memberships", distinct=True),
                available_micros=F("credit_account__balance_micros") - F("credit_account__held_micros"),
            )
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Organizations come from sign-up or `issue_api_key --create`, which also make their owner.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_adjust_credit_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("billing.adjust_credit")

    # --- columns ---

    @staticmethod
    def _account(obj: Organization) -> CreditAccount | None:
        try:
            return obj.credit_account
        except CreditAccount.DoesNotExist:
            return None

    @admin.display(description="balance", ordering="credit_account__balance_micros")
    def balance(self, obj: Organization) -> str:
        account = self._account(obj)
        return usd(account.balance_micros if account else 0)

    @admin.display(description="held", ordering="credit_account__held_micros")
    def held(self, obj: Organization) -> str:
        account = self._account(obj)
        return usd(account.held_micros if account else 0)

    @admin.display(description="available", ordering="available_micros")
    def available(self, obj: Organization) -> str:
        account = self._account(obj)
        return usd(account.available_micros if account else 0)

    @admin.display(description="monthly cap")
    def monthly_cap(self, obj: Organization) -> str:
        account = self._account(obj)
        return usd(account.monthly_cap_micros) if account and account.monthly_cap_micros is not None else "none"

    @admin.display(description="members", ordering="member_count")
    def members(self, obj: Organization) -> int:
        return obj.member_count

    @admin.display(description="records")
    def records(self, obj: Organization) -> str:
        return format_html(
            '<a href="{}">All ledger entries</a> · <a href="{}">Generations</a> · <a href="{}">Failed generations</a>',
            changelist_url(LedgerEntry, org=obj.public_id),
            changelist_url(Generation, org=obj.public_id),
            changelist_url(Generation, org=obj.public_id, status__exact="failed"),
        )

    # --- saving: names and credit settings go through their services ---

    def save_model(self, request: HttpRequest, obj: Organization, form: forms.ModelForm, change: bool) -> None:
        if change and "name" in form.changed_data:
            organization_rename(organization=obj, name=form.cleaned_data["name"])

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool) -> None:
        if formset.model is not CreditAccount:
            super().save_formset(request, form, formset, change)
            return
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for credit_form in formset.forms:
            if not credit_form.has_changed():
                continue
            cap = credit_form.cleaned_data.get("monthly_cap_usd")
            account = credit_settings_update(
                organization=form.instance,
                low_balance_threshold_micros=usd_to_micros(credit_form.cleaned_data["low_balance_threshold_usd"]),
                monthly_cap_micros=None if cap is None else usd_to_micros(cap),
            )
            formset.changed_objects.append((account, credit_form.changed_data))

    # --- adjusting credit ---

    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/adjust-credit/",
                wrap(self.adjust_credit_view),
                name="accounts_organization_adjust_credit",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        extra = {"can_adjust_credit": self.has_adjust_credit_permission(request), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra)

    @admin.action(description="Adjust credit…", permissions=["adjust_credit"])
    def adjust_credit(self, request: HttpRequest, queryset: QuerySet[Organization]) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Adjust the credit of one organization at a time.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:accounts_organization_adjust_credit", args=[queryset.get().pk]))

    def adjust_credit_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        organization = self.get_object(request, unquote(object_id))
        if organization is None:
            raise Http404("No such organization.")
        if not self.has_adjust_credit_permission(request):
            raise PermissionDenied
        form = AdjustCreditForm(request.POST if applying(request) else None)
        if form.is_bound and form.is_valid():
            try:
                entry = credits_adjust(
                    organization=organization,
                    amount_micros=usd_to_micros(form.cleaned_data["amount_usd"]),
                    reason=form.cleaned_data["reason"],
                    staff_user=request.user,
                    idempotency_key=f"adjust:admin:{form.cleaned_data['token']}",
                )
            except BillingError as exc:
                form.add_error("amount_usd", str(exc))
            else:
                self.message_user(
                    request, f"Adjusted the credit of {organization} by {usd(entry.amount_micros)} ({entry.public_id})."
                )
                return HttpResponseRedirect(change_url(organization))
        balance = balance_get(organization)
        return operation_page(
            self,
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


# --- API keys and invitations ------------------------------------------------------------------------


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "name", "key_prefix", "organization", "created_at", "last_used_at", "revoked_at"]
    list_filter = [OrganizationFilter, ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["public_id", "name", "prefix", "organization__slug", "organization__public_id"]
    list_select_related = ["organization"]
    fields = [
        "public_id",
        "name",
        "key_prefix",
        "organization",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
        "spend_limit_micros",
    ]
    readonly_fields = fields
    actions = ["revoke"]

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.revoke_apikey")

    @admin.display(description="key")
    def key_prefix(self, obj: ApiKey) -> str:
        return f"{obj.prefix}…"

    def get_urls(self) -> list:
        return [
            path(
                "<path:object_id>/revoke/",
                self.admin_site.admin_view(self.revoke_view),
                name="accounts_apikey_revoke",
            ),
            *super().get_urls(),
        ]

    def revoke_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return object_operation(self, request, object_id, "revoke")

    @admin.action(description="Revoke…", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> HttpResponse | None:
        keys = list(queryset.select_related("organization"))
        if not applying(request):
            return operation_page(
                self,
                request,
                action="revoke",
                title="Revoke API keys",
                intro="Programs using these keys are refused from now on. This cannot be undone.",
                targets=[
                    Target(
                        label=f"{k.name} ({k.prefix}…)",
                        detail=f"{k.organization} · {k.public_id}",
                        url=change_url(k),
                        skipped="already revoked" if k.revoked_at else "",
                    )
                    for k in keys
                ],
                selected=[k.pk for k in keys],
                form=forms.Form(),
                submit_label="Revoke",
                cancel_url=change_url(keys[0]) if len(keys) == 1 else changelist_url(ApiKey),
                danger=True,
            )
        for key in keys:
            api_key_revoke(api_key=key)
        self.message_user(request, f"Revoked: {', '.join(k.public_id for k in keys)}.")
        return None


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "organization", "role", "invited_by", "created_at", "expires_at", "accepted_at"]
    list_filter = [OrganizationFilter, "role"]
    search_fields = ["email", "organization__slug"]
    list_select_related = ["organization", "invited_by"]
    exclude = ["token_hash"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
