"""Roles through the API: a key acts with its creator's current role, checked against the one permission table.

Every endpoint names the action each of its methods performs (or None when
any key may call it); `action_require` refuses the others with a 403 that
names the key's role and the action.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import BasePermission

from accounts.models import ApiKey
from accounts.permissions import PERMISSIONS, Action, can, who_can
from accounts.selectors import api_key_role
from api.authentication import NO_KEY_MESSAGE, unauthenticated
from core.errors import ApiError


def action_require(key: ApiKey, action: Action | None) -> None:
    """403 unless the key's role may do `action` (None: any key may)."""
    if action is None:
        return
    role = api_key_role(key)
    if can(role, action):
        return
    message = (
        f"This API key acts with its creator's role, {role or 'none'}; only {who_can(action)} "
        f"of the organization can {PERMISSIONS[action].what} ({action})."
    )
    raise ApiError(403, "permission_error", "permission_denied", message, extra={"role": role, "action": str(action)})


def view_action(view: Any, method: str) -> Action | None:
    """The action a view's method performs, as the view declares it in `actions`."""
    actions: dict[str, Action | None] = getattr(view, "actions", {})
    if method == "HEAD":
        method = "GET"
    if method not in actions and (method == "OPTIONS" or not hasattr(view, method.lower())):
        return None  # DRF's own OPTIONS, or a method the view lacks: the 405 follows
    if method not in actions:
        name = type(view).__name__
        raise ImproperlyConfigured(f"{name}.actions does not say which action {method} performs.")
    return actions[method]


class ActionPermission(BasePermission):
    """DRF's door to `action_require`: the action comes from the view's `actions`."""

    def has_permission(self, request: Any, view: Any) -> bool:
        action = view_action(view, request.method)
        if action is not None:
            if request.auth is None:
                raise unauthenticated("not_authenticated", NO_KEY_MESSAGE)
            action_require(request.auth, action)
        return True
