"""Billing fixtures: a funded organization helper, the Stripe emulator and a webhook sender.

The shared fixtures (alice, bob, carol, org_a, org_b, api keys, clients) come from tests/conftest.py.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from accounts.models import ApiKey, Organization
from billing import services
from billing.models import CreditAccount, Hold, LedgerEntry, StripeEvent, TopUp
from tests.billing.stripe_emulator import API_KEY, StripeEmulator, signature_header
from webhooks.models import Event

WEBHOOK_SECRET = "whsec_test_billing_emulator"
TEST_URLS = "tests.billing.urls"


def fund(organization: Organization, usd_micros: int, key: str = "test-funding") -> None:
    """Give an organization exactly `usd_micros` of available credit on top of what it has."""
    services.credits_grant(
        organization=organization,
        amount_micros=usd_micros,
        kind="grant",
        idempotency_key=f"{key}:{organization.public_id}",
        reason="test funding",
    )


def hold(organization: Organization, amount: int, reference: str, api_key: ApiKey | None = None) -> Hold:
    """What the generation pipeline does: hold inside its own transaction."""
    with transaction.atomic():
        return services.credits_hold(
            organization=organization, amount_micros=amount, reference=reference, api_key=api_key
        )


def available(organization: Organization) -> int:
    account = CreditAccount.objects.get(organization=organization)
    return account.balance_micros - account.held_micros


@pytest.fixture(autouse=True)
def billing_settings(settings: Any) -> None:
    """The documented defaults, whatever the environment says; no real Stripe account is ever used."""
    settings.SIGNUP_GRANT_USD = Decimal("1.00")
    settings.LOW_BALANCE_DEFAULT_USD = Decimal("2.00")
    settings.TOPUP_MIN_USD = Decimal("5.00")
    settings.TOPUP_MAX_USD = Decimal("1000.00")
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""
    settings.STRIPE_API_BASE = ""


@pytest.fixture
def stripe_emulator() -> Iterator[StripeEmulator]:
    emulator = StripeEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def stripe_configured(settings: Any, stripe_emulator: StripeEmulator) -> StripeEmulator:
    settings.STRIPE_SECRET_KEY = API_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = stripe_emulator.base_url
    settings.PUBLIC_BASE_URL = "http://testserver"
    return stripe_emulator


class WebhookSender:
    """Posts signed events to our endpoint and remembers every delivery, so they can all be replayed."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()

    def send(
        self,
        event: dict[str, Any] | str,
        *,
        secret: str = WEBHOOK_SECRET,
        timestamp: int | None = None,
        header: str | None = None,
    ) -> HttpResponse:
        payload = event if isinstance(event, str) else json.dumps(event)
        header = header if header is not None else signature_header(payload, secret, timestamp)
        response = self._post(payload, header)
        with self._lock:
            self.deliveries.append((payload, header, response.status_code))
        return response

    def _post(self, payload: str, header: str) -> HttpResponse:
        return Client().post(
            reverse("billing:stripe-webhook"),
            data=payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=header,
        )

    def replay_all(self) -> None:
        """Deliver everything again; each answer must be what Stripe got the first time."""
        for payload, header, status in list(self.deliveries):
            assert self._post(payload, header).status_code == status


def money_state() -> dict[str, Any]:
    """Everything a webhook may change, to compare before and after a replay."""
    return {
        "accounts": sorted(CreditAccount.objects.values_list("organization_id", "balance_micros", "held_micros")),
        "ledger": sorted(LedgerEntry.objects.values_list("idempotency_key", "amount_micros")),
        "topups": sorted(
            TopUp.objects.values_list("public_id", "status", "refunded_micros", "refund_shortfall_micros")
        ),
        "stripe_events": sorted(StripeEvent.objects.values_list("event_id", "outcome")),
        "events": sorted(Event.objects.values_list("dedupe_key", flat=True)),
    }


@pytest.fixture
def stripe_webhook(settings: Any) -> Iterator[WebhookSender]:
    """After each test, every webhook it delivered is delivered again: that must change nothing."""
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    sender = WebhookSender()
    yield sender
    if not sender.deliveries:
        return
    before = money_state()
    sender.replay_all()
    assert money_state() == before, "replaying the test's Stripe webhooks changed money state"
