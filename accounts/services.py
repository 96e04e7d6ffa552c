"""Every write to users, organizations, memberships, invitations and API keys."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from accounts import signals
from accounts.models import ApiKey, Invitation, Membership, Organization, Role, User, token_hash

KEY_PREFIX = "hs_"
KEY_DISPLAY_CHARS = 10
INVITATION_TTL = timedelta(days=7)
LAST_USED_RESOLUTION = timedelta(minutes=1)


class AccountError(Exception):
    """A request the rules refuse; the message is shown to the person."""


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "org"
    slug = base
    while Organization.objects.filter(slug=slug).exists():
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


@transaction.atomic
def organization_create(*, owner: User, name: str) -> Organization:
    """Create an organization with `owner` as its first owner."""
    organization = Organization.objects.create(name=name.strip(), slug=_unique_slug(name))
    Membership.objects.create(user=owner, organization=organization, role=Role.OWNER)
    return organization


@transaction.atomic
def user_signup(*, email: str, password: str, name: str = "") -> User:
    """Create a user with a personal organization; `user_signed_up` lets billing add the welcome credit."""
    user = User.objects.create_user(email=email, password=password, name=name.strip())
    label = name.strip() or email.split("@")[0]
    organization = organization_create(owner=user, name=f"{label}'s workspace")
    signals.user_signed_up.send(sender=User, user=user, organization=organization)
    return user


@transaction.atomic
def organization_rename(*, organization: Organization, name: str) -> Organization:
    organization.name = name.strip()
    organization.save(update_fields=["name"])
    return organization


def invitation_create(*, organization: Organization, email: str, role: str, invited_by: User) -> tuple[Invitation, str]:
    """Create an invitation; returns it with the raw token for the link (shown once)."""
    email = email.strip().lower()
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise AccountError(f"{email} is already a member.")
    if role not in Role.values:
        raise AccountError("Choose a valid role.")
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        token_hash=token_hash(token),
        invited_by=invited_by,
        expires_at=timezone.now() + INVITATION_TTL,
    )
    return invitation, token


def invitation_for_token(token: str) -> Invitation:
    """The invitation a link points to; explains why a link no longer works."""
    invitation = Invitation.objects.select_related("organization").filter(token_hash=token_hash(token)).first()
    if invitation is None:
        raise AccountError("This invitation link is not valid. Ask for a new invitation.")
    if invitation.accepted_at is not None:
        raise AccountError("This invitation has already been used.")
    if invitation.expires_at <= timezone.now():
        raise AccountError("This invitation has expired. Ask an admin of the organization to invite you again.")
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    """Join the organization; the conditional update makes a link single-use even under races."""
    invitation = invitation_for_token(token)
    claimed = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
        accepted_at=timezone.now(), accepted_by=user
    )
    if not claimed:
        raise AccountError("This invitation has already been used.")
    membership, _ = Membership.objects.get_or_create(
        user=user, organization=invitation.organization, defaults={"role": invitation.role}
    )
    return membership


def invitation_revoke(*, invitation: Invitation) -> None:
    invitation.delete()


def _owner_count(organization: Organization) -> int:
    return Membership.objects.select_for_update().filter(organization=organization, role=Role.OWNER).count()


def _require_owner(actor: Membership) -> None:
    if actor.role != Role.OWNER:
        raise AccountError("Only owners can change roles or remove members.")


@transaction.atomic
def membership_change_role(*, actor: Membership, membership: Membership, role: str) -> Membership:
    _require_owner(actor)
    if role not in Role.values:
        raise AccountError("Choose a valid role.")
    if membership.role == Role.OWNER and role != Role.OWNER and _owner_count(membership.organization) <= 1:
        raise AccountError("An organization needs at least one owner.")
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, actor: Membership, membership: Membership) -> None:
    """Remove a member; anyone may leave, owners may remove others; the last owner stays."""
    if actor.pk != membership.pk:
        _require_owner(actor)
    if membership.role == Role.OWNER and _owner_count(membership.organization) <= 1:
        raise AccountError("The last owner cannot leave. Make someone else an owner first.")
    membership.delete()


def api_key_create(*, organization: Organization, name: str, created_by: User | None = None) -> tuple[ApiKey, str]:
    """Create a key; returns it with the raw secret, which is never stored or shown again."""
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        organization=organization,
        name=name.strip() or "API key",
        prefix=raw[:KEY_DISPLAY_CHARS],
        key_hash=token_hash(raw),
        created_by=created_by,
    )
    return key, raw


def api_key_revoke(*, api_key: ApiKey) -> None:
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_key_hash(raw: str) -> str | None:
    """The hash a key with this raw secret is stored under; None for what cannot be one of our keys."""
    if not raw.startswith(KEY_PREFIX) or len(raw) > 200:
        return None
    return token_hash(raw)


def api_key_authenticate(raw: str) -> ApiKey | None:
    """The active key (with its organization) for a raw secret, recording its use at most once a minute."""
    key_hash = api_key_hash(raw)
    if key_hash is None:
        return None
    key = ApiKey.objects.select_related("organization").filter(key_hash=key_hash, revoked_at__isnull=True).first()
    if key is None:
        return None
    api_key_used(key)
    return key


def api_key_used(key: ApiKey) -> None:
    """Record that the key authenticated a request, at most once a minute (one write, not one per request)."""
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        key.last_used_at = now


def invitation_send(*, invitation: Invitation, link: str) -> None:
    """Email the invitation link (console backend in development)."""
    from django.core.mail import send_mail

    inviter = invitation.invited_by.get_full_name() if invitation.invited_by else "A teammate"
    send_mail(
        subject=f"You are invited to {invitation.organization.name}",
        message=(
            f"{inviter} invited you to join {invitation.organization.name} as {invitation.role}.\n\n"
            f"Accept the invitation: {link}\n\nThe link works once and expires in {INVITATION_TTL.days} days."
        ),
        from_email=None,
        recipient_list=[invitation.email],
    )
