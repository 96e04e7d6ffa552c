"""Read-only numbers for operators: provider health, failures and margin.

Every report covers the whole platform (operators are not tenants), reads
only, and computes in the database so a long window stays cheap.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from billing.models import Hold, HoldStatus, InsufficientCreditRejection
from videogen.models import FINAL_STATUSES, Generation, ProviderCall, Status

FAILED_STATUSES = (Status.FAILED, Status.TIMED_OUT)
UPSTREAM_BALANCE_CODE = "upstream_insufficient_credit"
# Downloads of finished videos take as long as the file is big; they would hide API latency.
API_OPERATIONS_EXCLUDED = ("download",)
NO_PROVIDER = "(none)"


def _window_start(days: int, now: datetime | None) -> datetime:
    """Midnight (current time zone) of the first of the last `days` days, today included."""
    today = timezone.localdate(now or timezone.now())
    first = today - timedelta(days=days - 1)
    return timezone.make_aware(datetime.combine(first, datetime.min.time()))


# --- Provider health ---------------------------------------------------------------


@dataclass(frozen=True)
class WindowStats:
    """Recorded API calls of one provider in one window (routine successful polls are not recorded)."""

    calls: int = 0
    failures: int = 0
    p50_ms: int | None = None
    p95_ms: int | None = None
    jobs_finished: int = 0
    jobs_succeeded: int = 0

    @property
    def call_success_percent(self) -> int | None:
        return None if not self.calls else round(100 * (self.calls - self.failures) / self.calls)

    @property
    def job_success_percent(self) -> int | None:
        return None if not self.jobs_finished else round(100 * self.jobs_succeeded / self.jobs_finished)


@dataclass(frozen=True)
class ProviderHealth:
    name: str
    hour: WindowStats
    day: WindowStats
    balance_problems_day: int = 0
    last_balance_problem_at: datetime | None = None


def _percentile(calls: QuerySet[ProviderCall], count: int, percent: int) -> int | None:
    """Nearest-rank percentile of latency, read from the database one row at a time."""
    if count == 0:
        return None
    index = max(math.ceil(percent / 100 * count) - 1, 0)
    return calls.order_by("latency_ms").values_list("latency_ms", flat=True)[index]


def _window(name: str, since: datetime) -> WindowStats:
    calls = ProviderCall.objects.filter(provider=name, created_at__gte=since).exclude(
        operation__in=API_OPERATIONS_EXCLUDED
    )
    counts = calls.aggregate(calls=Count("id"), failures=Count("id", filter=Q(ok=False)))
    jobs = Generation.objects.filter(provider=name, status__in=FINAL_STATUSES, completed_at__gte=since).aggregate(
        finished=Count("id", filter=~Q(status=Status.CANCELED)),
        succeeded=Count("id", filter=Q(status=Status.SUCCEEDED)),
    )
    return WindowStats(
        calls=counts["calls"],
        failures=counts["failures"],
        p50_ms=_percentile(calls, counts["calls"], 50),
        p95_ms=_percentile(calls, counts["calls"], 95),
        jobs_finished=jobs["finished"],
        jobs_succeeded=jobs["succeeded"],
    )


def provider_health(names: list[str], *, now: datetime | None = None) -> dict[str, ProviderHealth]:
    """Success rates, p50/p95 API latency over the last hour and day, and upstream balance problems."""
    now = now or timezone.now()
    hour, day = now - timedelta(hours=1), now - timedelta(days=1)
    problems: dict[str, Any] = {
        row["provider"]: row
        for row in ProviderCall.objects.filter(error_code=UPSTREAM_BALANCE_CODE, created_at__gte=day)
        .values("provider")
        .annotate(count=Count("id"), last=Max("created_at"))
        .order_by()
    }
    return {
        name: ProviderHealth(
            name=name,
            hour=_window(name, hour),
            day=_window(name, day),
            balance_problems_day=problems.get(name, {}).get("count", 0),
            last_balance_problem_at=problems.get(name, {}).get("last"),
        )
        for name in names
    }


# --- Failures -------------------------------------------------------------------------


@dataclass
class FailureDay:
    day: date
    counts: list[int]
    total: int


@dataclass
class FailureGroup:
    """Failures of one provider or one organization, with its finished jobs for a rate."""

    label: str
    failed: int
    finished: int
    reasons: list[tuple[str, int]]
    key: str = ""

    @property
    def failure_percent(self) -> int | None:
        return None if not self.finished else round(100 * self.failed / self.finished)


@dataclass
class RejectionRow:
    organization_public_id: str
    organization_name: str
    organization_id: int
    insufficient: int
    spend_limit: int
    last_at: datetime


@dataclass
class FailuresReport:
    start: datetime
    days: int
    reasons: list[str] = field(default_factory=list)
    by_day: list[FailureDay] = field(default_factory=list)
    by_provider: list[FailureGroup] = field(default_factory=list)
    by_organization: list[FailureGroup] = field(default_factory=list)
    rejections: list[RejectionRow] = field(default_factory=list)
    total_failed: int = 0
    total_finished: int = 0


def _by_day(failed: QuerySet[Generation]) -> tuple[list[str], list[FailureDay]]:
    rows = failed.annotate(day=TruncDate("completed_at")).values("day", "failure_code").annotate(n=Count("id"))
    per_day: dict[date, dict[str, int]] = defaultdict(dict)
    per_reason: dict[str, int] = defaultdict(int)
    for row in rows.order_by():
        per_day[row["day"]][row["failure_code"]] = row["n"]
        per_reason[row["failure_code"]] += row["n"]
    reasons = sorted(per_reason, key=lambda code: (-per_reason[code], code))
    days = [
        FailureDay(day=day, counts=[counts.get(code, 0) for code in reasons], total=sum(counts.values()))
        for day, counts in sorted(per_day.items(), reverse=True)
    ]
    return reasons, days


def _groups(finished: QuerySet[Generation], by: str, label_of: Mapping[Any, str], limit: int) -> list[FailureGroup]:
    totals = {
        row[by]: row
        for row in finished.values(by)
        .annotate(finished=Count("id"), failed=Count("id", filter=Q(status__in=FAILED_STATUSES)))
        .order_by()
    }
    reasons: dict[object, list[tuple[str, int]]] = defaultdict(list)
    for row in (
        finished.filter(status__in=FAILED_STATUSES)
        .values(by, "failure_code")
        .annotate(n=Count("id"))
        .order_by("-n", "failure_code")
    ):
        reasons[row[by]].append((row["failure_code"], row["n"]))
    groups = [
        FailureGroup(
            label=label_of.get(key, str(key) or NO_PROVIDER),
            key=str(key),
            failed=row["failed"],
            finished=row["finished"],
            reasons=reasons.get(key, []),
        )
        for key, row in totals.items()
        if row["failed"]
    ]
    groups.sort(key=lambda g: (-g.failed, g.label))
    return groups[:limit]


def _rejections(since: datetime, limit: int) -> list[RejectionRow]:
    rows = (
        InsufficientCreditRejection.objects.filter(created_at__gte=since)
        .values("organization", "organization__public_id", "organization__name")
        .annotate(
            insufficient=Count("id", filter=Q(kind="insufficient_credits")),
            spend_limit=Count("id", filter=Q(kind="spend_limit_exceeded")),
            total=Count("id"),
            last_at=Max("created_at"),
        )
        .order_by("-total", "organization__name")[:limit]
    )
    return [
        RejectionRow(
            organization_public_id=row["organization__public_id"],
            organization_name=row["organization__name"],
            organization_id=row["organization"],
            insufficient=row["insufficient"],
            spend_limit=row["spend_limit"],
            last_at=row["last_at"],
        )
        for row in rows
    ]


def failures_report(*, days: int = 30, now: datetime | None = None, limit: int = 50) -> FailuresReport:
    """Failed and timed-out jobs per day by reason, by provider and by organization; money refusals by organization."""
    start = _window_start(days, now)
    finished = Generation.objects.filter(status__in=FINAL_STATUSES, completed_at__gte=start).exclude(
        status=Status.CANCELED
    )
    failed = finished.filter(status__in=FAILED_STATUSES)
    reasons, by_day = _by_day(failed)
    org_rows = finished.values("organization", "organization__name", "organization__public_id").distinct()
    org_labels = {
        row["organization"]: f"{row['organization__name']} ({row['organization__public_id']})" for row in org_rows
    }
    return FailuresReport(
        start=start,
        days=days,
        reasons=reasons,
        by_day=by_day,
        by_provider=_groups(finished, "provider", {}, limit),
        by_organization=_groups(finished, "organization", org_labels, limit),
        rejections=_rejections(start, limit),
        total_failed=failed.count(),
        total_finished=finished.count(),
    )


# --- Margin ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MarginRow:
    day: date | None
    model: str
    jobs: int
    refunded_jobs: int
    revenue_micros: int
    upstream_cost_micros: int
    jobs_without_cost: int

    @property
    def margin_micros(self) -> int:
        return self.revenue_micros - self.upstream_cost_micros

    @property
    def margin_percent(self) -> int | None:
        return None if not self.revenue_micros else round(100 * self.margin_micros / self.revenue_micros)


@dataclass(frozen=True)
class MarginReport:
    start: datetime
    days: int
    rows: list[MarginRow]
    by_model: list[MarginRow]
    total: MarginRow


def _margin_rows(queryset: QuerySet[Generation], group: list[str]) -> list[MarginRow]:
    rows = queryset.values(*group).annotate(
        jobs=Count("id"),
        refunded_jobs=Count("id", filter=Q(refunded=True)),
        revenue=Sum("price_micros", filter=Q(refunded=False)),
        cost=Sum("upstream_cost_micros"),
        without_cost=Count("id", filter=Q(upstream_cost_micros__isnull=True)),
    )
    return [
        MarginRow(
            day=row.get("day"),
            model=row.get("model", ""),
            jobs=row["jobs"],
            refunded_jobs=row["refunded_jobs"],
            revenue_micros=row["revenue"] or 0,
            upstream_cost_micros=row["cost"] or 0,
            jobs_without_cost=row["without_cost"],
        )
        for row in rows.order_by(*[f"-{g}" if g == "day" else g for g in group])
    ]


def margin_report(*, days: int = 30, now: datetime | None = None) -> MarginReport:
    """Price charged minus upstream cost of succeeded jobs, per model and day (of completion).

    A refunded job earns nothing but still cost us the provider's price.
    """
    start = _window_start(days, now)
    refunded = Hold.objects.filter(reference=OuterRef("public_id"), status=HoldStatus.REFUNDED)
    succeeded = (
        Generation.objects.filter(status=Status.SUCCEEDED, completed_at__gte=start)
        .annotate(refunded=Exists(refunded), day=TruncDate("completed_at"))
        .order_by()
    )
    by_model = _margin_rows(succeeded, ["model"])
    return MarginReport(
        start=start,
        days=days,
        rows=_margin_rows(succeeded, ["day", "model"]),
        by_model=by_model,
        total=_sum_rows(by_model),
    )


def _sum_rows(rows: list[MarginRow]) -> MarginRow:
    return MarginRow(
        day=None,
        model="",
        jobs=sum(r.jobs for r in rows),
        refunded_jobs=sum(r.refunded_jobs for r in rows),
        revenue_micros=sum(r.revenue_micros for r in rows),
        upstream_cost_micros=sum(r.upstream_cost_micros for r in rows),
        jobs_without_cost=sum(r.jobs_without_cost for r in rows),
    )
