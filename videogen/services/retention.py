"""Deleting stored files after the retention period (`OUTPUT_RETENTION_DAYS`; 0 keeps everything).

- Outputs (`videogen.tasks.outputs_cleanup`): a succeeded job's video and poster
  go once the job finished longer ago than the retention; the job stays,
  marked `output_deleted_at`.
- A customer may delete a video before then (`output_delete`): the same
  files go and the job stays, marked the same way, for billing.
- Uploads (the first and last frames customers give us): an upload goes, file
  and row, once it was made longer ago than the retention and no active job
  (queued, submitting or running) names it. Its id then stops working: a new
  job that names it is refused as naming an unknown upload. A job accepted in
  the very moment its old upload is removed fails unpaid; the hourly run makes
  that rare enough to accept.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from videogen import catalog
from videogen.models import ACTIVE_STATUSES, Generation, Status, Upload

logger = logging.getLogger(__name__)

# Uploads removed per run, so one run stays well inside the task timeout.
UPLOADS_BATCH = 1000


def _cutoff(now: datetime | None) -> datetime | None:
    days = settings.OUTPUT_RETENTION_DAYS
    return (now or timezone.now()) - timedelta(days=days) if days else None


def _uploads_in_use() -> set[str]:
    """Upload ids named by active jobs (there are few: they are the jobs in flight)."""
    used: set[str] = set()
    for params in Generation.objects.filter(status__in=ACTIVE_STATUSES).values_list("input", flat=True):
        used.update(params[field] for field in catalog.IMAGE_FIELDS if isinstance(params.get(field), str))
    return used


def uploads_delete_expired(now: datetime | None = None) -> int:
    """Delete uploads older than the retention period that no active job needs; returns how many."""
    cutoff = _cutoff(now)
    if cutoff is None:
        return 0
    expired = Upload.objects.filter(created_at__lt=cutoff).exclude(public_id__in=_uploads_in_use())
    deleted = 0
    for upload in expired.order_by("created_at")[:UPLOADS_BATCH]:
        try:
            upload.file.storage.delete(upload.file.name or "")
        except Exception:
            # Storage unreachable: keep the row so the next run tries again.
            logger.exception("Could not delete upload %s from storage", upload.public_id)
            continue
        Upload.objects.filter(pk=upload.pk).delete()
        deleted += 1
    return deleted


def output_delete(*, generation: Generation) -> bool:
    """Remove a finished job's video and poster from storage now; the job stays (for billing), marked deleted.

    Returns False when there was nothing stored to delete. Files go first, then the mark: if storage
    fails, nothing is marked and the customer (or the retention clean-up) can try again.
    """
    if generation.status != Status.SUCCEEDED or generation.output_deleted_at is not None:
        return False
    for field in (generation.video, generation.poster):
        if field:
            field.storage.delete(field.name or "")
    marked = Generation.objects.filter(pk=generation.pk, output_deleted_at=None).update(
        output_deleted_at=timezone.now()
    )
    return bool(marked)
