"""django-q2 entry points: take ids, load rows, call services. All safe to run twice."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from videogen.models import Generation, Status
from videogen.services import pipeline, retention, sweep


def generation_submit(generation_id: int) -> None:
    """Submit a newly accepted job upstream, then make sure a poller is following it."""
    pipeline.generation_submit(generation_id)
    poller_ensure()


def generation_cancel_upstream(generation_id: int) -> None:
    pipeline.generation_cancel_upstream(generation_id)


def poll_loop() -> int:
    """Sweeps for most of a minute unless another poller holds the lease, then hands over to a successor.

    Also scheduled every minute, so polling restarts by itself if every worker died.
    """
    return sweep.poll_loop(successor=_enqueue_poll_loop)


def _enqueue_poll_loop() -> None:
    from django_q.tasks import async_task

    async_task("videogen.tasks.poll_loop", task_name="poll-loop")


def poller_ensure() -> None:
    """Start a poll loop now if jobs are in flight and none is alive (don't wait for the schedule)."""
    if sweep.poller_needed():
        _enqueue_poll_loop()


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
                field.storage.delete(field.name)
        Generation.objects.filter(pk=generation.pk).update(output_deleted_at=timezone.now())
        cleaned += 1
    return cleaned + retention.uploads_delete_expired()
