"""Invitations: bound to the invited address, re-sent rather than duplicated, owners made only by owners."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.utils import timezone

from accounts.models import Invitation, Membership, Organization, Role, User
from billing.selectors import balance_get
from tests.conftest import PASSWORD, emails_to, member_of

pytestmark = pytest.mark.django_db


def invite(client: Client, email: str = "erin@example.com", role: str = "member") -> str:
    """Send an invitation from the members page; returns the token in the emailed link."""
    sent = len(emails_to(email))
    response = client.post("/org/invitations/", {"email": email, "role": role})
    assert response.status_code == 302, response.content.decode()
    received = emails_to(email)
    assert len(received) == sent + 1
    return re.search(r"/invitations/(\S+)/", received[-1].body).group(1)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def erin(db: None) -> User:
    user = User.objects.create_user(email="erin@example.com", password=PASSWORD, name="Erin")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


@pytest.fixture
def adam(org_a: Organization) -> User:
    return member_of(org_a, "adam@example.com", Role.ADMIN, name="Adam")


# --- Bound to the invited address -------------------------------------------------------------------


def test_the_invited_address_joins_with_the_role_once(web_alice: Client, erin: User, org_a: Organization) -> None:
    token = invite(web_alice, role="admin")
    erin_client = signed_in(erin)
    assert "erin@example.com" in erin_client.get(f"/invitations/{token}/").content.decode()
    assert erin_client.post(f"/invitations/{token}/").status_code == 302
    assert Membership.objects.get(user=erin, organization=org_a).role == Role.ADMIN
    reused = erin_client.post(f"/invitations/{token}/")
    assert reused.status_code == 410
    assert "already been used" in reused.content.decode()


def test_someone_else_signed_in_is_refused_with_the_reason(web_alice: Client, carol: User, org_a: Organization) -> None:
    token = invite(web_alice)
    response = signed_in(carol).post(f"/invitations/{token}/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "sent to erin@example.com" in page
    assert "signed in as carol@example.com" in page
    assert not Membership.objects.filter(user=carol, organization=org_a).exists()
    assert Invitation.objects.get(organization=org_a).accepted_at is None


def test_the_invited_address_must_be_verified(web_alice: Client, org_a: Organization) -> None:
    token = invite(web_alice)
    unverified = User.objects.create_user(email="erin@example.com", password=PASSWORD)
    EmailAddress.objects.create(user=unverified, email="erin@example.com", verified=False, primary=True)
    assert signed_in(unverified).post(f"/invitations/{token}/").status_code == 403
    assert not Membership.objects.filter(user=unverified).exists()


def test_an_expired_invitation_says_so(web_alice: Client, erin: User) -> None:
    token = invite(web_alice)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    response = signed_in(erin).get(f"/invitations/{token}/")
    assert response.status_code == 410
    assert "expired" in response.content.decode()


# --- One open invitation per address ------------------------------------------------------------------


def test_inviting_an_address_again_resends_its_invitation_with_a_new_link(
    web_alice: Client, erin: User, org_a: Organization
) -> None:
    first = invite(web_alice, role="member")
    second = invite(web_alice, role="admin")
    invitation = Invitation.objects.get(organization=org_a)  # one, not two
    assert invitation.role == Role.ADMIN
    assert first != second
    erin_client = signed_in(erin)
    assert erin_client.get(f"/invitations/{first}/").status_code == 410
    assert erin_client.post(f"/invitations/{second}/").status_code == 302
    assert Membership.objects.get(user=erin, organization=org_a).role == Role.ADMIN


def test_accepting_closes_the_other_open_invitations_for_the_persons_addresses(
    web_alice: Client, erin: User, org_a: Organization
) -> None:
    EmailAddress.objects.create(user=erin, email="erin.work@example.com", verified=True, primary=False)
    token = invite(web_alice, "erin@example.com")
    invite(web_alice, "erin.work@example.com")
    assert org_a.invitations.filter(accepted_at__isnull=True).count() == 2
    signed_in(erin).post(f"/invitations/{token}/")
    assert not org_a.invitations.filter(accepted_at__isnull=True).exists()
    assert list(web_alice.get("/org/members/").context["invitations"]) == []


def test_a_member_cannot_be_invited_again(web_alice: Client, bob: User) -> None:
    response = web_alice.post("/org/invitations/", {"email": "BOB@example.com", "role": "member"})
    assert response.status_code == 400
    assert "already a member" in response.content.decode()


def test_a_bad_address_is_refused_naming_the_field(web_alice: Client) -> None:
    response = web_alice.post("/org/invitations/", {"email": "not an address", "role": "member"})
    assert response.status_code == 400
    assert response.context["form"].errors["email"]
    assert not Invitation.objects.exists()


# --- Owners are made by owners --------------------------------------------------------------------------


def test_an_admin_cannot_invite_an_owner(adam: User, org_a: Organization) -> None:
    admin = signed_in(adam)
    refused = admin.post("/org/invitations/", {"email": "accomplice@example.com", "role": "owner"})
    assert refused.status_code == 403
    assert "Only owners" in refused.content.decode()
    assert not Invitation.objects.exists()
    assert 'value="owner"' not in admin.get("/org/members/").content.decode()


def test_an_admin_cannot_downgrade_or_withdraw_an_owners_invitation(
    web_alice: Client, adam: User, org_a: Organization
) -> None:
    invite(web_alice, "partner@example.com", role="owner")
    admin = signed_in(adam)
    assert admin.post("/org/invitations/", {"email": "partner@example.com", "role": "member"}).status_code == 403
    invitation = Invitation.objects.get()
    assert admin.post(f"/org/invitations/{invitation.public_id}/revoke/").status_code == 403
    assert Invitation.objects.get().role == Role.OWNER


def test_an_admin_cannot_take_over_the_organization(alice: User, adam: User, bob: User, org_a: Organization) -> None:
    admin = signed_in(adam)
    owner = Membership.objects.get(user=alice, organization=org_a)
    bobs = Membership.objects.get(user=bob, organization=org_a)
    assert admin.post(f"/org/members/{bobs.pk}/role/", {"role": "owner"}).status_code == 403
    assert admin.post(f"/org/members/{owner.pk}/role/", {"role": "member"}).status_code == 403
    assert admin.post(f"/org/members/{owner.pk}/remove/").status_code == 403
    assert Membership.objects.get(pk=owner.pk).role == Role.OWNER
    assert Membership.objects.get(pk=bobs.pk).role == Role.MEMBER
    # What admins may do: make someone an admin, or remove a member.
    assert admin.post(f"/org/members/{bobs.pk}/role/", {"role": "admin"}).status_code == 302
    assert Membership.objects.get(pk=bobs.pk).role == Role.ADMIN


def test_the_last_owner_cannot_leave_or_be_demoted_and_is_not_offered_leave(
    web_alice: Client, alice: User, org_a: Organization, bob: User
) -> None:
    membership = Membership.objects.get(user=alice, organization=org_a)
    page = web_alice.get("/org/members/").content.decode()
    assert ">Leave<" not in page
    assert "Only owner" in page
    response = web_alice.post(f"/org/members/{membership.pk}/remove/", follow=True)
    assert "last owner cannot leave" in response.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()
    response = web_alice.post(f"/org/members/{membership.pk}/role/", {"role": "admin"}, follow=True)
    assert "at least one owner" in response.content.decode()
    assert Membership.objects.get(pk=membership.pk).role == Role.OWNER


def test_with_a_second_owner_the_first_may_step_down_and_leave(
    web_alice: Client, alice: User, bob: User, org_a: Organization
) -> None:
    bobs = Membership.objects.get(user=bob, organization=org_a)
    web_alice.post(f"/org/members/{bobs.pk}/role/", {"role": "owner"})
    assert ">Leave<" in web_alice.get("/org/members/").content.decode()
    mine = Membership.objects.get(user=alice, organization=org_a)
    web_alice.post(f"/org/members/{mine.pk}/role/", {"role": "member"})
    assert Membership.objects.get(pk=mine.pk).role == Role.MEMBER
    # Bob, now the only owner, cannot be demoted by anyone.
    assert signed_in(bob).post(f"/org/members/{bobs.pk}/role/", {"role": "admin"}).status_code == 302
    assert Membership.objects.get(pk=bobs.pk).role == Role.OWNER


def test_another_tenant_cannot_withdraw_an_invitation(web_alice: Client, web_carol: Client) -> None:
    invite(web_alice)
    invitation = Invitation.objects.get()
    assert web_carol.post(f"/org/invitations/{invitation.public_id}/revoke/").status_code == 404
    assert Invitation.objects.filter(pk=invitation.pk).exists()


# --- Signing up through an invitation ---------------------------------------------------------------------


def test_signing_up_from_an_invitation_prefills_the_address_and_joins_without_a_workspace_or_credit(
    web_alice: Client, org_a: Organization
) -> None:
    token = invite(web_alice, "frank@example.com")
    visitor = Client()
    page = visitor.get(f"/invitations/{token}/").content.decode()
    signup = f"/accounts/signup/?email=frank%40example.com&amp;next=/invitations/{token}/"
    assert signup in page
    form = visitor.get(signup.replace("&amp;", "&"))
    assert form.context["form"]["email"].value() == "frank@example.com"

    response = visitor.post(
        signup.replace("&amp;", "&"), {"name": "Frank", "email": "frank@example.com", "password1": PASSWORD}
    )
    assert response["Location"] == "/accounts/confirm-email/"
    frank = User.objects.get(email="frank@example.com")
    assert frank.signup_organization is None
    assert not Membership.objects.filter(user=frank).exists()
    # The verification link signs Frank in and brings him back to the invitation.
    link = re.search(r"http://testserver(/accounts/confirm-email/\S+)", emails_to("frank@example.com")[-1].body).group(
        1
    )
    confirmed = visitor.post(link)
    assert confirmed["Location"] == f"/invitations/{token}/"
    assert visitor.post(f"/invitations/{token}/").status_code == 302
    assert Membership.objects.get(user=frank).organization == org_a
    assert balance_get(org_a).available_micros == 1_000_000  # alice's grant, nothing for Frank


def test_signing_up_from_an_invitation_with_another_address_is_an_ordinary_sign_up(
    web_alice: Client, org_a: Organization
) -> None:
    token = invite(web_alice, "frank@example.com")
    visitor = Client()
    visitor.get(f"/invitations/{token}/")
    visitor.post("/accounts/signup/", {"email": "frankie@example.com", "password1": PASSWORD})
    assert "/accounts/confirm-email/" in emails_to("frankie@example.com")[-1].body
    frankie = User.objects.get(email="frankie@example.com")
    assert frankie.signup_organization is not None
    assert not Membership.objects.filter(user=frankie, organization=org_a).exists()
