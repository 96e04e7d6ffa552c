from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from accounts.signals import signup_verified

        signup_verified.connect(_grant_signup_credit, dispatch_uid="billing-signup-grant")


def _grant_signup_credit(sender: object, *, user: Any, organization: Any, **kwargs: Any) -> None:
    from billing.services import credits_grant_signup

    credits_grant_signup(user=user, organization=organization)
