"""Landing, pricing, dashboard, history and the navigation, through Django's test client."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Organization
from billing.models import PriceRule
from billing.selectors import price_list
from billing.services import credits_grant
from tests.web.conftest import generation_make, run_to_end
from videogen import catalog
from videogen.models import Generation
from videogen.views import HISTORY_PAGE_SIZE

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def fund(organization: Organization, micros: int) -> None:
    credits_grant(
        organization=organization, amount_micros=micros, kind="grant", idempotency_key=f"web-{micros}", reason="test"
    )


# --- Public pages ----------------------------------------------------------------


def test_the_landing_page_says_what_the_product_does_and_links_to_sign_up_and_prices(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = text(response)
    assert "Turn a picture and a sentence into a video." in page
    assert 'href="/accounts/signup/"' in page
    assert 'href="/pricing/"' in page
    for spec in catalog.MODELS.values():
        assert spec.name in page
    assert "from <strong>$0.10</strong>" in page


def test_signed_in_visitors_of_the_landing_page_go_to_their_dashboard(web_alice: Client) -> None:
    response = web_alice.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"


def test_the_pricing_page_lists_every_variant_on_sale_at_the_price_that_is_charged(client: Client) -> None:
    page = text(client.get("/pricing/"))
    prices = price_list(catalog.all_variants())
    assert len(prices) == len(catalog.all_variants())
    for price in prices:
        row = re.search(rf'<tr data-variant="{re.escape(price["variant"])}">(.*?)</tr>', page, re.S)
        assert row, price["variant"]
        assert f"${price['price']}" in row.group(1)


def test_the_pricing_page_follows_price_rule_changes(client: Client) -> None:
    PriceRule.objects.filter(model="hailuo-02", duration=6, resolution="1080p").update(price_micros=550_000)
    PriceRule.objects.filter(model="hailuo-02", duration=10, resolution="768p").update(active=False)
    page = text(client.get("/pricing/"))
    assert re.search(r'data-variant="hailuo-02:6s:1080p">.*?\$0\.55', page, re.S)
    assert 'data-variant="hailuo-02:10s:768p"' not in page


def test_app_pages_need_a_login(client: Client) -> None:
    for url in ["/dashboard/", "/generate/", "/generations/", "/generations/gen_x/", "/generations/gen_x/status/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url


# --- Navigation ---------------------------------------------------------------------


def test_one_navigation_links_every_part_of_the_app(web_alice: Client) -> None:
    page = text(web_alice.get("/dashboard/"))
    nav = re.search(r'<nav class="mainnav"[^>]*aria-label="Main">(.*?)</nav>', page, re.S).group(1)
    links = re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav)
    assert [label for _, label in links] == [
        "Dashboard",
        "Generate",
        "History",
        "API keys",
        "Webhooks",
        "Billing",
        "Team",
        "Docs",
    ]
    assert dict((label, href) for href, label in links)["Webhooks"] == "/webhooks/"
    assert 'aria-current="page">Dashboard' in nav
    assert 'id="org-switcher"' in page


def test_the_navigation_marks_the_current_section(web_alice: Client) -> None:
    nav = text(web_alice.get("/generations/"))
    assert re.search(r'href="/generations/"\s+aria-current="page">History', nav)


# --- Dashboard ----------------------------------------------------------------------------


def test_a_new_dashboard_shows_the_sign_up_grant_and_an_empty_state(web_alice: Client) -> None:
    page = text(web_alice.get("/dashboard/"))
    assert re.search(r'data-testid="available"[^>]*>\$1\.00<', page)
    assert re.search(r'data-testid="held"[^>]*>\$0\.00<', page)
    assert "No videos yet." in page
    assert 'href="/generate/"' in page
    assert "0 runs · $0.00 spent" in page


def test_the_dashboard_shows_balance_holds_recent_videos_with_posters_and_the_usage_chart(
    web_alice: Client, org_a: Organization, fast_sandbox: None
) -> None:
    done = run_to_end(generation_make(org_a, "a lighthouse at dusk"))
    assert done.status == "succeeded"
    generation_make(org_a, "a queued fox")
    page = text(web_alice.get("/dashboard/"))
    assert re.search(r'data-testid="available"[^>]*>\$0\.80<', page)  # $1.00 - $0.10 charged - $0.10 held
    assert re.search(r'data-testid="balance"[^>]*>\$0\.90<', page)
    assert re.search(r'data-testid="held"[^>]*>\$0\.10<', page)
    assert "1 video in progress" in page
    assert "a lighthouse at dusk" in page and "a queued fox" in page
    assert f'href="/generations/{done.public_id}/"' in page
    poster = re.search(r'<img src="([^"]+)"', page.split('class="cards"')[1]).group(1)
    assert "/files/" in poster
    assert web_alice.get(poster[poster.index("/files/") :]).status_code == 200
    assert "2 runs · $0.10 spent" in page
    assert '<svg class="chart"' in page
    assert "2 runs, $0.10 spent</title>" in page


def test_the_dashboard_shows_only_the_active_organizations_videos(
    web_carol: Client, org_a: Organization, org_b: Organization
) -> None:
    generation_make(org_a, "alice's secret storyboard")
    page = text(web_carol.get("/dashboard/"))
    assert "alice&#x27;s secret storyboard" not in page
    assert "No videos yet." in page


# --- History --------------------------------------------------------------------------------


def test_history_lists_every_generation_of_the_organization_with_its_state(
    web_alice: Client, org_a: Organization, fast_sandbox: None
) -> None:
    run_to_end(generation_make(org_a, "a red kite over hills"))
    run_to_end(generation_make(org_a, "sandbox:fail a dragon"))
    generation_make(org_a, "a quiet harbor", model="hailuo-02", resolution="768p")
    page = text(web_alice.get("/generations/"))
    assert "3 videos" in page
    assert "a red kite over hills" in page and "sandbox:fail a dragon" in page and "a quiet harbor" in page
    assert "not charged" in page
    assert "$0.28 held" in page


def test_history_filters_by_status_and_model_and_searches_prompts(
    web_alice: Client, org_a: Organization, fast_sandbox: None
) -> None:
    run_to_end(generation_make(org_a, "a red kite over hills"))
    run_to_end(generation_make(org_a, "sandbox:fail a red dragon"))
    generation_make(org_a, "a quiet harbor", model="hailuo-02", resolution="768p")

    failed = text(web_alice.get("/generations/", {"status": "failed"}))
    assert "1 video matches" in failed
    assert "a red dragon" in failed and "kite" not in failed

    by_model = text(web_alice.get("/generations/", {"model": "hailuo-02"}))
    assert "a quiet harbor" in by_model and "kite" not in by_model

    search = text(web_alice.get("/generations/", {"q": "RED"}))
    assert "2 videos match" in search
    assert "harbor" not in search

    combined = text(web_alice.get("/generations/", {"q": "red", "status": "succeeded"}))
    assert "1 video matches" in combined and "kite" in combined

    nothing = text(web_alice.get("/generations/", {"q": "submarine"}))
    assert "No videos match these filters." in nothing


def test_history_is_paginated_and_keeps_the_filters_across_pages(web_alice: Client, org_a: Organization) -> None:
    credits = HISTORY_PAGE_SIZE * 100_000 + 100_000
    fund(org_a, credits)
    for n in range(HISTORY_PAGE_SIZE + 3):
        generation = generation_make(org_a, f"clip number {n:02d}")
        Generation.objects.filter(pk=generation.pk).update(created_at=timezone.now() - timedelta(minutes=100 - n))
    first = text(web_alice.get("/generations/", {"q": "clip"}))
    assert "Page 1 of 2" in first
    assert "clip number 22" in first and "clip number 02" not in first
    assert 'href="?q=clip&amp;page=2"' in first
    second = text(web_alice.get("/generations/", {"q": "clip", "page": 2}))
    assert "clip number 02" in second and "clip number 22" not in second
    assert "Page 2 of 2" in second


def test_history_has_an_empty_state(web_alice: Client) -> None:
    page = text(web_alice.get("/generations/"))
    assert "No videos yet." in page
    assert 'role="search"' not in page


def test_history_shows_only_the_active_organizations_videos(
    web_carol: Client, org_a: Organization, org_b: Organization
) -> None:
    generation_make(org_a, "alice's storyboard")
    generation_make(org_b, "carol's storyboard")
    page = text(web_carol.get("/generations/", {"q": "storyboard"}))
    assert "carol&#x27;s storyboard" in page
    assert "alice" not in page
