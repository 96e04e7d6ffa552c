"""Credit accounts, the append-only ledger, holds, price rules and Stripe top-ups.

All money is integer micro-dollars (1 USD = 1_000_000) in BigIntegerFields.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import ApiKey, Organization
from billing.money import usd_to_micros


def new_ledger_id() -> str:
    return f"led_{secrets.token_hex(12)}"


def new_topup_id() -> str:
    return f"top_{secrets.token_hex(12)}"


def default_low_balance_threshold() -> int:
    return usd_to_micros(settings.LOW_BALANCE_DEFAULT_USD)


class CreditAccount(models.Model):
    """An organization's prepaid credit. `balance - held` is what new jobs may reserve."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="credit_account")
    balance_micros = models.BigIntegerField(default=0)
    held_micros = models.BigIntegerField(default=0)
    # How many holds are open: one per job accepted and not yet finished, kept with held_micros.
    open_holds = models.PositiveIntegerField(default=0)
    low_balance_threshold_micros = models.BigIntegerField(default=default_low_balance_threshold)
    # Armed until the balance drops below the threshold; re-armed when it is back at or above it.
    low_balance_armed = models.BooleanField(default=True)
    monthly_cap_micros = models.BigIntegerField(null=True, blank=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(held_micros__gte=0), name="creditaccount_held_not_negative"),
            models.CheckConstraint(
                condition=Q(balance_micros__gte=F("held_micros")), name="creditaccount_available_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(low_balance_threshold_micros__gte=0), name="creditaccount_threshold_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(monthly_cap_micros__isnull=True) | Q(monthly_cap_micros__gte=0),
                name="creditaccount_monthly_cap_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"Credit of {self.organization}"

    @property
    def available_micros(self) -> int:
        return self.balance_micros - self.held_micros


class EntryKind(models.TextChoices):
    GRANT = "grant", "Promotional grant"
    TOPUP = "topup", "Top-up purchase"
    HOLD = "hold", "Hold"
    CAPTURE = "capture", "Capture"
    RELEASE = "release", "Release"
    REFUND = "refund", "Refund"
    ADJUSTMENT = "adjustment", "Manual adjustment"


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk updates and deletes are refused, like single-row ones."""

    def update(self, **kwargs: Any) -> int:
        raise TypeError("ledger entries are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("ledger entries are append-only")


class LedgerEntry(models.Model):
    """One booked movement of credit. Rows are never changed or deleted.

    `amount_micros` is the effect on the balance and `held_delta_micros` on
    the held amount, so the account always equals the sums over its entries.
    """

    public_id = models.CharField(max_length=40, unique=True, default=new_ledger_id, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="ledger_entries")
    kind = models.CharField(max_length=12, choices=EntryKind.choices)
    amount_micros = models.BigIntegerField()
    held_delta_micros = models.BigIntegerField(default=0)
    balance_after_micros = models.BigIntegerField()
    idempotency_key = models.CharField(max_length=200, unique=True)
    # `reason` is the operators' internal note; `description` is what the customer is shown (blank: the
    # entry's kind says it in plain words).
    reason = models.CharField(max_length=300, blank=True)
    description = models.CharField(max_length=300, blank=True)
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The generation's public id for hold, capture, release and refund entries.
    reference = models.CharField(max_length=60, blank=True, db_index=True)
    api_key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=["organization", "-id"], name="ledger_org_newest")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=EntryKind.values), name="ledger_kind_valid"),
            models.CheckConstraint(
                condition=~Q(kind__in=["grant", "topup"]) | Q(amount_micros__gt=0, held_delta_micros=0),
                name="ledger_credit_is_positive",
            ),
            models.CheckConstraint(
                condition=~Q(kind="hold") | Q(amount_micros=0, held_delta_micros__gt=0), name="ledger_hold_shape"
            ),
            models.CheckConstraint(
                condition=~Q(kind="capture") | Q(amount_micros__lt=0, held_delta_micros=F("amount_micros")),
                name="ledger_capture_shape",
            ),
            models.CheckConstraint(
                condition=~Q(kind="release") | Q(amount_micros=0, held_delta_micros__lt=0),
                name="ledger_release_shape",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["refund", "adjustment"]) | (~Q(amount_micros=0) & Q(held_delta_micros=0)),
                name="ledger_refund_adjustment_shape",
            ),
            models.CheckConstraint(
                condition=~Q(kind="adjustment") | ~Q(reason=""), name="ledger_adjustment_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_micros} ({self.idempotency_key})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("ledger entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("ledger entries are append-only")


class HoldStatus(models.TextChoices):
    OPEN = "open", "Open"
    CAPTURED = "captured", "Captured"
    RELEASED = "released", "Released"
    REFUNDED = "refunded", "Refunded"


class Hold(models.Model):
    """Credit reserved for one generation; settled exactly once (captured or released).

    The price and, once known, the provider's cost are kept here so margin can be reported.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="holds")
    api_key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="holds")
    amount_micros = models.BigIntegerField()
    upstream_cost_micros = models.BigIntegerField(null=True, blank=True)
    reference = models.CharField(max_length=60, unique=True)
    status = models.CharField(max_length=10, choices=HoldStatus.choices, default=HoldStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["organization", "status", "created_at"], name="hold_org_status_created"),
            models.Index(fields=["api_key", "status"], name="hold_key_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_micros__gt=0), name="hold_amount_positive"),
            models.CheckConstraint(condition=Q(status__in=HoldStatus.values), name="hold_status_valid"),
            models.CheckConstraint(
                condition=Q(upstream_cost_micros__isnull=True) | Q(upstream_cost_micros__gte=0),
                name="hold_upstream_cost_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"Hold {self.reference} ({self.status})"


@dataclass(frozen=True)
class Variant:
    """One priced combination: model × duration × resolution × mode."""

    model: str
    duration: int
    resolution: str
    mode: str = ""

    @property
    def key(self) -> str:
        parts = [self.model, f"{self.duration}s", self.resolution]
        if self.mode:
            parts.append(self.mode)
        return ":".join(parts)


class PriceRule(models.Model):
    """What one run of a catalog variant costs the customer, and what it costs us upstream."""

    model = models.CharField(max_length=40)
    duration = models.PositiveSmallIntegerField()
    resolution = models.CharField(max_length=10)
    mode = models.CharField(max_length=20, blank=True)
    price_micros = models.BigIntegerField()
    upstream_cost_micros = models.BigIntegerField()
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model", "resolution", "duration", "mode"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "duration", "resolution", "mode"], name="pricerule_unique_variant"
            ),
            models.CheckConstraint(condition=Q(price_micros__gt=0), name="pricerule_price_positive"),
            models.CheckConstraint(condition=Q(upstream_cost_micros__gte=0), name="pricerule_cost_not_negative"),
        ]

    def __str__(self) -> str:
        return self.variant_key

    @property
    def variant_key(self) -> str:
        parts = [self.model, f"{self.duration}s", self.resolution]
        if self.mode:
            parts.append(self.mode)
        return ":".join(parts)


class RejectionKind(models.TextChoices):
    INSUFFICIENT_CREDITS = "insufficient_credits", "Insufficient credits"
    SPEND_LIMIT_EXCEEDED = "spend_limit_exceeded", "Spend limit exceeded"


class InsufficientCreditRejection(models.Model):
    """A generation refused for money reasons, kept for operators."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="credit_rejections")
    api_key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=24, choices=RejectionKind.choices)
    model = models.CharField(max_length=40, blank=True)
    price_micros = models.BigIntegerField()
    available_micros = models.BigIntegerField(null=True, blank=True)
    limit = models.CharField(max_length=24, blank=True)
    limit_micros = models.BigIntegerField(null=True, blank=True)
    spent_micros = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=RejectionKind.values), name="rejection_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.organization} at {self.created_at:%Y-%m-%d %H:%M}"


class TopUpStatus(models.TextChoices):
    PENDING = "pending", "Awaiting payment"
    PAID = "paid", "Paid"
    REFUNDED = "refunded", "Refunded"


class TopUp(models.Model):
    """A credit purchase through Stripe Checkout. Credit is granted from the signed webhook only."""

    public_id = models.CharField(max_length=40, unique=True, default=new_topup_id, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="topups")
    amount_micros = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="usd")
    status = models.CharField(max_length=10, choices=TopUpStatus.choices, default=TopUpStatus.PENDING)
    stripe_session_id = models.CharField(max_length=255, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    # The invoice Checkout made for this payment: the customer's receipt (its hosted page and PDF).
    stripe_invoice_id = models.CharField(max_length=255, blank=True)
    # Refunds are cumulative at Stripe; what could not be taken back (credit already spent) is the shortfall.
    refunded_micros = models.BigIntegerField(default=0)
    refund_shortfall_micros = models.BigIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_micros__gt=0), name="topup_amount_positive"),
            models.CheckConstraint(condition=Q(status__in=TopUpStatus.values), name="topup_status_valid"),
            models.CheckConstraint(
                condition=Q(refunded_micros__gte=0, refund_shortfall_micros__gte=0)
                & Q(refund_shortfall_micros__lte=F("refunded_micros")),
                name="topup_refund_amounts_valid",
            ),
            models.UniqueConstraint(
                fields=["stripe_session_id"], condition=~Q(stripe_session_id=""), name="topup_unique_session"
            ),
        ]

    def __str__(self) -> str:
        return f"Top-up {self.public_id} ({self.status})"


class StripeEventOutcome(models.TextChoices):
    RECEIVED = "received", "Received"
    APPLIED = "applied", "Applied"
    IGNORED = "ignored", "Ignored"
    MISMATCH = "mismatch", "Amount or currency mismatch"
    UNKNOWN_ORGANIZATION = "unknown_organization", "Unknown organization"
    UNKNOWN_TOPUP = "unknown_topup", "Unknown top-up"


class StripeEvent(models.Model):
    """Every Stripe event we accepted, once: the unique event id makes replays no-ops."""

    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    livemode = models.BooleanField(default=False)
    outcome = models.CharField(max_length=24, choices=StripeEventOutcome.choices, default=StripeEventOutcome.RECEIVED)
    detail = models.CharField(max_length=500, blank=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.SET_NULL, null=True, blank=True, related_name="stripe_events"
    )
    topup = models.ForeignKey(TopUp, on_delete=models.SET_NULL, null=True, blank=True, related_name="stripe_events")
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["event_id"], name="stripeevent_unique_event_id"),
            models.CheckConstraint(
                condition=Q(outcome__in=StripeEventOutcome.values), name="stripeevent_outcome_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id} ({self.outcome})"
