"""Stripe top-ups end to end, offline: the product talks to the loopback emulator and
receives events signed with Stripe's scheme. Every test's webhooks are delivered a
second time when it ends (the `stripe_webhook` fixture) and must change nothing.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from accounts.models import Organization
from billing import services
from billing.models import StripeEvent, TopUp
from billing.selectors import balance_get, ledger_drift, ledger_list
from tests.billing.conftest import TEST_URLS, WebhookSender, hold
from tests.billing.stripe_emulator import StripeEmulator
from webhooks.models import Event

pytestmark = [pytest.mark.django_db, pytest.mark.urls(TEST_URLS)]

START = 1_000_000  # the sign-up grant


def buy(client: Client, amount: str) -> tuple[TopUp, str]:
    """Click a buy button; returns the pending top-up and its Checkout session id."""
    response = client.post("/billing/buy/", {"pack": "custom", "amount_usd": amount})
    assert response.status_code == 303, response
    topup = TopUp.objects.order_by("-created_at").first()
    return topup, topup.stripe_session_id


def outcome(event: dict[str, Any]) -> str:
    return StripeEvent.objects.get(event_id=event["id"]).outcome


@pytest.fixture
def purchase(stripe_configured: StripeEmulator, web_alice: Client) -> tuple[TopUp, str]:
    return buy(web_alice, "25.00")


def test_a_paid_checkout_credits_the_organization_once(
    stripe_configured: StripeEmulator, stripe_webhook: WebhookSender, purchase: tuple[TopUp, str], org_a: Organization
) -> None:
    topup, session_id = purchase
    event = stripe_configured.session_complete(session_id)
    response = stripe_webhook.send(event)
    assert response.status_code == 200
    assert response.json()["outcome"] == "applied"
    assert balance_get(org_a).balance_micros == START + 25_000_000
    topup.refresh_from_db()
    assert topup.status == "paid"
    entry = ledger_list(org_a).first()
    assert (entry.kind, entry.amount_micros) == ("topup", 25_000_000)
    assert Event.objects.filter(organization=org_a, type="credits.topped_up").count() == 1


def test_a_replayed_event_is_applied_once(
    stripe_configured: StripeEmulator, stripe_webhook: WebhookSender, purchase: tuple[TopUp, str], org_a: Organization
) -> None:
    event = stripe_configured.session_complete(purchase[1])
    stripe_webhook.send(event)
    again = stripe_webhook.send(event)
    assert again.status_code == 200
    assert again.json()["outcome"] == "duplicate"
    assert balance_get(org_a).balance_micros == START + 25_000_000
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1


def test_completed_and_async_succeeded_for_one_session_credit_once(
    stripe_configured: StripeEmulator, stripe_webhook: WebhookSender, purchase: tuple[TopUp, str], org_a: Organization
) -> None:
    stripe_webhook.send(stripe_configured.session_complete(purchase[1]))
    late = stripe_configured.session_async_succeeded(purchase[1])
    assert stripe_webhook.send(late).status_code == 200
    assert outcome(late) == "ignored"
    assert balance_get(org_a).balance_micros == START + 25_000_000


def test_a_delayed_payment_is_credited_when_it_succeeds(
    stripe_configured: StripeEmulator, stripe_webhook: WebhookSender, purchase: tuple[TopUp, str], org_a: Organization
) -> None:
    unpaid = stripe_configured.session_complete(purchase[1], payment_status="unpaid")
    assert stripe_webhook.send(unpaid).status_code == 200
    assert outcome(unpaid) == "ignored"
    assert balance_get(org_a).balance_micros == START
    settled = stripe_configured.session_async_succeeded(purchase[1])
    assert stripe_webhook.send(settled).status_code == 200
    assert outcome(settled) == "applied"
    assert balance_get(org_a).balance_micros == START + 25_000_000


def test_the_page_a_buyer_returns_to_shows_the_credit_once_stripe_confirmed_it(
    stripe_configured: StripeEmulator, stripe_webhook: WebhookSender, purchase: tuple[TopUp, str], web_alice: Client
) -> None:
    topup, session_id = purchase
    stripe_webhook.send(stripe_configured.session_complete(session_id))
    page = web_alice.get(f"/billing/topups/{topup.public_id}/success/").content.decode()
    assert "$25.00 of credit has been added" in page


def test_a_wrong_signature_is_refused(
    stripe_configured: StripeEmulator, stripe_webhook: WebhookSender, purchase: tuple[TopUp, str], org_a: Organization
) -> None:
    event = stripe_configured.session_complete(purchase[1])
    assert stripe_webhook.send(event, secret="whsec_someone_else").status_code == 400
    assert stripe_webhook.send(event, header="").status_code == 400
    assert stripe_webhook.send(event, header="t=abc,v1=nothex").status_code == 400
    assert not StripeEvent.objects.exists()
    assert balance_get(org_a).balance_micros == START


def test_a_body_changed_after_signing_is_refused(
    stripe_configured: StripeEmulator, stripe_webhook: WebhookSender, purchase: tuple[TopUp, str], org_a: Organization
) -> None:
    import json

    from tests.billing.conftest import WEBHOOK_SECRET
    from tests.billing.stripe_emulator import signature_header

    event = stripe_configured.session_complete(purchase[1])
    header = signature_header(json.dumps(event), WEBHOOK_SECRET)
    event["data"]["object"]["amount_total"] = 10_000_000
    assert stripe_webhook.send(event, header=header).status_code == 400
    assert balance_get(org_a).balance_micros == START


@pytest.mark.parametrize("age", [301, 3600, 86400])
def test_a_timestamp_outside_the_tolerance_is_refused(
    stripe_configured: StripeEmulator,
    stripe_webhook: WebhookSender,
    purchase: tuple[TopUp, str],
    org_a: Organization,
    age: int,
) -> None:
    event = stripe_configured.session_complete(purchase[1])
    response = stripe_webhook.send(event, timestamp=int(time.time()) - age)
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()
    assert balance_get(org_a).balance_micros == START


def test_an_unknown_event_type_is_acknowledged_and_ignored(
    stripe_configured: StripeEmulator, stripe_webhook: WebhookSender, org_a: Organization
) -> None:
    event = stripe_configured.event("customer.subscription.created", {"id": "sub_123", "object": "subscription"})
    response = stripe_webhook.send(event)
    assert response.status_code == 200
    assert outcome(event) == "ignored"
    assert balance_get(org_a).balance_micros == START


@pytest.mark.parametrize(
    ("overrides", "detail"),
    [({"amount_total": 250}, "250 usd"), ({"currency": "eur"}, "2500 eur"), ({"amount_total": 2_500_000}, "2500000")],
)
def test_an_amount_or_currency_mismatch_grants_nothing_and_is_recorded(
    stripe_configured: StripeEmulator,
    stripe_webhook: WebhookSender,
    purchase: tuple[TopUp, str],
    org_a: Organization,
    overrides: dict[str, Any],
    detail: str,
) -> None:
    """Answered 200: the event is authentic but can never apply, so Stripe must not retry it for days."""
    event = stripe_configured.session_complete(purchase[1], **overrides)
    response = stripe_webhook.send(event)
    assert response.status_code == 200
    record = StripeEvent.objects.get(event_id=event["id"])
    assert record.outcome == "mismatch"
    assert detail in record.detail
    assert record.organization == org_a
    assert TopUp.objects.get(pk=purchase[0].pk).status == "pending"
    assert balance_get(org_a).balance_micros == START


def test_an_event_for_an_unknown_organization_is_recorded(
    stripe_configured: StripeEmulator, stripe_webhook: WebhookSender, purchase: tuple[TopUp, str], org_a: Organization
) -> None:
    event = stripe_configured.session_complete(
        purchase[1], metadata={"organization": "org_000000000000000000000000", "topup": purchase[0].public_id}
    )
    assert stripe_webhook.send(event).status_code == 200
    assert outcome(event) == "unknown_organization"
    assert balance_get(org_a).balance_micros == START


def test_a_top_up_of_another_organization_is_not_credited(
    stripe_configured: StripeEmulator,
    stripe_webhook: WebhookSender,
    purchase: tuple[TopUp, str],
    org_a: Organization,
    org_b: Organization,
) -> None:
    """Metadata naming org B with org A's top-up finds nothing: a top-up is looked up within its organization."""
    event = stripe_configured.session_complete(
        purchase[1], metadata={"organization": org_b.public_id, "topup": purchase[0].public_id}
    )
    assert stripe_webhook.send(event).status_code == 200
    assert outcome(event) == "unknown_topup"
    assert balance_get(org_a).balance_micros == START
    assert balance_get(org_b).balance_micros == START


def test_a_refund_takes_the_credit_back(
    stripe_configured: StripeEmulator, stripe_webhook: WebhookSender, purchase: tuple[TopUp, str], org_a: Organization
) -> None:
    topup, session_id = purchase
    stripe_webhook.send(stripe_configured.session_complete(session_id))
    stripe_webhook.send(stripe_configured.charge_refund(session_id, 1000))  # $10 of $25
    assert balance_get(org_a).balance_micros == START + 15_000_000
    stripe_webhook.send(stripe_configured.charge_refund(session_id, 1500))  # the rest
    assert balance_get(org_a).balance_micros == START
    topup.refresh_from_db()
    assert (topup.status, topup.refunded_micros, topup.refund_shortfall_micros) == ("refunded", 25_000_000, 0)
    assert Event.objects.filter(organization=org_a, type="billing.refunded").count() == 2
    assert ledger_drift() == []


def test_a_refund_of_spent_credit_never_goes_below_zero_and_records_the_shortfall(
    stripe_configured: StripeEmulator, stripe_webhook: WebhookSender, purchase: tuple[TopUp, str], org_a: Organization
) -> None:
    topup, session_id = purchase
    stripe_webhook.send(stripe_configured.session_complete(session_id))
    hold(org_a, 20_000_000, "gen_spent")
    services.hold_capture(reference="gen_spent")  # $26 → $6
    hold(org_a, 1_000_000, "gen_running")  # $1 of it is held: $5 available

    response = stripe_webhook.send(stripe_configured.charge_refund(session_id, 2500))
    assert response.status_code == 200
    balance = balance_get(org_a)
    assert (balance.balance_micros, balance.held_micros, balance.available_micros) == (1_000_000, 1_000_000, 0)
    topup.refresh_from_db()
    assert (topup.refunded_micros, topup.refund_shortfall_micros) == (25_000_000, 20_000_000)
    refunded = Event.objects.get(organization=org_a, type="billing.refunded")
    assert refunded.data["shortfall"]["micros"] == 20_000_000
    assert services.hold_capture(reference="gen_running") is True  # the running job still completes
    assert balance_get(org_a).balance_micros == 0
    assert ledger_drift() == []


def test_a_refund_for_a_payment_we_do_not_know_is_recorded(
    stripe_configured: StripeEmulator, stripe_webhook: WebhookSender, org_a: Organization
) -> None:
    charge = {
        "id": "ch_x",
        "object": "charge",
        "payment_intent": "pi_unknown",
        "amount_refunded": 500,
        "currency": "usd",
    }
    event = stripe_configured.event("charge.refunded", charge)
    assert stripe_webhook.send(event).status_code == 200
    assert outcome(event) == "unknown_organization"
    assert balance_get(org_a).balance_micros == START


def test_without_an_endpoint_secret_webhooks_are_refused(
    settings: Any, stripe_configured: StripeEmulator, purchase: tuple[TopUp, str], org_a: Organization
) -> None:
    event = stripe_configured.session_complete(purchase[1])
    settings.STRIPE_WEBHOOK_SECRET = ""
    sender = WebhookSender()
    assert sender.send(event, secret="whsec_anything").status_code == 400
    assert balance_get(org_a).balance_micros == START


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_deliveries_at_once_credit_once(
    stripe_configured: StripeEmulator, stripe_webhook: WebhookSender, purchase: tuple[TopUp, str], org_a: Organization
) -> None:
    event = stripe_configured.session_complete(purchase[1])
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def deliver() -> None:
        try:
            barrier.wait()
            answers.append(stripe_webhook.send(event).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200, 200]
    assert balance_get(org_a).balance_micros == START + 25_000_000
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1
    assert ledger_list(org_a).filter(kind="topup").count() == 1
    assert ledger_drift() == []
