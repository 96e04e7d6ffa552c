"""Writes for events (and, with the webhook issue, their deliveries)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from accounts.models import Organization
from webhooks.models import Event


def event_record(organization: Organization, type: str, data: dict[str, Any], *, dedupe_key: str) -> Event | None:
    """Record an event once; a second call with the same dedupe_key returns None.

    Call inside the transaction that made the change the event reports, so
    the two commit or roll back together.
    """
    try:
        with transaction.atomic():
            return Event.objects.create(organization=organization, type=type, data=data, dedupe_key=dedupe_key)
    except IntegrityError:
        return None
