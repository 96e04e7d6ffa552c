"""Schemathesis against a live server: no generated request may get a 5xx or an undocumented status.

Schemathesis (a dev dependency, 4.x) generates valid and invalid requests for
every native operation from /api/v1/schema and sends them to a live server;
where it is not installed the module is skipped. The schema is loaded inside
the test (schemathesis' lazy pytest fixture does not work with pytest 9).
tests/api/test_schema.py checks hand-picked responses of every outcome too.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import fund, set_limits
from videogen.api import parsing

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (pip install -e '.[dev]')")
from hypothesis import HealthCheck, given, settings  # noqa: E402 (after the skip: hypothesis comes with schemathesis)
from hypothesis.errors import Unsatisfiable  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# The native API. The other endpoints under /api/v1/ (balance, ledger, webhook endpoints) join by
# widening this to r"^/api/v1/" once their schemas document every status they answer.
NATIVE_PATHS = r"^/api/v1/(models|generations|uploads)"
NATIVE = {
    ("GET", "/api/v1/models"),
    ("GET", "/api/v1/generations"),
    ("POST", "/api/v1/generations"),
    ("GET", "/api/v1/generations/{generation_id}"),
    ("POST", "/api/v1/generations/{generation_id}/cancel"),
    ("POST", "/api/v1/uploads"),
}


def _excluded_checks() -> list[Any]:
    """positive_data_acceptance expects every schema-valid request to succeed, but
    some of our rules are beyond JSON Schema (an image must decode; 1080p only at 6 s;
    an upload id must exist), so schema-valid requests may rightly get a 400 or 404.
    """
    from schemathesis.specs.openapi import checks

    return [checks.positive_data_acceptance]


@pytest.fixture
def api_schema(live_server, org_a, api_key_a, monkeypatch) -> Any:
    fund(org_a, 100_000_000)
    set_limits(org_a, key_requests_per_minute=1_000_000, org_requests_per_minute=1_000_000, max_running_jobs=1_000_000)
    monkeypatch.setattr(parsing, "MAX_WAIT_SECONDS", 1)  # a generated `Prefer: wait` must not stall the run
    return schemathesis.openapi.from_url(f"{live_server.url}/api/v1/schema").include(path_regex=NATIVE_PATHS)


def test_the_native_api_keeps_its_schema(api_schema: Any, api_key_a: tuple) -> None:
    """Valid and invalid requests for every native operation; any 5xx or undocumented status fails."""
    from schemathesis.generation import GenerationMode

    auth = {"Authorization": f"Bearer {api_key_a[1]}"}
    excluded = _excluded_checks()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {(operation.method.upper(), operation.path) for operation in operations} == NATIVE
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def exchange(case: Any) -> None:
                case.call_and_validate(headers=auth, excluded_checks=excluded, timeout=30)

            try:
                exchange()
            except Unsatisfiable:
                if mode is not GenerationMode.NEGATIVE:
                    raise
                # Nothing in this operation can be made invalid (no parameters, no body).
