from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import ApiKey, Organization, User
from api.errors import api_error
from billing import services
from billing.errors import BillingError, InsufficientCredits, SpendLimitExceeded, TooManyOpenHolds
from billing.models import CreditAccount, Hold, InsufficientCreditRejection, LedgerEntry
from billing.selectors import balance_get, ledger_drift, ledger_list, margin_report
from tests.billing.conftest import available, fund, hold
from webhooks.models import Event

pytestmark = pytest.mark.django_db

PRICE = 100_000  # hailuo-02-fast 6 s


def ledger_sums(organization: Organization) -> tuple[int, int]:
    sums = LedgerEntry.objects.filter(organization=organization).aggregate(
        b=Sum("amount_micros"), h=Sum("held_delta_micros")
    )
    return sums["b"] or 0, sums["h"] or 0


def test_sign_up_grants_the_configured_credit_once(org_a: Organization, alice) -> None:
    assert balance_get(org_a).balance_micros == 1_000_000
    services.credits_grant_signup(user=alice, organization=org_a)
    assert balance_get(org_a).balance_micros == 1_000_000
    assert [e.kind for e in ledger_list(org_a)] == ["grant"]


def test_sign_up_grant_follows_the_setting(settings: object, db: None) -> None:
    settings.SIGNUP_GRANT_USD = "0.50"  # type: ignore[attr-defined]
    user = accounts_services.user_signup(email="dana@example.com", password="correct-horse-battery-staple")
    organization = user.memberships.get().organization
    assert balance_get(organization).available_micros == 0
    accounts_services.user_email_confirm(user=user)
    assert balance_get(organization).available_micros == 500_000


def test_a_hold_reserves_the_price_and_a_capture_charges_it(org_a: Organization) -> None:
    start = balance_get(org_a)
    hold(org_a, PRICE, "gen_1")
    during = balance_get(org_a)
    assert during.balance_micros == start.balance_micros
    assert during.held_micros == PRICE
    assert during.available_micros == start.available_micros - PRICE

    assert services.hold_capture(reference="gen_1", upstream_cost_micros=70_000) is True
    after = balance_get(org_a)
    assert after.balance_micros == start.balance_micros - PRICE
    assert after.held_micros == 0
    assert Hold.objects.get(reference="gen_1").upstream_cost_micros == 70_000
    assert ledger_sums(org_a) == (after.balance_micros, after.held_micros)
    assert [e.kind for e in ledger_list(org_a)] == ["capture", "hold", "grant"]


def test_a_failed_job_leaves_the_balance_exactly_where_it_started(org_a: Organization) -> None:
    start = balance_get(org_a)
    hold(org_a, PRICE, "gen_failed")
    assert services.hold_release(reference="gen_failed", reason="provider failed") is True
    assert balance_get(org_a) == start
    release = ledger_list(org_a).first()
    assert (release.kind, release.reason, release.reference) == ("release", "provider failed", "gen_failed")
    assert ledger_drift() == []


def test_capture_and_release_each_happen_once_whatever_is_repeated(org_a: Organization) -> None:
    start = balance_get(org_a)
    hold(org_a, PRICE, "gen_once")
    assert services.hold_capture(reference="gen_once") is True
    assert services.hold_capture(reference="gen_once") is False
    assert services.hold_release(reference="gen_once", reason="late timeout") is False
    assert balance_get(org_a).balance_micros == start.balance_micros - PRICE

    hold(org_a, PRICE, "gen_released")
    assert services.hold_release(reference="gen_released", reason="canceled") is True
    assert services.hold_release(reference="gen_released", reason="canceled") is False
    assert services.hold_capture(reference="gen_released") is False
    assert balance_get(org_a).balance_micros == start.balance_micros - PRICE
    assert balance_get(org_a).held_micros == 0
    assert ledger_drift() == []


def test_holding_the_same_reference_twice_reserves_once(org_a: Organization) -> None:
    first = hold(org_a, PRICE, "gen_retry")
    second = hold(org_a, PRICE, "gen_retry")
    assert first.pk == second.pk
    assert balance_get(org_a).held_micros == PRICE


def test_a_reference_of_another_organization_is_refused(org_a: Organization, org_b: Organization) -> None:
    hold(org_a, PRICE, "gen_a")
    with pytest.raises(BillingError):
        hold(org_b, PRICE, "gen_a")
    assert balance_get(org_b).held_micros == 0


def test_a_price_above_the_available_credit_is_refused_with_both_amounts(org_a: Organization) -> None:
    hold(org_a, 950_000, "gen_big")
    with pytest.raises(InsufficientCredits) as caught:
        hold(org_a, PRICE, "gen_too_much")
    assert (caught.value.price_micros, caught.value.available_micros) == (PRICE, 50_000)
    error = api_error(caught.value)
    assert error.status_code == 402
    assert error.type == "insufficient_credits"
    assert error.extra["price"] == "0.10"
    assert error.extra["available"] == "0.05"
    assert error.extra["available_micros"] == 50_000
    assert not Hold.objects.filter(reference="gen_too_much").exists()
    assert balance_get(org_a).held_micros == 950_000


def test_available_credit_can_be_spent_to_exactly_zero(org_a: Organization) -> None:
    for n in range(10):
        hold(org_a, PRICE, f"gen_{n}")
    assert balance_get(org_a).available_micros == 0
    with pytest.raises(InsufficientCredits):
        hold(org_a, 1, "gen_one_more")


@pytest.mark.parametrize("reference_is_new", [False, True], ids=["any-reference", "new-reference"])
def test_a_refused_hold_changes_nothing_even_if_the_callers_transaction_goes_on(
    org_a: Organization, api_key_a: tuple[ApiKey, str], reference_is_new: bool
) -> None:
    """A new reference reserves before the spend limits are checked; a refusal gives the reservation back itself."""
    fund(org_a, 5_000_000)
    key = api_key_a[0]
    ApiKey.objects.filter(pk=key.pk).update(spend_limit_micros=PRICE)
    key.refresh_from_db()
    before = balance_get(org_a)

    def take(reference: str, amount: int = PRICE, api_key: ApiKey | None = key) -> None:
        services.credits_hold(
            organization=org_a,
            amount_micros=amount,
            reference=reference,
            api_key=api_key,
            reference_is_new=reference_is_new,
        )

    with transaction.atomic():
        take("gen_fits")
        with pytest.raises(SpendLimitExceeded):
            take("gen_over_limit")
        with pytest.raises(InsufficientCredits):
            take("gen_too_big", amount=10**12, api_key=None)  # no spend limit: it is the credit that is short
        assert CreditAccount.objects.get(organization=org_a).held_micros == before.held_micros + PRICE
    assert list(Hold.objects.filter(organization=org_a).values_list("reference", flat=True)) == ["gen_fits"]
    assert ledger_drift() == []


@pytest.mark.django_db(transaction=True)
def test_holding_outside_a_transaction_is_a_programming_error(org_a: Organization) -> None:
    with pytest.raises(RuntimeError):
        services.credits_hold(organization=org_a, amount_micros=PRICE, reference="gen_no_tx")


def test_an_api_key_spend_limit_counts_open_and_charged_holds_of_that_key(
    org_a: Organization, api_key_a: tuple[ApiKey, str], alice: User
) -> None:
    fund(org_a, 5_000_000)
    key = api_key_a[0]
    ApiKey.objects.filter(pk=key.pk).update(spend_limit_micros=300_000)
    key.refresh_from_db()  # the limit applies as the key was when the request authenticated
    hold(org_a, PRICE, "gen_k1", api_key=key)
    services.hold_capture(reference="gen_k1")
    hold(org_a, PRICE, "gen_k2", api_key=key)
    hold(org_a, PRICE, "gen_k3", api_key=key)
    services.hold_release(reference="gen_k3", reason="failed")  # released spend does not count
    hold(org_a, PRICE, "gen_k4", api_key=key)  # exactly up to the limit is allowed
    with pytest.raises(SpendLimitExceeded) as caught:
        hold(org_a, PRICE, "gen_k5", api_key=key)
    assert (caught.value.limit, caught.value.limit_micros, caught.value.spent_micros) == ("api_key", 300_000, 300_000)
    error = api_error(caught.value)
    assert (error.status_code, error.type, error.extra["limit"]) == (402, "spend_limit_exceeded", "api_key")
    assert not Hold.objects.filter(reference="gen_k5").exists()

    other_key, _ = accounts_services.api_key_create(organization=org_a, name="other", created_by=alice)
    hold(org_a, PRICE, "gen_other_key", api_key=other_key)
    hold(org_a, PRICE, "gen_no_key")


def test_the_monthly_cap_counts_this_calendar_months_spending(org_a: Organization) -> None:
    fund(org_a, 5_000_000)
    services.credit_settings_update(organization=org_a, low_balance_threshold_micros=0, monthly_cap_micros=300_000)
    hold(org_a, PRICE, "gen_last_month")
    services.hold_capture(reference="gen_last_month")
    now = timezone.now()
    month_start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    Hold.objects.filter(reference="gen_last_month").update(created_at=month_start - timedelta(days=1))
    hold(org_a, PRICE, "gen_m1")
    services.hold_capture(reference="gen_m1")
    hold(org_a, PRICE, "gen_m2")
    hold(org_a, PRICE, "gen_m3")
    with pytest.raises(SpendLimitExceeded) as caught:
        hold(org_a, PRICE, "gen_m4")
    assert caught.value.limit == "organization_monthly"
    assert caught.value.spent_micros == 300_000
    assert api_error(caught.value).extra["limit"] == "organization_monthly"


def test_credits_low_is_raised_once_per_crossing_and_rearmed_by_a_top_up(org_a: Organization) -> None:
    services.credit_settings_update(organization=org_a, low_balance_threshold_micros=700_000, monthly_cap_micros=None)

    def lows() -> int:
        return Event.objects.filter(organization=org_a, type="credits.low").count()

    for n in range(3):  # $1.00 → $0.70: not below the threshold yet
        hold(org_a, PRICE, f"gen_{n}")
        services.hold_capture(reference=f"gen_{n}")
    assert lows() == 0
    hold(org_a, PRICE, "gen_3")
    services.hold_capture(reference="gen_3")  # $0.60: crossed
    hold(org_a, PRICE, "gen_4")
    services.hold_capture(reference="gen_4")  # still below: no second event
    assert lows() == 1
    event = Event.objects.get(organization=org_a, type="credits.low")
    assert event.data["balance"]["micros"] == 600_000

    fund(org_a, 1_000_000)  # back above: re-armed
    assert CreditAccount.objects.get(organization=org_a).low_balance_armed
    for n in range(5, 15):
        hold(org_a, PRICE, f"gen_{n}")
        services.hold_capture(reference=f"gen_{n}")
    assert lows() == 2


def test_a_rejection_is_kept_and_raises_credits_insufficient_at_most_once_an_hour(
    org_a: Organization, api_key_a: tuple[ApiKey, str]
) -> None:
    at = datetime(2026, 3, 4, 10, 5, tzinfo=UTC)
    error = InsufficientCredits(PRICE, 40_000)
    for minutes in (0, 20, 50):
        services.rejection_record(
            organization=org_a,
            api_key=api_key_a[0],
            error=error,
            model="hailuo-02-fast",
            now=at + timedelta(minutes=minutes),
        )
    services.rejection_record(
        organization=org_a, api_key=None, error=error, model="hailuo-02", now=at + timedelta(hours=1)
    )
    limit = SpendLimitExceeded("api_key", 250_000, 200_000, PRICE)
    services.rejection_record(organization=org_a, api_key=api_key_a[0], error=limit, model="hailuo-02-fast", now=at)

    rows = InsufficientCreditRejection.objects.filter(organization=org_a)
    assert rows.count() == 5
    assert rows.filter(kind="spend_limit_exceeded", limit="api_key").count() == 1
    events = Event.objects.filter(organization=org_a, type="credits.insufficient")
    assert events.count() == 2
    assert events.first().data["available"]["micros"] == 40_000


def test_an_operator_refund_gives_a_charge_back_once(org_a: Organization, alice: User) -> None:
    start = balance_get(org_a).balance_micros
    hold(org_a, PRICE, "gen_bad")
    services.hold_capture(reference="gen_bad")
    entry = services.credits_refund(organization=org_a, reference="gen_bad", reason="corrupt video", staff_user=alice)
    again = services.credits_refund(organization=org_a, reference="gen_bad", reason="corrupt video", staff_user=alice)
    assert entry.pk == again.pk
    assert balance_get(org_a).balance_micros == start
    assert Event.objects.filter(organization=org_a, type="billing.refunded").count() == 1


def test_only_a_charged_generation_of_the_organization_can_be_refunded(
    org_a: Organization, org_b: Organization
) -> None:
    hold(org_a, PRICE, "gen_running")
    with pytest.raises(BillingError):
        services.credits_refund(organization=org_a, reference="gen_running", reason="x")
    services.hold_capture(reference="gen_running")
    with pytest.raises(BillingError):
        services.credits_refund(organization=org_b, reference="gen_running", reason="x")
    assert balance_get(org_b).balance_micros == 1_000_000


def test_a_manual_adjustment_needs_a_reason_and_never_takes_more_than_available(
    org_a: Organization, alice: User
) -> None:
    with pytest.raises(BillingError):
        services.credits_adjust(organization=org_a, amount_micros=500_000, reason=" ", staff_user=alice)
    hold(org_a, 600_000, "gen_x")
    with pytest.raises(BillingError):
        services.credits_adjust(organization=org_a, amount_micros=-500_000, reason="chargeback", staff_user=alice)
    entry = services.credits_adjust(organization=org_a, amount_micros=-400_000, reason="chargeback", staff_user=alice)
    assert (entry.kind, entry.staff_user, entry.reason) == ("adjustment", alice, "chargeback")
    assert balance_get(org_a).available_micros == 0
    services.credits_adjust(organization=org_a, amount_micros=2_000_000, reason="goodwill", staff_user=alice)
    assert balance_get(org_a).available_micros == 2_000_000
    assert ledger_drift() == []


def test_grants_with_the_same_idempotency_key_are_booked_once(org_a: Organization) -> None:
    first = services.credits_grant(organization=org_a, amount_micros=5_000_000, kind="grant", idempotency_key="promo-1")
    second = services.credits_grant(
        organization=org_a, amount_micros=5_000_000, kind="grant", idempotency_key="promo-1"
    )
    assert first is not None and second is None
    assert balance_get(org_a).balance_micros == 6_000_000


def test_ledger_entries_cannot_be_changed_or_deleted(org_a: Organization) -> None:
    entry = ledger_list(org_a).first()
    entry.amount_micros = 999_000_000
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount_micros=1)
    with pytest.raises(TypeError):
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    assert LedgerEntry.objects.get(pk=entry.pk).amount_micros == 1_000_000


def test_the_database_refuses_to_hold_more_than_the_balance(org_a: Organization) -> None:
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        CreditAccount.objects.filter(organization=org_a).update(held_micros=2_000_000)
    assert available(org_a) == 1_000_000


def test_price_and_provider_cost_of_every_job_are_kept_for_the_margin_report(org_a: Organization) -> None:
    fund(org_a, 5_000_000)
    start = timezone.now() - timedelta(seconds=1)
    hold(org_a, 280_000, "gen_known_cost")
    services.hold_capture(reference="gen_known_cost", upstream_cost_micros=210_000)  # the provider's actual cost
    with transaction.atomic():
        services.credits_hold(
            organization=org_a, amount_micros=100_000, reference="gen_quoted_cost", upstream_cost_micros=70_000
        )
    services.hold_capture(reference="gen_quoted_cost")
    hold(org_a, 490_000, "gen_failed")
    services.hold_release(reference="gen_failed", reason="failed")  # not received: not revenue
    report = margin_report(start=start, end=timezone.now() + timedelta(seconds=1))
    assert report == {
        "jobs": 2,
        "jobs_without_cost": 0,
        "revenue_micros": 380_000,
        "upstream_cost_micros": 280_000,
        "margin_micros": 100_000,
    }


def test_the_account_counts_its_open_holds_as_they_are_taken_and_settled(org_a: Organization) -> None:
    """One open hold per job accepted and not finished: it is the running-jobs count, so it must stay exact."""

    def open_holds() -> int:
        return CreditAccount.objects.get(organization=org_a).open_holds

    fund(org_a, 5_000_000)
    for n in range(3):
        hold(org_a, PRICE, f"gen_{n}")
    hold(org_a, PRICE, "gen_0")  # the same reference again: nothing new
    assert open_holds() == 3
    services.hold_capture(reference="gen_0")
    services.hold_capture(reference="gen_0")
    services.hold_release(reference="gen_1", reason="failed")
    assert open_holds() == 1
    with pytest.raises(InsufficientCredits):
        hold(org_a, 10**12, "gen_too_big")
    assert open_holds() == 1
    assert ledger_drift() == []


@pytest.mark.parametrize("reference_is_new", [False, True], ids=["any-reference", "new-reference"])
def test_a_hold_past_the_open_holds_limit_is_refused_and_changes_nothing(
    org_a: Organization, reference_is_new: bool
) -> None:
    fund(org_a, 5_000_000)

    def take(reference: str) -> None:
        services.credits_hold(
            organization=org_a,
            amount_micros=PRICE,
            reference=reference,
            max_open_holds=2,
            reference_is_new=reference_is_new,
        )

    with transaction.atomic():
        take("gen_0")
        take("gen_1")
        with pytest.raises(TooManyOpenHolds) as caught:
            take("gen_third")
        account = CreditAccount.objects.get(organization=org_a)
        assert (account.open_holds, account.held_micros) == (2, 2 * PRICE)
    assert caught.value.limit == 2
    assert not Hold.objects.filter(reference="gen_third").exists()
    assert ledger_drift() == []
