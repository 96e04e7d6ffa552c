from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render

from accounts.models import Membership, User
from accounts.permissions import Action, can
from accounts.services import NotAllowed

View = Callable[..., HttpResponseBase]


class SignedInRequest(HttpRequest):
    """What a view behind `login_required` receives: a signed-in person (for the type checker)."""

    user: User


class MemberRequest(SignedInRequest):
    """What a view behind `org_required` or `role_required` receives: a person acting in one organization."""

    membership: Membership


def org_required(view: View) -> View:
    """Login required, and an active organization (users who left every org are sent to create one)."""

    @login_required
    @wraps(view)
    def wrapper(request: MemberRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.membership:
            messages.info(request, "Create an organization to continue.")
            return redirect("org-create")
        return view(request, *args, **kwargs)

    return wrapper


def refused(request: HttpRequest, exc: NotAllowed) -> HttpResponse:
    """The page a person sees when their role does not allow what they tried (HTTP 403)."""
    return render(request, "accounts/forbidden.html", {"reason": str(exc)}, status=403)


def role_required(action: Action) -> Callable[[View], View]:
    """An active organization in which the person's role allows `action` (accounts.permissions); else 403."""

    def decorator(view: View) -> View:
        @org_required
        @wraps(view)
        def wrapper(request: MemberRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not can(request.membership.role, action):
                return refused(request, NotAllowed(action, request.membership.organization))
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
