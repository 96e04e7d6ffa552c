"""Reads of webhook data. Everything takes the organization; another organization's rows are 404."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Organization
from webhooks.models import Delivery, DeliveryAttempt, JobWebhookSecret, WebhookEndpoint


def endpoints_list(organization: Organization) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(organization=organization).order_by("created_at", "pk")


def endpoint_get(organization: Organization, public_id: str) -> WebhookEndpoint:
    try:
        return endpoints_list(organization).get(public_id=public_id)
    except WebhookEndpoint.DoesNotExist:
        raise Http404("No such webhook endpoint.") from None


def deliveries_list(organization: Organization) -> QuerySet[Delivery]:
    return Delivery.objects.filter(organization=organization).select_related("event", "endpoint")


def endpoint_deliveries(endpoint: WebhookEndpoint) -> QuerySet[Delivery]:
    return deliveries_list(endpoint.organization).filter(endpoint=endpoint)


def job_deliveries(organization: Organization) -> QuerySet[Delivery]:
    """Deliveries to the webhook URLs given with generations."""
    return deliveries_list(organization).filter(endpoint__isnull=True)


def delivery_get(organization: Organization, public_id: str) -> Delivery:
    try:
        return deliveries_list(organization).get(public_id=public_id)
    except Delivery.DoesNotExist:
        raise Http404("No such delivery.") from None


def delivery_attempts(delivery: Delivery) -> QuerySet[DeliveryAttempt]:
    return DeliveryAttempt.objects.filter(delivery=delivery).order_by("number")


def job_secret_find(organization: Organization) -> JobWebhookSecret | None:
    return JobWebhookSecret.objects.filter(organization=organization).first()
