"""Who may do what in an organization: the one table of roles and actions.

Web pages check it with `accounts.decorators.role_required`; an API key acts
with its creator's current role (`accounts.selectors.api_key_role`), never
above it. README's "Roles and permissions" table is generated from
PERMISSIONS by `permissions_markdown()`, and a test keeps the two equal.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from accounts.models import Role


class Action(StrEnum):
    GENERATE = "generate"
    JOBS_VIEW = "jobs.view"
    JOBS_CANCEL = "jobs.cancel"
    API_KEYS_OWN = "api_keys.own"
    API_KEYS_ALL = "api_keys.all"
    WEBHOOKS_VIEW = "webhooks.view"
    WEBHOOKS_MANAGE = "webhooks.manage"
    WEBHOOKS_JOB_SECRET = "webhooks.job_secret"  # noqa: S105 (an action name, not a secret)
    BILLING_VIEW = "billing.view"
    BILLING_MANAGE = "billing.manage"
    MEMBERS_VIEW = "members.view"
    MEMBERS_INVITE = "members.invite"
    MEMBERS_REMOVE = "members.remove"
    MEMBERS_CHANGE_ROLE = "members.change_role"
    OWNERS_MANAGE = "owners.manage"
    ORGANIZATION_RENAME = "organization.rename"
    ORGANIZATION_DELETE = "organization.delete"


class Rule(NamedTuple):
    what: str
    roles: frozenset[str]


EVERYONE = frozenset({Role.OWNER, Role.ADMIN, Role.MEMBER})
OWNERS_AND_ADMINS = frozenset({Role.OWNER, Role.ADMIN})
OWNERS = frozenset({Role.OWNER})

PERMISSIONS: dict[Action, Rule] = {
    Action.GENERATE: Rule("start videos and upload images", EVERYONE),
    Action.JOBS_VIEW: Rule("see the organization's videos and their history", EVERYONE),
    Action.JOBS_CANCEL: Rule("cancel a video in progress", EVERYONE),
    Action.API_KEYS_OWN: Rule("create API keys (acting with their creator's role) and revoke their own", EVERYONE),
    Action.API_KEYS_ALL: Rule("revoke anyone's API keys", OWNERS_AND_ADMINS),
    Action.WEBHOOKS_VIEW: Rule("see webhook endpoints and deliveries", EVERYONE),
    Action.WEBHOOKS_MANAGE: Rule(
        "add, change, test, rotate and delete webhook endpoints; replay deliveries", OWNERS_AND_ADMINS
    ),
    Action.WEBHOOKS_JOB_SECRET: Rule("read and rotate the job webhook secret", OWNERS_AND_ADMINS),
    Action.BILLING_VIEW: Rule("see the balance, the ledger and prices", EVERYONE),
    Action.BILLING_MANAGE: Rule("buy credit, change the low-balance alert and monthly cap", OWNERS_AND_ADMINS),
    Action.MEMBERS_VIEW: Rule("see the team and pending invitations", EVERYONE),
    Action.MEMBERS_INVITE: Rule("invite people as admin or member, withdraw invitations", OWNERS_AND_ADMINS),
    Action.MEMBERS_REMOVE: Rule("remove admins and members", OWNERS_AND_ADMINS),
    Action.MEMBERS_CHANGE_ROLE: Rule("make someone an admin or a member", OWNERS_AND_ADMINS),
    Action.OWNERS_MANAGE: Rule("invite or make someone an owner; demote or remove an owner", OWNERS),
    Action.ORGANIZATION_RENAME: Rule("rename the organization", OWNERS_AND_ADMINS),
    Action.ORGANIZATION_DELETE: Rule("delete the organization with its videos, keys and credit", OWNERS),
}

ROLE_NAMES: dict[str, str] = {Role.OWNER: "owners", Role.ADMIN: "admins", Role.MEMBER: "members"}


def can(role: str | None, action: Action) -> bool:
    """Whether someone with `role` (None: not a member) may do `action`."""
    return role is not None and role in PERMISSIONS[action].roles


def who_can(action: Action) -> str:
    """The roles allowed, in words: "owners and admins"."""
    names = [ROLE_NAMES[role] for role in Role.values if role in PERMISSIONS[action].roles]
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def permissions_markdown() -> str:
    """The table as it appears in README.md."""
    lines = ["| action | what it allows | owner | admin | member |", "|---|---|---|---|---|"]
    for action, rule in PERMISSIONS.items():
        marks = " | ".join("yes" if role in rule.roles else "no" for role in Role.values)
        lines.append(f"| `{action}` | {rule.what} | {marks} |")
    return "\n".join(lines) + "\n"
