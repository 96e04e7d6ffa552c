"""In Chromium, every public and signed-in page at phone size (390×844) and desktop size (1440×900):
nothing is wider than the screen, the phone's top bar folds into a menu, and each page is saved as a
screenshot for reviewers in test-artifacts/screenshots/pages/."""

from __future__ import annotations

import re
from typing import Any

import pytest

from accounts import services as account_services
from accounts.models import Membership, Organization, Role, User
from tests.conftest import member_of
from tests.web.conftest import SCREENSHOTS, generation_make, run_to_end
from tests.web.test_showcase import ONE_CLIP
from tests.web.test_video_seek import sign_in
from videogen.services import sharing
from videogen.services.showcase import showcase_seed
from webhooks import services as webhook_services

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
PAGES_DIR = SCREENSHOTS / "pages"

PUBLIC_PAGES = {
    "home": "/",
    "pricing": "/pricing/",
    "log-in": "/accounts/login/",
    "sign-up": "/accounts/signup/",
    "password-reset": "/accounts/password/reset/",
    "invitation-invalid": "/invitations/not-a-real-token/",
    "api-docs": "/api/docs",
}


def expect(*args: Any, **kwargs: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args, **kwargs)


def a_busy_organization(alice: User, org_a: Organization, settings: Any) -> dict[str, str]:
    """alice's organization with a bit of everything: jobs in each state, a team, a key, a webhook with a delivery."""
    settings.SANDBOX_LATENCY_SECONDS = 0
    settings.SANDBOX_ENABLED = True
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    long_prompt = "An extraordinarily-long-unbroken-word-that-should-wrap-instead-of-widening-the-page " * 4
    ready = run_to_end(generation_make(org_a, "A lighthouse on a cliff at dusk, waves crashing, slow aerial orbit"))
    failed = run_to_end(generation_make(org_a, "sandbox:fail a storm over the sea"))
    waiting = generation_make(org_a, long_prompt, model="hailuo-02", resolution="1080p")
    member_of(org_a, "bob.with.a.rather.long.address@example-company.com", Role.MEMBER, name="Bob Longname")
    owner = Membership.objects.get(user=alice, organization=org_a)
    account_services.invitation_create(actor=owner, email="new.colleague.with.long.name@example.org", role=Role.ADMIN)
    account_services.api_key_create(organization=org_a, name="production server key", created_by=alice)
    endpoint, _ = webhook_services.endpoint_create(
        organization=org_a, url="http://127.0.0.1:9/hooks/a-rather-long-path/for-the-webhook-endpoint"
    )
    delivery = webhook_services.endpoint_test_send(endpoint=endpoint)
    token = sharing.generation_share(generation=ready)
    return {
        "shared-video": f"/s/{token}/",
        "dashboard": "/dashboard/",
        "generate": "/generate/",
        "history": "/generations/",
        "history-table": "/generations/?view=table",
        "job-ready": f"/generations/{ready.public_id}/",
        "job-failed": f"/generations/{failed.public_id}/",
        "job-running": f"/generations/{waiting.public_id}/",
        "generate-again": f"/generations/{ready.public_id}/again/",
        "api-keys": "/api-keys/",
        "webhooks": "/webhooks/",
        "webhook-new": "/webhooks/new/",
        "webhook-detail": f"/webhooks/{endpoint.public_id}/",
        "webhook-delivery": f"/webhooks/deliveries/{delivery.public_id}/",
        "billing": "/billing/",
        "team": "/org/members/",
        "organization-settings": "/org/settings/",
        "organization-new": "/org/new/",
        "account": "/account/",
        "account-emails": "/accounts/email/",
        "account-password": "/accounts/password/change/",
        "account-two-factor": "/accounts/2fa/",
        "account-sessions": "/accounts/sessions/",
    }


WIDER_THAN_SCREEN = """() => {
  const width = window.innerWidth;
  const wide = [...document.querySelectorAll('body *')].filter((el) => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && (box.right > width + 1 || box.left < -1) && getComputedStyle(el).position !== 'fixed'
      && !el.closest('.table-wrap, .scroll-x, .visually-hidden, [hidden]');
  }).slice(0, 5).map((el) => el.tagName.toLowerCase() + '.' + String(el.className).trim().replace(/\\s+/g, '.')
    + ' ' + Math.round(el.getBoundingClientRect().right));
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width, wide: wide};
}"""


def measure(page: Any, name: str, url: str, size: str) -> dict[str, Any]:
    response = page.goto(url)
    expected = 410 if name == "invitation-invalid" else 200
    assert response.status == expected, f"{name}: {url} answered {response.status}"
    page.wait_for_load_state("load")
    if name == "api-docs":  # Swagger UI draws the page from script after load
        page.get_by_text("Create a generation").first.wait_for(timeout=20_000)
    PAGES_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(PAGES_DIR / f"{name}-{size}.png"), full_page=True)
    return page.evaluate(WIDER_THAN_SCREEN)


def check_every_page(browser: Any, live_server: Any, pages: dict[str, str], user: User | None) -> None:
    overflowing = {}
    for size, viewport in [("phone", PHONE), ("desktop", DESKTOP)]:
        context = browser.new_context(viewport=viewport, base_url=live_server.url)
        page = context.new_page()
        page.set_default_timeout(15_000)
        if user:
            sign_in(page, user, live_server.url)
        for name, url in pages.items():
            found = measure(page, name, url, size)
            assert found["innerWidth"] == viewport["width"]
            if found["scrollWidth"] > found["innerWidth"]:
                overflowing[f"{name} ({size})"] = found
        context.close()
    assert overflowing == {}


def test_no_public_page_is_wider_than_a_phone(browser: Any, live_server: Any, db: None, settings: Any) -> None:
    settings.PUBLIC_BASE_URL = live_server.url
    showcase_seed(ONE_CLIP)
    check_every_page(browser, live_server, PUBLIC_PAGES, user=None)


def test_the_landing_pages_example_video_plays_signed_out(page: Any, live_server: Any, db: None, settings: Any) -> None:
    settings.PUBLIC_BASE_URL = live_server.url
    showcase_seed(ONE_CLIP)
    page.goto("/")
    clip = page.get_by_test_id("showcase-clip").first
    expect(clip).to_contain_text("A paper boat drifts down a rainy street")
    clip.locator("video").evaluate("async (v) => { await v.play(); }")
    page.wait_for_function(
        "() => { const v = document.querySelector('.showcase-video');"
        " return v.readyState >= 2 && v.currentTime > 0.2; }"
    )


def test_no_signed_in_page_is_wider_than_a_phone(
    browser: Any, live_server: Any, alice: User, org_a: Organization, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = live_server.url
    pages = a_busy_organization(alice, org_a, settings)
    check_every_page(browser, live_server, pages, user=alice)


def test_on_a_phone_the_top_bar_folds_into_a_menu(
    browser: Any, live_server: Any, alice: User, org_a: Organization
) -> None:
    context = browser.new_context(viewport=PHONE, base_url=live_server.url)
    page = context.new_page()
    sign_in(page, alice, live_server.url)
    page.goto("/dashboard/")
    nav = page.get_by_role("navigation", name="Main")
    menu = page.get_by_role("button", name="Menu")
    expect(nav).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    nav.get_by_role("link", name="Billing").click()
    expect(page).to_have_url(f"{live_server.url}/billing/")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    context.close()

    wide = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    page = wide.new_page()
    sign_in(page, alice, live_server.url)
    page.goto("/dashboard/")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    wide.close()


def test_on_a_phone_the_price_and_generate_stay_on_screen_and_tables_pin_their_first_column(
    browser: Any, live_server: Any, alice: User, org_a: Organization
) -> None:
    context = browser.new_context(viewport=PHONE, base_url=live_server.url)
    page = context.new_page()
    sign_in(page, alice, live_server.url)
    page.goto("/generate/")
    generate = page.get_by_role("button", name="Generate", exact=True)
    price = page.get_by_test_id("price")
    for scroll_to in ["#id_prompt", ".frames", ".options"]:
        page.locator(scroll_to).scroll_into_view_if_needed()
        for element in (generate, price):
            box = element.bounding_box()
            assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], (scroll_to, box)
    expect(price).to_have_text(re.compile(r"^\$\d+\.\d\d$"))
    page.get_by_label("Prompt", exact=True).fill("a paper boat in the rain")
    generate.click()
    expect(page).to_have_url(re.compile(r"/generations/gen_[0-9a-f]+/$"))

    member_of(org_a, "bob.with.a.rather.long.address@example-company.com", Role.MEMBER, name="Bob Longname")
    account_services.api_key_create(organization=org_a, name="production server key", created_by=alice)
    scrolled = []
    for url in ["/pricing/", "/org/members/", "/billing/", "/api-keys/"]:
        page.goto(url)
        for table in page.locator(".table-wrap").all():
            if table.evaluate("(el) => el.scrollWidth <= el.clientWidth"):
                continue
            key_cell = table.locator("tbody tr td, tbody tr th").first
            before = key_cell.bounding_box()["x"]
            table.evaluate("(el) => { el.scrollLeft = el.scrollWidth; }")
            assert abs(key_cell.bounding_box()["x"] - before) < 1, url
            scrolled.append(url)
    assert scrolled, "no table was wider than the phone: the pinned column went untested"
    context.close()


def _luminance(rgb: tuple[float, ...]) -> float:
    def channel(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(foreground: tuple[float, ...], background: tuple[float, ...]) -> float:
    """The WCAG 2 contrast ratio of two sRGB colours."""
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


RENDERED_COLOURS = """(el) => {
  const parse = (c) => c.match(/[\\d.]+/g).map(Number);
  let node = el, background = null;
  while (node && node.nodeType === 1) {
    const c = parse(getComputedStyle(node).backgroundColor);
    if (c.length < 4 || c[3] > 0) { background = c; break; }
    node = node.parentElement;
  }
  return {color: parse(getComputedStyle(el).color), background: background || [255, 255, 255]};
}"""


def test_the_sign_up_button_is_readable(browser: Any, live_server: Any, db: None) -> None:
    for viewport in (PHONE, DESKTOP):
        context = browser.new_context(viewport=viewport, base_url=live_server.url)
        page = context.new_page()
        for url in PUBLIC_PAGES:
            if url in ("invitation-invalid", "api-docs"):  # the docs are Swagger UI's page, without our top bar
                continue
            page.goto(PUBLIC_PAGES[url])
            button = page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign up")
            for state in ("rest", "hover"):
                if state == "hover":
                    button.hover()
                colours = button.evaluate(RENDERED_COLOURS)
                ratio = contrast(tuple(colours["color"]), tuple(colours["background"]))
                assert ratio >= 4.5, (url, state, colours, ratio)
        context.close()


def test_the_contrast_ratio_is_the_wcag_one() -> None:
    assert round(contrast((0, 0, 0), (255, 255, 255)), 1) == 21.0
    assert round(contrast((93, 98, 112), (79, 70, 229)), 2) < 1.5  # the grey-on-indigo the button once had
