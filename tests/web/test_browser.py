"""The web app in headless Chromium against a live server with a real worker on the sandbox provider.

Run: `DEBUG=1 VIDEOGEN_TESTING=1 .venv/bin/pytest tests/web/test_browser.py`. Screenshots of the
dashboard, the generate page and a finished job land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, emails_to
from tests.web.conftest import png_bytes, screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    # The worker is another process, so the data must really be committed.
    pytest.mark.django_db(transaction=True),
]

JOB_TIMEOUT_MS = 120_000


def expect(*args, **kwargs):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args, **kwargs)


def sign_up(page, name: str, email: str) -> None:
    """Sign up, then follow the link in the verification email (the live server runs in this process)."""
    page.goto("/")
    page.get_by_role("link", name=re.compile(r"^Start free")).click()
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    message = emails_to(email)[-1]
    page.goto(re.search(r"http://\S+/accounts/confirm-email/\S+", message.body).group(0))
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))


def open_generate(page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Generate").click()
    expect(page.get_by_role("heading", name="Generate a video")).to_be_visible()


def choose_model(page, name: str) -> None:
    page.get_by_role("radio", name=name, exact=True).check()


def submit_and_open_job(page) -> None:
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page).to_have_url(re.compile(r"/generations/gen_[0-9a-f]+/$"))
    # Set on this document only: still there at the end means the page never reloaded.
    page.evaluate("window.__sameDocument = true")


def test_a_new_customer_generates_a_video_from_a_picture_and_watches_it(page, worker, tmp_path: Path) -> None:
    sign_up(page, "Dana", "dana@example.com")
    expect(page.get_by_test_id("available")).to_have_text("$1.00")
    expect(page.get_by_text("No videos yet.")).to_be_visible()

    open_generate(page)
    # The options follow the model and its rules.
    choose_model(page, "Hailuo 02")
    page.get_by_role("radio", name="1080p", exact=True).check()
    expect(page.get_by_role("radio", name="10 s")).to_be_disabled()
    expect(page.get_by_text("1080p is available only at 6 s.")).to_be_visible()
    expect(page.get_by_test_id("price")).to_have_text("$0.49")
    choose_model(page, "MiniMax Hailuo 2")
    expect(page.get_by_role("radio", name="Pro · 1080p")).to_be_visible()
    expect(page.get_by_role("radio", name="1080p", exact=True)).to_be_hidden()
    choose_model(page, "Hailuo 2.3 Fast")
    expect(page.locator("[data-frame=last_frame_image]")).to_be_hidden()
    choose_model(page, "Hailuo 02 Fast")
    expect(page.get_by_test_id("price")).to_have_text("$0.10")
    expect(page.get_by_role("checkbox", name="Fast mode")).to_be_visible()
    # Every provider of this model animates a first frame: the form says so and asks for one before sending.
    expect(page.locator("[data-frame=first_frame_image] [data-required-note]")).to_have_text("(required)")
    page.get_by_label("Prompt", exact=True).fill("A lighthouse with no picture yet")
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page.locator("#error-first_frame_image")).to_contain_text("Hailuo 02 Fast needs a first frame image.")
    expect(page).to_have_url(re.compile(r"/generate/$"))

    # The image rules are checked in the browser before anything is uploaded.
    too_small = tmp_path / "small.png"
    too_small.write_bytes(png_bytes(280, 280))
    page.locator("#id_last_frame_file").set_input_files(str(too_small))
    expect(page.locator("#error-last_frame_image")).to_contain_text("shorter side must be over 300 px")
    expect(page.locator("input[name=last_frame_image]")).to_have_value("")

    first_frame = tmp_path / "first.png"
    first_frame.write_bytes(png_bytes(640, 360))
    page.locator("#id_first_frame_file").set_input_files(str(first_frame))
    expect(page.locator("input[name=first_frame_image]")).to_have_value(re.compile(r"^upl_"))
    expect(page.get_by_role("img", name="First frame preview")).to_be_visible()
    expect(page.locator("[data-frame=first_frame_image]")).to_contain_text("640×360 px")

    prompt = "A lighthouse on a cliff at dusk, waves crashing, slow aerial orbit"
    page.get_by_label("Prompt", exact=True).fill(prompt)
    expect(page.locator("#prompt-count")).to_have_text(f"{len(prompt)} / 2000")
    screenshot(page, "generate")

    submit_and_open_job(page)
    expect(page.get_by_text("Your video is on its way.")).to_be_visible()
    expect(page.get_by_test_id("job-status")).to_have_text("Ready", timeout=JOB_TIMEOUT_MS)
    assert page.evaluate("window.__sameDocument") is True

    video = page.locator("video")
    expect(video).to_be_visible()
    can_play = page.evaluate("""() => document.createElement('video').canPlayType('video/mp4; codecs="avc1.42E01E"')""")
    assert can_play in ("probably", "maybe"), f"this Chromium cannot play H.264: canPlayType={can_play!r}"
    page.evaluate("async () => { const v = document.querySelector('video'); v.muted = true; await v.play(); }")
    page.wait_for_function(
        "() => { const v = document.querySelector('video');"
        " return v.duration > 0 && v.readyState >= 2 && v.currentTime > 0.2; }"
    )
    assert page.evaluate("document.querySelector('video').duration") > 5
    page.evaluate("() => document.querySelector('video').pause()")
    poster = page.request.get(video.get_attribute("poster"))
    assert (poster.status, poster.headers["content-type"]) == (200, "image/jpeg")
    download = page.get_by_test_id("download")
    response = page.request.get(download.get_attribute("href"))
    assert response.status == 200
    assert response.headers["content-type"] == "video/mp4"
    assert "attachment" in response.headers["content-disposition"]
    expect(page.get_by_text("Charged $0.10.")).to_be_visible()
    screenshot(page, "job-succeeded")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_test_id("available")).to_have_text("$0.90")
    expect(page.get_by_test_id("balance")).to_have_text("$0.90")
    expect(page.locator(".card img")).to_be_visible()
    page.wait_for_function("() => [...document.querySelectorAll('.card img')].every(i => i.naturalWidth > 0)")

    # A failed job is explained and costs nothing.
    open_generate(page)
    choose_model(page, "Hailuo 02 Fast")
    page.locator("#id_first_frame_file").set_input_files(str(first_frame))
    expect(page.locator("input[name=first_frame_image]")).to_have_value(re.compile(r"^upl_"))
    page.get_by_label("Prompt", exact=True).fill("sandbox:fail a storm over the sea")
    submit_and_open_job(page)
    expect(page.get_by_test_id("job-status")).to_have_text("Failed", timeout=JOB_TIMEOUT_MS)
    assert page.evaluate("window.__sameDocument") is True
    error = page.get_by_test_id("job-error")
    expect(error).to_contain_text("content filter")
    expect(error).to_contain_text("Nothing was charged.")
    screenshot(page, "job-failed")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_test_id("available")).to_have_text("$0.90")
    expect(page.get_by_test_id("usage-summary")).to_have_text("2 runs · $0.10 spent")
    screenshot(page, "dashboard")

    # An API key is shown once.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_test_id("new-api-key")
    expect(key).to_be_visible()
    raw_key = key.inner_text().strip()
    assert len(raw_key) > 20
    page.goto("/api-keys/")
    expect(page.get_by_test_id("new-api-key")).to_have_count(0)
    expect(page.get_by_role("cell", name="laptop")).to_be_visible()
    assert raw_key not in page.content()


def test_a_running_video_can_be_canceled_from_its_page_and_history_lists_it(page, worker, tmp_path: Path) -> None:
    sign_up(page, "Eve", "eve@example.com")
    open_generate(page)
    page.set_viewport_size({"width": 390, "height": 844})
    choose_model(page, "MiniMax Hailuo 2")
    expect(page.get_by_test_id("price")).to_have_text("$0.28")
    screenshot(page, "generate-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    # The form works from the keyboard: arrow keys move between models, the price follows.
    page.get_by_role("radio", name="Hailuo 02", exact=True).focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("radio", name="Hailuo 02 Fast", exact=True)).to_be_checked()
    expect(page.get_by_test_id("price")).to_have_text("$0.10")
    first_frame = tmp_path / "clock.png"
    first_frame.write_bytes(png_bytes(640, 360))
    page.locator("#id_first_frame_file").set_input_files(str(first_frame))
    expect(page.locator("input[name=first_frame_image]")).to_have_value(re.compile(r"^upl_"))
    page.get_by_label("Prompt", exact=True).fill("sandbox:hang a clock that never strikes")
    submit_and_open_job(page)
    expect(page.get_by_test_id("job-status")).to_have_text("Generating", timeout=JOB_TIMEOUT_MS)
    assert page.evaluate("window.__sameDocument") is True
    screenshot(page, "job-running")
    page.once("dialog", lambda dialog: dialog.accept())  # Cancel asks first
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text("Canceled. Nothing was charged")).to_be_visible()
    expect(page.get_by_test_id("job-status")).to_have_text("Canceled")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="History").click()
    page.get_by_label("Status").select_option("canceled")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("history-count")).to_have_text("1 video matches")
    page.get_by_label("Search prompts").fill("sunrise")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No videos match these filters.")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_test_id("available")).to_have_text("$1.00")
    expect(page.get_by_test_id("held")).to_have_text("$0.00")
