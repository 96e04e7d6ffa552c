"""Helpers for tests that drive adapters against the emulators."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable

import pytest

from tests.emulators.base import Fault
from videogen.providers.base import ErrorKind, Exchange, ProviderAdapter, UpstreamResult, UpstreamStatus

EMULATOR_API_KEY = "sk-emulated-7f3c9a1e2b4d6f80"

# Faults every provider answers the same way on submit: (fault, kind, code).
HTTP_FAULT_CASES = [
    pytest.param(fault, kind, code, id=fault.value)
    for fault, kind, code in [
        (Fault.BAD_REQUEST, ErrorKind.PERMANENT, "invalid_request"),
        (Fault.UNAUTHORIZED, ErrorKind.ACCOUNT, "unauthorized"),
        (Fault.FORBIDDEN, ErrorKind.ACCOUNT, "forbidden"),
        (Fault.NOT_FOUND, ErrorKind.PERMANENT, "model_not_found"),
        (Fault.INSUFFICIENT_CREDIT, ErrorKind.ACCOUNT, "upstream_insufficient_credit"),
        (Fault.RATE_LIMITED, ErrorKind.TRANSIENT, "rate_limited"),
        (Fault.SERVER_ERROR, ErrorKind.TRANSIENT, "server_error"),
        (Fault.BAD_GATEWAY, ErrorKind.TRANSIENT, "bad_gateway"),
        (Fault.SERVICE_UNAVAILABLE, ErrorKind.TRANSIENT, "unavailable"),
        (Fault.GATEWAY_TIMEOUT, ErrorKind.TRANSIENT, "gateway_timeout"),
        (Fault.MALFORMED_JSON, ErrorKind.TRANSIENT, "bad_response"),
        (Fault.HTML_ERROR, ErrorKind.TRANSIENT, "bad_response"),
    ]
]


def poll_until_final(adapter: ProviderAdapter, upstream_id: str, *, max_polls: int = 10) -> list[UpstreamResult]:
    """Poll until SUCCEEDED or FAILED (emulators finish by poll count: no sleeping)."""
    results = []
    for _ in range(max_polls):
        result = adapter.poll(upstream_id)
        results.append(result)
        if result.status in (UpstreamStatus.SUCCEEDED, UpstreamStatus.FAILED):
            return results
    raise AssertionError(f"{upstream_id} was not final after {max_polls} polls: {results[-1].status}")


def exchanges_text(exchanges: Iterable[Exchange]) -> str:
    """Everything the exchanges would show an operator, as one string."""
    return json.dumps([dataclasses.asdict(e) for e in exchanges], default=str)
