"""The organization page: one place composes what each app shows of an organization.

Accounts gives the members and API keys, billing the credit, the ledger and
the credit adjustment, the API its rate limits, and this app the links to the
organization's generations.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.admin import ApiKeyInline, MembershipInline
from accounts.models import Organization
from accounts.services import organization_rename
from api.admin import ApiLimitsInline
from billing.admin import CreditInline, LedgerEntryInline, adjust_credit_page, credit_settings_save, usd
from billing.models import CreditAccount, LedgerEntry
from core.admin import changelist_url
from videogen.models import Generation


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
        return obj.member_count  # type: ignore[attr-defined]  # annotated by get_queryset

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
        if formset.model is CreditAccount:
            credit_settings_save(formset, form.instance)
        else:
            super().save_formset(request, form, formset, change)

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
        return adjust_credit_page(self, request, organization)
