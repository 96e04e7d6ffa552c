"""Generations (the jobs), uploads, providers and their routes."""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import ApiKey, Organization, User


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def new_generation_id() -> str:
    return _id("gen")


def new_upload_id() -> str:
    return _id("upl")


def new_sandbox_id() -> str:
    return _id("sbx")


class Status(models.TextChoices):
    QUEUED = "queued"
    SUBMITTING = "submitting"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    TIMED_OUT = "timed_out"


FINAL_STATUSES = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELED, Status.TIMED_OUT})
ACTIVE_STATUSES = frozenset({Status.QUEUED, Status.SUBMITTING, Status.RUNNING})


class Source(models.TextChoices):
    """Which API shape the customer used, so each compatible endpoint answers in its own words."""

    WEB = "web"
    API = "api"
    SEGMIND = "segmind"
    AIMLAPI = "aimlapi"
    ATLASCLOUD = "atlascloud"
    REPLICATE = "replicate"
    FAL = "fal"


class Upload(models.Model):
    """An image a customer gave us (file, URL or base64), checked and kept in our storage."""

    public_id = models.CharField(max_length=40, unique=True, default=new_upload_id, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="uploads")
    file = models.FileField(upload_to="uploads/", max_length=255)
    content_type = models.CharField(max_length=40)
    size_bytes = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    source_url = models.URLField(max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.public_id


class Provider(models.Model):
    """An upstream service. Operators enable it; the pipeline marks it unhealthy on account errors."""

    name = models.CharField(max_length=30, unique=True)
    label = models.CharField(max_length=60)
    enabled = models.BooleanField(default=True)
    healthy = models.BooleanField(default=True)
    unhealthy_reason = models.CharField(max_length=300, blank=True)
    unhealthy_since = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.label or self.name


class ProviderRoute(models.Model):
    """One step of a model's ordered fallback list."""

    model = models.CharField(max_length=40)
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="routes")
    priority = models.PositiveSmallIntegerField(default=10, help_text="Lower runs first.")
    enabled = models.BooleanField(default=True)
    # What the provider charges us per run; empty means the price rule's upstream cost.
    upstream_cost_micros = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["model", "priority"]
        constraints = [
            models.UniqueConstraint(fields=["model", "provider"], name="route_unique_model_provider"),
            models.CheckConstraint(
                condition=Q(upstream_cost_micros__isnull=True) | Q(upstream_cost_micros__gte=0),
                name="route_cost_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model} → {self.provider.name} ({self.priority})"


class Generation(models.Model):
    """One paid run of a model: the job, from request to video."""

    public_id = models.CharField(max_length=40, unique=True, default=new_generation_id, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="generations")
    api_key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.API)

    model = models.CharField(max_length=40, db_index=True)
    input = models.JSONField(default=dict)
    variant_key = models.CharField(max_length=80)
    price_micros = models.BigIntegerField()
    upstream_cost_micros = models.BigIntegerField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    webhook_url = models.URLField(max_length=2000, blank=True)
    webhook_events = models.JSONField(default=list, blank=True)

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    failure_code = models.CharField(max_length=60, blank=True)
    failure_message = models.CharField(max_length=1000, blank=True)

    provider = models.CharField(max_length=30, blank=True, db_index=True)
    # Set by an operator's retry: only this provider may serve the job.
    pinned_provider = models.CharField(max_length=30, blank=True)
    upstream_id = models.CharField(max_length=200, blank=True, db_index=True)
    route_index = models.PositiveSmallIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    poll_count = models.PositiveIntegerField(default=0)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField()

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    video = models.FileField(upload_to="videos/", max_length=255, blank=True)
    poster = models.FileField(upload_to="posters/", max_length=255, blank=True)
    output_container = models.CharField(max_length=40, blank=True)
    output_duration_s = models.FloatField(null=True, blank=True)
    output_width = models.PositiveIntegerField(null=True, blank=True)
    output_height = models.PositiveIntegerField(null=True, blank=True)
    output_bytes = models.BigIntegerField(null=True, blank=True)
    output_deleted_at = models.DateTimeField(null=True, blank=True)
    # The secret in the job's public share link ("" when not shared). A link shows the video only while it is
    # stored, so it expires with the video; revoking empties this.
    share_token = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="gen_org_created"),
            models.Index(
                fields=["next_poll_at"],
                name="gen_due_for_poll",
                condition=Q(status__in=["queued", "submitting", "running"]),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=[s.value for s in Status]), name="generation_status_valid"),
            models.CheckConstraint(condition=Q(price_micros__gte=0), name="generation_price_not_negative"),
            models.CheckConstraint(
                condition=~Q(status__in=["failed", "timed_out"]) | ~Q(failure_code=""),
                name="generation_failure_has_code",
            ),
            models.UniqueConstraint(
                fields=["share_token"], condition=~Q(share_token=""), name="generation_share_token_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class Transition(models.Model):
    """The timeline of a generation: every state change, when and why."""

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    detail = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}"


class ProviderCall(models.Model):
    """One call to a provider's API, with secrets removed: for operators and provider health."""

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="provider_calls", null=True)
    provider = models.CharField(max_length=30, db_index=True)
    operation = models.CharField(max_length=20)  # submit, poll, result, cancel, download
    ok = models.BooleanField()
    latency_ms = models.PositiveIntegerField()
    error_kind = models.CharField(max_length=20, blank=True)
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    exchanges = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["provider", "created_at"], name="call_provider_created")]

    def __str__(self) -> str:
        return f"{self.provider} {self.operation} {'ok' if self.ok else self.error_code}"


class SandboxTask(models.Model):
    """A job of the built-in sandbox provider, which renders real MP4 files locally."""

    upstream_id = models.CharField(max_length=40, unique=True, default=new_sandbox_id)
    idempotency_key = models.CharField(max_length=100, unique=True)
    params = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    complete_at = models.DateTimeField()
    canceled_at = models.DateTimeField(null=True, blank=True)
    output_path = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return self.upstream_id


class ShowcaseClip(models.Model):
    """An example video, managed by operators in the admin, shown on the landing page, pricing and model cards."""

    title = models.CharField(max_length=120)
    prompt = models.TextField()
    model = models.CharField(max_length=60, help_text="The catalog slug of the model that made it.")
    duration = models.PositiveSmallIntegerField(default=6)
    resolution = models.CharField(max_length=10, default="768p")
    video = models.FileField(upload_to="showcase/", max_length=255)
    poster = models.FileField(upload_to="showcase/", max_length=255, blank=True)
    position = models.PositiveIntegerField(default=0, help_text="Lower comes first.")
    published = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["published", "position"], name="showcase_published_order")]

    def __str__(self) -> str:
        return self.title
