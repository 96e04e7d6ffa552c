"""With Redis as the broker, a worker killed while sending an email loses its task; the email still goes out once.

Real parts only: PostgreSQL, the shared Redis (its own database number and a
queue name of its own, so parallel runs never meet), `manage.py qcluster`
workers, a `manage.py shell` standing in for the web process that causes the
email, and an SMTP server on loopback that stalls the first sender.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule

from accounts.models import Organization, User
from billing import services as billing_services
from outbox.models import Email, EmailStatus
from tests.live import ROOT, database_url, redis_or_skip
from tests.outbox.smtp import SmtpServer
from tests.videogen.test_worker_e2e import Worker

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REDIS = "redis://127.0.0.1:6379/13"
SWEEP = "outbox.tasks.emails_sweep"


def wait_for(condition, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.fixture
def queue_name() -> Iterator[str]:
    """A django-q2 cluster (and Redis queue) name of this test's own, removed afterwards."""
    client = redis_or_skip(REDIS, "the lost-task test needs a real Redis broker")
    name = f"test-outbox-{uuid.uuid4().hex[:12]}"
    yield name
    for key in client.scan_iter(f"django_q:{name}:*"):
        client.delete(key)


@pytest.fixture
def only_the_outbox_sweep() -> None:
    """The worker runs the outbox sweep every minute and nothing else (the poll loops would hold its workers)."""
    Schedule.objects.all().delete()
    Schedule.objects.create(name="outbox: send due emails", func=SWEEP, schedule_type="I", minutes=1, repeats=-1)


def redis_env(queue_name: str, smtp: SmtpServer) -> dict[str, str]:
    return {
        **os.environ,
        "DEBUG": "1",
        "VIDEOGEN_TESTING": "1",
        "DATABASE_URL": database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "REDIS_URL": REDIS,
        "Q_CLUSTER_NAME": queue_name,
        "Q_WORKERS": "2",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp.port),
        "EMAIL_USE_TLS": "0",
        # One second per SMTP exchange: an attempt's lease is ten seconds.
        "EMAIL_TIMEOUT": "1",
        "LOG_LEVEL": "WARNING",
    }


LOWER_THE_BALANCE = """
from accounts.models import Organization, User
from billing import services
services.credits_adjust(
    organization=Organization.objects.get(pk={org}), amount_micros=-500_000, reason="usage",
    staff_user=User.objects.get(pk={staff}),
)
"""


def test_an_email_whose_worker_is_killed_mid_send_goes_out_exactly_once(
    org_a: Organization, alice: User, queue_name: str, only_the_outbox_sweep: None, tmp_path: Path
) -> None:
    import redis

    billing_services.credit_settings_update(
        organization=org_a, low_balance_threshold_micros=800_000, monthly_cap_micros=None
    )
    with SmtpServer(mode="stall") as smtp:
        env = redis_env(queue_name, smtp)
        first = Worker(env, tmp_path / "first-worker.log")
        first.start("qcluster", "manage.py", "qcluster")
        try:
            # The web process: its change crosses the low-balance threshold; the email is recorded in
            # that transaction and its task pushed to Redis when it commits.
            subprocess.run(
                [sys.executable, "manage.py", "shell", "-c", LOWER_THE_BALANCE.format(org=org_a.pk, staff=alice.pk)],
                cwd=ROOT,
                env=env,
                check=True,
                timeout=60,
            )
            email = Email.objects.get(kind="credits.low")
            wait_for(
                lambda: Email.objects.filter(pk=email.pk, attempt_count=1).exists() and smtp.connections == 1,
                "the worker to take the email and stall talking to the SMTP server",
                timeout=60,
            )
            first.kill("qcluster")
        finally:
            first.stop()
        print(first.log.read_text(errors="replace")[-5000:])

        assert redis.Redis.from_url(REDIS).llen(f"django_q:{queue_name}:q") == 0, "the task was not taken"
        email.refresh_from_db()
        assert (email.status, email.attempt_count) == (EmailStatus.PENDING, 1)
        assert smtp.messages == []

        smtp.mode = "accept"
        wait_for(lambda: timezone.now() > email.next_attempt_at, "the dead attempt's lease to run out", timeout=30)
        second = Worker(env, tmp_path / "second-worker.log")
        second.start("qcluster", "manage.py", "qcluster")
        try:
            # The cluster runs its schedules every 30 seconds: the sweep finds the email due.
            wait_for(
                lambda: Email.objects.filter(pk=email.pk, status=EmailStatus.SENT).exists(),
                "the sweep to send the email",
                timeout=120,
            )
        finally:
            second.stop()
            print(second.log.read_text(errors="replace")[-5000:])

    [message] = smtp.messages
    assert message["Subject"] == f"Your credit balance in {org_a.name} is running low"
    assert message["To"] == "alice@example.com"
    email.refresh_from_db()
    assert email.attempt_count == 2
