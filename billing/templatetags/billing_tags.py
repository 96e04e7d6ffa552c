from __future__ import annotations

from django import template

from billing.money import format_usd

register = template.Library()


@register.filter
def usd(micros: int | None) -> str:
    """Render micro-dollars as USD for people: {{ entry.amount_micros|usd }} → "$0.10"."""
    if micros is None or micros == "":
        return ""
    return format_usd(int(micros))
