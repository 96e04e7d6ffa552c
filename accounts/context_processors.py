from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from accounts import selectors
from accounts.permissions import Action, can


def organizations(request: HttpRequest) -> dict[str, Any]:
    """The active organization, the others the user can switch to, and what their role there allows.

    `can.WEBHOOKS_MANAGE` and friends (accounts.permissions.Action names) decide which controls a page shows.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = getattr(request, "membership", None)
    role = membership.role if membership else None
    return {
        "active_membership": membership,
        "active_org": membership.organization if membership else None,
        "user_memberships": selectors.memberships_for_user(user),
        "can": {action.name: can(role, action) for action in Action},
        "social_login_enabled": bool(settings.SOCIALACCOUNT_PROVIDERS),
    }
