"""Roles through the API: a key acts with its creator's role, as the permission table says, on every surface.

For every role and every action of the table, a request that performs the
action with that role's key is allowed or refused (403 naming the role and
the action) exactly as `accounts.permissions.can` says. The ids in the
requests name nothing: an allowed request passes the role check and then
finds nothing (404) or a bad body (400), so no test data is needed and no
work starts.
"""

from __future__ import annotations

import pytest
from django.test import Client

from accounts import services
from accounts.models import Membership, Organization, Role, User
from accounts.permissions import PERMISSIONS, Action, Rule, can
from tests.api.test_every_endpoint import api_routes, requests, send
from tests.conftest import member_of

pytestmark = pytest.mark.django_db(transaction=True)

UNKNOWN = "zz_unknown"
# (method, path, compatible endpoint's key header or None for the native Bearer) for each action with an API surface.
SURFACES: dict[Action, list[tuple[str, str, str | None]]] = {
    Action.GENERATE: [
        ("post", "/api/v1/generations", None),
        ("post", "/api/v1/uploads", None),
        ("post", "/v1/unknown-model", "x"),
        ("post", "/v2/unknown-model", "x"),
        ("post", "/v2/generate/video/minimax/generation", "bearer"),
        ("post", "/api/v1/model/generateVideo", "bearer"),
        ("post", "/api/v1/model/uploadMedia", "bearer"),
    ],
    Action.JOBS_VIEW: [
        ("get", "/api/v1/generations", None),
        ("get", f"/api/v1/generations/{UNKNOWN}", None),
        ("get", f"/v2/requests/{UNKNOWN}/status", "x"),
        ("get", f"/v2/requests/{UNKNOWN}", "x"),
        ("get", f"/v2/generate/video/minimax/generation?generation_id={UNKNOWN}", "bearer"),
        ("get", f"/api/v1/model/prediction/{UNKNOWN}", "bearer"),
    ],
    Action.JOBS_CANCEL: [("post", f"/api/v1/generations/{UNKNOWN}/cancel", None)],
    Action.BILLING_VIEW: [("get", "/api/v1/balance", None), ("get", "/api/v1/ledger", None)],
    Action.WEBHOOKS_VIEW: [
        ("get", "/api/v1/webhook-endpoints", None),
        ("get", f"/api/v1/webhook-endpoints/{UNKNOWN}", None),
    ],
    Action.WEBHOOKS_MANAGE: [
        ("post", "/api/v1/webhook-endpoints", None),
        ("patch", f"/api/v1/webhook-endpoints/{UNKNOWN}", None),
        ("delete", f"/api/v1/webhook-endpoints/{UNKNOWN}", None),
        ("post", f"/api/v1/webhook-endpoints/{UNKNOWN}/rotate", None),
    ],
    Action.WEBHOOKS_JOB_SECRET: [
        ("get", "/api/v1/webhook-secret", None),
        ("post", "/api/v1/webhook-secret/rotate", None),
    ],
}


def declared_actions() -> set[Action]:
    """Every action some API view says one of its methods performs."""
    found: set[Action] = set()
    for _, pattern in api_routes():
        cls = getattr(pattern.callback, "cls", None)
        found |= {action for action in getattr(cls, "actions", {}).values() if action is not None}
    return found


@pytest.fixture
def keys(alice: User, org_a: Organization) -> dict[str, str]:
    """A raw key for each role, made by a person who has that role in org A."""
    people = {
        Role.OWNER: alice,
        Role.ADMIN: member_of(org_a, "ada@example.com", Role.ADMIN),
        Role.MEMBER: member_of(org_a, "max@example.com", Role.MEMBER),
    }
    return {
        role: services.api_key_create(organization=org_a, name=f"{role}'s key", created_by=person)[1]
        for role, person in people.items()
    }


def call(method: str, path: str, header: str | None, raw: str):
    auth = {"HTTP_X_API_KEY": raw} if header == "x" else {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    return Client().generic(method.upper(), path, data=b"{}", content_type="application/json", **auth)


def assert_refused(response, role: str, action: Action, native: bool) -> None:
    assert response.status_code == 403, (response.status_code, response.content)
    text = response.content.decode()
    assert role in text and str(action) in text
    if native:
        error = response.json()["error"]
        assert (error["type"], error["code"], error["role"], error["action"]) == (
            "permission_error",
            "permission_denied",
            role,
            str(action),
        )


def test_every_action_with_an_api_surface_is_declared_by_its_views() -> None:
    native = {action for action, surfaces in SURFACES.items() if any(h is None for _, _, h in surfaces)}
    assert declared_actions() == native


@pytest.mark.parametrize("role", Role.values)
@pytest.mark.parametrize("action", list(Action))
def test_a_key_may_do_through_the_api_what_its_role_may_do(role: str, action: Action, keys: dict[str, str]) -> None:
    surfaces = SURFACES.get(action)
    if surfaces is None:
        # No endpoint performs it (members, keys, the organization, buying credit): no key can, whatever its role.
        assert action not in declared_actions()
        return
    for method, path, header in surfaces:
        response = call(method, path, header, keys[role])
        if can(role, action):
            assert response.status_code not in (401, 403, 405, 429, 500), (method, path, response.content)
        else:
            assert_refused(response, role, action, native=header is None)


def test_the_api_follows_the_table_not_a_copy_of_it(keys: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(PERMISSIONS, Action.GENERATE, Rule("start videos", frozenset({Role.OWNER})))
    for method, path, header in SURFACES[Action.GENERATE]:
        assert_refused(call(method, path, header, keys[Role.MEMBER]), Role.MEMBER, Action.GENERATE, header is None)
        assert call(method, path, header, keys[Role.OWNER]).status_code != 403


@pytest.mark.parametrize("how", ["removed", "membership deleted"])
def test_a_removed_members_key_is_refused_at_once_on_every_api_surface(
    how: str, keys: dict[str, str], alice: User, org_a: Organization
) -> None:
    raw = keys[Role.MEMBER]
    assert call("get", "/api/v1/me", None, raw).status_code == 200
    leaving = Membership.objects.get(organization=org_a, user__email="max@example.com")
    if how == "removed":
        services.membership_remove(actor=Membership.objects.get(user=alice), membership=leaving)
    else:
        leaving.delete()  # however the membership went, the key follows it
    for method, url in requests():
        response = send(method, url, raw)
        assert response.status_code == 401, (method, url, response.status_code)
    for surfaces in SURFACES.values():
        for method, path, header in surfaces:
            assert call(method, path, header, raw).status_code == 401, (method, path)
