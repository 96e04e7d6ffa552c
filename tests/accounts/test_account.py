"""The account page: email, password, two-factor, sessions, and deleting the account (and what goes with it)."""

from __future__ import annotations

import pytest
from allauth.usersessions.models import UserSession
from django.core.files.storage import default_storage
from django.test import Client
from django.utils.html import escape

from accounts import services
from accounts.models import ApiKey, Membership, Organization, User
from tests.conftest import PASSWORD
from tests.web.conftest import generation_make, png_bytes, run_to_end
from videogen.models import Generation, Status
from videogen.services.uploads import upload_create

pytestmark = pytest.mark.django_db


def logged_in(user: User) -> Client:
    client = Client()
    assert client.post("/accounts/login/", {"login": user.email, "password": PASSWORD}).status_code == 302
    return client


def delete_account(client: Client, confirm: str = "DELETE"):
    """Post the deletion form; allauth asks for the password again first, then carries the deletion out."""
    asked = client.post("/account/delete/", {"confirm": confirm})
    if not asked["Location"].startswith("/accounts/reauthenticate/"):
        return asked
    return client.post(asked["Location"], {"password": PASSWORD})


def test_the_page_shows_the_address_two_factor_sessions_and_what_deletion_would_do(
    carol: User, org_b: Organization
) -> None:
    page = logged_in(carol).get("/account/").content.decode()
    assert "carol@example.com" in page
    assert "verified" in page
    assert "Off. Add an authenticator app" in page
    assert "logged in on 1 browser" in page
    assert f"deletes <strong>{escape(org_b.name)}</strong>, where you are the only member" in page


def test_deletion_is_refused_while_the_person_is_the_last_owner_of_a_team(
    alice: User, bob: User, org_a: Organization
) -> None:
    client = logged_in(alice)
    page = client.get("/account/").content.decode()
    assert "You are the last owner of" in page
    assert "Delete my account" not in page
    response = delete_account(client)
    assert response["Location"] == "/account/"
    assert "last owner" in client.get("/account/").content.decode()
    assert User.objects.filter(pk=alice.pk).exists()
    assert Organization.objects.filter(pk=org_a.pk).exists()


def test_deleting_the_account_deletes_the_organizations_only_they_were_in_with_their_files(
    carol: User, org_b: Organization, settings
) -> None:
    settings.SANDBOX_LATENCY_SECONDS = 0
    settings.SANDBOX_ENABLED = True
    video = run_to_end(generation_make(org_b))
    assert video.status == Status.SUCCEEDED
    upload = upload_create(organization=org_b, data=png_bytes(), field="first_frame_image")
    files = [video.video.name, video.poster.name, upload.file.name]
    assert all(default_storage.exists(name) for name in files)

    client = logged_in(carol)
    response = delete_account(client)
    assert response["Location"] == "/"
    assert not User.objects.filter(pk=carol.pk).exists()
    assert not Organization.objects.filter(pk=org_b.pk).exists()
    assert not Generation.objects.filter(pk=video.pk).exists()
    assert not any(default_storage.exists(name) for name in files)
    assert client.get("/dashboard/").status_code == 302


def test_a_member_who_deletes_their_account_leaves_their_videos_to_the_team_and_their_keys_stop(
    alice: User, bob: User, org_a: Organization
) -> None:
    job = generation_make(org_a)
    Generation.objects.filter(pk=job.pk).update(created_by=bob, status=Status.SUCCEEDED)
    key, raw = services.api_key_create(organization=org_a, name="bob's", created_by=bob)
    page = logged_in(bob).get("/account/").content.decode()
    assert f"removes you from <strong>{escape(org_a.name)}</strong>" in page
    delete_account(logged_in(bob))
    assert not User.objects.filter(pk=bob.pk).exists()
    assert Organization.objects.filter(pk=org_a.pk).exists()
    assert Generation.objects.get(pk=job.pk).created_by is None
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    assert services.api_key_authenticate(raw) is None


def test_deletion_waits_for_videos_in_progress(carol: User, org_b: Organization) -> None:
    generation_make(org_b, "sandbox:hang")
    client = logged_in(carol)
    delete_account(client)
    assert "still being made" in client.get("/account/").content.decode()
    assert User.objects.filter(pk=carol.pk).exists()


def test_deletion_needs_the_confirmation_typed(carol: User) -> None:
    response = delete_account(logged_in(carol), confirm="delete please")
    assert response.status_code == 400
    assert "Type DELETE" in response.content.decode()
    assert User.objects.filter(pk=carol.pk).exists()


def test_the_sessions_page_signs_out_the_other_browsers(carol: User) -> None:
    laptop, phone = logged_in(carol), logged_in(carol)
    assert UserSession.objects.filter(user=carol).count() == 2
    page = laptop.get("/accounts/sessions/").content.decode()
    assert "Sign Out Other Sessions" in page or "sign out" in page.lower()
    laptop.post("/accounts/sessions/", {})
    assert laptop.get("/dashboard/").status_code == 200
    assert phone.get("/dashboard/").status_code == 302


def test_a_new_address_replaces_the_old_only_once_verified(carol: User) -> None:
    client = logged_in(carol)
    asked = client.post("/accounts/email/", {"action_add": "", "email": "carol.new@example.com"})
    client.post(asked["Location"], {"password": PASSWORD})
    carol.refresh_from_db()
    assert carol.email == "carol@example.com"
    assert carol.emailaddress_set.get(email="carol.new@example.com").verified is False


def test_another_tenants_organization_is_not_deleted(web_carol: Client, org_a: Organization) -> None:
    web_carol.post("/org/delete/", {"confirm": org_a.name})
    assert Organization.objects.filter(pk=org_a.pk).exists()
    assert Membership.objects.filter(organization=org_a).exists()
