"""The dashboard's usage chart: runs and spend per day over 30 days, drawn as SVG on the server."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from accounts.models import Organization
from tests.web.conftest import generation_make, run_to_end
from videogen import charts
from videogen.models import Generation

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 31)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def test_usage_counts_runs_per_day_and_spend_of_delivered_videos_only(
    org_a: Organization, org_b: Organization, fast_sandbox: None
) -> None:
    delivered = run_to_end(generation_make(org_a, "one"))
    failed = run_to_end(generation_make(org_a, "sandbox:fail two"))
    running = generation_make(org_a, "three")
    old = generation_make(org_a, "too old")
    Generation.objects.filter(pk__in=[delivered.pk, failed.pk]).update(created_at=at(TODAY - timedelta(days=2)))
    Generation.objects.filter(pk=running.pk).update(created_at=at(TODAY))
    Generation.objects.filter(pk=old.pk).update(created_at=at(TODAY - timedelta(days=30)))
    generation_make(org_b, "someone else's")  # today in real time, another organization

    usage = charts.daily_usage(org_a, today=TODAY)
    assert len(usage.days) == 30
    assert (usage.days[0].day, usage.days[-1].day) == (TODAY - timedelta(days=29), TODAY)
    by_day = {d.day: (d.runs, d.spend_micros) for d in usage.days if d.runs}
    assert by_day == {TODAY - timedelta(days=2): (2, 100_000), TODAY: (1, 0)}
    assert (usage.runs, usage.spend_micros) == (3, 100_000)


def test_the_chart_has_one_bar_per_active_day_with_a_tooltip_and_a_text_summary(
    org_a: Organization, fast_sandbox: None
) -> None:
    delivered = run_to_end(generation_make(org_a, "one"))
    Generation.objects.filter(pk=delivered.pk).update(created_at=at(TODAY - timedelta(days=1)))
    svg = str(charts.usage_chart_svg(charts.daily_usage(org_a, today=TODAY)))
    assert svg.startswith('<svg class="chart"') and 'role="img"' in svg
    assert "1 run and $0.10 spent from Mar 2 to Mar 31." in svg
    assert len(re.findall(r'<rect class="bar-runs"', svg)) == 1
    assert len(re.findall(r'<rect class="bar-spend"', svg)) == 1
    assert "<title>Mar 30: 1 run, $0.10 spent</title>" in svg


def test_an_empty_month_draws_no_bars(org_a: Organization) -> None:
    svg = str(charts.usage_chart_svg(charts.daily_usage(org_a, today=TODAY)))
    assert "<rect" not in svg
    assert "0 runs and $0.00 spent" in svg
