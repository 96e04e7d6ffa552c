from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template

from billing.money import format_usd, usd_string, usd_to_micros


def test_it_converts_usd_exactly() -> None:
    assert usd_to_micros("0.10") == 100_000
    assert usd_to_micros(Decimal("1000.00")) == 1_000_000_000
    assert usd_to_micros("0.000001") == 1
    assert usd_to_micros(25) == 25_000_000


def test_it_refuses_floats_and_sub_micro_amounts() -> None:
    with pytest.raises(TypeError):
        usd_to_micros(0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="precision"):
        usd_to_micros("0.0000001")
    with pytest.raises(ValueError):
        usd_to_micros("ten dollars")


def test_it_shows_cents_and_more_digits_only_when_a_price_needs_them() -> None:
    assert format_usd(100_000) == "$0.10"
    assert format_usd(125_000) == "$0.125"
    assert format_usd(1_250_000_000) == "$1,250.00"
    assert format_usd(-2_500_000) == "-$2.50"
    assert format_usd(0) == "$0.00"
    assert usd_string(100_000) == "0.10"
    assert usd_string(1) == "0.000001"


def test_the_usd_filter_renders_micros_for_people() -> None:
    rendered = Template("{% load billing_tags %}{{ price|usd }}").render(Context({"price": 170_000}))
    assert rendered == "$0.17"
