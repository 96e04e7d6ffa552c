"""The operators' reports count what happened: failures, money refusals, margin and provider health."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization, User
from billing.services import credits_refund
from tests.admin.conftest import create, fund, run_to_end
from videogen import reports
from videogen.models import Generation, Provider, ProviderCall, Status
from videogen.services.state import finish_unpaid

pytestmark = pytest.mark.django_db


def failed_job(org: Organization, *, code: str, provider: str, days_ago: int = 0) -> Generation:
    """A job that failed upstream, finished `days_ago` days ago (the pipeline's own finish, then back-dated)."""
    job = create(org, f"a job that fails with {code}")
    Generation.objects.filter(pk=job.pk).update(provider=provider)
    assert finish_unpaid(job, Status.FAILED, code=code, message=f"failed: {code}")
    when = timezone.now() - timedelta(days=days_ago)
    Generation.objects.filter(pk=job.pk).update(completed_at=when, created_at=when)
    return job


@pytest.fixture
def failures(org_a: Organization, org_b: Organization) -> dict[str, Generation]:
    fund(org_a, "5.00", "reports")
    fund(org_b, "5.00", "reports")
    return {
        "a1": failed_job(org_a, code="content_policy", provider="minimax"),
        "a2": failed_job(org_a, code="content_policy", provider="minimax"),
        "a3": failed_job(org_a, code="upstream_error", provider="segmind", days_ago=1),
        "b1": failed_job(org_b, code="no_provider_available", provider="", days_ago=1),
        "old": failed_job(org_b, code="content_policy", provider="minimax", days_ago=40),
    }


def test_failures_are_counted_per_day_reason_provider_and_organization(
    failures: dict[str, Generation], org_a: Organization, org_b: Organization
) -> None:
    report = reports.failures_report(days=30)

    assert report.total_failed == 4  # the 40-day-old failure is outside the window
    assert report.reasons[0] == "content_policy"
    today, yesterday = report.by_day
    assert dict(zip(report.reasons, today.counts, strict=True))["content_policy"] == 2
    assert today.total == 2
    assert dict(zip(report.reasons, yesterday.counts, strict=True)) == {
        "content_policy": 0,
        "no_provider_available": 1,
        "upstream_error": 1,
    }
    providers = {g.label: (g.failed, g.reasons) for g in report.by_provider}
    assert providers == {
        "minimax": (2, [("content_policy", 2)]),
        "segmind": (1, [("upstream_error", 1)]),
        reports.NO_PROVIDER: (1, [("no_provider_available", 1)]),
    }
    organizations = {g.key: g.failed for g in report.by_organization}
    assert organizations == {str(org_a.pk): 3, str(org_b.pk): 1}
    assert reports.failures_report(days=1).total_failed == 2


def test_the_failures_page_shows_the_numbers_and_who_ran_out_of_credit(
    ops: Client, failures: dict[str, Generation], org_b: Organization, operator: User
) -> None:
    from billing.errors import InsufficientCredits
    from billing.services import account_for, credits_adjust

    credits_adjust(
        organization=org_b, amount_micros=-account_for(org_b).available_micros, reason="drain", staff_user=operator
    )
    for _ in range(2):
        with pytest.raises(InsufficientCredits):
            create(org_b, "one more please")

    page = ops.get(reverse("admin:videogen_report_failures")).content.decode()

    assert "no_provider_available" in page
    assert "<strong>4</strong> of 4 finished jobs" in page
    rejections = page[page.index("Refused for money") :]
    assert org_b.public_id in rejections
    assert '<td class="num">2</td>' in rejections


def test_margin_is_price_minus_upstream_cost_per_model_and_day(org_a: Organization, operator: User) -> None:
    fund(org_a, "5.00", "margin")
    kept = run_to_end(create(org_a, "a calm lake"))
    refunded = run_to_end(create(org_a, "a windy beach"))
    failed = run_to_end(create(org_a, "sandbox:fail nothing to sell"))
    assert (kept.status, refunded.status, failed.status) == ("succeeded", "succeeded", "failed")
    credits_refund(organization=org_a, reference=refunded.public_id, reason="blank video", staff_user=operator)

    report = reports.margin_report(days=30)

    (row,) = report.rows
    assert (row.day, row.model) == (timezone.localdate(), "hailuo-02-fast")
    assert (row.jobs, row.refunded_jobs) == (2, 1)
    assert row.revenue_micros == 100_000  # $0.10 once: the refunded job earned nothing
    assert row.upstream_cost_micros == 2 * 70_000  # but both cost us the provider's price
    assert row.margin_micros == -40_000
    assert (report.total.jobs, report.total.margin_micros) == (2, -40_000)


def test_the_margin_page_shows_the_totals(ops: Client, org_a: Organization) -> None:
    fund(org_a, "5.00", "margin-page")
    run_to_end(create(org_a, "a calm lake"))

    page = ops.get(reverse("admin:videogen_report_margin"), {"days": 7}).content.decode()

    assert "hailuo-02-fast" in page
    assert "$0.10" in page and "$0.07" in page and "$0.03" in page


def test_provider_health_reports_success_latency_and_upstream_balance(ops: Client, db: None) -> None:
    now = timezone.now()
    calls = [
        ProviderCall(
            provider="segmind", operation="submit", ok=True, latency_ms=ms, created_at=now - timedelta(minutes=5)
        )
        for ms in range(1, 101)
    ]
    calls += [
        ProviderCall(
            provider="segmind",
            operation="submit",
            ok=False,
            latency_ms=1000,
            error_kind="account",
            error_code=reports.UPSTREAM_BALANCE_CODE,
            created_at=now - timedelta(hours=3),
        )
        for _ in range(25)
    ]
    calls.append(ProviderCall(provider="segmind", operation="download", ok=True, latency_ms=90_000, created_at=now))
    ProviderCall.objects.bulk_create(calls)

    health = reports.provider_health(["segmind", "minimax"])["segmind"]

    assert (health.hour.calls, health.hour.call_success_percent) == (100, 100)
    assert (health.hour.p50_ms, health.hour.p95_ms) == (50, 95)
    assert (health.day.calls, health.day.call_success_percent) == (125, 80)
    assert health.day.p95_ms == 1000
    assert health.balance_problems_day == 25
    listing = ops.get(reverse("admin:videogen_provider_changelist")).content.decode()
    assert '<td class="num">95 ms</td>' in listing
    assert "<strong>25</strong>" in listing
    segmind = Provider.objects.get(name="segmind")
    page = ops.get(reverse("admin:videogen_provider_change", args=[segmind.pk])).content.decode()
    assert "100 calls, 100% ok; p50 50 ms, p95 95 ms" in page
    assert "125 calls, 80% ok" in page
    assert "25 calls</a>" in page
