"""The dashboard's usage chart: runs and spend per day, drawn on the server as inline SVG."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accounts.models import Organization
from billing.money import format_usd
from videogen.models import Generation, Status

WIDTH = 960
PANEL_HEIGHT = 80
LEFT = 56
RIGHT = 8
TOP = 4
LABEL_SPACE = 22
BAR_GAP = 3
# The spend axis goes at least this high, so a quiet month does not draw a scale in fractions of a cent.
SPEND_FLOOR_MICROS = 100_000


@dataclass(frozen=True)
class DayUsage:
    day: date
    runs: int
    spend_micros: int


@dataclass(frozen=True)
class Usage:
    days: list[DayUsage]

    @property
    def runs(self) -> int:
        return sum(d.runs for d in self.days)

    @property
    def spend_micros(self) -> int:
        return sum(d.spend_micros for d in self.days)


def daily_usage(organization: Organization, *, days: int = 30, today: date | None = None) -> Usage:
    """Generations started per day and what the delivered ones cost, for the last `days` days (UTC)."""
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(first, time.min))
    rows = (
        Generation.objects.filter(organization=organization, created_at__gte=start)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(runs=Count("id"), spend=Sum("price_micros", filter=Q(status=Status.SUCCEEDED)))
        .order_by()
    )
    found = {row["day"]: row for row in rows}
    usage = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        row: Any = found.get(day, {})
        usage.append(DayUsage(day=day, runs=row.get("runs") or 0, spend_micros=row.get("spend") or 0))
    return Usage(days=usage)


def _nice_max(value: int) -> int:
    """The smallest 1, 2 or 5 × 10^n at or above `value`, so the axis label is a round number."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if factor * step >= value:
                return factor * step
        step *= 10


def _panel(
    usage: Usage, *, top: int, values: list[int], label: str, axis: Callable[[int], str], floor: int, css: str
) -> str:
    peak = _nice_max(max([*values, floor]))
    slot = (WIDTH - LEFT - RIGHT) / len(values)
    bottom = top + PANEL_HEIGHT
    bars = []
    for index, (day, value) in enumerate(zip(usage.days, values, strict=True)):
        if not value:
            continue
        height = max(2.0, PANEL_HEIGHT * value / peak)
        runs = f"{day.runs} run{'s' if day.runs != 1 else ''}"
        bars.append(
            (
                css,
                f"{LEFT + slot * index + BAR_GAP / 2:.1f}",
                f"{bottom - height:.1f}",
                f"{slot - BAR_GAP:.1f}",
                f"{height:.1f}",
                f"{_day(day.day)}: {runs}, {format_usd(day.spend_micros)} spent",
            )
        )
    return format_html(
        '<text class="chart-label" x="{left}" y="{label_y}">{label}</text>'
        '<text class="chart-axis" x="{axis_x}" y="{peak_y}" text-anchor="end">{peak}</text>'
        '<text class="chart-axis" x="{axis_x}" y="{bottom}" text-anchor="end">{zero}</text>'
        '<line class="chart-grid" x1="{left}" x2="{right}" y1="{top}" y2="{top}"/>'
        '<line class="chart-base" x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}"/>{bars}',
        left=LEFT,
        right=WIDTH - RIGHT,
        label_y=top - 6,
        label=label,
        axis_x=LEFT - 6,
        peak_y=top + 10,
        peak=axis(peak),
        zero=axis(0),
        top=top,
        bottom=bottom,
        bars=format_html_join(
            "", '<rect class="{}" x="{}" y="{}" width="{}" height="{}" rx="2"><title>{}</title></rect>', bars
        ),
    )


def _day(day: date) -> str:
    return f"{day:%b} {day.day}"


def usage_chart_svg(usage: Usage) -> SafeString:
    """Two bar charts sharing the day axis, runs above spend; every bar has a tooltip."""
    runs_top = TOP + LABEL_SPACE
    spend_top = runs_top + PANEL_HEIGHT + LABEL_SPACE + 8
    height = spend_top + PANEL_HEIGHT + 20
    first, last = usage.days[0].day, usage.days[-1].day
    summary = (
        f"{usage.runs} run{'s' if usage.runs != 1 else ''} and {format_usd(usage.spend_micros)} spent "
        f"from {_day(first)} to {_day(last)}."
    )
    runs = _panel(
        usage, top=runs_top, values=[d.runs for d in usage.days], label="Runs", axis=str, floor=1, css="bar-runs"
    )
    spend = _panel(
        usage,
        top=spend_top,
        values=[d.spend_micros for d in usage.days],
        label="Spend",
        axis=_whole_usd,
        floor=SPEND_FLOOR_MICROS,
        css="bar-spend",
    )
    return format_html(
        '<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="chart-title chart-desc">'
        '<title id="chart-title">Usage over the last {days} days</title><desc id="chart-desc">{summary}</desc>'
        "{runs}{spend}"
        '<text class="chart-axis" x="{left}" y="{date_y}">{first}</text>'
        '<text class="chart-axis" x="{right}" y="{date_y}" text-anchor="end">{last}</text>'
        "</svg>",
        width=WIDTH,
        height=height,
        days=len(usage.days),
        summary=summary,
        runs=runs,
        spend=spend,
        left=LEFT,
        right=WIDTH - RIGHT,
        date_y=height - 4,
        first=_day(first),
        last=_day(last),
    )


def _whole_usd(micros: int) -> str:
    return format_usd(micros).removesuffix(".00")
