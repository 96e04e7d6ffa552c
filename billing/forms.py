from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from billing.money import usd_to_micros


class TopUpForm(forms.Form):
    """A pack button (pack=10) or a custom amount in USD; limits are checked by the service."""

    pack = forms.CharField(required=False)
    amount_usd = forms.DecimalField(
        required=False, label="Custom amount (USD)", max_digits=9, decimal_places=2, min_value=Decimal("0.01")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        pack = (data.get("pack") or "").strip()
        if pack and pack != "custom":
            try:
                data["amount_micros"] = usd_to_micros(pack)
            except ValueError:
                raise forms.ValidationError("Choose one of the credit packs.") from None
        elif data.get("amount_usd") is not None:
            data["amount_micros"] = usd_to_micros(data["amount_usd"])
        elif not self.errors:
            raise forms.ValidationError("Choose a pack or enter an amount.")
        return data


class CreditSettingsForm(forms.Form):
    low_balance_threshold_usd = forms.DecimalField(
        label="Warn me when the balance drops below (USD)",
        max_digits=9,
        decimal_places=2,
        min_value=Decimal("0"),
        help_text="We raise a credits.low event once each time the balance crosses it. 0 turns the warning off.",
    )
    monthly_cap_usd = forms.DecimalField(
        label="Monthly spending cap (USD)",
        required=False,
        max_digits=9,
        decimal_places=2,
        min_value=Decimal("0"),
        help_text="Generations that would take this calendar month's spending (UTC) past the cap are refused. "
        "Leave empty for no cap.",
    )

    def cleaned_micros(self) -> tuple[int, int | None]:
        cap = self.cleaned_data.get("monthly_cap_usd")
        return (
            usd_to_micros(self.cleaned_data["low_balance_threshold_usd"]),
            None if cap is None else usd_to_micros(cap),
        )
