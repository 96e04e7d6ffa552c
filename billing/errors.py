"""Billing refusals as exceptions that carry their data (the API layer gives them their HTTP shape)."""

from __future__ import annotations

from billing.money import format_usd

LIMIT_LABELS = {
    "api_key": "this API key's spend limit",
    "organization_monthly": "your organization's monthly spending cap",
}


class BillingError(Exception):
    """A billing operation the rules refuse; the message can be shown to people."""


class PricingError(BillingError):
    """No active price rule for a variant: we cannot sell it."""

    def __init__(self, variant_key: str) -> None:
        super().__init__(f"{variant_key} is not available for purchase right now.")
        self.variant_key = variant_key


class InsufficientCredits(BillingError):
    """The price is more than the credit available (balance minus open holds)."""

    def __init__(self, price_micros: int, available_micros: int) -> None:
        super().__init__(
            f"This generation costs {format_usd(price_micros)} but only {format_usd(available_micros)} "
            "of credit is available. Add credits on the billing page."
        )
        self.price_micros = price_micros
        self.available_micros = available_micros


class SpendLimitExceeded(BillingError):
    """Accepting the job would take spending past a limit: `limit` is "api_key" or "organization_monthly"."""

    def __init__(self, limit: str, limit_micros: int, spent_micros: int, price_micros: int) -> None:
        label = LIMIT_LABELS.get(limit, limit)
        super().__init__(
            f"This generation ({format_usd(price_micros)}) would exceed {label} of {format_usd(limit_micros)}; "
            f"{format_usd(spent_micros)} is already spent or reserved."
        )
        self.limit = limit
        self.limit_micros = limit_micros
        self.spent_micros = spent_micros
        self.price_micros = price_micros


class TooManyOpenHolds(BillingError):
    """The organization already has `limit` jobs holding credit (accepted and not finished)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"Your organization already has {limit} generations queued or running; wait for one to finish."
        )
        self.limit = limit
