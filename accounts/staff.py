"""The Django admin is for staff who signed in with two-factor authentication.

Django's admin asks `admin.site.has_permission` before every page and sends
whoever fails it to `admin.site.login`; videogen/urls.py points both here. The
admin's own password form is never shown: people sign in on our log-in page
(rate-limited, with its two-factor step), staff without an authenticator are
sent to enrol one, and staff who have one but signed in to this session
without it (a session older than the enrolment) are asked for a code.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode


def signed_in_with_mfa(request: HttpRequest) -> bool:
    """Whether this session's sign-in (or a later re-authentication) included a second factor."""
    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "mfa" for record in records)


def admin_has_permission(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff and signed_in_with_mfa(request))


def admin_login(login_view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Replace the admin's sign-in form with our sign-in, two-factor enrolment or a code, whichever is missing."""

    @wraps(login_view)
    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        next_url = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            next_url = ""
        next_url = next_url or reverse("admin:index")
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(next_url)
        if not (user.is_active and user.is_staff):
            raise PermissionDenied("The admin is for staff only.")
        if not is_mfa_enabled(user):
            messages.info(request, "The admin needs two-factor authentication: set up an authenticator app first.")
            return HttpResponseRedirect(reverse("mfa_activate_totp"))
        if not signed_in_with_mfa(request):
            return HttpResponseRedirect(f"{reverse('mfa_reauthenticate')}?{urlencode({'next': next_url})}")
        return login_view(request, *args, **kwargs)

    return view
