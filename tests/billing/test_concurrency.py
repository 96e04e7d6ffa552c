"""Real concurrency on PostgreSQL: many threads, each with its own database connection.

SQLite serializes every write transaction, so these tests are skipped there
(tests/conftest.py skips the `postgres` marker without PostgreSQL).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from accounts.models import Organization
from billing import services
from billing.errors import InsufficientCredits
from billing.models import CreditAccount, Hold, HoldStatus, LedgerEntry
from billing.selectors import balance_get, ledger_drift

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PRICE = 100_000


def run_at_once(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Start `count` threads together; each returns work's result or the exception it raised."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def worker(n: int) -> None:
        try:
            barrier.wait()
            results[n] = work(n)
        except Exception as exc:  # the outcome under test
            results[n] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


class Watcher:
    """Samples the account from another connection while the threads run: never negative."""

    def __init__(self, organization: Organization) -> None:
        self.organization = organization
        self.samples: list[tuple[int, int]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch)

    def _watch(self) -> None:
        try:
            while not self.stop.is_set():
                account = CreditAccount.objects.get(organization=self.organization)
                self.samples.append((account.balance_micros, account.held_micros))
        finally:
            connection.close()

    def __enter__(self) -> Watcher:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


# A hold for a reference created in the same transaction (a new job's id) reserves with one statement;
# any other looks for an earlier hold of the reference first. Both must hold up under concurrency.
REFERENCE_IS_NEW = pytest.mark.parametrize("reference_is_new", [False, True], ids=["any-reference", "new-reference"])


@REFERENCE_IS_NEW
def test_fifty_simultaneous_holds_never_overdraw(org_a: Organization, reference_is_new: bool) -> None:
    # Sign-up gave $1.00; top up to exactly 20 generations' worth.
    services.credits_grant(organization=org_a, amount_micros=1_000_000, kind="grant", idempotency_key="t")
    assert balance_get(org_a).available_micros == 20 * PRICE

    def one_hold(n: int) -> Hold:
        with transaction.atomic():
            return services.credits_hold(
                organization=org_a, amount_micros=PRICE, reference=f"gen_{n}", reference_is_new=reference_is_new
            )

    with Watcher(org_a) as watcher:
        results = run_at_once(50, one_hold)

    kinds = Counter(type(r).__name__ for r in results)
    assert kinds == {"Hold": 20, "InsufficientCredits": 30}
    assert all(r.available_micros < PRICE for r in results if isinstance(r, InsufficientCredits))
    balance = balance_get(org_a)
    assert (balance.balance_micros, balance.held_micros, balance.available_micros) == (2_000_000, 2_000_000, 0)
    assert Hold.objects.filter(organization=org_a, status=HoldStatus.OPEN).count() == 20
    assert watcher.samples and all(b >= 0 and h >= 0 and b - h >= 0 for b, h in watcher.samples)
    assert ledger_drift() == []
    call_command("billing_audit")


def test_concurrent_captures_and_releases_settle_a_hold_exactly_once(org_a: Organization) -> None:
    with transaction.atomic():
        services.credits_hold(organization=org_a, amount_micros=PRICE, reference="gen_race")

    def settle(n: int) -> tuple[str, bool]:
        if n % 2:
            return "capture", services.hold_capture(reference="gen_race")
        return "release", services.hold_release(reference="gen_race", reason="timed out")

    results = run_at_once(20, settle)
    winners = [r for r in results if r[1] is True]
    assert len(winners) == 1, results
    balance = balance_get(org_a)
    expected = 1_000_000 - PRICE if winners[0][0] == "capture" else 1_000_000
    assert (balance.balance_micros, balance.held_micros) == (expected, 0)
    assert ledger_drift() == []


def test_repeated_concurrent_captures_charge_once(org_a: Organization) -> None:
    with transaction.atomic():
        services.credits_hold(organization=org_a, amount_micros=PRICE, reference="gen_dup")
    results = run_at_once(10, lambda n: services.hold_capture(reference="gen_dup"))
    assert results.count(True) == 1 and results.count(False) == 9
    assert balance_get(org_a).balance_micros == 1_000_000 - PRICE
    assert ledger_drift() == []


def test_concurrent_holds_for_the_same_generation_reserve_once(org_a: Organization) -> None:
    def one_hold(n: int) -> int:
        with transaction.atomic():
            return services.credits_hold(organization=org_a, amount_micros=PRICE, reference="gen_same").pk

    results = run_at_once(10, one_hold)
    assert len(set(results)) == 1, results
    assert balance_get(org_a).held_micros == PRICE


@REFERENCE_IS_NEW
def test_a_monthly_cap_holds_under_simultaneous_holds(org_a: Organization, reference_is_new: bool) -> None:
    """The cap is a sum over holds: only the account's row lock keeps two holds from both fitting under it."""
    from billing.errors import SpendLimitExceeded

    services.credits_grant(organization=org_a, amount_micros=10_000_000, kind="grant", idempotency_key="cap")
    CreditAccount.objects.filter(organization=org_a).update(monthly_cap_micros=3 * PRICE)

    def one_hold(n: int) -> Hold:
        with transaction.atomic():
            return services.credits_hold(
                organization=org_a, amount_micros=PRICE, reference=f"gen_cap_{n}", reference_is_new=reference_is_new
            )

    results = run_at_once(20, one_hold)
    kinds = Counter(type(r).__name__ for r in results)
    assert kinds == {"Hold": 3, SpendLimitExceeded.__name__: 17}
    assert balance_get(org_a).held_micros == 3 * PRICE
    assert ledger_drift() == []


def test_every_ledger_row_shows_the_balance_after_it_while_holds_captures_and_top_ups_run_at_once(
    org_a: Organization,
) -> None:
    """A hold books its ledger row under the account's lock: the balance it shows is the running balance."""
    services.credits_grant(organization=org_a, amount_micros=10_000_000, kind="grant", idempotency_key="start")
    for n in range(10):
        with transaction.atomic():
            services.credits_hold(organization=org_a, amount_micros=PRICE, reference=f"gen_done_{n}")

    def work(n: int) -> object:
        if n % 3 == 0:
            return services.hold_capture(reference=f"gen_done_{n // 3}")
        if n % 3 == 1:
            with transaction.atomic():
                return services.credits_hold(
                    organization=org_a, amount_micros=PRICE, reference=f"gen_new_{n}", reference_is_new=True
                )
        return services.credits_grant(organization=org_a, amount_micros=7, kind="topup", idempotency_key=f"top_{n}")

    results = run_at_once(30, work)
    assert not [r for r in results if isinstance(r, Exception)], results
    running = 0
    for entry in LedgerEntry.objects.filter(organization=org_a).order_by("pk"):
        running += entry.amount_micros
        assert entry.balance_after_micros == running, (entry.kind, entry.reference)
    assert running == balance_get(org_a).balance_micros == 1_000_000 + 10_000_000 - 10 * PRICE + 10 * 7
    assert ledger_drift() == []
