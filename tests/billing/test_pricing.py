from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from api.errors import api_error
from billing.errors import PricingError
from billing.models import PriceRule, Variant
from billing.selectors import price_list, price_quote
from tests.billing.conftest import TEST_URLS
from videogen import catalog

pytestmark = [pytest.mark.django_db, pytest.mark.urls(TEST_URLS)]


def test_every_catalog_variant_has_a_default_price_above_its_cost() -> None:
    for variant in catalog.all_variants():
        quote = price_quote(variant)
        assert quote.variant_key == variant.key
        assert quote.price_micros > quote.upstream_cost_micros > 0


def test_hailuo_02_fast_6s_costs_ten_cents_a_run_as_on_the_seed_page() -> None:
    assert price_quote(Variant("hailuo-02-fast", 6, "512p")).price_micros == 100_000


def test_a_variant_without_an_active_rule_cannot_be_quoted_or_listed() -> None:
    PriceRule.objects.filter(model="hailuo-02", duration=10).update(active=False)
    with pytest.raises(PricingError) as caught:
        price_quote(Variant("hailuo-02", 10, "768p"))
    assert api_error(caught.value).status_code == 400
    assert "hailuo-02:10s:768p" not in {p["variant"] for p in price_list(catalog.all_variants())}


def test_a_changed_rule_changes_the_quote() -> None:
    PriceRule.objects.filter(model="hailuo-02-fast", duration=6).update(price_micros=125_000)
    assert price_quote(Variant("hailuo-02-fast", 6, "512p")).price_micros == 125_000


def test_the_pricing_api_lists_every_variant_on_sale_without_a_key() -> None:
    response = APIClient().get("/api/v1/pricing")
    assert response.status_code == 200
    data = response.json()["data"]
    assert {p["variant"] for p in data} == {v.key for v in catalog.all_variants()}
    fast = next(p for p in data if p["variant"] == "hailuo-02-fast:6s:512p")
    assert fast["price"] == "0.10"
    assert fast["price_micros"] == 100_000
    assert fast["currency"] == "usd"
    assert "upstream_cost_micros" not in fast
    pro = next(p for p in data if p["variant"] == "minimax-hailuo-2:6s:1080p:pro")
    assert pro["mode"] == "pro"
