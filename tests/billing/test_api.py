from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiKey, Organization
from billing import services
from tests.billing.conftest import TEST_URLS, hold

pytestmark = [pytest.mark.django_db, pytest.mark.urls(TEST_URLS)]


def test_the_balance_shows_balance_held_and_available(
    api_a: APIClient, org_a: Organization, api_key_a: tuple[ApiKey, str]
) -> None:
    hold(org_a, 280_000, "gen_1", api_key=api_key_a[0])
    response = api_a.get("/api/v1/balance")
    assert response.status_code == 200
    assert response.json() == {
        "object": "balance",
        "currency": "usd",
        "balance": "1.00",
        "balance_micros": 1_000_000,
        "held": "0.28",
        "held_micros": 280_000,
        "available": "0.72",
        "available_micros": 720_000,
    }


def test_the_balance_needs_an_api_key(db: None) -> None:
    response = APIClient().get("/api/v1/balance")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


def test_each_organization_sees_only_its_own_balance_and_ledger(
    api_a: APIClient, api_b: APIClient, org_a: Organization, org_b: Organization
) -> None:
    hold(org_a, 500_000, "gen_a")
    services.hold_capture(reference="gen_a")
    assert api_b.get("/api/v1/balance").json()["balance_micros"] == 1_000_000
    assert api_a.get("/api/v1/balance").json()["balance_micros"] == 500_000
    ledger_b = api_b.get("/api/v1/ledger").json()["data"]
    assert [e["kind"] for e in ledger_b] == ["grant"]
    assert all(e["generation"] != "gen_a" for e in ledger_b)


def test_a_cursor_from_another_organization_is_refused(
    api_a: APIClient, api_b: APIClient, org_a: Organization, org_b: Organization
) -> None:
    entry_of_a = api_a.get("/api/v1/ledger").json()["data"][0]["id"]
    response = api_b.get("/api/v1/ledger", {"cursor": entry_of_a})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "cursor"


def test_the_ledger_pages_newest_first_with_a_cursor(
    api_a: APIClient, org_a: Organization, api_key_a: tuple[ApiKey, str]
) -> None:
    for n in range(3):
        hold(org_a, 100_000, f"gen_{n}", api_key=api_key_a[0])
        services.hold_capture(reference=f"gen_{n}", upstream_cost_micros=70_000)
    # grant, then hold+capture three times: 7 entries.
    first = api_a.get("/api/v1/ledger", {"limit": 4}).json()
    assert first["has_more"] is True
    assert [e["kind"] for e in first["data"]] == ["capture", "hold", "capture", "hold"]
    newest = first["data"][0]
    assert newest["generation"] == "gen_2"
    assert newest["amount"] == "-0.10"
    assert newest["amount_micros"] == -100_000
    assert newest["balance_after_micros"] == 700_000
    assert newest["api_key"] == api_key_a[0].public_id

    second = api_a.get("/api/v1/ledger", {"limit": 4, "cursor": first["next_cursor"]}).json()
    assert second["has_more"] is False
    assert second["next_cursor"] is None
    assert [e["kind"] for e in second["data"]] == ["capture", "hold", "grant"]
    ids = [e["id"] for e in first["data"] + second["data"]]
    assert len(set(ids)) == 7


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_a_bad_ledger_limit_is_a_400_naming_the_parameter(api_a: APIClient, limit: str) -> None:
    response = api_a.get("/api/v1/ledger", {"limit": limit})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "limit"


def test_the_ledger_never_shows_the_operators_internal_note(api_a: APIClient, org_a: Organization) -> None:
    from accounts.models import User

    staff = User.objects.create_user(email="ops@example.com", password="x", is_staff=True)
    services.credits_adjust(
        organization=org_a, amount_micros=250_000, reason="goodwill: customer threatened a chargeback", staff_user=staff
    )
    services.credits_adjust(
        organization=org_a,
        amount_micros=100_000,
        reason="internal: duplicate render on our side",
        description="Credit for a video we rendered twice",
        staff_user=staff,
    )
    reasons = [entry["reason"] for entry in api_a.get("/api/v1/ledger").json()["data"]]
    assert "Credit for a video we rendered twice" in reasons
    assert "Adjustment by our team" in reasons
    assert not [reason for reason in reasons if "chargeback" in reason or "internal" in reason]
