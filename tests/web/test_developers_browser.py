"""For developers, in Chromium against a live server: the docs are one click away, a new key comes with a copy
button and curl and Python that work as pasted, and every job page shows itself as a native API request that
starts the same job."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

import pytest

from accounts.models import ApiKey, Organization, User
from accounts.services import api_key_create
from billing.services import credits_grant
from tests.web.conftest import generation_make, png_bytes, screenshot
from tests.web.test_video_seek import sign_in
from videogen.models import Generation
from videogen.services.uploads import upload_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def expect(*args: Any, **kwargs: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args, **kwargs)


def run(command: list[str], env: dict[str, str] | None = None) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def test_the_docs_are_linked_from_the_top_bar_and_the_footer(page: Any, live_server: Any, alice: User) -> None:
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Docs").click()
    expect(page).to_have_url(re.compile(r"/api/docs$"))
    expect(page.get_by_text("Create a generation")).to_be_visible(timeout=20_000)
    sign_in(page, alice, live_server.url)
    page.goto("/dashboard/")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Docs")).to_have_attribute(
        "href", "/api/docs"
    )
    expect(page.get_by_role("contentinfo").get_by_role("link", name="API docs")).to_have_attribute("href", "/api/docs")


def test_a_new_key_can_be_copied_and_its_snippets_work_as_pasted(
    page: Any, live_server: Any, alice: User, org_a: Organization, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = live_server.url
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, alice, live_server.url)
    page.goto("/api-keys/")
    page.get_by_label("Key name").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    raw_key = page.get_by_test_id("new-api-key").inner_text().strip()
    assert ApiKey.objects.get(organization=org_a, name="laptop").prefix in raw_key

    page.get_by_role("button", name="Copy key").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == raw_key

    curl = page.get_by_test_id("new-key-curl").inner_text()
    python = page.get_by_test_id("new-key-python").inner_text()
    assert raw_key in curl and raw_key in python
    page.locator("[data-copy=new-key-python]").click()
    assert page.evaluate("navigator.clipboard.readText()") == python.strip()
    screenshot(page, "api-key-created")

    from_curl = run(["bash", "-c", curl])
    assert re.search(r'"id":\s*"gen_[0-9a-f]+"', from_curl), from_curl
    from_python = run([sys.executable, "-c", python])
    assert re.fullmatch(r"gen_[0-9a-f]+ queued\n", from_python), from_python
    made = Generation.objects.filter(organization=org_a, api_key__name="laptop")
    assert made.count() == 2
    assert {g.input["prompt"] for g in made} == {"A paper boat drifting down a rainy street"}


def test_a_job_shown_as_an_api_request_starts_the_same_job(
    page: Any, live_server: Any, alice: User, org_a: Organization, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = live_server.url
    credits_grant(organization=org_a, amount_micros=5_000_000, kind="grant", idempotency_key="dev", reason="test")
    frame = upload_create(organization=org_a, data=png_bytes(), field="first_frame_image")
    original = generation_make(
        org_a,
        "A heron's slow take-off over a misty lake",
        model="minimax-hailuo-2",
        mode="pro",
        prompt_optimizer=False,
        first_frame_image=frame.public_id,
    )
    _key, raw_key = api_key_create(organization=org_a, name="ci", created_by=alice)
    sign_in(page, alice, live_server.url)
    page.goto(f"/generations/{original.public_id}/")
    page.get_by_text("As an API request").click()
    curl = page.get_by_test_id("job-curl")
    expect(curl).to_be_visible()
    assert "$HAILUO_API_KEY" in curl.inner_text()
    screenshot(page, "job-as-api-request")

    run(["bash", "-c", curl.inner_text()], env={"HAILUO_API_KEY": raw_key})
    run([sys.executable, "-c", page.get_by_test_id("job-python").inner_text()], env={"HAILUO_API_KEY": raw_key})
    copies = Generation.objects.filter(organization=org_a, api_key__name="ci")
    assert copies.count() == 2
    for copy in copies:
        assert (copy.model, copy.input, copy.price_micros) == (original.model, original.input, original.price_micros)
