"""Reads of accounts data. Tenant-owned reads take the organization."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import ApiKey, Invitation, Membership, Organization, User


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


def members_list(organization: Organization) -> QuerySet[Membership]:
    return Membership.objects.filter(organization=organization).select_related("user").order_by("created_at")


def member_get(organization: Organization, membership_id: int) -> Membership:
    try:
        return members_list(organization).get(pk=membership_id)
    except Membership.DoesNotExist:
        raise Http404("No such member.") from None


def invitations_pending(organization: Organization) -> QuerySet[Invitation]:
    return Invitation.objects.filter(organization=organization, accepted_at__isnull=True)


def invitation_get(organization: Organization, public_id: str) -> Invitation:
    try:
        return invitations_pending(organization).get(public_id=public_id)
    except Invitation.DoesNotExist:
        raise Http404("No such invitation.") from None


def api_keys_list(organization: Organization) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(organization=organization).order_by("-created_at")


def api_key_get(organization: Organization, public_id: str) -> ApiKey:
    try:
        return api_keys_list(organization).get(public_id=public_id)
    except ApiKey.DoesNotExist:
        raise Http404("No such API key.") from None
