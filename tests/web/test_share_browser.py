"""In Chromium: a share link plays the video signed out, and stops working once revoked or once the video is
deleted."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from accounts.models import Organization, User
from tests.web.conftest import generation_make, run_to_end, screenshot
from tests.web.test_video_seek import sign_in
from videogen.models import Generation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def expect(*args: Any, **kwargs: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args, **kwargs)


def test_a_share_link_plays_signed_out_and_stops_working_once_revoked(
    page: Any, browser: Any, live_server: Any, alice: User, org_a: Organization, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SANDBOX_ENABLED = True
    settings.SANDBOX_LATENCY_SECONDS = 0
    generation = run_to_end(generation_make(org_a, "A heron lifting off a misty lake at dawn"))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, alice, live_server.url)
    page.goto(f"/generations/{generation.public_id}/")
    page.get_by_role("button", name="Create a share link").click()
    expect(page.get_by_text("Anyone with the link can now watch this video")).to_be_visible()
    link = page.get_by_label(re.compile(r"^Share link")).input_value()
    assert re.fullmatch(rf"{re.escape(live_server.url)}/s/[\w-]{{20,}}/", link), link
    page.get_by_role("button", name="Copy link").click()
    assert page.evaluate("navigator.clipboard.readText()") == link

    stranger = browser.new_context(base_url=live_server.url)
    visitor = stranger.new_page()
    response = visitor.goto(link)
    assert response.status == 200
    expect(visitor.get_by_test_id("shared")).to_contain_text("A heron lifting off a misty lake at dawn")
    expect(visitor.get_by_role("link", name="Make your own")).to_be_visible()
    visitor.evaluate("async () => { const v = document.querySelector('video'); v.muted = true; await v.play(); }")
    visitor.wait_for_function(
        "() => { const v = document.querySelector('video'); return v.readyState >= 2 && v.currentTime > 0.2; }"
    )
    screenshot(visitor, "shared-video")
    # Signed out means signed out: the rest of the account stays closed.
    visitor.goto(f"/generations/{generation.public_id}/")
    expect(visitor).to_have_url(re.compile(r"/accounts/login/"))

    page.get_by_role("button", name="Stop sharing").click()
    expect(page.get_by_text("The share link no longer works.")).to_be_visible()
    assert visitor.goto(link).status == 404

    # Sharing again makes a new link; deleting the video ends it too.
    page.get_by_role("button", name="Create a share link").click()
    second = page.get_by_label(re.compile(r"^Share link")).input_value()
    assert second != link
    assert visitor.goto(second).status == 200
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete video").click()
    expect(page.get_by_test_id("output-deleted")).to_be_visible()
    assert visitor.goto(second).status == 404
    stranger.close()


def test_only_the_organization_can_share_or_revoke(
    web_carol: Client, org_a: Organization, org_b: Organization, settings: Any
) -> None:
    settings.SANDBOX_ENABLED = True
    settings.SANDBOX_LATENCY_SECONDS = 0
    generation = run_to_end(generation_make(org_a))
    assert web_carol.post(f"/generations/{generation.public_id}/share/").status_code == 404
    Generation.objects.filter(pk=generation.pk).update(share_token="kept-by-alice")
    assert web_carol.post(f"/generations/{generation.public_id}/unshare/").status_code == 404
    assert Generation.objects.get(pk=generation.pk).share_token == "kept-by-alice"
    assert Client().get("/s/kept-by-alice/").status_code == 200
    assert Client().get("/s/not-a-token/").status_code == 404
