from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts import selectors


def organizations(request: HttpRequest) -> dict[str, Any]:
    """The active organization and the others the user can switch to, for the navigation."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = getattr(request, "membership", None)
    return {
        "active_membership": membership,
        "active_org": membership.organization if membership else None,
        "user_memberships": selectors.memberships_for_user(user),
    }
