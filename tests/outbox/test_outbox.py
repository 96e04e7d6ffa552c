"""Emails recorded with their cause go out once, through the task or the sweep, with bounded retries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from outbox import services, tasks
from outbox.models import Email, EmailStatus
from tests.outbox.smtp import SmtpServer
from tests.webhooks.conftest import run_queued_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings: Any) -> Iterator[SmtpServer]:
    """A real SMTP server on loopback, and Django's SMTP backend pointed at it."""
    with SmtpServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_TIMEOUT = 2
        yield server


def queue(key: str = "welcome:1", to: tuple[str, ...] = ("dana@example.com",)) -> Email | None:
    return services.email_queue(key=key, kind="test", to=list(to), subject="Hello", body="Welcome aboard.")


def make_due() -> None:
    """Let time pass until every pending email is due (the first-attempt safety net, a retry, a lease)."""
    Email.objects.filter(status=EmailStatus.PENDING).update(next_attempt_at=timezone.now())


def test_an_email_is_sent_once_however_often_its_task_runs(
    smtp: SmtpServer, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        email = queue(to=("dana@example.com", "eve@example.com", "dana@example.com"))
    assert email is not None

    assert run_queued_tasks("outbox.") == [EmailStatus.SENT]
    assert tasks.email_send(email.pk) is None  # a redelivered task
    make_due()
    assert services.emails_sweep() == 0

    [message] = smtp.messages
    assert message["Subject"] == "Hello"
    assert message["To"] == "dana@example.com, eve@example.com"
    assert message.get_payload().strip() == "Welcome aboard."
    email.refresh_from_db()
    assert (email.status, email.attempt_count, email.next_attempt_at) == (EmailStatus.SENT, 1, None)
    assert email.sent_at is not None


def test_an_email_queued_in_a_transaction_that_rolls_back_is_never_sent(
    smtp: SmtpServer, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        queue()
        raise RuntimeError("the change the email reports failed")

    assert run_queued_tasks("outbox.") == []
    make_due()
    assert services.emails_sweep() == 0
    assert not Email.objects.exists()
    assert smtp.messages == []


def test_the_same_key_records_one_email() -> None:
    assert queue() is not None
    assert queue() is None
    assert queue(key="nobody", to=()) is None
    assert Email.objects.count() == 1


def test_the_sweep_sends_an_email_whose_task_was_lost(smtp: SmtpServer) -> None:
    email = queue()  # its task never reaches a worker
    assert services.emails_sweep() == 0, "sent before the first attempt's safety net ran out"
    make_due()

    assert services.emails_sweep() == 1
    assert len(smtp.messages) == 1
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT


def test_an_attempt_whose_worker_died_is_made_again_once_its_lease_runs_out(smtp: SmtpServer) -> None:
    email = queue()
    assert services._claim(email.pk, 1, None) is not None  # a worker took attempt 1, then died
    email.refresh_from_db()
    assert email.next_attempt_at > timezone.now() + services.attempt_lease() - timezone.timedelta(seconds=5)
    assert services.emails_sweep() == 0
    assert tasks.email_send(email.pk) is None  # django-q2 running the same task again: not its attempt

    make_due()
    assert services.emails_sweep() == 1
    email.refresh_from_db()
    assert (email.status, email.attempt_count) == (EmailStatus.SENT, 2)
    assert len(smtp.messages) == 1


def test_a_refused_email_is_retried_when_due_and_given_up_after_the_last_attempt(smtp: SmtpServer) -> None:
    smtp.mode = "refuse"
    email = queue()
    assert tasks.email_send(email.pk) == EmailStatus.PENDING
    email.refresh_from_db()
    assert "451" in email.last_error
    assert email.next_attempt_at > timezone.now() + services.RETRY_DELAYS[1] - timezone.timedelta(seconds=5)
    assert services.emails_sweep() == 0  # not due yet

    for _ in range(services.MAX_ATTEMPTS - 1):
        make_due()
        assert services.emails_sweep() == 1
    email.refresh_from_db()
    assert (email.status, email.attempt_count, email.next_attempt_at) == (
        EmailStatus.FAILED,
        services.MAX_ATTEMPTS,
        None,
    )
    make_due()
    assert services.emails_sweep() == 0
    assert smtp.messages == []


def test_operators_find_an_email_by_recipient_and_read_it_in_the_admin(admin_client: Client) -> None:
    email = queue(to=("dana@example.com",))
    queue(key="other", to=("eve@example.com",))

    found = admin_client.get("/admin/outbox/email/", {"q": "dana@"})
    page = admin_client.get(f"/admin/outbox/email/{email.pk}/change/")

    assert found.status_code == 200
    assert found.context["cl"].result_count == 1
    assert page.status_code == 200
    assert "Welcome aboard." in page.content.decode()
