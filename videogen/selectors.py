"""Reads of generation data; every tenant-owned read takes the organization."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Organization
from videogen.models import ACTIVE_STATUSES, Generation, Provider, ProviderRoute, ShowcaseClip, Upload


def generations_list(organization: Organization) -> QuerySet[Generation]:
    return Generation.objects.filter(organization=organization).order_by("-created_at", "-pk")


def generation_get(organization: Organization, public_id: str, *, fields: tuple[str, ...] = ()) -> Generation:
    """One of the organization's jobs (404 otherwise); with `fields`, only those columns are loaded."""
    jobs = Generation.objects.filter(organization=organization, public_id=public_id)
    try:
        return (jobs.only(*fields) if fields else jobs).get()
    except Generation.DoesNotExist:
        raise Http404("No such generation.") from None


def upload_get(organization: Organization, public_id: str) -> Upload:
    try:
        return Upload.objects.get(organization=organization, public_id=public_id)
    except Upload.DoesNotExist:
        raise Http404("No such upload.") from None


def routes_for(model: str) -> list[ProviderRoute]:
    """A model's enabled routes in order, with their providers."""
    return list(
        ProviderRoute.objects.filter(model=model, enabled=True).select_related("provider").order_by("priority", "pk")
    )


def provider_get(name: str) -> Provider | None:
    return Provider.objects.filter(name=name).first()


def generations_finished_among(pks: list[int]) -> list[int]:
    """Which of these jobs (primary keys) have reached a final state: what clients waiting on them look for."""
    return list(Generation.objects.filter(pk__in=pks).exclude(status__in=ACTIVE_STATUSES).values_list("pk", flat=True))


def generations_finished_among_public_ids(public_ids: list[str]) -> list[str]:
    """`generations_finished_among` for clients that know their jobs by public id (the native API)."""
    finished = Generation.objects.filter(public_id__in=public_ids).exclude(status__in=ACTIVE_STATUSES)
    return list(finished.values_list("public_id", flat=True))


def showcase_list() -> list[ShowcaseClip]:
    """The published example videos, in the operators' order."""
    return list(ShowcaseClip.objects.filter(published=True).order_by("position", "id"))
