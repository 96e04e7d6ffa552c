"""The admin is for staff signed in with two-factor authentication; operators are made by a command."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client

from accounts import services
from accounts.models import User
from tests.conftest import PASSWORD, mfa_login, totp_code, totp_enrol

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db: None) -> User:
    user = User.objects.create_user(email="ops@example.com", password=PASSWORD, is_staff=True, is_superuser=True)
    services.user_email_confirm(user=user)
    return user


def password_login(user: User) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_a_visitor_is_sent_to_our_log_in_page_not_the_admins(client: Client) -> None:
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/?next=/admin/"


def test_staff_without_an_authenticator_are_sent_to_enrol_one(staff: User) -> None:
    client = password_login(staff)
    response = client.get("/admin/", follow=True)
    assert ("/accounts/2fa/totp/activate/", 302) in response.redirect_chain
    assert "needs two-factor authentication" in response.content.decode()
    # Enrolling asks for the password once more first (allauth's re-authentication), then shows the QR code.
    enrol = client.post(response.redirect_chain[-1][0], {"password": PASSWORD}, follow=True)
    assert enrol.redirect_chain[-1][0] == "/accounts/2fa/totp/activate/"
    assert enrol.context["form"].secret


def test_staff_signed_in_without_their_second_factor_are_asked_for_a_code(staff: User) -> None:
    client = password_login(staff)  # a session from before the authenticator existed
    secret = totp_enrol(staff)
    response = client.get("/admin/accounts/user/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/2fa/reauthenticate/?next=%2Fadmin%2Faccounts%2Fuser%2F"
    assert client.get("/admin/").status_code == 302
    entered = client.post(response.redirect_chain[-1][0], {"code": totp_code(secret)})
    assert entered["Location"] == "/admin/accounts/user/"
    assert client.get("/admin/accounts/user/").status_code == 200


def test_staff_signed_in_with_their_second_factor_get_in(staff: User) -> None:
    client = mfa_login(staff)
    assert client.get("/admin/").status_code == 200


def test_a_customer_is_refused_even_with_two_factor(alice: User) -> None:
    client = mfa_login(alice)
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/login/?next=/admin/").status_code == 403


def test_the_admins_own_password_form_is_not_a_way_in(staff: User) -> None:
    response = Client().post("/admin/login/", {"username": staff.email, "password": PASSWORD, "next": "/admin/"})
    assert response["Location"].startswith("/accounts/login/")
    assert Client().get("/admin/").status_code == 302


# --- Operators and the demo login ------------------------------------------------------------------


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def test_create_operator_makes_a_verified_staff_account_and_says_how_to_enrol(db: None) -> None:
    printed = run("create_operator", "--email", "Ops@Example.com")
    operator = User.objects.get(email="ops@example.com")
    assert operator.is_staff and not operator.is_superuser
    assert operator.groups.filter(name="Support").exists()
    assert operator.emailaddress_set.get().verified
    assert "/accounts/2fa/totp/activate/" in printed
    password = printed.split("password: ")[1].split()[0]
    client = Client()
    client.post("/accounts/login/", {"login": "ops@example.com", "password": password})
    assert ("/accounts/2fa/totp/activate/", 302) in client.get("/admin/", follow=True).redirect_chain


def test_create_operator_promotes_an_existing_account_and_keeps_its_password(alice: User) -> None:
    printed = run("create_operator", "--email", "alice@example.com", "--superuser")
    alice.refresh_from_db()
    assert alice.is_staff and alice.is_superuser
    assert "existing password kept" in printed
    assert alice.check_password(PASSWORD)


def test_create_operator_names_a_bad_address(db: None) -> None:
    with pytest.raises(CommandError, match="--email"):
        run("create_operator", "--email", "not-an-address")
    assert not User.objects.exists()


def test_create_operator_needs_the_support_group_unless_superuser(db: None) -> None:
    Group.objects.filter(name="Support").delete()
    with pytest.raises(CommandError, match="migrate"):
        run("create_operator", "--email", "ops@example.com")


def test_the_demo_login_is_a_verified_customer_with_a_key_not_an_operator(settings, tmp_path) -> None:
    settings.VAR_DIR = tmp_path
    printed = run("bootstrap_demo")
    demo = User.objects.get(email="demo@example.com")
    assert not demo.is_staff and not demo.is_superuser
    assert demo.emailaddress_set.get().verified
    assert demo.signup_organization.api_keys.count() == 1
    raw = printed.split("API key:  ")[1].split()[0]
    assert services.api_key_authenticate(raw).organization == demo.signup_organization
    password = printed.split(" / ")[1].split()[0]
    client = Client()
    assert client.post("/accounts/login/", {"login": "demo@example.com", "password": password})["Location"] == (
        "/dashboard/"
    )


def test_a_persons_page_lists_their_sign_in_records_without_the_authenticator_secret(
    admin_client: Client, alice: User
) -> None:
    secret = totp_enrol(alice)
    page = admin_client.get(f"/admin/accounts/user/{alice.pk}/change/").content.decode()
    assert "alice@example.com" in page
    assert "two-factor authenticators" in page.lower()
    assert "TOTP" in page
    assert secret not in page
    assert admin_client.get("/admin/mfa/authenticator/").status_code == 404
