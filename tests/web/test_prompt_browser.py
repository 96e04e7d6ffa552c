"""In Chromium: a prompt over the limit is never cut; it is shown as over, cannot be sent, and the server's
own refusal stays highlighted next to the prompt."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Organization, User
from billing.selectors import balance_get
from tests.web.conftest import screenshot
from tests.web.test_video_seek import sign_in
from videogen import catalog
from videogen.models import Generation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def expect(*args: Any, **kwargs: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args, **kwargs)


def test_a_pasted_prompt_over_the_limit_is_kept_whole_and_generate_stays_disabled(
    page: Any, live_server: Any, alice: User, org_a: Organization
) -> None:
    limit = catalog.MAX_PROMPT_CHARS
    pasted = ("A slow dolly shot along a rain-soaked neon street at night. " * 100)[:5000]
    sign_in(page, alice, live_server.url)
    page.goto("/generate/")
    prompt = page.get_by_label("Prompt", exact=True)
    prompt.focus()
    page.keyboard.insert_text(pasted)  # what a paste does: one input event with the whole text

    assert len(prompt.input_value()) == 5000
    expect(page.locator("#prompt-count")).to_have_text(f"5000 / {limit} · {5000 - limit} over")
    expect(page.locator("#prompt-count")).to_have_class("counter counter-over")
    expect(page.locator("#error-prompt")).to_contain_text(f"Shorten it by {5000 - limit}")
    generate = page.get_by_role("button", name="Generate", exact=True)
    expect(generate).to_be_disabled()
    # Enter in a field or a script submitting the form is stopped too.
    page.evaluate("document.getElementById('generate-form').requestSubmit()")
    page.wait_for_timeout(500)
    expect(page).to_have_url(f"{live_server.url}/generate/")
    screenshot(page, "generate-prompt-over-limit")
    assert not Generation.objects.filter(organization=org_a).exists()
    assert balance_get(org_a).available_micros == 1_000_000

    # Back under the limit: the flag goes and Generate comes back.
    prompt.fill(pasted[:limit])
    expect(page.locator("#prompt-count")).to_have_text(f"{limit} / {limit}")
    expect(page.locator("#error-prompt")).to_be_hidden()
    expect(generate).to_be_enabled()


def test_the_servers_refusal_of_a_long_prompt_stays_highlighted(
    page: Any, live_server: Any, alice: User, org_a: Organization
) -> None:
    sign_in(page, alice, live_server.url)
    page.goto("/generate/")
    page.get_by_label("Prompt", exact=True).fill("x" * 2500)
    # As a browser without this page's script would: the form goes to the server as it is.
    page.evaluate(
        "() => { const b = document.getElementById('generate-submit'); b.disabled = false;"
        " document.getElementById('generate-form').submit(); }"
    )
    page.wait_for_load_state()
    expect(page.get_by_text("The video was not started: please check the highlighted fields.")).to_be_visible()
    error = page.locator("#error-prompt")
    expect(error).to_contain_text("at most 2000 characters (got 2500)")
    prompt = page.get_by_label("Prompt", exact=True)
    expect(prompt).to_have_attribute("aria-invalid", "true")
    expect(prompt).to_be_focused()
    page.wait_for_timeout(1_000)  # the page's script has run: the server's words are still there
    expect(error).to_be_visible()
    expect(error).to_contain_text("at most 2000 characters (got 2500)")
    assert len(prompt.input_value()) == 2500
    expect(page.get_by_role("button", name="Generate", exact=True)).to_be_disabled()
    screenshot(page, "generate-prompt-refused-by-server")
    assert not Generation.objects.filter(organization=org_a).exists()
    assert balance_get(org_a).available_micros == 1_000_000
