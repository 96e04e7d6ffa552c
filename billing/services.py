"""Every write to credit: grants, holds and their settlement, refunds, adjustments, settings.

Rules that keep money exact:
- the account row is locked (select_for_update, or for a hold the reserving
  UPDATE itself) before anything is decided, and every balance change is a
  conditional UPDATE in the same transaction as the ledger row that explains it;
- every ledger row has a unique idempotency key, so retries book nothing twice;
- a hold is settled by a conditional UPDATE on its status, so capture and
  release each happen at most once, whoever calls and however often.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet, Subquery, Sum
from django.utils import timezone

from accounts.models import ApiKey, Organization, User
from billing.errors import BillingError, InsufficientCredits, PricingError, SpendLimitExceeded, TooManyOpenHolds
from billing.models import (
    CreditAccount,
    EntryKind,
    Hold,
    HoldStatus,
    InsufficientCreditRejection,
    LedgerEntry,
    RejectionKind,
)
from billing.money import usd_string, usd_to_micros
from webhooks.models import EventType
from webhooks.services import event_record

SPENDING_STATUSES = (HoldStatus.OPEN, HoldStatus.CAPTURED)


def account_for(organization: Organization) -> CreditAccount:
    """The organization's credit account, created on first use."""
    account, _ = CreditAccount.objects.get_or_create(organization=organization)
    return account


def _locked_account(organization_id: int) -> CreditAccount:
    """The account with its row (and its organization's) locked until the transaction ends."""
    locked = CreditAccount.objects.select_related("organization").select_for_update()
    account = locked.filter(organization_id=organization_id).first()
    if account is None:  # first use: create it, then lock it like any other
        CreditAccount.objects.get_or_create(organization_id=organization_id)
        account = locked.get(organization_id=organization_id)
    return account


def _reserve(
    organization_id: int, amount_micros: int, *, uncapped_only: bool = False, max_open_holds: int | None = None
) -> bool:
    """Add to the held amount if the balance covers it; True when it did, the account's row then locked.

    The conditional UPDATE decides and takes the row lock at once, so two holds
    can never both spend the same credit. False (nothing changed, no lock
    kept) when the balance does not cover the amount, the organization has no
    account yet, or (when asked) it has a monthly cap or no room for another
    open hold under `max_open_holds`.
    """
    rows = CreditAccount.objects.filter(
        organization_id=organization_id, balance_micros__gte=F("held_micros") + amount_micros
    )
    if uncapped_only:
        rows = rows.filter(monthly_cap_micros__isnull=True)
    if max_open_holds is not None:
        rows = rows.filter(open_holds__lt=max_open_holds)
    return bool(rows.update(held_micros=F("held_micros") + amount_micros, open_holds=F("open_holds") + 1))


def _unreserve(account: CreditAccount, amount_micros: int) -> None:
    CreditAccount.objects.filter(pk=account.pk).update(
        held_micros=F("held_micros") - amount_micros, open_holds=F("open_holds") - 1
    )
    account.held_micros -= amount_micros
    account.open_holds -= 1


def _book(
    organization_id: int,
    *,
    kind: str,
    amount_micros: int,
    idempotency_key: str,
    held_delta_micros: int = 0,
    reason: str = "",
    description: str = "",
    reference: str = "",
    staff_user: User | None = None,
    api_key: ApiKey | None = None,
    balance_after: int | Subquery | None = None,
) -> LedgerEntry:
    """Write the ledger row for a change already applied to the (locked) account row.

    `balance_after` may be given when the caller knows it (a hold leaves the
    locked balance as it was), or as a Subquery of `_locked_balance()` for the
    INSERT to read it (the returned entry then holds that expression, not the
    number); otherwise it is read back first.
    """
    if balance_after is None:
        balance_after = _locked_balance(organization_id).get()
    entry = LedgerEntry(
        organization_id=organization_id,
        kind=kind,
        amount_micros=amount_micros,
        held_delta_micros=held_delta_micros,
        balance_after_micros=balance_after,
        idempotency_key=idempotency_key,
        reason=reason[:300],
        description=description[:300],
        reference=reference,
        staff_user=staff_user,
        api_key=api_key,
    )
    entry.save(force_insert=True)
    return entry


def _locked_balance(organization_id: int) -> QuerySet[CreditAccount, int]:
    """The organization's balance, to be read under the caller's lock on the account row."""
    return CreditAccount.objects.filter(organization_id=organization_id).values_list("balance_micros", flat=True)


def _money(micros: int) -> dict[str, object]:
    return {"usd": usd_string(micros), "micros": micros}


def _low_balance_update(account: CreditAccount, entry: LedgerEntry) -> None:
    """Re-arm at or above the threshold; when spending takes the balance below it, raise credits.low once."""
    CreditAccount.objects.filter(
        pk=account.pk, low_balance_armed=False, balance_micros__gte=F("low_balance_threshold_micros")
    ).update(low_balance_armed=True)
    if entry.amount_micros >= 0:
        return
    crossed = CreditAccount.objects.filter(
        pk=account.pk, low_balance_armed=True, balance_micros__lt=F("low_balance_threshold_micros")
    ).update(low_balance_armed=False)
    if not crossed:
        return
    fresh = CreditAccount.objects.get(pk=account.pk)
    event_record(
        account.organization,
        EventType.CREDITS_LOW,
        {
            "balance": _money(fresh.balance_micros),
            "available": _money(fresh.available_micros),
            "threshold": _money(fresh.low_balance_threshold_micros),
        },
        dedupe_key=f"credits.low:{entry.public_id}",
    )


# --- Grants and adjustments -------------------------------------------------


def credits_grant(
    *,
    organization: Organization,
    amount_micros: int,
    kind: str,
    idempotency_key: str,
    reason: str = "",
    staff_user: User | None = None,
) -> LedgerEntry | None:
    """Add credit (a promotional grant or a paid top-up); None if this key was already booked."""
    if kind not in (EntryKind.GRANT, EntryKind.TOPUP):
        raise ValueError(f"credits_grant books grants and top-ups, not {kind!r}")
    if amount_micros <= 0:
        raise ValueError("a grant must be a positive amount")
    with transaction.atomic():
        account = _locked_account(organization.pk)
        if LedgerEntry.objects.filter(idempotency_key=idempotency_key).exists():
            return None
        CreditAccount.objects.filter(pk=account.pk).update(balance_micros=F("balance_micros") + amount_micros)
        entry = _book(
            account.organization_id,
            kind=kind,
            amount_micros=amount_micros,
            idempotency_key=idempotency_key,
            reason=reason,
            staff_user=staff_user,
        )
        _low_balance_update(account, entry)
    return entry


def credits_grant_signup(*, user: User, organization: Organization) -> None:
    """The configurable welcome credit (SIGNUP_GRANT_USD) that lets a new person try the product.

    Given when their address is verified, into the workspace sign-up made for
    them; keyed by the user, so each person gets it once.
    """
    amount = usd_to_micros(settings.SIGNUP_GRANT_USD)
    if amount <= 0:
        return
    credits_grant(
        organization=organization,
        amount_micros=amount,
        kind=EntryKind.GRANT,
        idempotency_key=f"signup:user:{user.pk}",
        reason="Sign-up grant",
    )


def credits_adjust(
    *,
    organization: Organization,
    amount_micros: int,
    reason: str,
    staff_user: User,
    idempotency_key: str | None = None,
    description: str = "",
) -> LedgerEntry:
    """A manual correction by staff; a negative one can take at most the available credit.

    `reason` is the internal note operators see; `description` what the customer's billing page shows.
    """
    if not reason or not reason.strip():
        raise BillingError("An adjustment needs a reason.")
    if staff_user is None:
        raise BillingError("An adjustment needs the staff user who makes it.")
    if amount_micros == 0:
        raise BillingError("An adjustment must change the balance.")
    key = idempotency_key or f"adjust:{uuid.uuid4().hex}"
    with transaction.atomic():
        account = _locked_account(organization.pk)
        existing = LedgerEntry.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return existing
        changed = CreditAccount.objects.filter(
            pk=account.pk, balance_micros__gte=F("held_micros") - amount_micros
        ).update(balance_micros=F("balance_micros") + amount_micros)
        if not changed:
            raise BillingError(f"Only {usd_string(account.available_micros)} USD is available to take away.")
        entry = _book(
            account.organization_id,
            kind=EntryKind.ADJUSTMENT,
            amount_micros=amount_micros,
            idempotency_key=key,
            reason=reason.strip(),
            description=description.strip(),
            staff_user=staff_user,
        )
        _low_balance_update(account, entry)
    return entry


def credits_reclaim(
    *, organization: Organization, amount_micros: int, idempotency_key: str, reason: str
) -> tuple[LedgerEntry | None, int]:
    """Take back refunded top-up credit, but never more than is available.

    Returns the ledger entry (None when nothing could be taken or the key was
    already booked) and the shortfall: credit that was already spent.
    """
    if amount_micros <= 0:
        raise ValueError("reclaim a positive amount")
    with transaction.atomic():
        account = _locked_account(organization.pk)
        existing = LedgerEntry.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, amount_micros + existing.amount_micros
        taken = min(amount_micros, max(account.available_micros, 0))
        if taken == 0:
            return None, amount_micros
        changed = CreditAccount.objects.filter(pk=account.pk, balance_micros__gte=F("held_micros") + taken).update(
            balance_micros=F("balance_micros") - taken
        )
        if not changed:
            raise BillingError("The credit account changed while it was locked.")
        entry = _book(
            account.organization_id,
            kind=EntryKind.REFUND,
            amount_micros=-taken,
            idempotency_key=idempotency_key,
            reason=reason,
        )
        _low_balance_update(account, entry)
    return entry, amount_micros - taken


def credit_settings_update(
    *, organization: Organization, low_balance_threshold_micros: int, monthly_cap_micros: int | None
) -> CreditAccount:
    """Change the low-balance alert threshold and the monthly cap (None: no cap)."""
    if low_balance_threshold_micros < 0 or (monthly_cap_micros is not None and monthly_cap_micros < 0):
        raise BillingError("Amounts must not be negative.")
    with transaction.atomic():
        account = _locked_account(organization.pk)
        # A new threshold starts a new watch: the next drop below it is reported.
        CreditAccount.objects.filter(pk=account.pk).update(
            low_balance_threshold_micros=low_balance_threshold_micros,
            monthly_cap_micros=monthly_cap_micros,
            low_balance_armed=True,
        )
    return CreditAccount.objects.get(pk=account.pk)


# --- Holds ------------------------------------------------------------------


def _spent(holds: QuerySet[Hold]) -> int:
    return holds.filter(status__in=SPENDING_STATUSES).aggregate(total=Sum("amount_micros"))["total"] or 0


def _month_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _spend_limits_check(account: CreditAccount, api_key: ApiKey | None, amount_micros: int, hold: Hold) -> None:
    """Called with the account locked, so concurrent holds of the organization see each other.

    `hold` is the one being decided (not yet spending). The key's limit is the
    one it had when the request authenticated with it.
    """
    if api_key is not None:
        limit = api_key.spend_limit_micros
        if limit is not None:
            spent = _spent(Hold.objects.filter(api_key_id=api_key.pk).exclude(pk=hold.pk))
            if spent + amount_micros > limit:
                raise SpendLimitExceeded("api_key", limit, spent, amount_micros)
    cap = account.monthly_cap_micros
    if cap is not None:
        holds = Hold.objects.filter(
            organization_id=account.organization_id, created_at__gte=_month_start(timezone.now())
        ).exclude(pk=hold.pk)
        spent = _spent(holds)
        if spent + amount_micros > cap:
            raise SpendLimitExceeded("organization_monthly", cap, spent, amount_micros)


def credits_hold(
    *,
    organization: Organization,
    amount_micros: int,
    reference: str,
    api_key: ApiKey | None = None,
    upstream_cost_micros: int | None = None,
    reference_is_new: bool = False,
    max_open_holds: int | None = None,
) -> Hold:
    """Reserve a generation's price; call inside the transaction that creates the generation.

    Raises SpendLimitExceeded or InsufficientCredits; the caller's transaction
    then rolls back and it calls rejection_record. A second call with the same
    reference returns the existing hold. `upstream_cost_micros` (optional) is
    the expected provider cost, kept for margin until capture reports the real one.
    `reference_is_new` skips looking for an earlier hold, for a caller whose
    reference was created in this same transaction (a new generation's id).
    `max_open_holds` refuses (TooManyOpenHolds) a hold that would leave the
    organization with more open holds than that: one per job that is queued or
    running, so it is the limit on jobs running at once.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("credits_hold must run inside the caller's transaction.atomic()")
    if amount_micros <= 0:
        raise ValueError("a hold must be a positive amount")
    if not reference_is_new:
        _locked_account(organization.pk)  # first, so that a concurrent hold of the same reference is seen
        existing = Hold.objects.filter(reference=reference).first()
        if existing is not None:
            if existing.organization_id != organization.pk:
                raise BillingError(f"Reference {reference} belongs to another organization.")
            return existing
    # The hold row goes in before the account row is locked: nobody sees it before the commit, and
    # every hold the organization takes meanwhile waits for the reservation, one ledger row and the
    # commit only.
    hold = Hold.objects.create(
        organization=organization,
        api_key=api_key,
        amount_micros=amount_micros,
        upstream_cost_micros=upstream_cost_micros,
        reference=reference,
    )
    try:
        # No cap, no key limit and room for another job: nothing to sum, so the one UPDATE decides.
        if (api_key is None or api_key.spend_limit_micros is None) and _reserve(
            organization.pk, amount_micros, uncapped_only=True, max_open_holds=max_open_holds
        ):
            balance_after: int | Subquery = Subquery(_locked_balance(organization.pk))
        else:
            balance_after = _reserve_checked(organization.pk, amount_micros, api_key, max_open_holds, hold)
    except (InsufficientCredits, SpendLimitExceeded, TooManyOpenHolds):
        Hold.objects.filter(pk=hold.pk).delete()  # the caller rolls back anyway; this keeps nothing if it does not
        raise
    _book(
        organization.pk,
        kind=EntryKind.HOLD,
        amount_micros=0,
        held_delta_micros=amount_micros,
        idempotency_key=f"hold:{reference}",
        reference=reference,
        api_key=api_key,
        balance_after=balance_after,  # read under the lock; a hold does not change the balance
    )
    return hold


def _reserve_checked(
    organization_id: int, amount_micros: int, api_key: ApiKey | None, max_open_holds: int | None, hold: Hold
) -> int:
    """Reserve under the account's lock with every limit checked; the locked balance, or the refusal raised."""
    reserved = _reserve(organization_id, amount_micros)
    account = _locked_account(organization_id)
    if not reserved:
        _spend_limits_check(account, api_key, amount_micros, hold)  # a spend limit is the first reason given
        raise InsufficientCredits(amount_micros, account.available_micros)
    try:
        _spend_limits_check(account, api_key, amount_micros, hold)  # the row stays locked: concurrent holds queue here
        if max_open_holds is not None and account.open_holds > max_open_holds:
            raise TooManyOpenHolds(max_open_holds)
    except (SpendLimitExceeded, TooManyOpenHolds):
        _unreserve(account, amount_micros)  # the caller rolls back anyway; this keeps the account right if it does not
        raise
    return account.balance_micros


def _hold_for(reference: str) -> Hold:
    hold = Hold.objects.filter(reference=reference).first()
    if hold is None:
        raise BillingError(f"No hold for {reference}.")
    return hold


def hold_capture(*, reference: str, upstream_cost_micros: int | None = None) -> bool:
    """Charge a held price (the customer received the video). True only for the call that captured it."""
    hold = _hold_for(reference)
    with transaction.atomic():
        account = _locked_account(hold.organization_id)
        changes: dict[str, object] = {"status": HoldStatus.CAPTURED, "settled_at": timezone.now()}
        if upstream_cost_micros is not None:
            changes["upstream_cost_micros"] = upstream_cost_micros
        if not Hold.objects.filter(pk=hold.pk, status=HoldStatus.OPEN).update(**changes):
            return False
        price = hold.amount_micros
        moved = CreditAccount.objects.filter(pk=account.pk, held_micros__gte=price).update(
            balance_micros=F("balance_micros") - price,
            held_micros=F("held_micros") - price,
            open_holds=F("open_holds") - 1,
        )
        if not moved:
            raise BillingError(f"Account of {account.organization.public_id} holds less than {reference}.")
        entry = _book(
            account.organization_id,
            kind=EntryKind.CAPTURE,
            amount_micros=-price,
            held_delta_micros=-price,
            idempotency_key=f"capture:{reference}",
            reference=reference,
            api_key=hold.api_key,
        )
        _low_balance_update(account, entry)
    return True


def hold_release(*, reference: str, reason: str) -> bool:
    """Give a held price back (failure, cancellation, timeout). True only for the call that released it."""
    hold = _hold_for(reference)
    with transaction.atomic():
        account = _locked_account(hold.organization_id)
        released = Hold.objects.filter(pk=hold.pk, status=HoldStatus.OPEN).update(
            status=HoldStatus.RELEASED, settled_at=timezone.now()
        )
        if not released:
            return False
        price = hold.amount_micros
        moved = CreditAccount.objects.filter(pk=account.pk, held_micros__gte=price).update(
            held_micros=F("held_micros") - price, open_holds=F("open_holds") - 1
        )
        if not moved:
            raise BillingError(f"Account of {account.organization.public_id} holds less than {reference}.")
        _book(
            account.organization_id,
            kind=EntryKind.RELEASE,
            amount_micros=0,
            held_delta_micros=-price,
            idempotency_key=f"release:{reference}",
            reference=reference,
            reason=reason,
            api_key=hold.api_key,
        )
    return True


def credits_refund(
    *, organization: Organization, reference: str, reason: str, staff_user: User | None = None
) -> LedgerEntry:
    """Give back the charge of a captured generation, once (operators use it for bad outputs)."""
    with transaction.atomic():
        account = _locked_account(organization.pk)
        hold = Hold.objects.filter(organization=organization, reference=reference).first()
        if hold is None:
            raise BillingError(f"No charge for {reference} in this organization.")
        key = f"refund:{reference}"
        existing = LedgerEntry.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return existing
        if not Hold.objects.filter(pk=hold.pk, status=HoldStatus.CAPTURED).update(status=HoldStatus.REFUNDED):
            raise BillingError(f"{reference} was not charged ({hold.status}); there is nothing to refund.")
        CreditAccount.objects.filter(pk=account.pk).update(balance_micros=F("balance_micros") + hold.amount_micros)
        entry = _book(
            account.organization_id,
            kind=EntryKind.REFUND,
            amount_micros=hold.amount_micros,
            idempotency_key=key,
            reference=reference,
            reason=reason or "Refund",
            staff_user=staff_user,
            api_key=hold.api_key,
        )
        event_record(
            organization,
            EventType.BILLING_REFUNDED,
            {"source": "generation", "generation": reference, "amount": _money(hold.amount_micros)},
            dedupe_key=f"billing.refunded:{key}",
        )
        _low_balance_update(account, entry)
    return entry


# --- Rejections -------------------------------------------------------------


def rejection_record(
    *,
    organization: Organization,
    api_key: ApiKey | None,
    error: InsufficientCredits | SpendLimitExceeded,
    model: str,
    now: datetime | None = None,
) -> None:
    """Keep a refused generation for operators; call after the caller's transaction rolled back.

    Insufficient credit raises credits.insufficient at most once an hour per
    organization. A spend limit is the customer's own choice, so it is only recorded.
    """
    now = now or timezone.now()
    with transaction.atomic():
        if isinstance(error, SpendLimitExceeded):
            InsufficientCreditRejection.objects.create(
                organization=organization,
                api_key=api_key,
                kind=RejectionKind.SPEND_LIMIT_EXCEEDED,
                model=model,
                price_micros=error.price_micros,
                limit=error.limit,
                limit_micros=error.limit_micros,
                spent_micros=error.spent_micros,
                created_at=now,
            )
            return
        InsufficientCreditRejection.objects.create(
            organization=organization,
            api_key=api_key,
            kind=RejectionKind.INSUFFICIENT_CREDITS,
            model=model,
            price_micros=error.price_micros,
            available_micros=error.available_micros,
            created_at=now,
        )
        event_record(
            organization,
            EventType.CREDITS_INSUFFICIENT,
            {"model": model, "price": _money(error.price_micros), "available": _money(error.available_micros)},
            dedupe_key=f"credits.insufficient:{organization.public_id}:{now.astimezone(UTC):%Y%m%d%H}",
        )


__all__ = [
    "BillingError",
    "InsufficientCredits",
    "PricingError",
    "SpendLimitExceeded",
    "account_for",
    "credit_settings_update",
    "credits_adjust",
    "credits_grant",
    "credits_grant_signup",
    "credits_hold",
    "credits_reclaim",
    "credits_refund",
    "hold_capture",
    "hold_release",
    "rejection_record",
]
