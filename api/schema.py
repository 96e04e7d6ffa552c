"""How the OpenAPI schema describes API views beyond their serializers: the 403 of a role the key lacks."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema

from accounts.permissions import PERMISSIONS, who_can

ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's inspector, adding a 403 to every operation whose view names an action (`ApiView.actions`)."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        action = getattr(self.view, "actions", {}).get(self.method)
        if operation is not None and action is not None:
            description = (
                f"`permission_error`: the key acts with its creator's role, and only {who_can(action)} "
                f"can {PERMISSIONS[action].what} (`{action}`)."
            )
            operation["responses"].setdefault(
                "403", {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}
            )
        return operation
