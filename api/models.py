"""Data the native REST API keeps for itself.

- IdempotencyRecord: the first response to a request sent with an `Idempotency-Key`, kept 24 hours.
- RateLimitCounter: fixed one-minute windows of request counts, shared by every web process
  (used when no Redis is configured).
- OrganizationApiLimits: an organization's overrides of the default limits (operators edit them in the admin).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organization


class IdempotencyStatus(models.TextChoices):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class IdempotencyRecord(models.Model):
    """One `Idempotency-Key` of an organization and the response it produced."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of method, path and the canonical JSON body: the same key with another body is a conflict.
    request_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=20, choices=IdempotencyStatus.choices, default=IdempotencyStatus.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # When the request holding the key started working; a claim older than the lock timeout was abandoned.
    locked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="idempotency_unique_org_key"),
            models.CheckConstraint(
                condition=Q(status="in_progress") | Q(response_status__isnull=False),
                name="idempotency_completed_has_response",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["in_progress", "completed"]), name="idempotency_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.key


class RateLimitCounter(models.Model):
    """Requests counted in one scope (an API key or an organization) during one minute."""

    scope = models.CharField(max_length=60)
    window_start = models.BigIntegerField(help_text="Unix time of the window's first second.")
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "window_start"], name="ratelimit_unique_scope_window"),
        ]
        indexes = [models.Index(fields=["window_start"], name="ratelimit_window")]

    def __str__(self) -> str:
        return f"{self.scope}@{self.window_start}: {self.hits}"


class OrganizationApiLimits(models.Model):
    """An organization's API limits; an empty field means the default."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="api_limits")
    key_requests_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Requests per minute for each API key. Empty: the default."
    )
    org_requests_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Requests per minute for all keys together. Empty: the default."
    )
    max_running_jobs = models.PositiveIntegerField(
        null=True, blank=True, help_text="Generations queued or running at once. Empty: the default."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "organization API limits"
        verbose_name_plural = "organization API limits"
        constraints = [
            models.CheckConstraint(
                condition=Q(key_requests_per_minute__isnull=True) | Q(key_requests_per_minute__gte=1),
                name="apilimits_key_rpm_positive",
            ),
            models.CheckConstraint(
                condition=Q(org_requests_per_minute__isnull=True) | Q(org_requests_per_minute__gte=1),
                name="apilimits_org_rpm_positive",
            ),
            models.CheckConstraint(
                condition=Q(max_running_jobs__isnull=True) | Q(max_running_jobs__gte=1),
                name="apilimits_running_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"API limits of {self.organization}"
