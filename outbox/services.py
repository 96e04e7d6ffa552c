"""Recording emails in the caller's transaction, and sending each one once, with bounded retries.

An email is written by `email_queue` inside the transaction that decides to
send it, so it commits (or rolls back) with its cause. When that transaction
commits, a task makes the first attempt; if the task is lost (a Redis broker
has no acknowledgement: a worker that dies takes its task with it), the
sweep makes it once `FIRST_ATTEMPT_SAFETY_NET` has passed, and it makes the
retries of failed attempts as they fall due.

Claiming attempt n is a conditional update of `attempt_count` from n - 1.
A worker that dies mid-attempt leaves the email leased until
`attempt_lease()` has passed; then the sweep makes the next attempt. The
only way an email goes out twice is a worker dying after the SMTP server
accepted the message and before the success was recorded; both copies then
carry the same Message-ID, which mail clients use to show one.
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import datetime, timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.queue import enqueue_task
from outbox.models import Email, EmailStatus

logger = logging.getLogger(__name__)

# The wait before each attempt: at once, then 1 min, 5 min, 30 min, 2 h and 6 h (about 9 hours in all).
RETRY_DELAYS = (
    timedelta(0),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)
MAX_ATTEMPTS = len(RETRY_DELAYS)
# The first attempt is a task enqueued on commit; if that task is lost, the sweep sends after this.
FIRST_ATTEMPT_SAFETY_NET = timedelta(seconds=60)
# An SMTP conversation is about ten exchanges (connect, EHLO, STARTTLS, login, MAIL, RCPT, DATA, ...),
# each allowed EMAIL_TIMEOUT seconds.
SMTP_EXCHANGES = 10
SWEEP_BATCH = 100
# One sweep stops claiming after this long, well inside the task timeout.
SWEEP_SECONDS = 60
WORKER_STOPPED = "No outcome was recorded: the worker stopped during the attempt."


def attempt_lease() -> timedelta:
    """How long an attempt in progress keeps its email from the sweep."""
    return timedelta(seconds=settings.EMAIL_TIMEOUT * SMTP_EXCHANGES)


def email_queue(*, key: str, kind: str, to: list[str], subject: str, body: str) -> Email | None:
    """Record an email to send once, and send it when the caller's transaction commits.

    Call it inside the transaction that makes the change the email reports.
    Returns None, and records nothing, when an email with this key exists
    already (a retried task, a second request) or there is nobody to send to.
    """
    recipients = sorted(set(to))
    if not recipients:
        return None
    now = timezone.now()
    try:
        with transaction.atomic():
            email = Email.objects.create(
                key=key,
                kind=kind,
                to=recipients,
                subject=subject[:200],
                body=body,
                created_at=now,
                next_attempt_at=now + FIRST_ATTEMPT_SAFETY_NET,
            )
    except IntegrityError:
        return None
    transaction.on_commit(lambda: enqueue_task("outbox.tasks.email_send", email.pk, name=f"email-{email.pk}"))
    return email


def email_send(email_id: int, number: int = 1, *, due_by: datetime | None = None) -> str | None:
    """Make attempt `number` of an email if it is still the next one to make.

    Returns the email's status after the attempt ("sent", "pending" for a
    retry, "failed"), or None when the attempt was not ours to make.
    Safe to call twice: the second call finds the attempt claimed.
    """
    email = _claim(email_id, number, due_by)
    if email is None:
        return None
    return _record(email, number, _deliver(email))


def _claim(email_id: int, number: int, due_by: datetime | None) -> Email | None:
    if not 1 <= number <= MAX_ATTEMPTS:
        return None
    now = timezone.now()
    mine = Email.objects.filter(pk=email_id, status=EmailStatus.PENDING, attempt_count=number - 1)
    if due_by is not None:
        mine = mine.filter(next_attempt_at__lte=due_by)
    if not mine.update(attempt_count=number, next_attempt_at=now + attempt_lease(), last_attempt_at=now):
        return None
    return Email.objects.get(pk=email_id)


def _message_id(email: Email) -> str:
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    digest = hashlib.sha256(email.key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def _deliver(email: Email) -> str:
    """Hand the email to the mail server; the error, or "" once it is accepted."""
    message = EmailMessage(
        email.subject, email.body, settings.DEFAULT_FROM_EMAIL, email.to, headers={"Message-ID": _message_id(email)}
    )
    try:
        message.send()
    except Exception as exc:
        logger.warning("Sending email %s (%s) failed: %r", email.pk, email.kind, exc)
        return f"{exc.__class__.__name__}: {exc}"[:500] or exc.__class__.__name__
    return ""


def _record(email: Email, number: int, error: str) -> str:
    now = timezone.now()
    mine = Email.objects.filter(pk=email.pk, status=EmailStatus.PENDING, attempt_count=number)
    if not error:
        mine.update(status=EmailStatus.SENT, sent_at=now, next_attempt_at=None, last_error="")
        return EmailStatus.SENT
    if number >= MAX_ATTEMPTS:
        mine.update(status=EmailStatus.FAILED, next_attempt_at=None, last_error=error)
        return EmailStatus.FAILED
    mine.update(next_attempt_at=now + RETRY_DELAYS[number], last_error=error)
    return EmailStatus.PENDING


def _give_up_abandoned(now: datetime) -> int:
    """Emails whose last attempt's worker died: nothing is left to try."""
    return Email.objects.filter(
        status=EmailStatus.PENDING, attempt_count__gte=MAX_ATTEMPTS, next_attempt_at__lte=now
    ).update(status=EmailStatus.FAILED, next_attempt_at=None, last_error=WORKER_STOPPED)


def emails_sweep(*, limit: int = SWEEP_BATCH, seconds: float = SWEEP_SECONDS) -> int:
    """Make the next attempt of every email due now; returns how many attempts were made.

    Due are first attempts whose task was lost, retries, and attempts whose
    worker died (their lease ran out). Two sweeps at once are harmless: each
    attempt is claimed by one of them.
    """
    now = timezone.now()
    deadline = time.monotonic() + seconds
    _give_up_abandoned(now)
    due = (
        Email.objects.filter(status=EmailStatus.PENDING, next_attempt_at__lte=now, attempt_count__lt=MAX_ATTEMPTS)
        .order_by("next_attempt_at")
        .values_list("pk", "attempt_count")
    )
    attempts = 0
    for pk, count in list(due[:limit]):
        if time.monotonic() > deadline:
            break
        if email_send(pk, count + 1, due_by=now) is not None:
            attempts += 1
    return attempts
