"""In Chromium, the pages work under the Content-Security-Policy and none of them trips it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from accounts.models import Organization, User
from tests.web.conftest import generation_make, png_bytes
from tests.web.test_video_seek import sign_in
from webhooks import services as webhook_services
from webhooks.models import WebhookEndpoint

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def expect(*args: Any, **kwargs: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args, **kwargs)


def test_the_pages_run_their_scripts_and_nothing_violates_the_policy(
    page: Any, live_server: Any, alice: User, org_a: Organization, settings: Any, tmp_path: Any
) -> None:
    settings.PUBLIC_BASE_URL = live_server.url
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    endpoint, _ = webhook_services.endpoint_create(organization=org_a, url="http://127.0.0.1:9/hooks")
    job = generation_make(org_a, "a heron at dawn")
    sign_in(page, alice, live_server.url)
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )

    page.goto("/generate/")
    # generate.js: choosing a frame shows its preview before anything is uploaded.
    frame = tmp_path / "frame.png"
    frame.write_bytes(png_bytes())
    page.locator("input[type=file]").first.set_input_files(str(frame))
    expect(page.locator("img[src^='blob:'], img[src*='/files/']").first).to_be_visible()
    page.goto(f"/generations/{job.public_id}/")
    # job.js keeps the elapsed time running.
    elapsed = page.locator("[data-elapsed]")
    first = elapsed.inner_text()
    expect(elapsed).not_to_have_text(first, timeout=5_000)
    page.goto("/dashboard/")
    page.goto("/billing/")
    page.goto("/api/docs")
    expect(page.get_by_text("Create a generation")).to_be_visible(timeout=20_000)

    # app.js asks before a destructive form is sent (it was an inline onsubmit).
    page.goto(f"/webhooks/{endpoint.public_id}/")
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss() if len(asked) == 1 else dialog.accept()

    page.on("dialog", answer)
    page.get_by_role("button", name="Delete").click()
    assert asked == ["Delete this endpoint and its delivery log?"]
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()  # dismissed: nothing was sent
    page.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(r"/webhooks/$"))
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()

    assert violations == []
