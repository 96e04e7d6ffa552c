"""The door in headless Chromium against a live server: sign-up with the verification email, the credit
arriving only once the address is verified, log-in throttling, staff kept out of the admin until they
enrol an authenticator app (codes computed here from the secret the page shows), and a security key
enrolled and used to sign in (Chromium's virtual WebAuthn authenticator, driven over the DevTools protocol).

Emails go through Django's email backend (the test's in-memory outbox: the live server runs in this process).
"""

from __future__ import annotations

import re

import pytest

from accounts.models import User
from billing.selectors import balance_get
from tests.conftest import PASSWORD, emails_to, staff_user, totp_code, verified_user
from tests.web.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def expect(*args, **kwargs):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args, **kwargs)


def link_in_last_email(to: str) -> str:
    message = emails_to(to)[-1]
    return re.search(r"http://\S+/accounts/confirm-email/\S+", message.body).group(0)


def log_in(page, email: str, password: str = PASSWORD) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_sign_up_sends_a_verification_email_and_the_credit_arrives_once_verified(page, live_server) -> None:
    page.goto("/")
    page.get_by_role("link", name=re.compile(r"^Start free")).click()
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    page.get_by_label("Your name").fill("Dana")
    page.get_by_label("Email").fill("dana@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    screenshot(page, "sign-up")
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    dana = User.objects.get(email="dana@example.com")
    assert balance_get(dana.signup_organization).balance_micros == 0
    page.goto("/dashboard/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))  # not signed in before verifying

    [verification] = emails_to("dana@example.com")
    assert "Hailuo Studio" in verification.subject
    page.goto(link_in_last_email("dana@example.com"))
    expect(page.get_by_text("dana@example.com")).to_be_visible()
    page.get_by_role("button", name="Confirm").click()

    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_test_id("available")).to_have_text("$1.00")
    assert balance_get(dana.signup_organization).balance_micros == 1_000_000
    screenshot(page, "dashboard-after-verification")

    page.get_by_text("Dana", exact=True).click()
    page.get_by_role("link", name="Your account").click()
    expect(page.get_by_role("heading", name="Your account", exact=True)).to_be_visible()
    expect(page.get_by_test_id("delete-plan")).to_contain_text("where you are the only member")
    screenshot(page, "account")
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Two-factor authentication").click()
    expect(page.get_by_role("heading", name="Two-Factor Authentication")).to_be_visible()
    screenshot(page, "account-two-factor")


def test_log_in_is_refused_after_repeated_wrong_passwords_even_with_the_right_one(page, live_server) -> None:
    verified_user("erin@example.com", "Erin")
    page.goto("/accounts/login/")
    for _ in range(5):
        log_in(page, "erin@example.com", "not-my-password")
        expect(page.get_by_text("not correct")).to_be_visible()
    log_in(page, "erin@example.com")
    expect(page.get_by_text("Too many failed login attempts")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    screenshot(page, "log-in-throttled")
    page.goto("/dashboard/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_staff_without_two_factor_are_kept_out_of_the_admin_until_they_enrol_an_authenticator_app(
    page, live_server
) -> None:
    staff_user("ops@example.com", is_superuser=True)
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/admin/"))
    log_in(page, "ops@example.com")

    # Kept out: sent to enrol, which first asks for the password again.
    expect(page.get_by_text("The admin needs two-factor authentication")).to_be_visible()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Activate Authenticator App")).to_be_visible()
    page.goto("/admin/")
    expect(page).not_to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_role("heading", name="Site administration")).to_have_count(0)

    secret = page.locator("#authenticator_secret").input_value()
    assert re.fullmatch(r"[A-Z2-7]{16,}=*", secret), secret
    screenshot(page, "mfa-activate")
    page.get_by_label("Authenticator code").fill(totp_code(secret))
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_role("heading", name="Recovery Codes")).to_be_visible()

    # Let in: one more code for this session, then the admin.
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/reauthenticate/"))
    page.get_by_label("Code").fill(totp_code(secret))
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()


def test_a_security_key_enrolled_from_the_account_signs_its_owner_in(page, live_server, settings) -> None:
    """Chromium's virtual authenticator stands in for the key: WebAuthn itself, end to end, nothing emulated here."""
    from allauth.mfa.models import Authenticator

    # Security keys need HTTPS; the live server is plain HTTP on localhost, which browsers allow too.
    settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True
    fay = verified_user("fay@example.com", "Fay")
    devtools = page.context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    authenticator = devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )["authenticatorId"]
    page.goto("/accounts/login/")
    log_in(page, "fay@example.com")
    expect(page).to_have_url(re.compile(r"/dashboard/$"))

    page.goto("/accounts/2fa/webauthn/add/")  # adding a key asks for the password again
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Add Security Key")).to_be_visible()
    page.get_by_label("Name").fill("Desk key")
    screenshot(page, "mfa-security-key-add")
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_role("heading", name="Recovery Codes")).to_be_visible()
    [key] = Authenticator.objects.filter(user=fay, type=Authenticator.Type.WEBAUTHN)
    assert key.wrap().name == "Desk key"
    assert len(devtools.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]) == 1

    # Signed out, the password alone no longer lets Fay in: the key does.
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    log_in(page, "fay@example.com")
    expect(page.get_by_role("heading", name="Two-Factor Authentication")).to_be_visible()
    page.goto("/dashboard/")  # the password alone does not reach it: the sign-in waits for the second factor
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    screenshot(page, "mfa-security-key-sign-in")
    page.get_by_role("button", name="Use a security key").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_test_id("available")).to_have_text("$1.00")
    key.refresh_from_db()
    assert key.last_used_at is not None
