"""A key acts with its creator's current role and stops the moment its creator leaves the organization."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts import selectors, services
from accounts.models import ApiKey, Membership, Organization, Role, User
from accounts.permissions import Action, can
from billing.selectors import balance_get
from videogen.models import Generation

pytestmark = pytest.mark.django_db


@pytest.fixture
def bobs_key(bob: User, org_a: Organization) -> tuple[ApiKey, str]:
    return services.api_key_create(organization=org_a, name="bob's script", created_by=bob)


def me(raw: str) -> int:
    return APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code


def segmind_submit(raw: str):
    return Client().post(
        "/v2/minimax-hailuo-2", {"prompt": "a red kite"}, content_type="application/json", HTTP_X_API_KEY=raw
    )


def test_removing_a_member_revokes_their_keys_at_once(
    web_alice: Client, bob: User, org_a: Organization, bobs_key: tuple[ApiKey, str], api_key_a: tuple
) -> None:
    key, raw = bobs_key
    assert me(raw) == 200
    assert segmind_submit(raw).status_code == 200
    jobs, balance = Generation.objects.count(), balance_get(org_a).available_micros

    response = web_alice.post(f"/org/members/{Membership.objects.get(user=bob).pk}/remove/", follow=True)
    assert "Their 1 API key stopped working." in response.content.decode()

    assert me(raw) == 401
    refused = segmind_submit(raw)
    assert refused.status_code == 401
    assert (Generation.objects.count(), balance_get(org_a).available_micros) == (jobs, balance)
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert me(api_key_a[1]) == 200  # the owner's key is untouched


def test_a_member_who_leaves_takes_their_keys_with_them(bob: User, web_bob: Client, bobs_key: tuple) -> None:
    web_bob.post(f"/org/members/{Membership.objects.get(user=bob).pk}/remove/")
    assert me(bobs_key[1]) == 401


def test_a_key_whose_creator_is_no_longer_a_member_is_refused_even_if_not_revoked(
    bob: User, bobs_key: tuple[ApiKey, str]
) -> None:
    # However the membership went (an operator, a script), the key follows it.
    Membership.objects.filter(user=bob).delete()
    assert bobs_key[0].revoked_at is None
    assert me(bobs_key[1]) == 401
    assert segmind_submit(bobs_key[1]).status_code == 401
    assert services.api_key_authenticate(bobs_key[1]) is None


def test_a_key_acts_with_its_creators_current_role(
    web_alice: Client, bob: User, org_a: Organization, bobs_key: tuple[ApiKey, str]
) -> None:
    key, raw = bobs_key
    assert selectors.api_key_role(key) == Role.MEMBER
    assert not can(selectors.api_key_role(key), Action.WEBHOOKS_MANAGE)

    membership = Membership.objects.get(user=bob)
    web_alice.post(f"/org/members/{membership.pk}/role/", {"role": "admin"})
    assert selectors.api_key_role(key) == Role.ADMIN
    assert selectors.api_key_role(services.api_key_authenticate(raw)) == Role.ADMIN
    assert can(selectors.api_key_role(key), Action.WEBHOOKS_MANAGE)

    web_alice.post(f"/org/members/{membership.pk}/role/", {"role": "member"})
    authenticated = services.api_key_authenticate(raw)
    assert selectors.api_key_role(authenticated) == Role.MEMBER
    assert not can(selectors.api_key_role(authenticated), Action.WEBHOOKS_JOB_SECRET)
    assert can(selectors.api_key_role(authenticated), Action.GENERATE)


def test_a_revoked_key_or_one_of_a_deleted_account_has_no_role(
    bob: User, bobs_key: tuple[ApiKey, str], api_key_a: tuple
) -> None:
    services.api_key_revoke(api_key=api_key_a[0])
    api_key_a[0].refresh_from_db()
    assert selectors.api_key_role(api_key_a[0]) is None
    bob.delete()
    key = ApiKey.objects.get(pk=bobs_key[0].pk)
    assert key.created_by is None
    assert selectors.api_key_role(key) is None
    assert me(bobs_key[1]) == 401


def test_a_key_is_created_only_for_a_member_of_the_organization(carol: User, org_a: Organization) -> None:
    with pytest.raises(services.AccountError, match="not a member"):
        services.api_key_create(organization=org_a, name="intruder", created_by=carol)
