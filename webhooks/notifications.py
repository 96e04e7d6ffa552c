"""Emails to an organization's owners and admins: credit running out, and a webhook endpoint we disabled.

Each email has a key (the event, or the endpoint and when it was disabled)
recorded in EmailNotification in the same transaction as the send, so a task
run twice sends it once.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import Membership, Organization, Role
from webhooks.models import DisabledReason, EmailNotification, Event, EventType, WebhookEndpoint

SUBJECTS = {
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


def _send_once(*, organization: Organization, key: str, kind: str, subject: str, body: str) -> bool:
    """Send unless an email with this key went out already; True if sent now."""
    recipients = admin_emails(organization)
    if not recipients:
        return False
    try:
        with transaction.atomic():
            EmailNotification.objects.create(
                key=key, organization=organization, kind=kind, subject=subject, recipients=recipients
            )
            # Inside the transaction: if sending fails, the record goes too and the task's retry sends it.
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    except IntegrityError:
        return False
    return True


def event_notify(event: Event) -> bool:
    """Email the admins about a credits.insufficient or credits.low event; True if an email was sent."""
    if event.type not in SUBJECTS:
        return False
    organization = event.organization
    context = {"organization": organization, "event": event, "data": event.data, "billing_url": _link("billing:home")}
    body = render_to_string(f"webhooks/email/{event.type.replace('.', '_')}.txt", context)
    subject = SUBJECTS[event.type].format(org=organization.name)
    return _send_once(
        organization=organization, key=f"event:{event.public_id}", kind=event.type, subject=subject, body=body
    )


def endpoint_disabled_notify(endpoint: WebhookEndpoint) -> bool:
    """Email the admins that we disabled an endpoint (410 Gone, or failing for days); True if sent."""
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
    key = f"endpoint-disabled:{endpoint.public_id}:{endpoint.disabled_at.isoformat()}"
    return _send_once(organization=organization, key=key, kind="endpoint.disabled", subject=subject, body=body)
