"""JSON logs: every record names the request (X-Request-Id, echoed), the organization, and the job and provider."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import AsyncClient, Client

from accounts.models import Organization
from core.logcontext import ContextFilter, JsonFormatter
from tests.live import ROOT
from tests.web.conftest import generation_make
from videogen.models import Status
from videogen.services import pipeline


class JsonLines:
    """What the console handler writes with LOG_FORMAT=json: the same filter and formatter, into a buffer."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.buffer.getvalue().splitlines()]

    def about(self, text: str) -> dict[str, Any]:
        [record] = [r for r in self.records() if text in r["message"]]
        return record


@pytest.fixture
def json_logs() -> Iterator[JsonLines]:
    lines = JsonLines()
    handler = logging.StreamHandler(lines.buffer)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lines
    finally:
        root.removeHandler(handler)


@pytest.mark.django_db
def test_an_api_request_s_records_carry_its_key_s_organization(
    api_key_a: tuple, org_a: Organization, json_logs: JsonLines
) -> None:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {api_key_a[1]}")
    response = client.get("/api/v1/generations/gen_unknown", headers={"X-Request-Id": "req-api-7"})

    assert response.status_code == 404
    record = json_logs.about("Not Found: /api/v1/generations/gen_unknown")
    assert record["request_id"] == "req-api-7"
    assert record["organization"] == org_a.public_id


@pytest.mark.django_db
def test_a_page_s_records_carry_the_request_id_it_was_given_and_the_organization(
    web_alice: Client, org_a: Organization, json_logs: JsonLines
) -> None:
    response = web_alice.get("/generations/gen_unknown/", headers={"X-Request-Id": "req-4f2a9c"})

    assert response.status_code == 404
    assert response["X-Request-Id"] == "req-4f2a9c"
    record = json_logs.about("Not Found: /generations/gen_unknown/")
    assert record["level"] == "WARNING"
    assert record["logger"] == "django.request"
    assert record["request_id"] == "req-4f2a9c"
    assert record["organization"] == org_a.public_id
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", record["time"])


@pytest.mark.django_db
@pytest.mark.parametrize("given", [None, "", "two words", "x" * 129, "line\nbreak", '{"json": 1}'])
def test_a_missing_or_strange_request_id_is_replaced_by_a_new_one(client: Client, given: str | None) -> None:
    headers = {} if given is None else {"X-Request-Id": given}
    first = client.get("/healthz", headers=headers)["X-Request-Id"]
    second = client.get("/healthz", headers=headers)["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


@pytest.mark.django_db
def test_under_asgi_the_request_id_is_echoed_too() -> None:
    from asgiref.sync import async_to_sync

    response = async_to_sync(AsyncClient().get)("/healthz", headers={"X-Request-Id": "edge-7f3b1e2d"})
    assert response["X-Request-Id"] == "edge-7f3b1e2d"


@pytest.mark.django_db
def test_a_job_s_records_carry_the_job_and_its_organization(
    org_a: Organization, settings: Any, json_logs: JsonLines
) -> None:
    settings.SANDBOX_ENABLED = True
    # The sandbox is this model's only configured route, and it refuses: the job fails on every route.
    job = generation_make(org_a, "sandbox:error everywhere", model="minimax-hailuo-2")

    pipeline.generation_submit(job.pk)

    job.refresh_from_db()
    assert job.status == Status.FAILED
    record = json_logs.about("failed on every route")
    assert (record["job_id"], record["organization"]) == (job.public_id, org_a.public_id)
    logging.getLogger("after").warning("the job is over")
    assert "job_id" not in json_logs.about("the job is over")


def test_log_format_json_writes_one_json_object_per_line(tmp_path: Path) -> None:
    env = {**os.environ, "LOG_FORMAT": "json", "VAR_DIR": str(tmp_path), "DEBUG": "1"}
    code = "import logging; logging.getLogger('videogen.check').warning('hello %s', 'operator')"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    [line] = [line for line in result.stderr.splitlines() if "operator" in line]
    record = json.loads(line)
    assert (record["level"], record["logger"], record["message"]) == ("WARNING", "videogen.check", "hello operator")
