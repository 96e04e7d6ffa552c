from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command, execute_from_command_line
from django.db import connection

from accounts.models import Organization
from billing import services
from billing.models import CreditAccount
from tests.billing.conftest import hold

pytestmark = pytest.mark.django_db


def test_billing_audit_passes_when_every_account_matches_its_ledger(
    org_a: Organization, org_b: Organization, capsys: pytest.CaptureFixture[str]
) -> None:
    hold(org_a, 100_000, "gen_1")
    services.hold_capture(reference="gen_1")
    hold(org_a, 280_000, "gen_2")
    hold(org_b, 100_000, "gen_3")
    services.hold_release(reference="gen_3", reason="failed")
    call_command("billing_audit")
    assert "matches" in capsys.readouterr().out


def test_billing_audit_names_the_organization_whose_balance_was_tampered_with(
    org_a: Organization, org_b: Organization, capsys: pytest.CaptureFixture[str]
) -> None:
    table = CreditAccount._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET balance_micros = balance_micros + 5 WHERE organization_id = %s",  # noqa: S608
            [org_b.pk],
        )
    with pytest.raises(CommandError) as caught:
        call_command("billing_audit")
    assert org_b.public_id in str(caught.value)
    assert org_a.public_id not in str(caught.value)
    assert f"DRIFT {org_b.public_id}" in capsys.readouterr().err


def test_billing_audit_notices_held_credit_without_an_open_hold(org_a: Organization) -> None:
    hold(org_a, 100_000, "gen_1")
    table = CreditAccount._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET held_micros = 0 WHERE organization_id = %s", [org_a.pk])  # noqa: S608
    with pytest.raises(CommandError, match=org_a.public_id):
        call_command("billing_audit")


def test_billing_audit_exits_non_zero_from_the_command_line(org_a: Organization) -> None:
    table = CreditAccount._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET balance_micros = 7 WHERE organization_id = %s", [org_a.pk])  # noqa: S608
    with pytest.raises(SystemExit) as caught:
        execute_from_command_line(["manage.py", "billing_audit"])
    assert caught.value.code == 1


def test_billing_audit_notices_an_open_hold_count_that_does_not_match_the_holds(
    org_a: Organization, capsys: pytest.CaptureFixture[str]
) -> None:
    hold(org_a, 100_000, "gen_1")
    CreditAccount.objects.filter(organization=org_a).update(open_holds=2)
    with pytest.raises(CommandError, match=org_a.public_id):
        call_command("billing_audit")
    assert "open hold count is 2 holds" in capsys.readouterr().err
