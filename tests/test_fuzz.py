"""Hostile input to every URL in the URL configuration: nothing may answer 5xx.

The test walks Django's URL resolver, so an endpoint added later is covered without
listing it here. Each URL gets hostile path values (NUL bytes, lone surrogates, very
long ids), hostile query strings, and hostile bodies (NUL bytes and lone surrogates
in JSON strings, JSON nested far deeper than any request needs, bodies that are not
JSON or not UTF-8, a body larger than the limit), with every method, signed out, with
an owner's API key (as a bearer token, as Segmind's `x-api-key` and as Atlas Cloud's
bearer) and with a signed-in session.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

NUL = "\x00"
SURROGATE = "\ud800"
# Values put into every path parameter, percent-encoded the way a client would send them.
PATH_VALUES = ["gen_%00x", "%ED%A0%80", "x" * 5000]
QUERY_STRINGS = ["cursor=%00&limit=%00&status=%ED%A0%80", "limit=99999999999999999999&q=" + "%00" * 200]
DEPTH = 100_000
BODY_LIMIT = 64 * 1024  # DATA_UPLOAD_MAX_MEMORY_SIZE during the test, so the oversized body stays cheap to send


def _bodies() -> list[tuple[str, bytes, str]]:
    """(label, body, content type) for each hostile body."""
    nested = "[" * DEPTH + "]" * DEPTH
    deep_object = '{"a":' * DEPTH + "1" + "}" * DEPTH
    with_nul = json.dumps({"model": "hailuo-02-fast", "prompt": NUL, "input": {"prompt": "a" + NUL, "duration": 6}})
    with_surrogate = json.dumps(
        {"model": "hailuo-02-fast", "prompt": SURROGATE, "input": {"prompt": SURROGATE, "duration": 6}}
    )
    nul_keys = json.dumps({NUL: 1, "input": {SURROGATE: 2, "url": "http://x/" + NUL, "image_url": NUL}})
    return [
        ("json-nul", with_nul.encode(), "application/json"),
        ("json-surrogate", with_surrogate.encode(), "application/json"),
        ("json-hostile-keys", nul_keys.encode(), "application/json"),
        ("json-deep-array", nested.encode(), "application/json"),
        ("json-deep-object", deep_object.encode(), "application/json"),
        ("json-not-object", b"[1, 2, 3]", "application/json"),
        ("json-scalar", b'"\\u0000"', "application/json"),
        ("not-json", b"\xff\xfe\x00garbage{", "application/json"),
        ("form-nul", b"name=%00&url=%ED%A0%80&prompt=%00", "application/x-www-form-urlencoded"),
        ("multipart-garbage", b"--x\r\n\x00\r\n", "multipart/form-data; boundary=x"),
        ("too-large", b'{"p":"' + b"a" * (BODY_LIMIT + 1) + b'"}', "application/json"),
    ]


@dataclass(frozen=True)
class Route:
    path: str  # with Django's converters, e.g. api/v1/generations/<str:generation_id>
    name: str


def _walk(patterns: list, prefix: str = "") -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield Route(prefix + str(entry.pattern), entry.name or "")


def routes() -> list[Route]:
    found = [r for r in _walk(get_resolver().url_patterns) if not r.path.startswith("^")]
    # Regex patterns (Django's admin and static routes) are reached through their plain siblings.
    return found


def concrete(path: str, value: str) -> str:
    """`path` with every converter replaced by `value` (ints get a hostile-but-valid int)."""
    path = re.sub(r"<int:[^>]+>", "99999999999999999999", path)
    path = re.sub(r"<(?:\w+:)?[^>]+>", value, path)
    return "/" + path.replace("^", "").replace("$", "").replace("\\Z", "")


@pytest.fixture(autouse=True)
def quiet(settings) -> Iterator[None]:
    """No log records: captured records would keep every hostile request (and its body) alive."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = BODY_LIMIT
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


@pytest.fixture
def clients(api_key_a, alice) -> dict[str, Client]:
    raw = api_key_a[1]
    session = Client(raise_request_exception=False)
    session.force_login(alice)
    return {
        "anonymous": Client(raise_request_exception=False),
        "bearer": Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {raw}"),
        "x-api-key": Client(raise_request_exception=False, HTTP_X_API_KEY=raw),
        "session": session,
    }


def test_no_url_answers_5xx_to_hostile_input(clients: dict[str, Client]) -> None:
    found = routes()
    assert len(found) > 50, "the URL configuration was not walked"
    failures: list[str] = []
    sent = 0

    def check(client_name: str, method: str, url: str, label: str, body: bytes = b"", content_type: str = "") -> None:
        nonlocal sent
        client = clients[client_name]
        call = getattr(client, method)
        kwargs = {"data": body, "content_type": content_type} if method not in ("get", "head") else {}
        response = call(url, **kwargs)
        sent += 1
        if response.status_code >= 500:
            failures.append(f"{method.upper()} {url[:120]} [{client_name}, {label}] -> {response.status_code}")

    bodies = _bodies()
    for route in found:
        admin = route.path.startswith("admin/")
        machine = route.path.startswith(("api/", "v1/", "v2/", "hooks/"))
        # The admin answers everyone but staff with its log-in page: a lighter pass is enough there.
        path_values = PATH_VALUES[:1] if admin else PATH_VALUES
        if admin:
            client_names = ["anonymous"]
        elif machine:
            client_names = ["anonymous", "bearer", "x-api-key"]
        else:
            client_names = ["anonymous", "session"]
        for value in path_values if "<" in route.path else ["-"]:
            url = concrete(route.path, value)
            for client_name in client_names:
                for query in QUERY_STRINGS[:1] if admin else QUERY_STRINGS:
                    check(client_name, "get", f"{url}?{query}", "query")
                check(client_name, "delete", url, "no body")
                for label, body, content_type in bodies[:2] if admin else bodies:
                    check(client_name, "post", url, label, body, content_type)
                for label, body, content_type in [] if admin else bodies[:2]:
                    check(client_name, "put", url, label, body, content_type)
                    check(client_name, "patch", url, label, body, content_type)

    print(f"fuzz: {len(found)} URL patterns, {sent} requests, {len(failures)} answers of 5xx")
    assert not failures, f"{len(failures)} of {sent} requests answered 5xx:\n" + "\n".join(failures[:60])
