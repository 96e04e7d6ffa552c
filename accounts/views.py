"""Web pages for accounts: sign-up, organizations, members, invitations, API keys."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.decorators import admin_required, org_required
from accounts.forms import ApiKeyForm, InvitationForm, OrganizationForm, RoleForm, SignupForm
from accounts.middleware import SESSION_KEY

NEW_KEY_SESSION = "new_api_key"


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.user_signup(
            email=form.cleaned_data["email"], password=form.cleaned_data["password"], name=form.cleaned_data["name"]
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome! Your workspace is ready, with free credit to try the models.")
        return redirect(request.GET.get("next") or "dashboard")
    return render(request, "accounts/signup.html", {"form": form})


@login_required
def organization_create(request: HttpRequest) -> HttpResponse:
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organization = services.organization_create(owner=request.user, name=form.cleaned_data["name"])
        request.session[SESSION_KEY] = organization.public_id
        messages.success(request, f"Created {organization.name}.")
        return redirect("dashboard")
    return render(request, "accounts/organization_create.html", {"form": form})


@login_required
@require_POST
def organization_switch(request: HttpRequest) -> HttpResponse:
    membership = selectors.membership_get(request.user, request.POST.get("organization", ""))
    request.session[SESSION_KEY] = membership.organization.public_id
    messages.success(request, f"Switched to {membership.organization.name}.")
    return redirect("dashboard")


@admin_required
def organization_settings(request: HttpRequest) -> HttpResponse:
    organization = request.membership.organization
    form = OrganizationForm(request.POST or None, initial={"name": organization.name})
    if request.method == "POST" and form.is_valid():
        services.organization_rename(organization=organization, name=form.cleaned_data["name"])
        messages.success(request, "Organization settings saved.")
        return redirect("org-settings")
    return render(request, "accounts/organization_settings.html", {"form": form, "organization": organization})


@org_required
def members(request: HttpRequest) -> HttpResponse:
    organization = request.membership.organization
    form = InvitationForm(request.POST or None)
    if request.method == "POST":
        if not request.membership.is_admin:
            messages.error(request, "Only owners and admins can invite people.")
        elif form.is_valid():
            try:
                invitation, token = services.invitation_create(
                    organization=organization,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    invited_by=request.user,
                )
            except services.AccountError as exc:
                messages.error(request, str(exc))
            else:
                link = request.build_absolute_uri(reverse("invitation-accept", args=[token]))
                services.invitation_send(invitation=invitation, link=link)
                messages.success(request, f"Invitation sent to {invitation.email}.")
                return redirect("members")
    context = {
        "form": form,
        "memberships": selectors.members_list(organization),
        "invitations": selectors.invitations_pending(organization),
        "role_choices": RoleForm.base_fields["role"].choices,
    }
    return render(request, "accounts/members.html", context)


@org_required
@require_POST
def member_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    target = selectors.member_get(request.membership.organization, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid role.")
        return redirect("members")
    try:
        services.membership_change_role(actor=request.membership, membership=target, role=form.cleaned_data["role"])
    except services.AccountError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{target.user.email} is now {target.get_role_display().lower()}.")
    return redirect("members")


@org_required
@require_POST
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    target = selectors.member_get(request.membership.organization, membership_id)
    leaving = target.pk == request.membership.pk
    try:
        services.membership_remove(actor=request.membership, membership=target)
    except services.AccountError as exc:
        messages.error(request, str(exc))
        return redirect("members")
    if leaving:
        request.session.pop(SESSION_KEY, None)
        messages.success(request, f"You left {target.organization.name}.")
        return redirect("dashboard")
    messages.success(request, f"Removed {target.user.email}.")
    return redirect("members")


@admin_required
@require_POST
def invitation_revoke(request: HttpRequest, public_id: str) -> HttpResponse:
    invitation = selectors.invitation_get(request.membership.organization, public_id)
    services.invitation_revoke(invitation=invitation)
    messages.success(request, f"Invitation for {invitation.email} withdrawn.")
    return redirect("members")


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.invitation_for_token(token)
    except services.AccountError as exc:
        return render(request, "accounts/invitation_invalid.html", {"reason": str(exc)}, status=410)
    if not request.user.is_authenticated:
        return render(request, "accounts/invitation.html", {"invitation": invitation, "next": request.path})
    if request.method == "POST":
        try:
            membership = services.invitation_accept(token=token, user=request.user)
        except services.AccountError as exc:
            return render(request, "accounts/invitation_invalid.html", {"reason": str(exc)}, status=410)
        request.session[SESSION_KEY] = membership.organization.public_id
        messages.success(request, f"You joined {membership.organization.name}.")
        return redirect("dashboard")
    return render(request, "accounts/invitation.html", {"invitation": invitation})


@org_required
def api_keys(request: HttpRequest) -> HttpResponse:
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


@org_required
@require_POST
def api_key_revoke(request: HttpRequest, public_id: str) -> HttpResponse:
    key = selectors.api_key_get(request.membership.organization, public_id)
    services.api_key_revoke(api_key=key)
    messages.success(request, f"Revoked key “{key.name}”. Requests using it now get 401.")
    return redirect("api-keys")
