"""Operators' view of people: users, memberships, API keys and invitations.

API keys show their prefix only and are revoked through the accounts
service. A person's sign-in records (addresses, authenticators, sessions,
Google or GitHub accounts) are read-only lists on their page, never showing
an authenticator's secret; allauth's own admin pages for them are removed.
The organization page is composed in videogen/admin/organizations.py from
these inlines and the other apps'.
"""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from allauth.usersessions.models import UserSession
from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.models import ApiKey, Invitation, Membership, User
from accounts.services import api_key_revoke
from billing.admin import usd
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
    fields = readonly_fields = ("organization_link", "role", "created_at")
    verbose_name_plural = "organizations"

    @admin.display(description="organization")
    def organization_link(self, obj: Membership) -> str:
        return link(obj.organization)


class SignInInline(ReadOnlyInline):
    """Part of a person's page: whoever may see the person sees these too."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("accounts.view_user")


class EmailAddressInline(SignInInline):
    model = EmailAddress
    fields = readonly_fields = ("email", "primary", "verified")
    verbose_name_plural = "email addresses"


class AuthenticatorInline(SignInInline):
    model = Authenticator
    # Not `data`: it holds the authenticator app's secret and the recovery codes' seed.
    fields = readonly_fields = ("type", "created_at", "last_used_at")
    verbose_name_plural = "two-factor authenticators"


class UserSessionInline(SignInInline):
    model = UserSession
    fields = readonly_fields = ("ip", "user_agent", "created_at", "last_seen_at")
    verbose_name_plural = "signed-in sessions"


class SocialAccountInline(SignInInline):
    model = SocialAccount
    fields = readonly_fields = ("provider", "uid", "date_joined", "last_login")
    verbose_name_plural = "Google and GitHub accounts"


# Sign-in records are shown on the person's page instead (above); social sign-in apps come from
# settings and their tokens are not stored.
for _model in (EmailAddress, Authenticator, UserSession, SocialAccount, SocialApp, SocialToken):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_superuser", "is_active", "date_joined", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "name"]
    readonly_fields = ["signup_organization"]
    inlines = [UserMembershipInline, EmailAddressInline, AuthenticatorInline, UserSessionInline, SocialAccountInline]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Personal info", {"fields": ["name", "signup_organization"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Important dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "usable_password", "password1", "password2"]})]


# --- Organizations ------------------------------------------------------------------------------------


class MembershipInline(ReadOnlyInline):
    model = Membership
    fields = readonly_fields = ("user_link", "role", "created_at")
    verbose_name_plural = "members"

    @admin.display(description="user")
    def user_link(self, obj: Membership) -> str:
        return link(obj.user)


class ApiKeyInline(ReadOnlyInline):
    model = ApiKey
    fields = readonly_fields = ("public_id", "name", "key_prefix", "created_at", "last_used_at", "spend_limit", "state")
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


# --- API keys and invitations ------------------------------------------------------------------------


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "name", "key_prefix", "organization", "created_at", "last_used_at", "revoked_at"]
    list_filter = [OrganizationFilter, ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["public_id", "name", "prefix", "organization__slug", "organization__public_id"]
    list_select_related = ["organization"]
    fields = readonly_fields = (
        "public_id",
        "name",
        "key_prefix",
        "organization",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
        "spend_limit_micros",
    )
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
