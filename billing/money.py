"""Money is an integer number of micro-dollars (1 USD = 1_000_000); never a float."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

MICROS_PER_USD = 1_000_000
MICROS_PER_CENT = 10_000


def usd_to_micros(value: Decimal | str | int) -> int:
    """Exact conversion of a USD amount; fractions of a micro-dollar are refused, floats too."""
    if isinstance(value, float | bool):
        raise TypeError("money is never a float; pass a Decimal or a string like '0.10'")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not an amount in USD: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not an amount in USD: {value!r}")
    micros = amount * MICROS_PER_USD
    if micros != micros.to_integral_value():
        raise ValueError(f"{value!r} has more precision than a micro-dollar")
    return int(micros)


def micros_to_decimal(micros: int) -> Decimal:
    return Decimal(micros) / MICROS_PER_USD


def usd_string(micros: int) -> str:
    """A plain decimal string for APIs: at least cents, more digits only when needed ("0.10", "0.125")."""
    amount = micros_to_decimal(micros)
    if amount == amount.quantize(Decimal("0.01")):
        return str(amount.quantize(Decimal("0.01")))
    return format(amount.normalize(), "f")


def format_usd(micros: int) -> str:
    """For people: "$0.10", "$1,250.00", "-$2.50", "$0.125"."""
    text = usd_string(abs(micros))
    whole, _, fraction = text.partition(".")
    sign = "-" if micros < 0 else ""
    return f"{sign}${int(whole):,}.{fraction}"


def micros_to_cents(micros: int) -> int:
    """Stripe charges whole cents; callers check the amount is a whole number of cents first."""
    if micros % MICROS_PER_CENT:
        raise ValueError(f"{micros} micro-dollars is not a whole number of cents")
    return micros // MICROS_PER_CENT
