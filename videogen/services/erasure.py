"""Deleting an organization, or a person's account, with the videos and images stored for it.

The rows go with the organization (every table that belongs to one cascades
from it); the files in storage are deleted here, after the rows, since a
file outliving its row is only wasted space while a row outliving its file
would be a broken link. Refused while a video is still in progress: its
provider would keep working for a job we no longer have.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.files.storage import default_storage

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.models import Membership, Organization, User
from videogen.models import ACTIVE_STATUSES, Generation, Upload


def _refuse_while_in_flight(organizations: list[Organization]) -> None:
    busy = Generation.objects.filter(organization__in=organizations, status__in=ACTIVE_STATUSES)
    count = busy.count()
    if count:
        names = ", ".join(sorted({g.organization.name for g in busy.select_related("organization")}))
        raise account_services.AccountError(
            f"{count} video{'s are' if count != 1 else ' is'} still being made in {names}: "
            "cancel or wait for them, then try again."
        )


def _stored_files(organizations: list[Organization]) -> list[str]:
    names: list[str] = []
    for video, poster in Generation.objects.filter(organization__in=organizations).values_list("video", "poster"):
        names += [video, poster]
    names += Upload.objects.filter(organization__in=organizations).values_list("file", flat=True)
    return [name for name in names if name]


def _files_delete(names: Iterable[str]) -> None:
    for name in names:
        default_storage.delete(name)


def organization_delete(*, actor: Membership) -> None:
    """Delete the actor's organization (owners only), with its videos, images, keys, endpoints and credit."""
    organization = actor.organization
    _refuse_while_in_flight([organization])
    names = _stored_files([organization])
    account_services.organization_delete(actor=actor)
    _files_delete(names)


def account_delete(*, user: User) -> list[str]:
    """Delete a person's account and the organizations only they belong to; returns those organizations' names."""
    deleted = account_selectors.account_deletion_plan(user).deleted
    _refuse_while_in_flight(deleted)
    names = _stored_files(deleted)
    gone = account_services.user_delete(user=user)
    _files_delete(names)
    return gone
