"""Reads of billing data. Tenant-owned reads take the organization."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404

from accounts.models import Organization
from billing.errors import PricingError
from billing.models import CreditAccount, Hold, HoldStatus, LedgerEntry, PriceRule, TopUp, Variant
from billing.money import usd_string


@dataclass(frozen=True)
class Quote:
    """The price of one run of a variant, and what the provider charges us for it."""

    price_micros: int
    upstream_cost_micros: int
    variant_key: str


@dataclass(frozen=True)
class Balance:
    balance_micros: int
    held_micros: int
    available_micros: int
    currency: str = "usd"


def price_quote(variant: Variant) -> Quote:
    """The one price used wherever a price is shown or charged; PricingError when not for sale."""
    rule = PriceRule.objects.filter(
        model=variant.model, duration=variant.duration, resolution=variant.resolution, mode=variant.mode
    ).first()
    if rule is None or not rule.active:
        raise PricingError(variant.key)
    return Quote(
        price_micros=rule.price_micros, upstream_cost_micros=rule.upstream_cost_micros, variant_key=variant.key
    )


def price_list(variants: Iterable[Variant]) -> list[dict[str, Any]]:
    """Every variant of `variants` (the catalog's) that is on sale, with its price, in their order."""
    rules = {(r.model, r.duration, r.resolution, r.mode): r for r in PriceRule.objects.filter(active=True)}
    prices = []
    for variant in variants:
        rule = rules.get((variant.model, variant.duration, variant.resolution, variant.mode))
        if rule is None:
            continue
        prices.append(
            {
                "variant": variant.key,
                "model": variant.model,
                "duration": variant.duration,
                "resolution": variant.resolution,
                "mode": variant.mode or None,
                "price": usd_string(rule.price_micros),
                "price_micros": rule.price_micros,
                "currency": "usd",
            }
        )
    return prices


def balance_get(organization: Organization) -> Balance:
    account = CreditAccount.objects.filter(organization=organization).first()
    if account is None:
        return Balance(balance_micros=0, held_micros=0, available_micros=0)
    return Balance(
        balance_micros=account.balance_micros,
        held_micros=account.held_micros,
        available_micros=account.available_micros,
    )


def ledger_list(organization: Organization) -> QuerySet[LedgerEntry]:
    """The organization's entries, newest first."""
    return LedgerEntry.objects.filter(organization=organization).select_related("api_key").order_by("-id")


def ledger_entry_get(organization: Organization, public_id: str) -> LedgerEntry:
    try:
        return ledger_list(organization).get(public_id=public_id)
    except LedgerEntry.DoesNotExist:
        raise Http404("No such ledger entry.") from None


def topups_list(organization: Organization) -> QuerySet[TopUp]:
    return TopUp.objects.filter(organization=organization).order_by("-created_at")


def topup_get(organization: Organization, public_id: str) -> TopUp:
    try:
        return topups_list(organization).get(public_id=public_id)
    except TopUp.DoesNotExist:
        raise Http404("No such top-up.") from None


def topups_with_receipt(organization: Organization, public_ids: Iterable[str]) -> set[str]:
    """Which of these top-ups have a Stripe invoice to show as their receipt."""
    found = topups_list(organization).filter(public_id__in=list(public_ids)).exclude(stripe_invoice_id="")
    return set(found.values_list("public_id", flat=True))


@dataclass(frozen=True)
class Drift:
    organization_public_id: str
    organization_name: str
    field: str
    recorded: int
    expected: int
    unit: str = "micro-USD"


def _sums_by_org(queryset: QuerySet, **aggregates: Any) -> dict[int, dict[str, int]]:
    rows = queryset.values("organization").annotate(**aggregates)
    return {row["organization"]: row for row in rows}


def ledger_drift() -> list[Drift]:
    """Every organization whose account differs from what its ledger and open holds say."""
    ledger = _sums_by_org(LedgerEntry.objects.order_by(), balance=Sum("amount_micros"), held=Sum("held_delta_micros"))
    holds = _sums_by_org(
        Hold.objects.filter(status=HoldStatus.OPEN).order_by(), held=Sum("amount_micros"), count=Count("id")
    )
    accounts = {a.organization_id: a for a in CreditAccount.objects.all()}
    org_ids = set(ledger) | set(holds) | set(accounts)
    names = {o.pk: o for o in Organization.objects.filter(pk__in=org_ids)}
    drift = []
    for org_id in sorted(org_ids):
        account = accounts.get(org_id)
        recorded_balance = account.balance_micros if account else 0
        recorded_held = account.held_micros if account else 0
        checks = [
            ("balance", recorded_balance, ledger.get(org_id, {}).get("balance") or 0),
            ("held", recorded_held, ledger.get(org_id, {}).get("held") or 0),
            ("open holds", recorded_held, holds.get(org_id, {}).get("held") or 0),
        ]
        counted = ("open hold count", account.open_holds if account else 0, holds.get(org_id, {}).get("count") or 0)
        org = names[org_id]
        drift += [
            Drift(org.public_id, org.name, field, recorded, expected)
            for field, recorded, expected in checks
            if recorded != expected
        ]
        if counted[1] != counted[2]:
            drift.append(Drift(org.public_id, org.name, *counted, unit="holds"))
    return drift


def margin_report(*, start: datetime, end: datetime) -> dict[str, int]:
    """Revenue, provider cost and margin of the jobs captured in [start, end), for operators."""
    totals = Hold.objects.filter(status=HoldStatus.CAPTURED, settled_at__gte=start, settled_at__lt=end).aggregate(
        jobs=Count("id"),
        revenue=Sum("amount_micros"),
        cost=Sum("upstream_cost_micros"),
        jobs_without_cost=Count("id", filter=Q(upstream_cost_micros__isnull=True)),
    )
    revenue = totals["revenue"] or 0
    cost = totals["cost"] or 0
    return {
        "jobs": totals["jobs"],
        "jobs_without_cost": totals["jobs_without_cost"],
        "revenue_micros": revenue,
        "upstream_cost_micros": cost,
        "margin_micros": revenue - cost,
    }
