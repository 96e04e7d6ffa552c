"""Credit purchases through Stripe Checkout, and the Stripe events that settle them.

Credit is granted only from a verified webhook. Each Stripe event id is
stored under a unique constraint in the same transaction as its effect, so a
replayed or concurrently delivered event is applied once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization, User
from billing import stripe_api
from billing.errors import BillingError
from billing.models import (
    CreditAccount,
    EntryKind,
    StripeEvent,
    StripeEventOutcome,
    TopUp,
    TopUpStatus,
)
from billing.money import MICROS_PER_CENT, format_usd, micros_to_cents, usd_string, usd_to_micros
from billing.services import account_for, credits_grant, credits_reclaim
from webhooks.models import EventType
from webhooks.services import event_record

PACKS_USD = (Decimal("10"), Decimal("25"), Decimal("100"))
CURRENCY = "usd"
DUPLICATE = "duplicate"


def packs_micros() -> list[int]:
    return [usd_to_micros(amount) for amount in PACKS_USD]


def topup_limits_micros() -> tuple[int, int]:
    return usd_to_micros(settings.TOPUP_MIN_USD), usd_to_micros(settings.TOPUP_MAX_USD)


def topup_amount_check(amount_micros: int) -> None:
    """A pack, or a whole number of cents between TOPUP_MIN_USD and TOPUP_MAX_USD."""
    if amount_micros in packs_micros():
        return
    low, high = topup_limits_micros()
    if amount_micros % MICROS_PER_CENT:
        raise BillingError("Enter an amount in whole cents.")
    if not low <= amount_micros <= high:
        raise BillingError(f"Choose an amount between {format_usd(low)} and {format_usd(high)}.")


def stripe_customer_ensure(*, organization: Organization, email: str) -> str:
    """The organization's one Stripe customer, created on its first purchase."""
    account = account_for(organization)
    if account.stripe_customer_id:
        return account.stripe_customer_id
    customer_id = stripe_api.customer_create(
        name=organization.name, email=email, organization_public_id=organization.public_id
    )
    # Two first purchases at once get the same customer (idempotency key); the first to store it wins.
    CreditAccount.objects.filter(pk=account.pk, stripe_customer_id="").update(stripe_customer_id=customer_id)
    return CreditAccount.objects.values_list("stripe_customer_id", flat=True).get(pk=account.pk)


def _absolute(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{path}"


def topup_checkout_create(*, organization: Organization, amount_micros: int, user: User) -> tuple[TopUp, str]:
    """Start a purchase: a pending TopUp and a Stripe Checkout page; returns it with the page's URL."""
    if not stripe_api.payments_configured():
        raise BillingError("Payments are not configured. Ask an operator to add credit.")
    topup_amount_check(amount_micros)
    customer_id = stripe_customer_ensure(organization=organization, email=user.email)
    topup = TopUp.objects.create(
        organization=organization, amount_micros=amount_micros, currency=CURRENCY, created_by=user
    )
    session = stripe_api.checkout_session_create(
        customer_id=customer_id,
        amount_cents=micros_to_cents(amount_micros),
        currency=CURRENCY,
        product_name=f"{format_usd(amount_micros)} of video generation credit",
        metadata={"organization": organization.public_id, "topup": topup.public_id},
        success_url=_absolute(reverse("billing:topup-success", args=[topup.public_id])),
        cancel_url=_absolute(reverse("billing:topup-canceled", args=[topup.public_id])),
        idempotency_key=f"checkout:{topup.public_id}",
    )
    TopUp.objects.filter(pk=topup.pk).update(stripe_session_id=session.id)
    topup.stripe_session_id = session.id
    return topup, session.url


# --- Webhook events -----------------------------------------------------------


@dataclass
class Outcome:
    outcome: str
    detail: str = ""
    organization: Organization | None = None
    topup: TopUp | None = None


def stripe_event_apply(event: dict[str, Any]) -> str:
    """Apply a verified Stripe event once; returns the outcome, or "duplicate" when already received."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = StripeEvent.objects.create(
                    event_id=event["id"], type=event["type"], livemode=bool(event.get("livemode")), payload=event
                )
        except IntegrityError:
            return DUPLICATE
        handler = HANDLERS.get(event["type"])
        if handler is None:
            result = Outcome(StripeEventOutcome.IGNORED, "event type not used")
        else:
            result = handler(event["data"]["object"])
        StripeEvent.objects.filter(pk=record.pk).update(
            outcome=result.outcome, detail=result.detail[:500], organization=result.organization, topup=result.topup
        )
    return result.outcome


def _topup_from_metadata(metadata: dict[str, Any]) -> Outcome | TopUp:
    organization = Organization.objects.filter(public_id=metadata.get("organization") or "").first()
    if organization is None:
        return Outcome(StripeEventOutcome.UNKNOWN_ORGANIZATION, f"no organization {metadata.get('organization')!r}")
    topup = (
        TopUp.objects.select_for_update()
        .select_related("organization")
        .filter(organization=organization, public_id=metadata.get("topup") or "")
        .first()
    )
    if topup is None:
        return Outcome(StripeEventOutcome.UNKNOWN_TOPUP, f"no top-up {metadata.get('topup')!r}", organization)
    return topup


def _checkout_paid(session: dict[str, Any]) -> Outcome:
    """checkout.session.completed (when paid) and checkout.session.async_payment_succeeded."""
    if session.get("mode") != "payment":
        return Outcome(StripeEventOutcome.IGNORED, "not a one-time payment")
    if session.get("payment_status") != "paid":
        return Outcome(StripeEventOutcome.IGNORED, f"payment status is {session.get('payment_status')!r}")
    found = _topup_from_metadata(session.get("metadata") or {})
    if isinstance(found, Outcome):
        return found
    topup = found
    organization = topup.organization
    paid_cents, paid_currency = session.get("amount_total"), str(session.get("currency") or "").lower()
    if paid_cents != micros_to_cents(topup.amount_micros) or paid_currency != topup.currency:
        expected = micros_to_cents(topup.amount_micros)
        detail = f"paid {paid_cents} {paid_currency} (minor units), expected {expected} {topup.currency}"
        return Outcome(StripeEventOutcome.MISMATCH, detail, organization, topup)
    if topup.stripe_session_id and topup.stripe_session_id != session.get("id"):
        return Outcome(
            StripeEventOutcome.MISMATCH, f"session {session.get('id')} is not this top-up's", organization, topup
        )
    claimed = TopUp.objects.filter(pk=topup.pk, status=TopUpStatus.PENDING).update(
        status=TopUpStatus.PAID,
        paid_at=timezone.now(),
        stripe_payment_intent_id=session.get("payment_intent") or "",
        stripe_invoice_id=session.get("invoice") or "",
    )
    if not claimed:
        return Outcome(StripeEventOutcome.IGNORED, "top-up already credited", organization, topup)
    credits_grant(
        organization=organization,
        amount_micros=topup.amount_micros,
        kind=EntryKind.TOPUP,
        idempotency_key=f"topup:{topup.public_id}",
        reason=f"Stripe payment {session.get('id')}",
    )
    event_record(
        organization,
        EventType.CREDITS_TOPPED_UP,
        {"topup": topup.public_id, "amount": {"usd": usd_string(topup.amount_micros), "micros": topup.amount_micros}},
        dedupe_key=f"credits.topped_up:{topup.public_id}",
    )
    return Outcome(StripeEventOutcome.APPLIED, f"credited {format_usd(topup.amount_micros)}", organization, topup)


def _topup_for_charge(charge: dict[str, Any]) -> Outcome | TopUp:
    payment_intent = charge.get("payment_intent") or ""
    if payment_intent:
        topup = (
            TopUp.objects.select_for_update()
            .select_related("organization")
            .filter(stripe_payment_intent_id=payment_intent)
            .first()
        )
        if topup is not None:
            return topup
    return _topup_from_metadata(charge.get("metadata") or {})


def _charge_refunded(charge: dict[str, Any]) -> Outcome:
    """charge.refunded: take back what was refunded (cumulative at Stripe), never below zero."""
    found = _topup_for_charge(charge)
    if isinstance(found, Outcome):
        return found
    topup = found
    organization = topup.organization
    if topup.status == TopUpStatus.PENDING:
        return Outcome(StripeEventOutcome.IGNORED, "refund of a top-up that was never credited", organization, topup)
    if str(charge.get("currency") or "").lower() != topup.currency:
        return Outcome(StripeEventOutcome.MISMATCH, f"refund in {charge.get('currency')!r}", organization, topup)
    refunded_total = min(int(charge.get("amount_refunded") or 0) * MICROS_PER_CENT, topup.amount_micros)
    delta = refunded_total - topup.refunded_micros
    if delta <= 0:
        return Outcome(StripeEventOutcome.IGNORED, "refund already applied", organization, topup)
    _entry, shortfall = credits_reclaim(
        organization=organization,
        amount_micros=delta,
        idempotency_key=f"stripe-refund:{topup.public_id}:{refunded_total}",
        reason=f"Stripe refund of charge {charge.get('id')}",
    )
    TopUp.objects.filter(pk=topup.pk).update(
        refunded_micros=refunded_total,
        refund_shortfall_micros=F("refund_shortfall_micros") + shortfall,
        status=TopUpStatus.REFUNDED if refunded_total >= topup.amount_micros else topup.status,
    )
    taken = delta - shortfall
    event_record(
        organization,
        EventType.BILLING_REFUNDED,
        {
            "source": "topup",
            "topup": topup.public_id,
            "refunded": {"usd": usd_string(delta), "micros": delta},
            "credit_removed": {"usd": usd_string(taken), "micros": taken},
            "shortfall": {"usd": usd_string(shortfall), "micros": shortfall},
        },
        dedupe_key=f"billing.refunded:{topup.public_id}:{refunded_total}",
    )
    detail = f"removed {format_usd(taken)} of credit"
    if shortfall:
        detail += f"; shortfall {format_usd(shortfall)} (already spent)"
    return Outcome(StripeEventOutcome.APPLIED, detail, organization, topup)


HANDLERS: dict[str, Callable[[dict[str, Any]], Outcome]] = {
    "checkout.session.completed": _checkout_paid,
    "checkout.session.async_payment_succeeded": _checkout_paid,
    "charge.refunded": _charge_refunded,
}
