"""The job page in Chromium, as a job finishes while it is open: the on-hold message goes, the tab's title
says so without a reload, the video plays muted on a loop, times are in the viewer's time zone, the
deletion date follows the retention setting, and Cancel asks first."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.files.storage import default_storage

from accounts.models import Organization, User
from billing.selectors import balance_get
from tests.web.conftest import generation_make, png_bytes, run_to_end, screenshot
from tests.web.test_video_seek import sign_in
from videogen.models import Generation, Status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ZONE = "America/New_York"


def expect(*args: Any, **kwargs: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args, **kwargs)


@pytest.fixture
def page_in_new_york(browser: Any, live_server: Any) -> Any:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, base_url=live_server.url, timezone_id=ZONE, locale="en-US"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def local_date(value: Any) -> str:
    local = value.astimezone(ZoneInfo(ZONE))
    return f"{local:%b} {local.day}, {local.year}"


def test_a_job_that_finishes_while_its_page_is_open_updates_the_page_and_the_tab_title(
    page_in_new_york: Any, live_server: Any, alice: User, org_a: Organization, settings: Any, tmp_path: Path
) -> None:
    page = page_in_new_york
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SANDBOX_ENABLED = True
    settings.SANDBOX_LATENCY_SECONDS = 0
    settings.OUTPUT_RETENTION_DAYS = 7
    sign_in(page, alice, live_server.url)
    page.goto("/generate/?model=hailuo-02-fast")
    frame = tmp_path / "lighthouse.png"
    frame.write_bytes(png_bytes(640, 360))
    page.locator("#id_first_frame_file").set_input_files(str(frame))
    expect(page.locator("input[name=first_frame_image]")).to_have_value(re.compile(r"^upl_"))
    page.get_by_label("Prompt", exact=True).fill("A lighthouse at dusk, slow aerial orbit")
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page).to_have_url(re.compile(r"/generations/gen_[0-9a-f]+/$"))
    page.evaluate("window.__sameDocument = true")
    on_hold = page.get_by_text("Your video is on its way. $0.10 is on hold until it is ready.")
    expect(on_hold).to_be_visible()
    expect(page).to_have_title(re.compile(r"^Queued · A lighthouse"))
    generation = Generation.objects.get(organization=org_a)
    started = page.locator(".details time").first
    expect(started).to_contain_text(f"{generation.created_at.astimezone(ZoneInfo(ZONE)):%I:%M}")
    expect(started).to_contain_text("EST")

    generation = run_to_end(generation)
    assert generation.status == Status.SUCCEEDED

    expect(page).to_have_title(re.compile(r"^✓ Ready · A lighthouse"))
    expect(page.get_by_test_id("job-status")).to_have_text("Ready")
    expect(on_hold).to_have_count(0)
    expect(page.get_by_text("Charged $0.10.")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True
    assert "svg" in page.locator("link[rel~=icon]").get_attribute("href")

    video = page.get_by_test_id("video")
    assert video.evaluate("(v) => v.muted && v.loop") is True
    page.wait_for_function(
        "() => { const v = document.querySelector('video'); return !v.paused && v.currentTime > 0; }"
    )

    retention = page.get_by_test_id("retention")
    expect(retention).to_contain_text("deleted 7 days after they finish")
    expect(retention).to_contain_text(f"Stored until {local_date(generation.completed_at + timedelta(days=7))}")
    screenshot(page, "job-finished-live")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="History").click()
    expect(page.get_by_test_id("retention")).to_contain_text("Videos are deleted 7 days after they finish")
    expect(page.get_by_test_id("history-grid")).to_contain_text(
        f"Stored until {local_date(generation.completed_at + timedelta(days=7))}"
    )
    page.get_by_role("navigation", name="Show videos as").get_by_role("link", name="Table").click()
    expect(page.locator("table.history")).to_contain_text(local_date(generation.completed_at + timedelta(days=7)))

    # The page opened later does not show the old message, and says it again from the setting.
    settings.OUTPUT_RETENTION_DAYS = 45
    page.goto(f"/generations/{generation.public_id}/")
    expect(page.get_by_test_id("retention")).to_contain_text(
        f"Stored until {local_date(generation.completed_at + timedelta(days=45))}"
    )
    expect(page.get_by_test_id("retention")).to_contain_text("deleted 45 days after")
    expect(page.get_by_text("Your video is on its way.")).to_have_count(0)
    finished = page.locator(".details time").nth(1)
    expect(finished).to_contain_text(f"{generation.completed_at.astimezone(ZoneInfo(ZONE)):%I:%M}")
    expect(finished).to_contain_text("EST")

    # Deleting asks first, then the files go and the job stays.
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Delete video").click()
    expect(page.get_by_test_id("output-deleted")).to_be_visible()
    assert asked and asked[0].startswith("Delete this video and its poster now?")
    assert not default_storage.exists(generation.video.name)
    assert not default_storage.exists(generation.poster.name)


def test_cancel_asks_first_and_does_nothing_when_the_answer_is_no(
    page_in_new_york: Any, live_server: Any, alice: User, org_a: Organization
) -> None:
    page = page_in_new_york
    generation = generation_make(org_a, "a heron at dawn")
    sign_in(page, alice, live_server.url)
    page.goto(f"/generations/{generation.public_id}/")
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss() if len(asked) == 1 else dialog.accept()

    page.on("dialog", answer)
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_timeout(500)
    assert asked == ["Cancel this video? The model stops working on it and the $0.10 hold is released."]
    generation.refresh_from_db()
    assert generation.status == Status.QUEUED
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_test_id("job-status")).to_have_text("Canceled")
    generation.refresh_from_db()
    assert generation.status == Status.CANCELED
    assert balance_get(org_a).held_micros == 0


# Records the notifications the page shows, and makes the tab look like it is in the background.
NOTIFICATION_RECORDER = """
window.__notifications = [];
Object.defineProperty(document, "hidden", { get: () => window.__pretendHidden === true });
const RealNotification = window.Notification;
window.Notification = function (title, options) {
  window.__notifications.push({ title: title, body: (options || {}).body });
  return new RealNotification(title, options);
};
window.Notification.requestPermission = RealNotification.requestPermission.bind(RealNotification);
Object.defineProperty(window.Notification, "permission", { get: () => RealNotification.permission });
"""


def test_a_job_finishing_in_a_background_tab_shows_a_notification_once_allowed(
    browser: Any, live_server: Any, alice: User, org_a: Organization, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SANDBOX_ENABLED = True
    settings.SANDBOX_LATENCY_SECONDS = 0
    context = browser.new_context(base_url=live_server.url)
    context.add_init_script(NOTIFICATION_RECORDER)
    page = context.new_page()
    generation = generation_make(org_a, "A heron lifting off a misty lake")
    sign_in(page, alice, live_server.url)
    page.goto(f"/generations/{generation.public_id}/")
    offer = page.get_by_role("button", name="Tell me when it is ready")
    expect(offer).to_be_visible()  # the browser may still ask
    context.grant_permissions(["notifications"], origin=live_server.url)
    offer.click()
    expect(offer).to_be_hidden()
    page.evaluate("window.__pretendHidden = true")

    run_to_end(generation)

    page.wait_for_function("() => window.__notifications.length > 0")
    assert page.evaluate("window.__notifications") == [
        {"title": "Your video is ready", "body": "A heron lifting off a misty lake"}
    ]
    context.close()
