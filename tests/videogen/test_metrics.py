"""/metrics: Prometheus gauges read from the database at scrape time, behind a bearer token."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_q.tasks import async_task
from prometheus_client.parser import text_string_to_metric_families

from accounts.models import Organization
from outbox.services import email_queue
from tests.web.conftest import generation_make
from videogen.models import Generation, ProviderCall, Status
from webhooks import services as webhook_services
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-5b7e0c1d9a"


@pytest.fixture
def enabled(settings: Any) -> None:
    settings.METRICS_TOKEN = TOKEN


def scrape(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_metrics_do_not_exist_without_a_token(client: Client, settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


@pytest.mark.usefixtures("enabled")
@pytest.mark.parametrize("header", [None, "Bearer wrong-token-0000000000", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
def test_metrics_need_the_bearer_token(client: Client, header: str | None) -> None:
    response = client.get("/metrics", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"videogen_" not in response.content


@pytest.mark.usefixtures("enabled")
def test_metrics_count_jobs_queue_providers_credit_and_backlogs(
    client: Client, org_a: Organization, settings: Any
) -> None:
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    queued = [generation_make(org_a, f"queued {n}") for n in range(2)]
    running = generation_make(org_a, "running")
    Generation.objects.filter(pk=running.pk).update(status=Status.RUNNING, provider="sandbox")
    done = generation_make(org_a, "done")
    Generation.objects.filter(pk=done.pk).update(status=Status.FAILED, failure_code="x", completed_at=timezone.now())
    for latency, ok in ((100, True), (200, True), (300, True), (1500, False)):
        ProviderCall.objects.create(provider="sandbox", operation="submit", ok=ok, latency_ms=latency)
    webhook_services.endpoint_create(organization=org_a, url="http://127.0.0.1:9/hooks")
    webhook_services.event_record(org_a, "credits.topped_up", {}, dedupe_key="metrics-test")
    Delivery.objects.update(next_attempt_at=timezone.now())  # its task was lost: due now
    email_queue(key="metrics-test", kind="test", to=["ops@example.com"], subject="s", body="b")
    async_task("videogen.tasks.outputs_cleanup", task_name="waiting-in-the-queue")

    metrics = scrape(client)

    assert metrics[("videogen_jobs", (("state", "queued"),))] == len(queued)
    assert metrics[("videogen_jobs", (("state", "running"),))] == 1
    assert metrics[("videogen_jobs", (("state", "submitting"),))] == 0
    assert metrics[("videogen_jobs_finished_last_hour", (("state", "failed"),))] == 1
    assert metrics[("videogen_task_queue_depth", ())] >= 1
    assert metrics[("videogen_provider_calls_last_hour", (("provider", "sandbox"),))] == 4
    assert metrics[("videogen_provider_call_failures_last_hour", (("provider", "sandbox"),))] == 1
    assert metrics[("videogen_provider_latency_seconds", (("provider", "sandbox"), ("quantile", "0.5")))] == 0.2
    assert metrics[("videogen_provider_latency_seconds", (("provider", "sandbox"), ("quantile", "0.95")))] == 1.5
    assert metrics[("videogen_credit_held_usd", ())] == pytest.approx(0.40)  # four $0.10 jobs not finished
    assert metrics[("videogen_credit_holds_open", ())] == 4
    assert metrics[("videogen_webhook_backlog", ())] == 1
    assert metrics[("videogen_email_backlog", ())] == 0  # queued for a minute from now

    # Read at scrape time: what another process writes shows at the next scrape.
    Generation.objects.filter(pk__in=[q.pk for q in queued]).update(status=Status.RUNNING)
    assert scrape(client)[("videogen_jobs", (("state", "running"),))] == 3
