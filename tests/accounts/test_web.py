"""The accounts pages through Django's test client: log-in, password reset, organizations, the team, API keys."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts import services
from accounts.models import ApiKey, Membership, Organization, Role, User
from tests.conftest import PASSWORD, emails_to

pytestmark = pytest.mark.django_db


def test_login_uses_the_email_address(client: Client, alice: User) -> None:
    response = client.post("/accounts/login/", {"login": "Alice@Example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200


def test_a_wrong_password_says_so_without_saying_whether_the_address_exists(client: Client, alice: User) -> None:
    known = client.post("/accounts/login/", {"login": "alice@example.com", "password": "not-her-password"})
    unknown = client.post("/accounts/login/", {"login": "nobody@example.com", "password": "not-her-password"})
    assert known.status_code == unknown.status_code == 200
    assert "not correct" in known.content.decode()
    assert known.context["form"].errors == unknown.context["form"].errors


def test_pages_need_a_login(client: Client) -> None:
    response = client.get("/api-keys/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/api-keys/")


def test_the_short_addresses_lead_to_log_in_and_sign_up(client: Client) -> None:
    assert client.get("/login/?next=/billing/")["Location"] == "/accounts/login/?next=/billing/"
    assert client.get("/signup/")["Location"] == "/accounts/signup/"


def test_password_reset_by_email(client: Client, alice: User) -> None:
    client.post("/accounts/password/reset/", {"email": "alice@example.com"})
    [message] = emails_to("alice@example.com")
    link = re.search(r"http://testserver(/\S+)", message.body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    new_password = "another-long-passphrase-42"
    response = client.post(form_page.redirect_chain[-1][0], {"password1": new_password, "password2": new_password})
    assert response.status_code == 302
    assert Client().login(email="alice@example.com", password=new_password)


def test_creating_and_switching_organizations(web_alice: Client, alice: User, org_a: Organization) -> None:
    web_alice.post("/org/new/", {"name": "Side Project"})
    second = Membership.objects.get(user=alice, organization__name="Side Project").organization
    assert web_alice.get("/dashboard/").context["active_org"] == second
    web_alice.post("/org/switch/", {"organization": org_a.public_id})
    assert web_alice.get("/dashboard/").context["active_org"] == org_a


def test_switching_to_another_tenants_organization_is_404(web_alice: Client, org_b: Organization) -> None:
    assert web_alice.post("/org/switch/", {"organization": org_b.public_id}).status_code == 404


def test_members_cannot_invite_or_change_roles(web_bob: Client, alice: User, org_a: Organization) -> None:
    invite = web_bob.post("/org/invitations/", {"email": "x@example.com", "role": "admin"})
    assert invite.status_code == 403
    assert "Only owners and admins" in invite.content.decode()
    assert not org_a.invitations.exists()
    alice_membership = Membership.objects.get(user=alice)
    assert web_bob.post(f"/org/members/{alice_membership.pk}/role/", {"role": "member"}).status_code == 403
    assert Membership.objects.get(user=alice).role == Role.OWNER


def test_owner_changes_roles_and_removes_members(web_alice: Client, bob: User) -> None:
    membership = Membership.objects.get(user=bob)
    web_alice.post(f"/org/members/{membership.pk}/role/", {"role": "admin"})
    assert Membership.objects.get(user=bob).role == Role.ADMIN
    web_alice.post(f"/org/members/{membership.pk}/remove/")
    assert not Membership.objects.filter(user=bob).exists()


def test_a_role_that_does_not_exist_is_refused_by_name(web_alice: Client, bob: User) -> None:
    membership = Membership.objects.get(user=bob)
    response = web_alice.post(f"/org/members/{membership.pk}/role/", {"role": "emperor"}, follow=True)
    assert "Choose a valid role" in response.content.decode()
    assert Membership.objects.get(user=bob).role == Role.MEMBER


def test_another_tenants_members_are_404(web_carol: Client, bob: User) -> None:
    membership = Membership.objects.get(user=bob)
    assert web_carol.post(f"/org/members/{membership.pk}/remove/").status_code == 404
    assert web_carol.post(f"/org/members/{membership.pk}/role/", {"role": "owner"}).status_code == 404
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_api_key_is_shown_once_then_only_its_prefix(web_alice: Client, org_a: Organization) -> None:
    created = web_alice.post("/api-keys/", {"name": "ci"}, follow=True)
    raw = created.context["new_key"]
    assert raw in created.content.decode()
    key = ApiKey.objects.get(organization=org_a)
    assert services.api_key_authenticate(raw) == key
    listing = web_alice.get("/api-keys/").content.decode()
    assert raw not in listing
    assert key.prefix in listing


def test_revoking_a_key_and_cross_tenant_revoke(web_alice: Client, web_carol: Client, api_key_a: tuple) -> None:
    key, raw = api_key_a
    assert web_carol.post(f"/api-keys/{key.public_id}/revoke/").status_code == 404
    assert services.api_key_authenticate(raw) is not None
    assert key.name not in web_carol.get("/api-keys/").content.decode()
    web_alice.post(f"/api-keys/{key.public_id}/revoke/")
    assert services.api_key_authenticate(raw) is None


def test_a_member_revokes_their_own_key_but_not_the_owners(web_bob: Client, bob: User, api_key_a: tuple) -> None:
    owners_key, owners_raw = api_key_a
    bobs_key, bobs_raw = services.api_key_create(organization=owners_key.organization, name="bob's", created_by=bob)
    page = web_bob.get("/api-keys/").content.decode()
    assert f"/api-keys/{bobs_key.public_id}/revoke/" in page
    assert f"/api-keys/{owners_key.public_id}/revoke/" not in page
    assert web_bob.post(f"/api-keys/{owners_key.public_id}/revoke/").status_code == 403
    assert services.api_key_authenticate(owners_raw) is not None
    web_bob.post(f"/api-keys/{bobs_key.public_id}/revoke/")
    assert services.api_key_authenticate(bobs_raw) is None


ANONYMOUS_PAGES = [
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password/reset/",
    "/accounts/password/reset/done/",
    "/accounts/confirm-email/",
    "/accounts/confirm-email/not-a-key/",
    "/accounts/password/reset/key/1-not-a-key/",
]
SIGNED_IN_PAGES = [
    "/account/",
    "/accounts/email/",
    "/accounts/password/change/",
    "/accounts/logout/",
    "/accounts/reauthenticate/",
    "/accounts/2fa/",
    "/accounts/2fa/webauthn/",
    "/accounts/sessions/",
    "/accounts/3rdparty/",
]


def test_every_sign_in_page_opens_in_the_products_layout(client: Client, web_alice: Client) -> None:
    for clients, paths in ((client, ANONYMOUS_PAGES), (web_alice, SIGNED_IN_PAGES)):
        for path in paths:
            response = clients.get(path, follow=True)
            assert response.status_code == 200, path
            page = response.content.decode()
            assert '<link rel="stylesheet" href="/static/css/app.css">' in page, path
            assert 'class="brand"' in page, path
