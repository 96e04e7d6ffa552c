"""GET /api/v1/generations: filters and cursor pagination, newest first.

The cursor is the id of the last job of the previous page (like Stripe's
`starting_after`): pages stay stable while new jobs arrive.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.http import QueryDict

from accounts.models import Organization
from videogen import catalog, selectors
from videogen.api.parsing import invalid, require_storable
from videogen.models import Generation, Status
from videogen.presenters import generation_to_dict

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
FILTERS = ("status", "model", "created_after", "created_before", "limit", "cursor")
# RFC 3339 date-time, as OpenAPI's `date-time` format means it: a time zone is required.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})$")


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise invalid("limit", "invalid_parameter", f"limit: must be a whole number from 1 to {MAX_LIMIT}.")
    return int(raw)


def _moment(name: str, raw: str) -> datetime:
    try:
        if not _RFC3339.match(raw):
            raise ValueError(raw)
        # In UTC: databases refuse some offsets Python accepts (PostgreSQL stops at ±15:59).
        return datetime.fromisoformat(raw.upper().replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, OverflowError):
        raise invalid(
            name, "invalid_parameter", f"{name}: must be an RFC 3339 date-time such as 2025-01-31T12:00:00Z."
        ) from None


def _statuses(raw: str) -> list[str]:
    values = [value.strip() for value in raw.split(",")]
    allowed = [s.value for s in Status]
    for value in values:
        if value not in allowed:
            raise invalid("status", "invalid_parameter", f"status: {value!r} is not one of {', '.join(allowed)}.")
    return values


def _filtered(organization: Organization, querydict: QueryDict) -> QuerySet[Generation]:
    jobs = selectors.generations_list(organization)
    query: dict[str, str] = {name: querydict.get(name, "") for name in querydict}
    require_storable({name: query[name] for name in query})
    for name in query:
        if name not in FILTERS:
            raise invalid(name, "unknown_parameter", f"{name}: unknown parameter; filters are {', '.join(FILTERS)}.")
    if "status" in query:
        jobs = jobs.filter(status__in=_statuses(query["status"]))
    if "model" in query:
        if query["model"] not in catalog.MODELS:
            raise invalid("model", "invalid_parameter", f"model: unknown model; one of {', '.join(catalog.MODELS)}.")
        jobs = jobs.filter(model=query["model"])
    if "created_after" in query:
        jobs = jobs.filter(created_at__gt=_moment("created_after", query["created_after"]))
    if "created_before" in query:
        jobs = jobs.filter(created_at__lt=_moment("created_before", query["created_before"]))
    return jobs


def _after_cursor(organization: Organization, jobs: QuerySet[Generation], cursor: str) -> QuerySet[Generation]:
    position = selectors.generations_list(organization).filter(public_id=cursor).values("created_at", "pk").first()
    if position is None:
        raise invalid("cursor", "invalid_parameter", "cursor: use the next_cursor of the previous page.")
    created_at, pk = position["created_at"], position["pk"]
    return jobs.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk))


def generations_page(organization: Organization, query: QueryDict) -> dict[str, Any]:
    """One page of the organization's generations, newest first."""
    limit = _limit(query.get("limit"))
    jobs = _filtered(organization, query)
    cursor = query.get("cursor")
    if cursor:
        jobs = _after_cursor(organization, jobs, cursor)
    page = list(jobs[: limit + 1])
    has_more = len(page) > limit
    page = page[:limit]
    return {
        "object": "list",
        "data": [generation_to_dict(job) for job in page],
        "has_more": has_more,
        "next_cursor": page[-1].public_id if has_more else None,
    }
