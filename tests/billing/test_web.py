from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import Organization
from billing.models import CreditAccount, TopUp
from tests.billing.conftest import TEST_URLS, hold
from tests.billing.stripe_emulator import StripeEmulator

pytestmark = [pytest.mark.django_db, pytest.mark.urls(TEST_URLS)]


def test_the_billing_page_shows_balance_held_available_and_history(web_alice: Client, org_a: Organization) -> None:
    hold(org_a, 280_000, "gen_visible")
    response = web_alice.get("/billing/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "$1.00" in page  # balance
    assert "$0.28" in page  # held
    assert "$0.72" in page  # available
    assert "gen_visible" in page
    assert "Welcome credit" in page
    assert "$0.10" in page  # hailuo-02-fast 6 s in the price table


def test_the_billing_page_needs_a_login(db: None) -> None:
    response = Client().get("/billing/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_history_is_paginated_newest_first(web_alice: Client, org_a: Organization) -> None:
    for n in range(30):
        hold(org_a, 10_000, f"gen_{n:02d}")
    first = web_alice.get("/billing/").content.decode()
    second = web_alice.get("/billing/", {"page": 2}).content.decode()
    assert "gen_29" in first and "gen_00" not in first
    assert "gen_00" in second and "gen_29" not in second
    assert "Welcome credit" in second


def test_without_stripe_keys_the_page_says_payments_are_not_configured(
    settings: Any, web_alice: Client, org_a: Organization
) -> None:
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""
    page = web_alice.get("/billing/").content.decode()
    assert "Payments are not configured" in page
    response = web_alice.post("/billing/buy/", {"pack": "10"}, follow=True)
    assert response.status_code == 200
    assert "Payments are not configured" in response.content.decode()
    assert not TopUp.objects.exists()


def test_an_owner_buying_a_pack_is_sent_to_stripe_checkout(
    stripe_configured: StripeEmulator, web_alice: Client, org_a: Organization, alice: Any
) -> None:
    response = web_alice.post("/billing/buy/", {"pack": "25.00"})
    assert response.status_code == 303
    session_id = response["Location"].rsplit("/", 1)[1]
    assert response["Location"] == f"https://checkout.stripe.com/c/pay/{session_id}"

    topup = TopUp.objects.get(organization=org_a)
    assert (topup.amount_micros, topup.status, topup.stripe_session_id) == (25_000_000, "pending", session_id)
    [customer_call] = stripe_configured.requests_to("POST", "/v1/customers")
    assert customer_call.params["metadata"] == {"organization": org_a.public_id}
    assert customer_call.params["email"] == alice.email
    [session_call] = stripe_configured.requests_to("POST", "/v1/checkout/sessions")
    params = session_call.params
    assert params["mode"] == "payment"
    assert params["line_items"][0]["price_data"] == {
        "currency": "usd",
        "unit_amount": "2500",
        "product_data": {"name": "$25.00 of video generation credit"},
    }
    assert params["metadata"] == {"organization": org_a.public_id, "topup": topup.public_id}
    assert params["customer"] == CreditAccount.objects.get(organization=org_a).stripe_customer_id
    assert params["success_url"] == f"http://testserver/billing/topups/{topup.public_id}/success/"
    assert session_call.headers["idempotency-key"] == f"checkout:{topup.public_id}"
    # Nothing is credited until Stripe's webhook says the payment succeeded.
    assert CreditAccount.objects.get(organization=org_a).balance_micros == 1_000_000


def test_an_organization_keeps_one_stripe_customer(
    stripe_configured: StripeEmulator, web_alice: Client, org_a: Organization
) -> None:
    web_alice.post("/billing/buy/", {"pack": "10.00"})
    web_alice.post("/billing/buy/", {"pack": "custom", "amount_usd": "42.50"})
    assert len(stripe_configured.requests_to("POST", "/v1/customers")) == 1
    sessions = stripe_configured.requests_to("POST", "/v1/checkout/sessions")
    assert [s.params["line_items"][0]["price_data"]["unit_amount"] for s in sessions] == ["1000", "4250"]
    assert len({s.params["customer"] for s in sessions}) == 1


@pytest.mark.parametrize("amount", ["4.99", "1000.01"])
def test_a_custom_amount_outside_the_limits_is_refused(
    stripe_configured: StripeEmulator, web_alice: Client, amount: str
) -> None:
    response = web_alice.post("/billing/buy/", {"pack": "custom", "amount_usd": amount}, follow=True)
    assert "Choose an amount between $5.00 and $1,000.00" in response.content.decode()
    assert stripe_configured.requests == []
    assert not TopUp.objects.exists()


def test_a_member_cannot_buy_credits(stripe_configured: StripeEmulator, web_bob: Client) -> None:
    response = web_bob.post("/billing/buy/", {"pack": "10.00"})
    assert response.status_code == 403
    assert "Only owners and admins" in response.content.decode()
    assert stripe_configured.requests == []
    assert not TopUp.objects.exists()


def test_when_stripe_refuses_the_buyer_sees_an_error(
    stripe_configured: StripeEmulator, settings: Any, web_alice: Client
) -> None:
    settings.STRIPE_SECRET_KEY = "sk_test_wrong"
    response = web_alice.post("/billing/buy/", {"pack": "10.00"}, follow=True)
    assert response.status_code == 200
    assert "could not be reached" in response.content.decode()


def test_an_admin_sets_the_low_balance_threshold_and_monthly_cap(web_alice: Client, org_a: Organization) -> None:
    response = web_alice.post("/billing/settings/", {"low_balance_threshold_usd": "5", "monthly_cap_usd": "20.50"})
    assert response.status_code == 302
    account = CreditAccount.objects.get(organization=org_a)
    assert (account.low_balance_threshold_micros, account.monthly_cap_micros) == (5_000_000, 20_500_000)
    web_alice.post("/billing/settings/", {"low_balance_threshold_usd": "0", "monthly_cap_usd": ""})
    account.refresh_from_db()
    assert (account.low_balance_threshold_micros, account.monthly_cap_micros) == (0, None)


def test_a_negative_threshold_is_refused(web_alice: Client, org_a: Organization) -> None:
    web_alice.post("/billing/settings/", {"low_balance_threshold_usd": "-1"})
    assert CreditAccount.objects.get(organization=org_a).low_balance_threshold_micros == 2_000_000


def test_a_member_cannot_change_billing_settings(web_bob: Client, org_a: Organization) -> None:
    web_bob.post("/billing/settings/", {"low_balance_threshold_usd": "50", "monthly_cap_usd": "1"})
    account = CreditAccount.objects.get(organization=org_a)
    assert (account.low_balance_threshold_micros, account.monthly_cap_micros) == (2_000_000, None)


def test_the_return_pages_show_the_purchase_to_its_organization_only(
    stripe_configured: StripeEmulator, web_alice: Client, web_bob: Client, web_carol: Client, org_a: Organization
) -> None:
    web_alice.post("/billing/buy/", {"pack": "10.00"})
    topup = TopUp.objects.get(organization=org_a)
    success = web_alice.get(f"/billing/topups/{topup.public_id}/success/")
    assert success.status_code == 200
    assert "waiting for Stripe to confirm your payment of $10.00" in success.content.decode()
    canceled = web_bob.get(f"/billing/topups/{topup.public_id}/canceled/")
    assert "you were not charged" in canceled.content.decode()
    assert web_carol.get(f"/billing/topups/{topup.public_id}/success/").status_code == 404


def test_each_organization_sees_only_its_own_billing_page(
    web_carol: Client, org_a: Organization, org_b: Organization
) -> None:
    hold(org_a, 370_000, "gen_of_alice")
    page = web_carol.get("/billing/").content.decode()
    assert "gen_of_alice" not in page
    assert "$0.37" not in page
    assert "$1.00" in page  # carol's own sign-up credit
