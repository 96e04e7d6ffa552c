"""Operators' scripting command: issue_api_key."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from accounts import services
from accounts.models import Membership, Organization, Role
from billing.selectors import balance_get

pytestmark = pytest.mark.django_db


def issue(*args: str) -> str:
    out = io.StringIO()
    call_command("issue_api_key", *args, stdout=out)
    return out.getvalue()


def test_it_creates_the_organization_and_owner_and_prints_only_the_key() -> None:
    printed = issue("--org", "acme", "--email", "Ops@Acme.test", "--create", "--grant-usd", "12.50")
    key = services.api_key_authenticate(printed.strip())
    assert printed == printed.strip() + "\n"  # the key alone on its line, nothing else on standard output
    assert key is not None
    org = Organization.objects.get(slug="acme")
    assert key.organization == org
    assert Membership.objects.get(organization=org).role == Role.OWNER
    assert Membership.objects.get(organization=org).user.email == "ops@acme.test"
    assert balance_get(org).balance_micros == 12_500_000


def test_it_issues_a_second_key_for_an_existing_owner(org_a, alice) -> None:
    first = issue("--org", org_a.slug, "--email", alice.email).strip()
    second = issue("--org", org_a.slug, "--email", alice.email).strip()
    assert first != second
    assert services.api_key_authenticate(second).organization == org_a


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--org", "nope", "--email", "a@b.test"], "--org"),
        (["--org", "x", "--email", "not-an-email", "--create"], "--email"),
        (["--org", "x", "--email", "a@b.test", "--create", "--grant-usd", "ten"], "--grant-usd"),
        (["--org", "x", "--email", "a@b.test", "--create", "--grant-usd", "-1"], "--grant-usd"),
    ],
)
def test_bad_arguments_fail_with_a_message_naming_the_option(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        issue(*args)
    assert not Organization.objects.filter(slug="x").exists()


def test_someone_who_is_not_an_owner_gets_no_key(org_a, bob) -> None:
    with pytest.raises(CommandError, match="not an owner"):
        issue("--org", org_a.slug, "--email", bob.email)
