"""django-q2 entry points: take ids, call services. Both are safe to run twice.

`outbox.tasks.emails_sweep` is scheduled every minute (migration 0002): it sends
what a lost task left behind and the retries as they fall due.
"""

from __future__ import annotations

from outbox import services


def email_send(email_id: int) -> str | None:
    """Make the first attempt of an email (enqueued when the transaction that recorded it commits)."""
    return services.email_send(email_id, 1)


def emails_sweep() -> int:
    """Scheduled every minute: the attempts that are due."""
    return services.emails_sweep()
