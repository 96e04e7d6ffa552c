"""Billing pages (balance, ledger, buying credit, settings) and the Stripe webhook endpoint."""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator
from datetime import UTC
from typing import Any

import stripe
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.decorators import MemberRequest, role_required
from accounts.permissions import Action, can
from billing import payments, selectors, services, stripe_api
from billing.errors import BillingError
from billing.forms import CreditSettingsForm, TopUpForm
from billing.models import EntryKind, LedgerEntry
from billing.money import format_usd, micros_to_decimal, usd_string
from videogen import catalog

logger = logging.getLogger(__name__)

LEDGER_PAGE_SIZE = 25


@role_required(Action.BILLING_VIEW)
def billing_home(request: MemberRequest) -> HttpResponse:
    organization = request.membership.organization
    account = services.account_for(organization)
    settings_form = CreditSettingsForm(
        initial={
            "low_balance_threshold_usd": micros_to_decimal(account.low_balance_threshold_micros),
            "monthly_cap_usd": None
            if account.monthly_cap_micros is None
            else micros_to_decimal(account.monthly_cap_micros),
        }
    )
    low, high = payments.topup_limits_micros()
    ledger = Paginator(selectors.ledger_list(organization), LEDGER_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "organization": organization,
        "balance": selectors.balance_get(organization),
        "account": account,
        "ledger": ledger,
        "ledger_rows": _rows_with_receipts(organization, ledger.object_list),
        "payments_configured": stripe_api.payments_configured(),
        "packs": [{"micros": m, "value": usd_string(m)} for m in payments.packs_micros()],
        "topup_min": micros_to_decimal(low),
        "topup_max": micros_to_decimal(high),
        "topup_form": TopUpForm(),
        "settings_form": settings_form,
        "prices": selectors.price_list(catalog.all_variants()),
        "can_manage": can(request.membership.role, Action.BILLING_MANAGE),
    }
    return render(request, "billing/billing.html", context)


# What each kind of entry is called on the billing page: the words a customer uses, not the ledger's.
GENERATION_WORDS: dict[str, str] = {
    EntryKind.HOLD: "Reserved for",
    EntryKind.CAPTURE: "Charged for",
    EntryKind.RELEASE: "Returned from",
}


def entry_words(entry: LedgerEntry) -> str:
    """What a customer reads for a ledger entry: its `description`, else the words for its kind.

    The operators' note (`reason`) is never shown to customers, on the page or through the API.
    """
    if entry.description:
        return entry.description
    if entry.kind in GENERATION_WORDS:
        return GENERATION_WORDS[entry.kind]
    if entry.kind == EntryKind.REFUND:
        return "Refunded for" if entry.amount_micros > 0 else "Taken back after a card refund"
    if entry.kind == EntryKind.TOPUP:
        return "Credit purchase"
    if entry.kind == EntryKind.GRANT:
        return "Welcome credit" if entry.idempotency_key.startswith("signup:") else "Free credit"
    return "Adjustment by our team"


def ledger_row(entry: LedgerEntry) -> dict[str, Any]:
    """One ledger entry in plain words (`entry_words`)."""
    generation = entry.reference if entry.reference.startswith("gen_") else ""
    words = entry_words(entry)
    if entry.description:
        generation = generation if entry.kind in GENERATION_WORDS else ""
    if entry.kind == EntryKind.HOLD:
        amount = f"{format_usd(entry.held_delta_micros)} reserved"
    elif entry.kind == EntryKind.RELEASE:
        amount = f"{format_usd(-entry.held_delta_micros)} returned"
    else:
        amount = ("+" if entry.amount_micros > 0 else "") + format_usd(entry.amount_micros)
    return {
        "entry": entry,
        "words": words,
        "generation": generation,
        "generation_url": reverse("generation", args=[generation]) if generation else "",
        "amount": amount,
        "moves_balance": entry.amount_micros != 0,
    }


TOPUP_KEY_PREFIX = "topup:"


def _rows_with_receipts(organization: Any, entries: Any) -> list[dict[str, Any]]:
    """The page's ledger rows; a paid top-up's row links to its Stripe receipt."""
    rows = [ledger_row(entry) for entry in entries]
    topup_of = {
        row["entry"].pk: row["entry"].idempotency_key.removeprefix(TOPUP_KEY_PREFIX)
        for row in rows
        if row["entry"].kind == EntryKind.TOPUP and row["entry"].idempotency_key.startswith(TOPUP_KEY_PREFIX)
    }
    with_receipt = selectors.topups_with_receipt(organization, topup_of.values())
    for row in rows:
        topup = topup_of.get(row["entry"].pk)
        row["receipt_url"] = reverse("billing:topup-receipt", args=[topup]) if topup in with_receipt else ""
    return rows


@role_required(Action.BILLING_VIEW)
def topup_receipt(request: MemberRequest, public_id: str) -> HttpResponse:
    """Send the customer to the receipt Stripe keeps for this purchase (its hosted invoice page, with a PDF)."""
    topup = selectors.topup_get(request.membership.organization, public_id)
    if not topup.stripe_invoice_id:
        messages.info(request, "This purchase has no receipt from the payment provider.")
        return redirect("billing:home")
    try:
        url = stripe_api.invoice_receipt_url(topup.stripe_invoice_id)
    except BillingError as exc:
        messages.error(request, str(exc))
        return redirect("billing:home")
    return HttpResponseRedirect(url)


class _Echo:
    """A file-like object whose write returns the line, for streaming csv rows (Django's documented pattern)."""

    def write(self, value: str) -> str:
        return value


CSV_HEADER = ["date_utc", "entry", "what", "generation", "amount_usd", "reserved_change_usd", "balance_after_usd"]


@role_required(Action.BILLING_VIEW)
def ledger_csv(request: MemberRequest) -> StreamingHttpResponse:
    """Every ledger entry of the organization, oldest first, in the billing page's words."""
    organization = request.membership.organization
    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield writer.writerow(CSV_HEADER)
        for entry in selectors.ledger_list(organization).order_by("id").iterator():
            row = ledger_row(entry)
            yield writer.writerow(
                [
                    entry.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    entry.public_id,
                    row["words"],
                    row["generation"],
                    usd_string(entry.amount_micros),
                    usd_string(entry.held_delta_micros),
                    usd_string(entry.balance_after_micros),
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    filename = f"hailuo-studio-ledger-{organization.slug}-{timezone.now():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@role_required(Action.BILLING_MANAGE)
@require_POST
def topup_start(request: MemberRequest) -> HttpResponse:
    """Send an owner or admin to Stripe Checkout for the chosen amount."""
    form = TopUpForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(map(str, form.errors.get("__all__", []))) or "Enter a valid amount.")
        return redirect("billing:home")
    try:
        _topup, url = payments.topup_checkout_create(
            organization=request.membership.organization,
            amount_micros=form.cleaned_data["amount_micros"],
            user=request.user,
        )
    except BillingError as exc:
        messages.error(request, str(exc))
        return redirect("billing:home")
    return HttpResponseRedirect(url, status=303)


@role_required(Action.BILLING_VIEW)
def topup_return(request: MemberRequest, public_id: str, outcome: str) -> HttpResponse:
    """Where Stripe sends the buyer back: the credit appears once Stripe's webhook confirms the payment."""
    topup = selectors.topup_get(request.membership.organization, public_id)
    return render(request, "billing/topup_return.html", {"topup": topup, "outcome": outcome})


@role_required(Action.BILLING_MANAGE)
@require_POST
def settings_update(request: MemberRequest) -> HttpResponse:
    form = CreditSettingsForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            text = " ".join(map(str, errors))
            messages.error(request, f"{label}: {text}" if label else text)
        return redirect("billing:home")
    threshold, cap = form.cleaned_micros()
    services.credit_settings_update(
        organization=request.membership.organization, low_balance_threshold_micros=threshold, monthly_cap_micros=cap
    )
    messages.success(request, "Billing settings saved.")
    return redirect("billing:home")


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's signed events. Anything verified is acknowledged with 200, even if we ignore it:

    a mismatch or an unknown organization is recorded for operators, and a
    non-2xx answer would only make Stripe retry an event that can never apply.
    """
    try:
        stripe_api.webhook_verify(request.body, request.headers.get("Stripe-Signature"))
        event = json.loads(request.body)
        event_id, event_type = event["id"], event["type"]
        if not isinstance(event["data"]["object"], dict):
            raise ValueError("an event carries its object")
    except stripe.SignatureVerificationError:
        return JsonResponse({"error": "invalid signature"}, status=400)
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "malformed event"}, status=400)
    outcome = payments.stripe_event_apply(event)
    logger.info("Stripe event %s (%s): %s", event_id, event_type, outcome)
    return JsonResponse({"received": True, "outcome": outcome})
