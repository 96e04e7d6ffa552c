"""Web pages for accounts: the account page, organizations, members, invitations, API keys.

Sign-up, log-in, email, password, two-factor authentication and sessions are
django-allauth's pages (under /accounts/), in our templates. What each role
may do is accounts.permissions; `role_required` answers 403 otherwise.
"""

from __future__ import annotations

from allauth.account.decorators import reauthentication_required
from allauth.account.models import EmailAddress
from allauth.mfa.utils import is_mfa_enabled
from allauth.usersessions.models import UserSession
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.apps import INVITATION_SESSION_KEY
from accounts.decorators import MemberRequest, SignedInRequest, org_required, refused, role_required
from accounts.forms import (
    AccountDeleteForm,
    ApiKeyForm,
    InvitationForm,
    OrganizationDeleteForm,
    OrganizationForm,
    RoleForm,
)
from accounts.middleware import SESSION_KEY
from accounts.models import Role
from accounts.permissions import Action, can
from videogen.services import erasure

NEW_KEY_SESSION = "new_api_key"


# --- The person's account ---------------------------------------------------------------------


@login_required
def account(request: SignedInRequest, form: AccountDeleteForm | None = None) -> HttpResponse:
    user = request.user
    context = {
        "emails": EmailAddress.objects.filter(user=user).order_by("-primary", "email"),
        "mfa_enabled": is_mfa_enabled(user),
        "session_count": UserSession.objects.filter(user=user).count(),
        "plan": selectors.account_deletion_plan(user),
        "delete_form": form or AccountDeleteForm(),
    }
    return render(request, "accounts/account.html", context, status=400 if form else 200)


@login_required
@require_POST
@reauthentication_required
def account_delete(request: SignedInRequest) -> HttpResponse:
    form = AccountDeleteForm(request.POST)
    if not form.is_valid():
        return account(request, form)
    try:
        deleted = erasure.account_delete(user=request.user)
    except services.AccountError as exc:
        messages.error(request, str(exc))
        return redirect("account")
    logout(request)
    gone = f" with {', '.join(deleted)}" if deleted else ""
    messages.success(request, f"Your account was deleted{gone}.")
    return redirect("home")


# --- Organizations --------------------------------------------------------------------------------


@login_required
def organization_create(request: SignedInRequest) -> HttpResponse:
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organization = services.organization_create(owner=request.user, name=form.cleaned_data["name"])
        request.session[SESSION_KEY] = organization.public_id
        messages.success(request, f"Created {organization.name}.")
        return redirect("dashboard")
    return render(request, "accounts/organization_create.html", {"form": form})


@login_required
@require_POST
def organization_switch(request: SignedInRequest) -> HttpResponse:
    membership = selectors.membership_get(request.user, request.POST.get("organization", ""))
    request.session[SESSION_KEY] = membership.organization.public_id
    messages.success(request, f"Switched to {membership.organization.name}.")
    return redirect("dashboard")


@role_required(Action.ORGANIZATION_RENAME)
def organization_settings(request: MemberRequest) -> HttpResponse:
    organization = request.membership.organization
    form = OrganizationForm(request.POST or None, initial={"name": organization.name})
    if request.method == "POST" and form.is_valid():
        services.organization_rename(organization=organization, name=form.cleaned_data["name"])
        messages.success(request, "Organization settings saved.")
        return redirect("org-settings")
    context = {
        "form": form,
        "organization": organization,
        "delete_form": OrganizationDeleteForm(organization_name=organization.name),
    }
    return render(request, "accounts/organization_settings.html", context)


@role_required(Action.ORGANIZATION_DELETE)
@require_POST
def organization_delete(request: MemberRequest) -> HttpResponse:
    organization = request.membership.organization
    form = OrganizationDeleteForm(request.POST, organization_name=organization.name)
    if not form.is_valid():
        context = {"form": OrganizationForm(initial={"name": organization.name}), "organization": organization}
        return render(request, "accounts/organization_settings.html", {**context, "delete_form": form}, status=400)
    try:
        erasure.organization_delete(actor=request.membership)
    except services.NotAllowed as exc:
        return refused(request, exc)
    except services.AccountError as exc:
        messages.error(request, str(exc))
        return redirect("org-settings")
    request.session.pop(SESSION_KEY, None)
    messages.success(request, f"Deleted {organization.name}.")
    return redirect("dashboard")


# --- Members and invitations ----------------------------------------------------------------------


def _members_page(request: MemberRequest, form: InvitationForm | None = None) -> HttpResponse:
    organization = request.membership.organization
    role = request.membership.role
    context = {
        "form": form or InvitationForm(),
        "memberships": selectors.members_list(organization),
        "invitations": selectors.invitations_pending(organization),
        "owner_count": selectors.owner_count(organization),
        # Roles the person may give: owners any, admins admin or member.
        "role_choices": [
            (value, label) for value, label in Role.choices if value != "owner" or can(role, Action.OWNERS_MANAGE)
        ],
    }
    return render(request, "accounts/members.html", context, status=400 if form else 200)


@role_required(Action.MEMBERS_VIEW)
def members(request: MemberRequest) -> HttpResponse:
    return _members_page(request)


@role_required(Action.MEMBERS_INVITE)
@require_POST
def invitation_create(request: MemberRequest) -> HttpResponse:
    form = InvitationForm(request.POST)
    if not form.is_valid():
        return _members_page(request, form)
    try:
        invitation, _token = services.invitation_create(
            actor=request.membership, email=form.cleaned_data["email"], role=form.cleaned_data["role"]
        )
    except services.NotAllowed as exc:
        return refused(request, exc)
    except services.AccountError as exc:
        form.add_error("email", str(exc))
        return _members_page(request, form)
    messages.success(request, f"Invitation sent to {invitation.email}.")
    return redirect("members")


@role_required(Action.MEMBERS_CHANGE_ROLE)
@require_POST
def member_role(request: MemberRequest, membership_id: int) -> HttpResponse:
    target = selectors.member_get(request.membership.organization, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid role: owner, admin or member.")
        return redirect("members")
    try:
        target = services.membership_change_role(
            actor=request.membership, membership=target, role=form.cleaned_data["role"]
        )
    except services.NotAllowed as exc:
        return refused(request, exc)
    except services.AccountError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{target.user.email} is now {target.get_role_display().lower()}.")
    return redirect("members")


@org_required
@require_POST
def member_remove(request: MemberRequest, membership_id: int) -> HttpResponse:
    """Remove someone (owners and admins) or leave (anyone but the last owner)."""
    target = selectors.member_get(request.membership.organization, membership_id)
    leaving = target.pk == request.membership.pk
    try:
        revoked = services.membership_remove(actor=request.membership, membership=target)
    except services.NotAllowed as exc:
        return refused(request, exc)
    except services.AccountError as exc:
        messages.error(request, str(exc))
        return redirect("members")
    keys = f" Their {revoked} API key{'s' if revoked != 1 else ''} stopped working." if revoked else ""
    if leaving:
        request.session.pop(SESSION_KEY, None)
        messages.success(request, f"You left {target.organization.name}.")
        return redirect("dashboard")
    messages.success(request, f"Removed {target.user.email}.{keys}")
    return redirect("members")


@role_required(Action.MEMBERS_INVITE)
@require_POST
def invitation_revoke(request: MemberRequest, public_id: str) -> HttpResponse:
    invitation = selectors.invitation_get(request.membership.organization, public_id)
    try:
        services.invitation_revoke(actor=request.membership, invitation=invitation)
    except services.NotAllowed as exc:
        return refused(request, exc)
    messages.success(request, f"Invitation for {invitation.email} withdrawn.")
    return redirect("members")


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The link in an invitation email: sign up or log in with the invited address, then accept."""
    try:
        invitation = services.invitation_for_token(token)
    except services.AccountError as exc:
        return render(request, "accounts/invitation_invalid.html", {"reason": str(exc)}, status=410)
    if not request.user.is_authenticated:
        # Signing up from here with the invited address makes no workspace (and no welcome credit).
        request.session[INVITATION_SESSION_KEY] = token
        return render(request, "accounts/invitation.html", {"invitation": invitation, "next": request.path})
    if request.method == "POST":
        try:
            membership = services.invitation_accept(token=token, user=request.user)
        except services.WrongAddress as exc:
            return render(request, "accounts/invitation_invalid.html", {"reason": str(exc)}, status=403)
        except services.AccountError as exc:
            return render(request, "accounts/invitation_invalid.html", {"reason": str(exc)}, status=410)
        request.session.pop(INVITATION_SESSION_KEY, None)
        request.session[SESSION_KEY] = membership.organization.public_id
        messages.success(request, f"You joined {membership.organization.name}.")
        return redirect("dashboard")
    return render(request, "accounts/invitation.html", {"invitation": invitation})


# --- API keys -------------------------------------------------------------------------------------


@role_required(Action.API_KEYS_OWN)
def api_keys(request: MemberRequest) -> HttpResponse:
    organization = request.membership.organization
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        key, raw = services.api_key_create(
            organization=organization, name=form.cleaned_data["name"], created_by=request.user
        )
        # Redirect after POST, so a reload cannot create a second key; the key rides in the
        # session for exactly one page view.
        request.session[NEW_KEY_SESSION] = raw
        messages.success(request, f"Created key “{key.name}”. Copy it now: it will not be shown again.")
        return redirect("api-keys")
    new_key = request.session.pop(NEW_KEY_SESSION, None)
    context = {"form": form, "keys": selectors.api_keys_list(organization), "new_key": new_key}
    return render(request, "accounts/api_keys.html", context)


@role_required(Action.API_KEYS_OWN)
@require_POST
def api_key_revoke(request: MemberRequest, public_id: str) -> HttpResponse:
    key = selectors.api_key_get(request.membership.organization, public_id)
    try:
        services.api_key_revoke_as(actor=request.membership, api_key=key)
    except services.NotAllowed as exc:
        return refused(request, exc)
    messages.success(request, f"Revoked key “{key.name}”. Requests using it now get 401.")
    return redirect("api-keys")
