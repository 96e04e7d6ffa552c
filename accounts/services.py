"""Every write to users, organizations, memberships, invitations and API keys.

Who may do what comes from accounts.permissions; the rules the table cannot
say (only an owner makes or changes an owner, an organization keeps one
owner, a key acts with its creator's role) are enforced here, under a lock
on the organization's row so two changes to one team never interleave.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from accounts import selectors, signals
from accounts.models import ApiKey, Invitation, Membership, Organization, Role, User, token_hash
from accounts.permissions import PERMISSIONS, Action, can, who_can
from outbox.services import email_queue

KEY_PREFIX = "hs_"
KEY_DISPLAY_CHARS = 10
INVITATION_TTL = timedelta(days=7)
LAST_USED_RESOLUTION = timedelta(minutes=1)
# How long an active key found stays in the shared cache (changes replace it at once: api_keys_forget).
KEY_CACHE_SECONDS = 60
TOMBSTONE = "forgotten"


class AccountError(Exception):
    """A request the rules refuse; the message is shown to the person."""


class NotAllowed(AccountError):
    """The person's role in the organization does not allow the action."""

    def __init__(self, action: Action, organization: Organization) -> None:
        self.action = action
        super().__init__(f"Only {who_can(action)} of {organization.name} can {PERMISSIONS[action].what}.")


def require(membership: Membership, action: Action) -> None:
    if not can(membership.role, action):
        raise NotAllowed(action, membership.organization)


def _lock(organization: Organization) -> None:
    """Serialize changes to one organization's team (roles, removals, invitations)."""
    Organization.objects.select_for_update().filter(pk=organization.pk).first()


def _current(membership: Membership) -> Membership:
    """The membership as it is now, read under the organization's lock."""
    try:
        return Membership.objects.select_related("user", "organization").get(pk=membership.pk)
    except Membership.DoesNotExist:
        raise AccountError(f"{membership.user.email} is no longer a member.") from None


def _owner_count(organization: Organization) -> int:
    return Membership.objects.filter(organization=organization, role=Role.OWNER).count()


# --- Sign-up ------------------------------------------------------------------------------------


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
def user_signup_finish(*, user: User, invitation: Invitation | None = None) -> Organization | None:
    """What sign-up adds to a new person: their own workspace.

    Someone who signs up with the address an invitation was sent to joins that
    organization instead (accepting the invitation) and gets no workspace,
    hence no welcome credit.
    """
    if invitation is not None and invitation.email == user.email.lower():
        return None
    label = user.name.strip() or user.email.split("@")[0]
    organization = organization_create(owner=user, name=f"{label}'s workspace")
    User.objects.filter(pk=user.pk).update(signup_organization=organization)
    user.signup_organization = organization
    return organization


@transaction.atomic
def user_signup(*, email: str, password: str | None, name: str = "") -> User:
    """Create a user with their workspace, for scripts and tests (people sign up on the sign-up page).

    The address is not verified yet: see `user_email_confirm`.
    """
    user = User.objects.create_user(email=email, password=password, name=name.strip())
    user_signup_finish(user=user)
    return user


def user_email_verified(*, user: User) -> None:
    """The person proved an address is theirs: the workspace sign-up made for them may get the welcome credit.

    `signals.signup_verified` tells billing, whose grant is keyed by the user,
    so verifying a second address (or the same one twice) grants nothing more.
    """
    if user.signup_organization_id is None:
        return
    if not EmailAddress.objects.filter(user=user, verified=True).exists():
        return
    signals.signup_verified.send(sender=User, user=user, organization=user.signup_organization)


@transaction.atomic
def user_email_confirm(*, user: User) -> None:
    """Record the user's address as verified and primary: for operators' commands, the demo and tests.

    People verify theirs by the link in the email sign-up sends.
    """
    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
    user_email_verified(user=user)


# --- Organizations --------------------------------------------------------------------------------


@transaction.atomic
def organization_rename(*, organization: Organization, name: str) -> Organization:
    organization.name = name.strip()
    organization.save(update_fields=["name"])
    return organization


@transaction.atomic
def organization_delete(*, actor: Membership) -> None:
    """Delete the actor's organization with everything in it (jobs, keys, endpoints, credit)."""
    organization = actor.organization
    _lock(organization)
    require(_current(actor), Action.ORGANIZATION_DELETE)
    organization.delete()


@transaction.atomic
def user_delete(*, user: User) -> list[str]:
    """Delete a person's account; returns the names of the organizations deleted with it.

    Organizations where they are the only member go with everything in them;
    from the others they leave, and the keys they created are revoked there (the
    videos they made stay with the organization). Refused while they are the
    last owner of an organization with other members.
    """
    for organization in Organization.objects.filter(memberships__user=user).order_by("pk"):
        _lock(organization)
    plan = selectors.account_deletion_plan(user)
    if plan.blocking:
        names = ", ".join(organization.name for organization in plan.blocking)
        raise AccountError(
            f"You are the last owner of {names}, which has other members: make one of them an owner "
            "(or delete the organization) first."
        )
    api_keys_revoke_created_by(user=user)
    for organization in plan.deleted:
        organization.delete()
    user.delete()
    return [organization.name for organization in plan.deleted]


# --- Members ----------------------------------------------------------------------------------------


@transaction.atomic
def membership_change_role(*, actor: Membership, membership: Membership, role: str) -> Membership:
    """Change a member's role; keys they created act with the new role from the next request."""
    _lock(membership.organization)
    actor, membership = _current(actor), _current(membership)
    require(actor, Action.MEMBERS_CHANGE_ROLE)
    if role not in Role.values:
        raise AccountError("role: choose owner, admin or member.")
    if Role.OWNER in (role, membership.role):
        require(actor, Action.OWNERS_MANAGE)
    if membership.role == Role.OWNER and role != Role.OWNER and _owner_count(membership.organization) <= 1:
        raise AccountError("An organization needs at least one owner. Make someone else an owner first.")
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, actor: Membership, membership: Membership) -> int:
    """Remove a member (or leave, when actor is the member); their API keys in the organization are revoked.

    Returns how many keys were revoked. The last owner cannot leave.
    """
    _lock(membership.organization)
    actor, membership = _current(actor), _current(membership)
    if actor.pk != membership.pk:
        require(actor, Action.MEMBERS_REMOVE)
        if membership.role == Role.OWNER:
            require(actor, Action.OWNERS_MANAGE)
    if membership.role == Role.OWNER and _owner_count(membership.organization) <= 1:
        raise AccountError("The last owner cannot leave. Make someone else an owner first.")
    revoked = api_keys_revoke_created_by(user=membership.user, organization=membership.organization)
    membership.delete()
    return revoked


# --- Invitations --------------------------------------------------------------------------------------


@transaction.atomic
def invitation_create(*, actor: Membership, email: str, role: str) -> tuple[Invitation, str]:
    """Invite an address and queue the email with its link; returns the invitation and the link's token.

    An address with an open invitation gets it again, with a new link (the
    earlier link stops working) and the role chosen now.
    """
    organization = actor.organization
    _lock(organization)
    actor = _current(actor)
    require(actor, Action.MEMBERS_INVITE)
    email = email.strip().lower()
    if role not in Role.values:
        raise AccountError("role: choose owner, admin or member.")
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise AccountError(f"{email} is already a member.")
    existing = Invitation.objects.filter(organization=organization, email=email, accepted_at__isnull=True).first()
    if Role.OWNER in (role, existing.role if existing else None):
        require(actor, Action.OWNERS_MANAGE)
    token = secrets.token_urlsafe(32)
    invitation = existing or Invitation(organization=organization, email=email)
    invitation.role = role
    invitation.token_hash = token_hash(token)
    invitation.invited_by = actor.user
    invitation.expires_at = timezone.now() + INVITATION_TTL
    invitation.save()
    _invitation_email(invitation, token)
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


class WrongAddress(AccountError):
    """The invitation was sent to an address the signed-in person has not verified."""


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    """Join the organization with the address the invitation was sent to (verified).

    The conditional update makes a link single-use even under races; the other
    open invitations in the organization for the person's verified addresses close.
    """
    invitation = invitation_for_token(token)
    addresses = set(EmailAddress.objects.filter(user=user, verified=True).values_list("email", flat=True))
    addresses = {address.lower() for address in addresses}
    if invitation.email not in addresses:
        raise WrongAddress(
            f"This invitation was sent to {invitation.email}, and you are signed in as {user.email}. "
            f"Sign in with {invitation.email} (or add and verify it on your account page) to accept it."
        )
    claimed = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
        accepted_at=timezone.now(), accepted_by=user
    )
    if not claimed:
        raise AccountError("This invitation has already been used.")
    Invitation.objects.filter(
        organization=invitation.organization, email__in=addresses, accepted_at__isnull=True
    ).delete()
    membership, _ = Membership.objects.get_or_create(
        user=user, organization=invitation.organization, defaults={"role": invitation.role}
    )
    return membership


@transaction.atomic
def invitation_revoke(*, actor: Membership, invitation: Invitation) -> None:
    _lock(invitation.organization)
    actor = _current(actor)
    require(actor, Action.MEMBERS_INVITE)
    if invitation.role == Role.OWNER:
        require(actor, Action.OWNERS_MANAGE)
    invitation.delete()


def _invitation_email(invitation: Invitation, token: str) -> None:
    """Queue the invitation's email (in the caller's transaction); each new link is its own email."""
    inviter = invitation.invited_by.get_full_name() if invitation.invited_by else "A teammate"
    link = settings.PUBLIC_BASE_URL + reverse("invitation-accept", args=[token])
    email_queue(
        key=f"invitation:{invitation.public_id}:{invitation.token_hash[:16]}",
        kind="invitation",
        to=[invitation.email],
        subject=f"You are invited to {invitation.organization.name}",
        body=(
            f"{inviter} invited you to join {invitation.organization.name} as {invitation.role}.\n\n"
            f"Accept the invitation: {link}\n\n"
            f"The link works once, for {invitation.email} only, and expires in {INVITATION_TTL.days} days."
        ),
    )


# --- API keys -------------------------------------------------------------------------------------------


def api_key_create(*, organization: Organization, name: str, created_by: User) -> tuple[ApiKey, str]:
    """Create a key acting for `created_by` (a member); returns it with the raw secret, never stored or shown again."""
    if not Membership.objects.filter(organization=organization, user=created_by).exists():
        raise AccountError(f"{created_by.email} is not a member of {organization.name}.")
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
    keys = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True)
    api_keys_forget(keys)
    keys.update(revoked_at=timezone.now())


def api_key_revoke_as(*, actor: Membership, api_key: ApiKey) -> None:
    """Revoke a key from the web app: anyone their own keys, owners and admins everyone's."""
    if api_key.created_by_id != actor.user_id:
        require(actor, Action.API_KEYS_ALL)
    api_key_revoke(api_key=api_key)


def api_keys_revoke_created_by(*, user: User, organization: Organization | None = None) -> int:
    """Revoke the keys `user` created (in one organization, or everywhere); returns how many."""
    keys = ApiKey.objects.filter(created_by=user, revoked_at__isnull=True)
    if organization is not None:
        keys = keys.filter(organization=organization)
    api_keys_forget(keys)
    return keys.update(revoked_at=timezone.now())


def api_key_hash(raw: str) -> str | None:
    """The hash a key with this raw secret is stored under; None for what cannot be one of our keys."""
    if not raw.startswith(KEY_PREFIX) or len(raw) > 200:
        return None
    return token_hash(raw)


def api_key_authenticate(raw: str) -> ApiKey | None:
    """The active key (with its organization) for a raw secret, recording its use at most once a minute.

    Every API surface authenticates here. A key answers only while its creator
    is still a member of its organization; the creator's role is read in the
    same statement (`creator_role`, see accounts.selectors.api_key_role).

    An active key found is kept in the shared cache for KEY_CACHE_SECONDS, so
    most requests skip the query. Anything that could change the answer
    (revoking or deleting the key, changing or removing a membership,
    changing the organization) replaces the entries of the keys it concerns
    with a tombstone (`api_keys_forget`); a tombstone is never overwritten
    by a lookup that raced with the change, so a key stops working the
    moment the change commits.
    """
    key_hash = api_key_hash(raw)
    if key_hash is None:
        return None
    name, used = _key_cache_name(key_hash), _key_used_name(key_hash)
    found = cache.get_many([name, used])  # one round trip, whatever the cache
    cached = found.get(name)
    key = cached if isinstance(cached, ApiKey) else None
    if key is None:
        key = (
            ApiKey.objects.select_related("organization")
            .filter(
                key_hash=key_hash,
                revoked_at__isnull=True,
                created_by__memberships__organization=F("organization"),
            )
            .annotate(creator_role=F("created_by__memberships__role"))
            .first()
        )
        if key is None:
            return None
        if cached is None:
            cache.add(name, key, KEY_CACHE_SECONDS)  # never over a tombstone: `add` only fills an empty slot
    if used not in found:
        api_key_used(key)
    return key


def _key_cache_name(key_hash: str) -> str:
    return f"api-key:{key_hash}"


def _key_used_name(key_hash: str) -> str:
    return f"api-key-used:{key_hash}"


def api_keys_forget(keys: QuerySet[ApiKey]) -> None:
    """Make the next request with each of these keys read it from the database (after any change to it)."""
    _hashes_forget(list(keys.values_list("key_hash", flat=True)))


def api_key_hash_forget(key_hash: str) -> None:
    """`api_keys_forget` for one key, by its hash (for a key whose row is already gone)."""
    _hashes_forget([key_hash])


def _hashes_forget(hashes: list[str]) -> None:
    if not hashes:
        return

    def forget() -> None:
        cache.set_many({_key_cache_name(key_hash): TOMBSTONE for key_hash in hashes}, KEY_CACHE_SECONDS)

    forget()  # now, for the requests that read before the change commits
    transaction.on_commit(forget)  # and again once it has, in case one cached the old row in between


def api_key_used(key: ApiKey) -> None:
    """Record that the key authenticated a request, at most once a minute (one write, not one per request)."""
    if not cache.add(_key_used_name(key.key_hash), True, int(LAST_USED_RESOLUTION.total_seconds())):
        return  # recorded less than a minute ago, by this process or another
    now = timezone.now()
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    key.last_used_at = now
