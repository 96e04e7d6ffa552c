"""Reads of generation data; every tenant-owned read takes the organization."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Organization
from platform_api.rows import row_get
from videogen.models import Generation, Provider, ProviderRoute, Upload


def generations_list(organization: Organization) -> QuerySet[Generation]:
    return Generation.objects.filter(organization=organization).order_by("-created_at", "-pk")


def generation_get(organization: Organization, public_id: str) -> Generation:
    # Every status poll reads one job by its unique id: no query compiler (see platform_api.rows).
    generation = row_get(Generation, organization_id=organization.pk, public_id=public_id)
    if generation is None:
        raise Http404("No such generation.")
    return generation


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
