"""django-q2 entry points: take ids, load rows, call services. All safe to run twice.

Schedule `webhooks.tasks.deliveries_loop` every minute: it makes the retries
(and any first attempt whose task was lost) as they fall due.
"""

from __future__ import annotations

from webhooks import delivery, notifications
from webhooks.models import Event, WebhookEndpoint


def delivery_send(delivery_id: int, number: int) -> str | None:
    """Make attempt `number` of a delivery (enqueued for attempt 1 when its event commits)."""
    return delivery.delivery_attempt(delivery_id, number)


def deliveries_loop() -> int:
    """Scheduled every minute: sweeps due deliveries every second for most of that minute."""
    return delivery.deliveries_loop()


def deliveries_sweep() -> int:
    """One sweep, made inline (operators; a schedule without the loop)."""
    return delivery.deliveries_sweep()


# Queued by earlier releases, which sent these emails from a task; the outbox sends them now.
# Each queues the same email under the same key, so one that went out already is not sent again.


def event_notify(event_id: int) -> bool:
    """Queue the admins' email about a credits event (the email is sent by the outbox)."""
    event = Event.objects.select_related("organization").filter(pk=event_id).first()
    return event is not None and notifications.event_email_queue(event)


def endpoint_disabled_notify(endpoint_id: int) -> bool:
    """Queue the admins' email that one of their endpoints was disabled (the email is sent by the outbox)."""
    endpoint = WebhookEndpoint.objects.select_related("organization").filter(pk=endpoint_id).first()
    return endpoint is not None and notifications.endpoint_disabled_email_queue(endpoint)
