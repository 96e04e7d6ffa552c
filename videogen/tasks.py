"""django-q2 entry points: take ids, load rows, call services. All safe to run twice."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from videogen.models import Generation, Status
from videogen.services import pipeline, retention


def generation_submit(generation_id: int) -> None:
    """Submit a newly accepted job upstream; the pollers (`manage.py poll`) follow it from there."""
    pipeline.generation_submit(generation_id)


def generation_cancel_upstream(generation_id: int) -> None:
    pipeline.generation_cancel_upstream(generation_id)


def outputs_cleanup() -> int:
    """Delete stored videos and posters, and uploads no active job needs, past the retention period; returns how many.

    The rules are in videogen.services.retention.
    """
    days = settings.OUTPUT_RETENTION_DAYS
    if not days:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    cleaned = 0
    expired = Generation.objects.filter(status=Status.SUCCEEDED, completed_at__lt=cutoff, output_deleted_at=None)
    for generation in expired.iterator():
        for field in (generation.video, generation.poster):
            if field:
                field.storage.delete(field.name or "")
        Generation.objects.filter(pk=generation.pk).update(output_deleted_at=timezone.now())
        cleaned += 1
    return cleaned + retention.uploads_delete_expired()
