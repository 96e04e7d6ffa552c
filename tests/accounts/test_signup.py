"""At the door: sign-up with a verified address, the welcome credit once per person, rate limits, no enumeration."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from accounts.models import Membership, User
from billing.models import LedgerEntry
from billing.selectors import balance_get
from tests.conftest import PASSWORD, emails_to

pytestmark = pytest.mark.django_db


def sign_up(client: Client, email: str, path: str = "/accounts/signup/", **extra: str):
    return client.post(path, {"name": "Dana", "email": email, "password1": PASSWORD, **extra})


def confirmation_link(email: str) -> str:
    message = emails_to(email)[-1]
    return re.search(r"http://testserver(/accounts/confirm-email/\S+)", message.body).group(1)


def test_sign_up_makes_a_workspace_and_the_credit_arrives_when_the_address_is_verified(client: Client) -> None:
    response = sign_up(client, "Dana@Example.com")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    dana = User.objects.get(email="dana@example.com")
    workspace = Membership.objects.get(user=dana).organization
    assert dana.signup_organization == workspace
    assert "Dana" in workspace.name
    assert balance_get(workspace).balance_micros == 0
    assert client.get("/dashboard/").status_code == 302  # not signed in yet

    confirmed = client.post(confirmation_link("dana@example.com"))
    assert confirmed["Location"] == "/dashboard/"
    assert balance_get(workspace).balance_micros == 1_000_000
    dashboard = client.get("/dashboard/")
    assert dashboard.status_code == 200
    assert dashboard.context["user"] == dana


def test_the_credit_comes_once_per_person_whatever_is_verified_later(client: Client) -> None:
    sign_up(client, "dana@example.com")
    client.post(confirmation_link("dana@example.com"))
    client.post(confirmation_link("dana@example.com"))  # the same link again
    # Adding an address asks for the password again, then carries on with the addition.
    asked = client.post("/accounts/email/", {"action_add": "", "email": "dana.work@example.com"})
    assert asked["Location"].startswith("/accounts/reauthenticate/")
    client.post(asked["Location"], {"password": PASSWORD})
    client.post(confirmation_link("dana.work@example.com"))
    # A changed address: the new one replaces the old once verified.
    dana = User.objects.get()
    assert dana.email == "dana.work@example.com"
    assert EmailAddress.objects.get(user=dana).verified
    workspace = dana.signup_organization
    assert balance_get(workspace).balance_micros == 1_000_000
    assert LedgerEntry.objects.filter(organization=workspace, kind="grant").count() == 1


def test_an_unverified_account_cannot_log_in(client: Client) -> None:
    sign_up(client, "dana@example.com")
    other = Client()
    response = other.post("/accounts/login/", {"login": "dana@example.com", "password": PASSWORD})
    assert response["Location"] == "/accounts/confirm-email/"
    assert other.get("/dashboard/").status_code == 302
    # The link is sent again, but not within 3 minutes of the last one.
    assert len(emails_to("dana@example.com")) == 1


def test_signing_up_with_a_taken_address_looks_the_same_and_tells_the_owner_by_email(
    client: Client, alice: User
) -> None:
    taken = sign_up(client, "alice@example.com")
    fresh = sign_up(Client(), "new@example.com")
    assert taken.status_code == fresh.status_code == 302
    assert taken["Location"] == fresh["Location"]
    assert User.objects.filter(email="alice@example.com").count() == 1
    to_alice = emails_to("alice@example.com")
    assert len(to_alice) == 1
    assert "already" in to_alice[0].body


def test_a_reset_for_an_unknown_address_looks_the_same(client: Client, alice: User) -> None:
    known = client.post("/accounts/password/reset/", {"email": "alice@example.com"})
    unknown = Client().post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]


def test_bad_sign_up_input_is_named_by_field(client: Client) -> None:
    response = client.post("/accounts/signup/", {"email": "not-an-address", "password1": "123"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "email" in errors
    assert "password1" in errors
    assert not User.objects.exists()


@pytest.mark.parametrize("target", ["https://elsewhere.example/", "//elsewhere.example/", "https:elsewhere.example"])
def test_after_sign_up_an_off_site_next_is_ignored(client: Client, target: str) -> None:
    form = client.get(f"/signup/?next={target}", follow=True)
    assert form.redirect_chain[-1][0].startswith("/accounts/signup/?next=")
    sign_up(client, "dana@example.com", next=target)
    confirmed = client.post(confirmation_link("dana@example.com"))
    assert confirmed["Location"] == "/dashboard/"


def test_after_sign_up_and_log_in_our_own_next_is_followed(client: Client, alice: User) -> None:
    sign_up(client, "dana@example.com", next="/billing/")
    assert client.post(confirmation_link("dana@example.com"))["Location"] == "/billing/"
    response = Client().post(
        "/accounts/login/", {"login": "alice@example.com", "password": PASSWORD, "next": "https://elsewhere.example/"}
    )
    assert response["Location"] == "/dashboard/"


# --- Rate limits ---------------------------------------------------------------------------------


def test_log_in_is_refused_after_five_wrong_passwords_even_with_the_right_one(alice: User) -> None:
    client = Client()
    for _ in range(5):
        wrong = client.post("/accounts/login/", {"login": "alice@example.com", "password": "guess"})
        assert "not correct" in wrong.content.decode()
    right = client.post("/accounts/login/", {"login": "alice@example.com", "password": PASSWORD})
    assert right.status_code == 200
    assert "Too many failed login attempts" in right.content.decode()
    assert client.get("/dashboard/").status_code == 302
    # Another address from the same place is not locked out by them.
    assert Client().post("/accounts/login/", {"login": "carol@example.com", "password": "x"}).status_code == 200


def test_sign_up_is_limited_per_client_address(client: Client) -> None:
    for n in range(5):
        assert sign_up(Client(), f"farmer{n}@example.com").status_code == 302
    refused = sign_up(Client(), "farmer5@example.com")
    assert refused.status_code == 429
    assert not User.objects.filter(email="farmer5@example.com").exists()


def test_password_reset_emails_are_limited_per_address(alice: User) -> None:
    for _ in range(6):
        Client().post("/accounts/password/reset/", {"email": "alice@example.com"})
    assert len(emails_to("alice@example.com")) == 3
