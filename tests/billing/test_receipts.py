"""Every Stripe top-up has a receipt: Checkout makes a paid invoice, and the billing page links to its page."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Organization
from billing.models import TopUp
from tests.billing.conftest import TEST_URLS, WebhookSender
from tests.billing.stripe_emulator import StripeEmulator

pytestmark = [pytest.mark.django_db, pytest.mark.urls(TEST_URLS)]


def paid_topup(client: Client, emulator: StripeEmulator, webhook: WebhookSender, amount: str = "25.00") -> TopUp:
    assert client.post("/billing/buy/", {"pack": amount}).status_code == 303
    topup = TopUp.objects.order_by("-created_at").first()
    assert webhook.send(emulator.session_complete(topup.stripe_session_id)).status_code == 200
    topup.refresh_from_db()
    return topup


def test_a_paid_top_up_links_to_the_receipt_stripe_keeps(
    stripe_configured: StripeEmulator, stripe_webhook: WebhookSender, web_alice: Client, org_a: Organization
) -> None:
    topup = paid_topup(web_alice, stripe_configured, stripe_webhook)
    [session_call] = stripe_configured.requests_to("POST", "/v1/checkout/sessions")
    assert session_call.params["invoice_creation"] == {"enabled": "true"}
    assert topup.status == "paid" and topup.stripe_invoice_id.startswith("in_")

    page = web_alice.get("/billing/").content.decode()
    assert f'href="/billing/topups/{topup.public_id}/receipt/" data-testid="receipt">Receipt</a>' in page
    response = web_alice.get(f"/billing/topups/{topup.public_id}/receipt/")
    assert response.status_code == 302
    invoice = stripe_configured.invoices[topup.stripe_invoice_id]
    assert response["Location"] == invoice["hosted_invoice_url"]
    assert invoice["amount_paid"] == 2500


def test_a_purchase_without_an_invoice_says_so_and_shows_no_link(
    stripe_configured: StripeEmulator, stripe_webhook: WebhookSender, web_alice: Client, org_a: Organization
) -> None:
    topup = paid_topup(web_alice, stripe_configured, stripe_webhook)
    TopUp.objects.filter(pk=topup.pk).update(stripe_invoice_id="")  # bought before receipts existed
    assert 'data-testid="receipt"' not in web_alice.get("/billing/").content.decode()
    response = web_alice.get(f"/billing/topups/{topup.public_id}/receipt/", follow=True)
    assert "This purchase has no receipt from the payment provider." in response.content.decode()


def test_when_stripe_cannot_be_reached_the_customer_is_told(
    stripe_configured: StripeEmulator, stripe_webhook: WebhookSender, web_alice: Client, org_a: Organization
) -> None:
    topup = paid_topup(web_alice, stripe_configured, stripe_webhook)
    stripe_configured.invoices.clear()
    response = web_alice.get(f"/billing/topups/{topup.public_id}/receipt/", follow=True)
    assert "The receipt could not be fetched from the payment provider." in response.content.decode()


def test_another_organizations_receipt_is_not_found(
    stripe_configured: StripeEmulator,
    stripe_webhook: WebhookSender,
    web_alice: Client,
    web_carol: Client,
    org_a: Organization,
    org_b: Organization,
) -> None:
    topup = paid_topup(web_alice, stripe_configured, stripe_webhook)
    assert web_carol.get(f"/billing/topups/{topup.public_id}/receipt/").status_code == 404
