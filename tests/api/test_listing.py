"""GET /api/v1/generations: newest first, cursor pages, filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.api.conftest import fund, job_body, png_data_url
from videogen.models import Generation

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/generations"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def jobs(api_a, org_a) -> list[str]:
    """Seven jobs a minute apart (oldest first): models alternate, two failed, one succeeded."""
    fund(org_a, 5_000_000)
    ids = []
    for n in range(7):
        model = "hailuo-02-fast" if n % 2 == 0 else "hailuo-02"
        body = {"model": model, "input": {"prompt": f"shot {n}", "duration": 6}}
        if model == "hailuo-02-fast":
            body["input"]["first_frame_image"] = png_data_url()  # the model animates a first frame
        ids.append(api_a.post(URL, body, format="json").json()["id"])
        Generation.objects.filter(public_id=ids[-1]).update(created_at=T0 + timedelta(minutes=n))
    Generation.objects.filter(public_id__in=ids[1:3]).update(status="failed", failure_code="content_policy")
    Generation.objects.filter(public_id=ids[3]).update(status="succeeded")
    return ids


def pages(client, **params: object) -> list[list[str]]:
    """Every page's ids, following next_cursor to the end."""
    result, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get(URL, query)
        assert response.status_code == 200, response.json()
        body = response.json()
        assert body["object"] == "list"
        result.append([job["id"] for job in body["data"]])
        assert body["has_more"] == (body["next_cursor"] is not None)
        if not body["has_more"]:
            return result
        cursor = body["next_cursor"]


def test_pages_go_newest_first_without_gaps_or_repeats(api_a, jobs) -> None:
    assert pages(api_a, limit=3) == [jobs[6:3:-1], jobs[3:0:-1], jobs[0:1]]
    assert pages(api_a) == [list(reversed(jobs))]


def test_jobs_with_the_same_creation_time_are_paged_in_a_stable_order(api_a, jobs) -> None:
    Generation.objects.filter(public_id__in=jobs).update(created_at=T0)
    walked = [job for page in pages(api_a, limit=2) for job in page]
    assert sorted(walked) == sorted(jobs)
    assert len(walked) == len(set(walked))


def test_a_new_job_does_not_shift_the_next_page(api_a, jobs) -> None:
    first = api_a.get(URL, {"limit": 2}).json()
    api_a.post(URL, job_body(), format="json")
    second = api_a.get(URL, {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [job["id"] for job in second["data"]] == [jobs[4], jobs[3]]


def test_filters_combine_with_pagination(api_a, jobs) -> None:
    assert pages(api_a, status="failed", limit=1) == [[jobs[2]], [jobs[1]]]
    assert pages(api_a, status="failed,succeeded") == [[jobs[3], jobs[2], jobs[1]]]
    assert pages(api_a, model="hailuo-02", limit=2) == [[jobs[5], jobs[3]], [jobs[1]]]
    after = (T0 + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    before = (T0 + timedelta(minutes=5)).isoformat()
    assert pages(api_a, created_after=after, created_before=before, limit=2) == [[jobs[4], jobs[3]], [jobs[2]]]
    assert pages(api_a, model="hailuo-02-fast", status="queued") == [[jobs[6], jobs[4], jobs[0]]]


def test_any_utc_offset_python_reads_is_accepted_in_a_time_filter(api_a, jobs) -> None:
    # +18:34 is past what PostgreSQL accepts as an offset; the moment is compared in UTC.
    assert pages(api_a, created_after="2025-03-02T06:36:00+18:34") == [[jobs[6], jobs[5], jobs[4], jobs[3]]]
    # A moment before year 1 in UTC cannot be compared at all.
    response = api_a.get(URL, {"created_before": "0001-01-01T00:00:00+18:00"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "created_before"


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"status": "done"}, "status"),
        ({"model": "hailuo-99"}, "model"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"created_before": "2025-03-01"}, "created_before"),
        ({"cursor": "gen_000000000000000000000000"}, "cursor"),
        ({"sort": "oldest"}, "sort"),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(api_a, params, param) -> None:
    response = api_a.get(URL, params)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_another_organizations_jobs_are_never_listed_nor_usable_as_cursor(api_a, api_b, jobs) -> None:
    assert pages(api_b) == [[]]
    response = api_b.get(URL, {"cursor": jobs[3]})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "cursor"
