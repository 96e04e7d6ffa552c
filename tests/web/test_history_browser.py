"""History in Chromium: a grid of posters whose videos play on hover, with the table kept as an option that
keeps the filters."""

from __future__ import annotations

import re
from typing import Any

import pytest

from accounts.models import Organization, User
from tests.web.conftest import generation_make, run_to_end, screenshot
from tests.web.test_video_seek import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def expect(*args: Any, **kwargs: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args, **kwargs)


def test_history_is_a_grid_whose_videos_play_on_hover_with_a_table_as_an_option(
    page: Any, live_server: Any, alice: User, org_a: Organization, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SANDBOX_ENABLED = True
    settings.SANDBOX_LATENCY_SECONDS = 0
    run_to_end(generation_make(org_a, "A red kite over the hills"))
    run_to_end(generation_make(org_a, "sandbox:fail a storm"))
    sign_in(page, alice, live_server.url)
    page.goto("/generations/")
    grid = page.get_by_test_id("history-grid")
    ready = grid.locator(".card", has_text="A red kite over the hills")
    failed = grid.locator(".card", has_text="a storm")
    expect(ready.locator("img")).to_be_visible()
    expect(failed).to_contain_text("not charged")
    assert ready.locator("video").count() == 0  # nothing downloads before the pointer comes

    ready.hover()
    page.wait_for_function(
        "() => { const v = document.querySelector('.card video'); return v && !v.paused && v.currentTime > 0.2; }"
    )
    assert ready.locator("video").evaluate("(v) => v.muted && v.loop") is True
    screenshot(page, "history-grid-hover")
    page.mouse.move(0, 0)
    page.wait_for_function("() => document.querySelector('.card video').paused")
    assert failed.locator("video").count() == 0

    page.get_by_label("Search prompts").fill("kite")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("navigation", name="Show videos as").get_by_role("link", name="Table").click()
    expect(page).to_have_url(re.compile(r"[?&]q=kite"))
    expect(page.locator("table.history")).to_contain_text("A red kite over the hills")
    expect(page.locator("table.history")).not_to_contain_text("a storm")
    page.get_by_role("button", name="Filter").click()  # filtering again stays in the table
    expect(page.locator("table.history")).to_be_visible()
