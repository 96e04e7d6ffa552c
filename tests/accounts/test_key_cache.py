"""An API key found is kept in the shared cache; any change it rests on takes effect on the next request."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiKey, Membership, Organization, Role, User

pytestmark = pytest.mark.django_db


def me(raw: str) -> int:
    return APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code


@pytest.fixture
def bobs_key(bob: User, org_a: Organization) -> tuple[ApiKey, str]:
    return services.api_key_create(organization=org_a, name="bob's script", created_by=bob)


def test_a_key_used_again_is_not_read_from_the_database(api_key_a: tuple[ApiKey, str]) -> None:
    assert services.api_key_authenticate(api_key_a[1]) is not None
    with CaptureQueriesContext(connection) as queries:
        key = services.api_key_authenticate(api_key_a[1])
    assert key is not None and key.pk == api_key_a[0].pk
    assert key.organization.public_id == api_key_a[0].organization.public_id
    assert not [q for q in queries.captured_queries if "accounts_apikey" in q["sql"]]


def test_last_use_is_written_once_a_minute_not_once_a_request(api_key_a: tuple[ApiKey, str]) -> None:
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert me(api_key_a[1]) == 200
    writes = [q for q in queries.captured_queries if q["sql"].startswith('UPDATE "accounts_apikey"')]
    assert len(writes) == 1
    api_key_a[0].refresh_from_db()
    assert api_key_a[0].last_used_at is not None


@pytest.mark.parametrize(
    "change",
    [
        "revoke",
        "delete the key",
        "delete the membership",
        "delete the organization",
        "delete the creator",
    ],
)
def test_a_cached_key_stops_at_the_change(
    change: str, bob: User, org_a: Organization, bobs_key: tuple[ApiKey, str]
) -> None:
    key, raw = bobs_key
    assert me(raw) == 200  # now cached
    if change == "revoke":
        services.api_key_revoke(api_key=key)
    elif change == "delete the key":
        ApiKey.objects.filter(pk=key.pk).delete()  # as the admin's bulk delete does
    elif change == "delete the membership":
        Membership.objects.filter(user=bob, organization=org_a).delete()
    elif change == "delete the organization":
        org_a.delete()
    else:
        bob.delete()
    assert me(raw) == 401


def test_a_cached_key_follows_its_creators_role(bob: User, org_a: Organization, bobs_key: tuple[ApiKey, str]) -> None:
    _, raw = bobs_key
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/webhook-secret").status_code == 403  # a member may not read it
    membership = Membership.objects.get(user=bob, organization=org_a)
    membership.role = Role.ADMIN
    membership.save()  # as the admin's change form does
    assert client.get("/api/v1/webhook-secret").status_code == 200
    membership.role = Role.MEMBER
    membership.save()
    assert client.get("/api/v1/webhook-secret").status_code == 403


def test_a_lookup_that_raced_with_a_change_cannot_cache_the_old_answer(
    bobs_key: tuple[ApiKey, str], org_a: Organization
) -> None:
    key, raw = bobs_key
    stale = services.api_key_authenticate(raw)  # read before the change...
    assert stale is not None
    cache.delete(f"api-key:{key.key_hash}")
    services.api_key_revoke(api_key=key)  # ...the change lands...
    assert cache.add(f"api-key:{key.key_hash}", stale, 60) is False  # ...and the stale row cannot be cached after it
    assert services.api_key_authenticate(raw) is None
