from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import ApiKey, Invitation, Membership, Role, User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_signup_creates_a_personal_organization_and_logs_in(client: Client) -> None:
    response = client.post("/signup/", {"name": "Dana", "email": "Dana@Example.com", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/dashboard/"
    user = User.objects.get(email="dana@example.com")
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.OWNER
    assert "Dana" in membership.organization.name
    assert response.context["user"] == user


def test_signup_explains_a_taken_email_and_a_weak_password(client: Client, alice: User) -> None:
    response = client.post("/signup/", {"email": "alice@example.com", "password": "123"})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert "too short" in response.content.decode()


def test_login_uses_the_email_address(client: Client, alice: User) -> None:
    response = client.post("/login/", {"username": "alice@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/dashboard/").status_code == 200


def test_pages_need_a_login(client: Client) -> None:
    response = client.get("/api-keys/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_password_reset_by_email(client: Client, alice: User) -> None:
    client.post("/password-reset/", {"email": "alice@example.com"})
    assert len(mail.outbox) == 1
    link = re.search(r"http://\S+", mail.outbox[0].body).group(0)
    path = link.split("testserver", 1)[1]
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    new_password = "another-long-passphrase-42"
    response = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password}
    )
    assert response.status_code == 302
    assert Client().login(email="alice@example.com", password=new_password)


def test_creating_and_switching_organizations(web_alice: Client, alice: User, org_a) -> None:
    web_alice.post("/org/new/", {"name": "Side Project"})
    second = Membership.objects.get(user=alice, organization__name="Side Project").organization
    assert web_alice.get("/dashboard/").context["active_org"] == second
    web_alice.post("/org/switch/", {"organization": org_a.public_id})
    assert web_alice.get("/dashboard/").context["active_org"] == org_a


def test_switching_to_another_tenants_organization_is_404(web_alice: Client, org_b) -> None:
    assert web_alice.post("/org/switch/", {"organization": org_b.public_id}).status_code == 404


def _invite(client: Client, email: str = "erin@example.com", role: str = "member") -> str:
    client.post("/org/members/", {"email": email, "role": role})
    return re.search(r"/invitations/(\S+)/", mail.outbox[-1].body).group(1)


def test_invitation_link_adds_the_member_once(web_alice: Client, org_a) -> None:
    token = _invite(web_alice)
    erin = User.objects.create_user(email="erin@example.com", password=PASSWORD)
    erin_client = Client()
    erin_client.force_login(erin)
    assert erin_client.post(f"/invitations/{token}/").status_code == 302
    assert Membership.objects.get(user=erin, organization=org_a).role == Role.MEMBER
    reused = erin_client.post(f"/invitations/{token}/")
    assert reused.status_code == 410
    assert "already been used" in reused.content.decode()


def test_expired_invitation_says_so(web_alice: Client, carol: User) -> None:
    token = _invite(web_alice)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    client = Client()
    client.force_login(carol)
    response = client.get(f"/invitations/{token}/")
    assert response.status_code == 410
    assert "expired" in response.content.decode()


def test_members_cannot_invite_or_change_roles(web_bob: Client, alice: User, org_a) -> None:
    web_bob.post("/org/members/", {"email": "x@example.com", "role": "admin"})
    assert not Invitation.objects.exists()
    alice_membership = Membership.objects.get(user=alice)
    web_bob.post(f"/org/members/{alice_membership.pk}/role/", {"role": "member"})
    assert Membership.objects.get(user=alice).role == Role.OWNER


def test_owner_changes_roles_and_removes_members(web_alice: Client, bob: User) -> None:
    membership = Membership.objects.get(user=bob)
    web_alice.post(f"/org/members/{membership.pk}/role/", {"role": "admin"})
    assert Membership.objects.get(user=bob).role == Role.ADMIN
    web_alice.post(f"/org/members/{membership.pk}/remove/")
    assert not Membership.objects.filter(user=bob).exists()


def test_the_last_owner_cannot_leave(web_alice: Client, alice: User) -> None:
    membership = Membership.objects.get(user=alice)
    response = web_alice.post(f"/org/members/{membership.pk}/remove/", follow=True)
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert "last owner" in response.content.decode()
    web_alice.post(f"/org/members/{membership.pk}/role/", {"role": "member"})
    assert Membership.objects.get(pk=membership.pk).role == Role.OWNER


def test_another_tenants_members_are_404(web_carol: Client, bob: User) -> None:
    membership = Membership.objects.get(user=bob)
    assert web_carol.post(f"/org/members/{membership.pk}/remove/").status_code == 404
    assert web_carol.post(f"/org/members/{membership.pk}/role/", {"role": "owner"}).status_code == 404
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_api_key_is_shown_once_then_only_its_prefix(web_alice: Client, org_a) -> None:
    created = web_alice.post("/api-keys/", {"name": "ci"}, follow=True)
    raw = created.context["new_key"]
    assert raw in created.content.decode()
    key = ApiKey.objects.get(organization=org_a)
    assert services.api_key_authenticate(raw) == key
    listing = web_alice.get("/api-keys/").content.decode()
    assert raw not in listing
    assert key.prefix in listing


def test_revoking_a_key_and_cross_tenant_revoke(web_alice: Client, web_carol: Client, api_key_a) -> None:
    key, raw = api_key_a
    assert web_carol.post(f"/api-keys/{key.public_id}/revoke/").status_code == 404
    assert services.api_key_authenticate(raw) is not None
    assert key.name not in web_carol.get("/api-keys/").content.decode()
    web_alice.post(f"/api-keys/{key.public_id}/revoke/")
    assert services.api_key_authenticate(raw) is None
