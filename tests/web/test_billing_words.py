"""The billing page and its CSV download speak the customer's words: reserved, charged, returned, each linked
to its video; an operator's internal note stays internal."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from django.test import Client

from accounts.models import Organization
from billing.money import usd_to_micros
from billing.services import account_for, credits_adjust
from tests.conftest import staff_user
from tests.web.conftest import generation_make, run_to_end
from videogen.models import Status
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def rows(page: str) -> list[str]:
    """The ledger table's rows as plain text, newest first."""
    table = re.search(r'<table data-testid="ledger">(.*?)</table>', page, re.S).group(1)
    body = table.split("<tbody>")[1]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in body.split("</tr>")[:-1]]


def test_each_movement_is_said_in_plain_words_and_links_to_its_video(
    web_alice: Client, org_a: Organization, fast_sandbox: None
) -> None:
    ready = run_to_end(generation_make(org_a, "a lighthouse"))
    failed = run_to_end(generation_make(org_a, "sandbox:fail a storm"))
    assert (ready.status, failed.status) == (Status.SUCCEEDED, Status.FAILED)
    page = web_alice.get("/billing/").content.decode()
    shown = rows(page)
    assert shown[0].startswith(f"Returned from {failed.public_id}") and "$0.10 returned" in shown[0]
    assert shown[1].startswith(f"Reserved for {failed.public_id}") and "$0.10 reserved" in shown[1]
    assert shown[2].startswith(f"Charged for {ready.public_id}") and "-$0.10" in shown[2]
    assert shown[3].startswith(f"Reserved for {ready.public_id}")
    assert shown[-1].startswith("Welcome credit") and "+$1.00" in shown[-1]
    for generation in (ready, failed):
        assert f'<a href="/generations/{generation.public_id}/"><code>{generation.public_id}</code></a>' in page
    for word in ("Hold", "Capture", "Release"):
        assert f">{word}" not in page


def test_an_adjustment_shows_the_customer_description_never_the_operators_note(
    web_alice: Client, org_a: Organization
) -> None:
    operator = staff_user("ops@example.com")
    credits_adjust(
        organization=org_a,
        amount_micros=2_000_000,
        reason="Customer angry on Twitter, goodwill per Sam",
        description="Sorry for the slow videos on Tuesday",
        staff_user=operator,
    )
    credits_adjust(organization=org_a, amount_micros=-500_000, reason="Duplicate top-up booked", staff_user=operator)
    page = web_alice.get("/billing/").content.decode()
    shown = rows(page)
    assert shown[0].startswith("Adjustment by our team") and "-$0.50" in shown[0]
    assert shown[1].startswith("Sorry for the slow videos on Tuesday") and "+$2.00" in shown[1]
    assert "angry" not in page and "Duplicate" not in page
    download = b"".join(web_alice.get("/billing/ledger.csv").streaming_content).decode()
    assert "Sorry for the slow videos on Tuesday" in download
    assert "angry" not in download and "Duplicate" not in download


def test_the_ledger_downloads_as_csv_oldest_first(web_alice: Client, org_a: Organization, fast_sandbox: None) -> None:
    ready = run_to_end(generation_make(org_a, "a lighthouse"))
    response = web_alice.get("/billing/ledger.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="hailuo-studio-ledger-[\w-]+-\d{4}-\d\d-\d\d\.csv"', response["Content-Disposition"]
    )
    table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert table[0] == [
        "date_utc",
        "entry",
        "what",
        "generation",
        "amount_usd",
        "reserved_change_usd",
        "balance_after_usd",
    ]
    body = [row[2:] for row in table[1:]]
    assert body == [
        ["Welcome credit", "", "1.00", "0.00", "1.00"],
        ["Reserved for", ready.public_id, "0.00", "0.10", "1.00"],
        ["Charged for", ready.public_id, "-0.10", "-0.10", "0.90"],
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row[0]) for row in table[1:])
    assert 'href="/billing/ledger.csv"' in web_alice.get("/billing/").content.decode()


def test_another_organizations_ledger_is_not_in_the_download(
    web_carol: Client, org_a: Organization, org_b: Organization
) -> None:
    alices = generation_make(org_a, "alice's secret project")
    download = b"".join(web_carol.get("/billing/ledger.csv").streaming_content).decode()
    assert alices.public_id not in download
    assert len(download.strip().splitlines()) == 2  # the header and carol's own welcome credit


def test_the_download_needs_a_login(db: None) -> None:
    response = Client().get("/billing/ledger.csv")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_a_new_customer_is_not_told_they_are_low_after_their_first_video(
    web_alice: Client, org_a: Organization, fast_sandbox: None, settings: Any
) -> None:
    account = account_for(org_a)
    assert account.low_balance_threshold_micros < usd_to_micros(settings.SIGNUP_GRANT_USD)
    run_to_end(generation_make(org_a, "a lighthouse", model="hailuo-02", resolution="1080p"))  # $0.49 of $1.00
    assert not Event.objects.filter(organization=org_a, type="credits.low").exists()


def test_usage_downloads_as_csv_with_what_each_video_cost(
    web_alice: Client, org_a: Organization, fast_sandbox: None
) -> None:
    ready = run_to_end(generation_make(org_a, "a lighthouse"))
    failed = run_to_end(generation_make(org_a, "sandbox:fail a storm", model="hailuo-02", resolution="1080p"))
    waiting = generation_make(org_a, "a harbor", model="minimax-hailuo-2", mode="pro")
    response = web_alice.get("/generations.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert table[0][:3] == ["created_utc", "generation", "model"]
    rows = {row[1]: row[2:9] for row in table[1:]}
    assert rows == {
        ready.public_id: ["hailuo-02-fast", "6", "512p", "", "web", "succeeded", "0.10"],
        failed.public_id: ["hailuo-02", "6", "1080p", "", "web", "failed", "0.00"],
        waiting.public_id: ["minimax-hailuo-2", "6", "1080p", "pro", "web", "queued", "0.00"],
    }
    assert 'href="/generations.csv"' in web_alice.get("/billing/").content.decode()
    assert 'href="/generations.csv"' in web_alice.get("/generations/").content.decode()


def test_usage_of_another_organization_is_not_in_the_download(
    web_carol: Client, org_a: Organization, org_b: Organization
) -> None:
    alices = generation_make(org_a)
    download = b"".join(web_carol.get("/generations.csv").streaming_content).decode()
    assert alices.public_id not in download
    assert len(download.strip().splitlines()) == 1
