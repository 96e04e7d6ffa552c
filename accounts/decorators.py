from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect


def org_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Login required, and an active organization (users who left every org are sent to create one)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.membership:
            messages.info(request, "Create an organization to continue.")
            return redirect("org-create")
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Owners and admins only; members are told why."""

    @org_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.membership.is_admin:
            messages.error(request, "Only owners and admins of this organization can do that.")
            return redirect("dashboard")
        return view(request, *args, **kwargs)

    return wrapper
