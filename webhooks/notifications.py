"""Emails to an organization's owners and admins: credit running out, and a webhook endpoint we disabled.

Each email is queued in the outbox inside the transaction that records its
cause (the event, the endpoint being disabled), under a key that makes it go
out once: `outbox` sends it after the commit and retries it.
"""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Organization, Role
from outbox.services import email_queue
from webhooks.models import DisabledReason, Event, EventType, WebhookEndpoint

SUBJECTS: dict[str, str] = {
    EventType.CREDITS_INSUFFICIENT: "A generation was refused: not enough credit in {org}",
    EventType.CREDITS_LOW: "Your credit balance in {org} is running low",
}


def admin_emails(organization: Organization) -> list[str]:
    memberships = Membership.objects.filter(
        organization=organization, role__in=[Role.OWNER, Role.ADMIN], user__is_active=True
    ).select_related("user")
    return sorted({m.user.email for m in memberships})


def _link(name: str, *args: str) -> str:
    return settings.PUBLIC_BASE_URL + reverse(name, args=args)


def event_email_queue(event: Event) -> bool:
    """Queue the admins' email about a credits.insufficient or credits.low event; True if one was queued now."""
    if event.type not in SUBJECTS:
        return False
    organization = event.organization
    context = {"organization": organization, "event": event, "data": event.data, "billing_url": _link("billing:home")}
    body = render_to_string(f"webhooks/email/{event.type.replace('.', '_')}.txt", context)
    subject = SUBJECTS[event.type].format(org=organization.name)
    queued = email_queue(
        key=f"event:{event.public_id}", kind=event.type, to=admin_emails(organization), subject=subject, body=body
    )
    return queued is not None


def endpoint_disabled_email_queue(endpoint: WebhookEndpoint) -> bool:
    """Queue the admins' email that we disabled an endpoint (410 Gone, or failing for days); True if queued now."""
    if endpoint.enabled or endpoint.disabled_reason not in (DisabledReason.GONE, DisabledReason.FAILING):
        return False
    organization = endpoint.organization
    context = {
        "organization": organization,
        "endpoint": endpoint,
        "gone": endpoint.disabled_reason == DisabledReason.GONE,
        "endpoint_url": _link("webhooks:detail", endpoint.public_id),
    }
    body = render_to_string("webhooks/email/endpoint_disabled.txt", context)
    subject = f"Webhook endpoint disabled in {organization.name}"
    disabled_at = endpoint.disabled_at or timezone.now()
    key = f"endpoint-disabled:{endpoint.public_id}:{disabled_at.isoformat()}"
    queued = email_queue(key=key, kind="endpoint.disabled", to=admin_emails(organization), subject=subject, body=body)
    return queued is not None
