"""Emails waiting to go out, and what became of each."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class EmailStatus(models.TextChoices):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Email(models.Model):
    """One email, recorded in the transaction that decides to send it; `key` makes it go out once.

    `attempt_count` counts attempts started: claiming attempt n is a conditional
    update from n - 1, so a duplicated task and a sweep never send the same
    attempt. A pending email always has `next_attempt_at`: when it is due, or
    when the lease of the attempt in progress runs out.
    """

    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=40)
    to = models.JSONField(default=list)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    status = models.CharField(max_length=20, choices=EmailStatus.choices, default=EmailStatus.PENDING)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["next_attempt_at"], name="email_due", condition=Q(status="pending"))]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=EmailStatus.values), name="email_status_valid"),
            models.CheckConstraint(
                condition=Q(status="pending", next_attempt_at__isnull=False)
                | (~Q(status="pending") & Q(next_attempt_at__isnull=True)),
                name="email_pending_has_next_attempt",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {', '.join(self.to)}"
