"""Events the product raises for an organization, the endpoints that receive them, and every delivery attempt."""

from __future__ import annotations

import secrets
from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organization


def new_event_id() -> str:
    return f"evt_{secrets.token_hex(12)}"


def new_endpoint_id() -> str:
    return f"ep_{secrets.token_hex(12)}"


def new_delivery_id() -> str:
    return f"dlv_{secrets.token_hex(12)}"


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
    # Sent to one endpoint on request ("send test event"), never fanned out.
    WEBHOOK_TEST = "webhook.test"


SUBSCRIBABLE_TYPES: tuple[str, ...] = tuple(t.value for t in EventType if t != EventType.WEBHOOK_TEST)


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


class SigningSecrets(models.Model):
    """A Standard Webhooks secret, and the one it replaced while the rotation overlap lasts."""

    secret = models.CharField(max_length=80)
    previous_secret = models.CharField(max_length=80, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def secrets_at(self, now: datetime) -> list[str]:
        """The secrets that sign a message sent at `now`: the current one first."""
        valid = [self.secret]
        expires = self.previous_secret_expires_at
        if self.previous_secret and expires is not None and expires > now:
            valid.append(self.previous_secret)
        return valid

    def rotating(self, now: datetime | None = None) -> bool:
        return len(self.secrets_at(now or timezone.now())) > 1


class DisabledReason(models.TextChoices):
    MANUAL = "manual", "Disabled by a user"
    GONE = "gone", "The endpoint answered 410 Gone"
    FAILING = "failing", "Every delivery failed for days"


class WebhookEndpoint(SigningSecrets):
    """A URL of an organization that receives the events it subscribes to (none chosen = all)."""

    public_id = models.CharField(max_length=40, unique=True, default=new_endpoint_id, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.CharField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=20, choices=DisabledReason.choices, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Start of the current run of failed attempts; cleared by any success.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(enabled=False) | Q(disabled_reason="", disabled_at__isnull=True),
                name="endpoint_enabled_not_disabled",
            ),
            models.CheckConstraint(
                condition=Q(disabled_reason__in=["", *DisabledReason.values]), name="endpoint_disabled_reason_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.url

    def subscribes_to(self, type: str) -> bool:
        return not self.event_types or type in self.event_types


class JobWebhookSecret(SigningSecrets):
    """Signs the per-job webhooks (the `webhook` URL given with a generation) of one organization."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="job_webhook_secret")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"job webhook secret of {self.organization}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Delivery(models.Model):
    """One event on its way to one URL: an endpoint of the organization, or a job's own webhook URL.

    The `webhook-id` header is the event id, the same for every attempt and replay.
    `attempt_count` counts attempts started; claiming attempt n is a conditional
    update from n - 1, so two workers never make the same attempt.
    """

    public_id = models.CharField(max_length=40, unique=True, default=new_delivery_id, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhook_deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    # A job's webhook URL; for an endpoint, its URL when the delivery was made (it follows later edits).
    url = models.CharField(max_length=2000)
    # What a job's own webhook receives instead of the event envelope, when the API the job came through
    # has its own webhook shape (Replicate's prediction object, fal's webhook payload); null sends the event as it is.
    body = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    replay_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replays")
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["next_attempt_at"], name="delivery_due", condition=Q(status="pending")),
            models.Index(fields=["organization", "-created_at"], name="delivery_org_created"),
            models.Index(fields=["endpoint", "-created_at"], name="delivery_endpoint_created"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=DeliveryStatus.values), name="delivery_status_valid"),
            models.CheckConstraint(
                condition=Q(status="pending", next_attempt_at__isnull=False)
                | (~Q(status="pending") & Q(next_attempt_at__isnull=True)),
                name="delivery_pending_has_next_attempt",
            ),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def is_job_webhook(self) -> bool:
        return self.endpoint_id is None


class AttemptOutcome(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class DeliveryAttempt(models.Model):
    """One HTTP request of a delivery and what came back."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    url = models.CharField(max_length=2000)
    outcome = models.CharField(max_length=20, choices=AttemptOutcome.choices, default=AttemptOutcome.IN_PROGRESS)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="attempt_unique_number"),
            models.CheckConstraint(condition=Q(outcome__in=AttemptOutcome.values), name="attempt_outcome_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.delivery.public_id} #{self.number}"
