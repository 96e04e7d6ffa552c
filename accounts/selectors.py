"""Reads of accounts data. Tenant-owned reads take the organization."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, QuerySet
from django.http import Http404

from accounts.models import ApiKey, Invitation, Membership, Organization, Role, User


def memberships_for_user(user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("organization").order_by("organization__name")


def active_membership(user: User, org_public_id: str | None) -> Membership | None:
    """The membership for the organization in the session, else the user's first one."""
    memberships = memberships_for_user(user)
    if org_public_id:
        chosen = memberships.filter(organization__public_id=org_public_id).first()
        if chosen is not None:
            return chosen
    return memberships.order_by("created_at").first()


def membership_get(user: User, org_public_id: str) -> Membership:
    try:
        return memberships_for_user(user).get(organization__public_id=org_public_id)
    except Membership.DoesNotExist:
        raise Http404("No such organization.") from None


def role_in(user: User, organization: Organization) -> str | None:
    """The user's role in the organization ("owner", "admin", "member"), or None when not a member."""
    return Membership.objects.filter(user=user, organization=organization).values_list("role", flat=True).first()


def api_key_role(key: ApiKey) -> str | None:
    """The role a key acts with: its creator's current role in the key's organization.

    None when the key is revoked, has no creator (deleted account) or its
    creator left the organization: such a key may do nothing. A key returned by
    `services.api_key_authenticate` carries the role read in the same statement.
    """
    if key.revoked_at is not None or key.created_by_id is None:
        return None
    if hasattr(key, "creator_role"):
        return key.creator_role
    return (
        Membership.objects.filter(user_id=key.created_by_id, organization_id=key.organization_id)
        .values_list("role", flat=True)
        .first()
    )


def members_list(organization: Organization) -> QuerySet[Membership]:
    return Membership.objects.filter(organization=organization).select_related("user").order_by("created_at")


def member_get(organization: Organization, membership_id: int) -> Membership:
    try:
        return members_list(organization).get(pk=membership_id)
    except Membership.DoesNotExist:
        raise Http404("No such member.") from None


def owner_count(organization: Organization) -> int:
    return Membership.objects.filter(organization=organization, role=Role.OWNER).count()


def invitations_pending(organization: Organization) -> QuerySet[Invitation]:
    return Invitation.objects.filter(organization=organization, accepted_at__isnull=True)


def invitation_get(organization: Organization, public_id: str) -> Invitation:
    try:
        return invitations_pending(organization).get(public_id=public_id)
    except Invitation.DoesNotExist:
        raise Http404("No such invitation.") from None


def api_keys_list(organization: Organization) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(organization=organization).select_related("created_by").order_by("-created_at")


def api_key_get(organization: Organization, public_id: str) -> ApiKey:
    try:
        return api_keys_list(organization).get(public_id=public_id)
    except ApiKey.DoesNotExist:
        raise Http404("No such API key.") from None


@dataclass
class DeletionPlan:
    """What deleting a person's account does to each of their organizations."""

    # Organizations where they are the only member: deleted with everything in them.
    deleted: list[Organization] = field(default_factory=list)
    # Organizations they leave; the others stay, with the videos this person made.
    left: list[Organization] = field(default_factory=list)
    # Organizations with other members where they are the last owner: the deletion is refused.
    blocking: list[Organization] = field(default_factory=list)


def account_deletion_plan(user: User) -> DeletionPlan:
    plan = DeletionPlan()
    memberships = (
        memberships_for_user(user)
        .annotate(members=Count("organization__memberships", distinct=True))
        .order_by("organization__name")
    )
    for membership in memberships:
        organization = membership.organization
        if membership.members == 1:
            plan.deleted.append(organization)
        elif membership.role == Role.OWNER and owner_count(organization) == 1:
            plan.blocking.append(organization)
        else:
            plan.left.append(organization)
    return plan
