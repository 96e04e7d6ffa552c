"""Every API endpoint, found by walking the URL configuration, counts its requests against the key's limits.

Endpoints added later are found the same way: one that skips the key's
authentication path answers without `X-RateLimit-*`, or past the limit
without a 429, and fails here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from accounts.models import ApiKey
from api import ratelimit
from api.models import RateLimitCounter
from tests.api.conftest import set_limits

pytestmark = pytest.mark.django_db(transaction=True)

# The native API, and the provider-compatible endpoints under the providers' own prefixes.
API_PREFIXES = ("api/v1/", "v1/", "v2/", "fal-ai/", "fal-run/")
METHODS = ("get", "post", "put", "patch", "delete")
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
# A converter's value names nothing, so no endpoint starts work (or waits) for it.
_CONVERTER = re.compile(r"<(?:\w+:)?\w+>")


def _walk(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in resolver.url_patterns:
        if not isinstance(pattern.pattern, RoutePattern):
            continue  # regex routes (the admin's) are not API endpoints
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern, route)
        else:
            yield route, pattern


def api_routes() -> list[tuple[str, URLPattern]]:
    return [(route, pattern) for route, pattern in _walk(get_resolver()) if route.startswith(API_PREFIXES)]


def methods_of(pattern: URLPattern) -> list[str]:
    """The methods a DRF view defines; GET and POST (one of them refused) for plain views."""
    cls = getattr(pattern.callback, "cls", None)
    if cls is None:
        return ["get", "post"]
    return [method for method in METHODS if hasattr(cls, method)]


def requests() -> list[tuple[str, str]]:
    found = []
    for route, pattern in api_routes():
        url = "/" + _CONVERTER.sub("zz_unknown", route)
        found += [(method, url) for method in methods_of(pattern)]
    return found


# The status reads of a job: counted in the key's status-read budget (API_KEY_STATUS_READS_PER_MINUTE), every
# other request in the key's requests per minute.
STATUS_READS = {
    ("get", "/api/v1/generations/zz_unknown"),
    ("get", "/v2/requests/zz_unknown/status"),
    ("get", "/v2/requests/zz_unknown"),
    ("get", "/v2/generate/video/minimax/generation"),
    ("get", "/v2/video/generations"),
    ("get", "/api/v1/model/prediction/zz_unknown"),
    ("get", "/v1/predictions/zz_unknown"),
    ("get", "/fal-ai/zz_unknown/requests/zz_unknown/status"),
    ("get", "/fal-ai/zz_unknown/requests/zz_unknown"),
}


def send(method: str, url: str, raw_key: str) -> object:
    return Client().generic(
        method.upper(), url, data=b"{}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw_key}"
    )


def over_the_limit(key: ApiKey) -> None:
    """The key has used more than its minute's budgets (requests and status reads), in this window and the next.

    Both windows, so there is no race with the clock.
    """
    set_limits(key.organization, key_requests_per_minute=1)
    window = int(time.time() // ratelimit.WINDOW_SECONDS) * ratelimit.WINDOW_SECONDS
    for start in (window, window + ratelimit.WINDOW_SECONDS):
        RateLimitCounter.objects.create(scope=f"key:{key.pk}", window_start=start, hits=5)
        RateLimitCounter.objects.create(
            scope=ratelimit.status_reads_scope(key),
            window_start=start,
            hits=settings.API_KEY_STATUS_READS_PER_MINUTE + 5,
        )


def test_the_walk_finds_the_native_and_the_compatible_endpoints() -> None:
    routes = {route for route, _ in api_routes()}
    for route in (
        "api/v1/me",
        "api/v1/balance",
        "api/v1/ledger",
        "api/v1/pricing",
        "api/v1/webhook-endpoints",
        "api/v1/webhook-secret",
        "api/v1/generations",
        "api/v1/uploads",
        "api/v1/model/generateVideo",
        "v1/<str:slug>",
        "v2/generate/video/minimax/generation",
        "fal-ai/<str:alias>/requests/<str:request_id>/status",
        "fal-ai/<path:app_path>",
    ):
        assert route in routes
    assert len(requests()) >= 30


@pytest.mark.parametrize(("method", "url"), requests())
def test_every_endpoint_answers_with_the_rate_limit_headers(method: str, url: str, api_key_a: tuple) -> None:
    response = send(method, url, api_key_a[1])
    assert response.status_code not in (401, 429, 500), response.content
    assert all(name in response for name in RATE_HEADERS), (response.status_code, dict(response.headers))
    if (method, url) in STATUS_READS:
        limit = settings.API_KEY_STATUS_READS_PER_MINUTE
    else:
        limit = ratelimit.DEFAULT_KEY_REQUESTS_PER_MINUTE
    assert (int(response["X-RateLimit-Limit"]), int(response["X-RateLimit-Remaining"])) == (limit, limit - 1)


def test_the_status_reads_are_endpoints_the_walk_finds() -> None:
    assert set(requests()) >= STATUS_READS


@pytest.mark.parametrize(("method", "url"), requests())
def test_every_endpoint_answers_429_with_retry_after_past_the_keys_limit(
    method: str, url: str, api_key_a: tuple
) -> None:
    over_the_limit(api_key_a[0])
    response = send(method, url, api_key_a[1])
    assert response.status_code == 429, (response.status_code, response.content)
    assert 1 <= int(response["Retry-After"]) <= 2 * ratelimit.WINDOW_SECONDS
    assert all(name in response for name in RATE_HEADERS)
    assert response["X-RateLimit-Remaining"] == "0"
