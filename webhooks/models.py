"""Events the product raises for an organization, and (later) their delivery."""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone

from accounts.models import Organization


def new_event_id() -> str:
    return f"evt_{secrets.token_hex(12)}"


class EventType(models.TextChoices):
    GENERATION_STARTED = "generation.started"
    GENERATION_SUCCEEDED = "generation.succeeded"
    GENERATION_FAILED = "generation.failed"
    GENERATION_CANCELED = "generation.canceled"
    GENERATION_TIMED_OUT = "generation.timed_out"
    CREDITS_INSUFFICIENT = "credits.insufficient"
    CREDITS_LOW = "credits.low"
    CREDITS_TOPPED_UP = "credits.topped_up"
    BILLING_REFUNDED = "billing.refunded"


class Event(models.Model):
    """Something that happened to an organization; immutable once written.

    `dedupe_key` makes raising the same event twice (a retried task) a no-op.
    """

    public_id = models.CharField(max_length=40, unique=True, default=new_event_id, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=40, choices=EventType.choices)
    data = models.JSONField(default=dict)
    dedupe_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "type", "created_at"], name="event_org_type_created")]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id}"
