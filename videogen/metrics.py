"""Prometheus metrics at /metrics, read from the database at scrape time.

Nothing is counted in process memory: every web process answers a scrape
with the same numbers (jobs, queue, providers, credit, backlogs), however many
web and worker processes there are. The endpoint answers only
`Authorization: Bearer <METRICS_TOKEN>`; without a token configured it does not exist (404).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from billing.models import CreditAccount
from outbox.models import Email, EmailStatus
from videogen import reports
from videogen.models import ACTIVE_STATUSES, FINAL_STATUSES, Generation, Provider
from webhooks.models import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)

RECENT = timedelta(hours=1)


def _jobs() -> Iterator[Metric]:
    active = GaugeMetricFamily("videogen_jobs", "Jobs queued, submitting or running now, by state.", labels=["state"])
    counts = dict(
        Generation.objects.filter(status__in=ACTIVE_STATUSES).values_list("status").annotate(n=Count("id")).order_by()
    )
    for state in sorted(ACTIVE_STATUSES):
        active.add_metric([state], counts.get(state, 0))
    yield active
    finished = GaugeMetricFamily(
        "videogen_jobs_finished_last_hour",
        "Jobs that reached a final state in the last hour, by state.",
        labels=["state"],
    )
    since = timezone.now() - RECENT
    counts = dict(
        Generation.objects.filter(status__in=FINAL_STATUSES, completed_at__gte=since)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for state in sorted(FINAL_STATUSES):
        finished.add_metric([state], counts.get(state, 0))
    yield finished


def _queue() -> Iterator[Metric]:
    from django_q.brokers import get_broker

    try:
        depth = get_broker().queue_size()
    except Exception:  # the broker (Redis) is down: /readyz says so; the other metrics still count
        logger.warning("Could not read the task queue's depth", exc_info=True)
        return
    yield GaugeMetricFamily("videogen_task_queue_depth", "Tasks waiting in the django-q2 broker.", value=depth)


def _providers() -> Iterator[Metric]:
    calls = GaugeMetricFamily(
        "videogen_provider_calls_last_hour",
        "Recorded provider API calls in the last hour (routine successful polls are not recorded).",
        labels=["provider"],
    )
    failures = GaugeMetricFamily(
        "videogen_provider_call_failures_last_hour",
        "Provider API calls that failed in the last hour.",
        labels=["provider"],
    )
    latency = GaugeMetricFamily(
        "videogen_provider_latency_seconds",
        "Latency of recorded provider API calls in the last hour, by quantile (as in the admin's provider health).",
        labels=["provider", "quantile"],
    )
    names = sorted(Provider.objects.values_list("name", flat=True))
    for name, health in reports.provider_health(names).items():
        calls.add_metric([name], health.hour.calls)
        failures.add_metric([name], health.hour.failures)
        for quantile, value in (("0.5", health.hour.p50_ms), ("0.95", health.hour.p95_ms)):
            if value is not None:
                latency.add_metric([name, quantile], value / 1000)
    yield from (calls, failures, latency)


def _credit() -> Iterator[Metric]:
    totals = CreditAccount.objects.aggregate(held=Sum("held_micros"), holds=Sum("open_holds"))
    yield GaugeMetricFamily(
        "videogen_credit_held_usd",
        "Credit reserved by jobs not yet finished, all organizations.",
        value=(totals["held"] or 0) / 1_000_000,
    )
    yield GaugeMetricFamily("videogen_credit_holds_open", "Holds not yet settled.", value=totals["holds"] or 0)


def _backlogs() -> Iterator[Metric]:
    now = timezone.now()
    deliveries = Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now).count()
    yield GaugeMetricFamily(
        "videogen_webhook_backlog", "Webhook deliveries due now and not yet delivered.", value=deliveries
    )
    emails = Email.objects.filter(status=EmailStatus.PENDING, next_attempt_at__lte=now).count()
    yield GaugeMetricFamily("videogen_email_backlog", "Emails due now and not yet sent.", value=emails)


class DatabaseCollector(Collector):
    """Gauges computed from the database when Prometheus scrapes."""

    def collect(self) -> Iterator[Metric]:
        for part in (_jobs, _queue, _providers, _credit, _backlogs):
            yield from part()


REGISTRY = CollectorRegistry()
REGISTRY.register(DatabaseCollector())


def _authorized(request: HttpRequest, token: str) -> bool:
    given = request.headers.get("Authorization", "").encode()
    return hmac.compare_digest(given, f"Bearer {token}".encode())


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404("Metrics are not enabled.")
    if not _authorized(request, token):
        return HttpResponse(
            "Send Authorization: Bearer <METRICS_TOKEN>.\n",
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"', "Content-Type": "text/plain"},
        )
    # The format Prometheus asks for in Accept, as prometheus_client's own exporters choose it.
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    try:
        body = encode(REGISTRY)
    except DatabaseError:
        logger.warning("Metrics could not be read from the database", exc_info=True)
        return HttpResponse("The database is unavailable.\n", status=503, content_type="text/plain")
    return HttpResponse(body, content_type=content_type)
