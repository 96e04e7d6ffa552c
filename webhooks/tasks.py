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


def event_notify(event_id: int) -> bool:
    """Email the organization's admins about a credits event."""
    event = Event.objects.select_related("organization").filter(pk=event_id).first()
    return event is not None and notifications.event_notify(event)


def endpoint_disabled_notify(endpoint_id: int) -> bool:
    """Email the organization's admins that one of their endpoints was disabled."""
    endpoint = WebhookEndpoint.objects.select_related("organization").filter(pk=endpoint_id).first()
    return endpoint is not None and notifications.endpoint_disabled_notify(endpoint)
