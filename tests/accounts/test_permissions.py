"""The permission table (accounts.permissions) on the web app: every role, every action, as the table says.

The same PERMISSIONS object drives the test: an action added to the table
without a web request below fails `test_every_action_in_the_table_has_a_web_request`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from accounts import services
from accounts.models import ApiKey, Invitation, Membership, Organization, Role, User
from accounts.permissions import PERMISSIONS, Action, can, permissions_markdown
from billing.models import CreditAccount
from tests.conftest import member_of
from tests.web.conftest import generation_make
from videogen.models import Generation, Status
from webhooks import services as webhook_services
from webhooks.models import JobWebhookSecret, WebhookEndpoint

pytestmark = pytest.mark.django_db


@dataclass
class Team:
    """Organization A with one person in each role, and things for them to act on."""

    org: Organization
    people: dict[str, User]
    other: User  # a plain member the actions are done to
    others_key: ApiKey
    endpoint: WebhookEndpoint

    @cached_property
    def job(self) -> Generation:
        """A video in progress (made only when asked for: deleting the organization waits for it)."""
        return generation_make(self.org, "sandbox:hang a slow sunrise")


@pytest.fixture
def team(alice: User, org_a: Organization, bob: User, settings: Any) -> Team:
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    adam = member_of(org_a, "adam@example.com", Role.ADMIN, name="Adam")
    tess = member_of(org_a, "tess@example.com", Role.MEMBER, name="Tess")
    key, _ = services.api_key_create(organization=org_a, name="tess's key", created_by=tess)
    endpoint, _ = webhook_services.endpoint_create(organization=org_a, url="http://127.0.0.1:9/hook")
    return Team(
        org=org_a,
        people={Role.OWNER: alice, Role.ADMIN: adam, Role.MEMBER: bob},
        other=tess,
        others_key=key,
        endpoint=endpoint,
    )


@dataclass
class WebRequest:
    """One request that does the action, and how to tell that it took effect."""

    method: str
    path: Callable[[Team], str]
    data: Callable[[Team], dict[str, Any]]
    took_effect: Callable[[Team], bool]


def get(path: str) -> WebRequest:
    return WebRequest("get", lambda t: path, lambda t: {}, lambda t: True)


def other_membership(team: Team) -> Membership:
    return Membership.objects.get(user=team.other, organization=team.org)


WEB_REQUESTS: dict[Action, WebRequest] = {
    Action.GENERATE: WebRequest(
        "post",
        lambda t: "/generate/",
        lambda t: {"model": "hailuo-02", "prompt": "a paper boat", "duration": "6", "resolution": "768p"},
        lambda t: Generation.objects.filter(organization=t.org, input__prompt="a paper boat").exists(),
    ),
    Action.JOBS_VIEW: get("/generations/"),
    Action.JOBS_CANCEL: WebRequest(
        "post",
        lambda t: f"/generations/{t.job.public_id}/cancel/",
        lambda t: {},
        lambda t: Generation.objects.get(pk=t.job.pk).status == Status.CANCELED,
    ),
    Action.API_KEYS_OWN: WebRequest(
        "post",
        lambda t: "/api-keys/",
        lambda t: {"name": "my laptop"},
        lambda t: ApiKey.objects.filter(organization=t.org, name="my laptop").exists(),
    ),
    Action.API_KEYS_ALL: WebRequest(
        "post",
        lambda t: f"/api-keys/{t.others_key.public_id}/revoke/",
        lambda t: {},
        lambda t: ApiKey.objects.get(pk=t.others_key.pk).revoked_at is not None,
    ),
    Action.WEBHOOKS_VIEW: get("/webhooks/"),
    Action.WEBHOOKS_MANAGE: WebRequest(
        "post",
        lambda t: "/webhooks/new/",
        lambda t: {"url": "http://127.0.0.1:9/another", "description": "", "event_types": []},
        lambda t: WebhookEndpoint.objects.filter(url="http://127.0.0.1:9/another").exists(),
    ),
    Action.WEBHOOKS_JOB_SECRET: WebRequest(
        "post",
        lambda t: "/webhooks/job-secret/reveal/",
        lambda t: {},
        lambda t: JobWebhookSecret.objects.filter(organization=t.org).exists(),
    ),
    Action.BILLING_VIEW: get("/billing/"),
    Action.BILLING_MANAGE: WebRequest(
        "post",
        lambda t: "/billing/settings/",
        lambda t: {"low_balance_threshold_usd": "7", "monthly_cap_usd": ""},
        lambda t: CreditAccount.objects.get(organization=t.org).low_balance_threshold_micros == 7_000_000,
    ),
    Action.MEMBERS_VIEW: get("/org/members/"),
    Action.MEMBERS_INVITE: WebRequest(
        "post",
        lambda t: "/org/invitations/",
        lambda t: {"email": "newcomer@example.com", "role": "member"},
        lambda t: Invitation.objects.filter(organization=t.org, email="newcomer@example.com").exists(),
    ),
    Action.MEMBERS_REMOVE: WebRequest(
        "post",
        lambda t: f"/org/members/{other_membership(t).pk}/remove/",
        lambda t: {},
        lambda t: not Membership.objects.filter(user=t.other, organization=t.org).exists(),
    ),
    Action.MEMBERS_CHANGE_ROLE: WebRequest(
        "post",
        lambda t: f"/org/members/{other_membership(t).pk}/role/",
        lambda t: {"role": "admin"},
        lambda t: other_membership(t).role == Role.ADMIN,
    ),
    Action.OWNERS_MANAGE: WebRequest(
        "post",
        lambda t: f"/org/members/{other_membership(t).pk}/role/",
        lambda t: {"role": "owner"},
        lambda t: other_membership(t).role == Role.OWNER,
    ),
    Action.ORGANIZATION_RENAME: WebRequest(
        "post",
        lambda t: "/org/settings/",
        lambda t: {"name": "Renamed"},
        lambda t: Organization.objects.get(pk=t.org.pk).name == "Renamed",
    ),
    Action.ORGANIZATION_DELETE: WebRequest(
        "post",
        lambda t: "/org/delete/",
        lambda t: {"confirm": t.org.name},
        lambda t: not Organization.objects.filter(pk=t.org.pk).exists(),
    ),
}


def test_every_action_in_the_table_has_a_web_request() -> None:
    assert set(WEB_REQUESTS) == set(PERMISSIONS) == set(Action)


def test_the_readme_shows_the_table_as_the_code_has_it() -> None:
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    assert permissions_markdown() in readme


def test_roles_outside_the_organization_can_do_nothing() -> None:
    assert not any(can(None, action) for action in Action)


@pytest.mark.parametrize("action", list(Action), ids=str)
@pytest.mark.parametrize("role", Role.values)
def test_each_role_may_do_exactly_what_the_table_says(team: Team, role: str, action: Action) -> None:
    if action == Action.JOBS_CANCEL:
        assert team.job.status in {Status.QUEUED, Status.SUBMITTING, Status.RUNNING}
    request = WEB_REQUESTS[action]
    client = Client()
    client.force_login(team.people[role])
    response = getattr(client, request.method)(request.path(team), request.data(team))

    allowed = role in PERMISSIONS[action].roles
    if allowed:
        assert response.status_code in (200, 302), (response.status_code, response.content.decode()[:500])
        assert request.took_effect(team), f"{role} may {action} but it did not happen"
    else:
        assert response.status_code == 403, response.status_code
        assert "Only " in response.content.decode()
        if request.method == "post":
            assert not request.took_effect(team), f"{role} may not {action} but it happened"
