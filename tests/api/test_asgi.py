"""The ASGI application (Django's own): API and web responses carry the right headers and error shapes."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.testing import ApplicationCommunicator

from videogen.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


def _scope(path: str, headers: list[tuple[bytes, bytes]] | None = None) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


async def _exchange(scope: dict) -> tuple[int, dict[str, str], bytes]:
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(30)
    body = b""
    while True:
        message = await communicator.receive_output(30)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait()
    headers = {name.decode().lower(): value.decode() for name, value in start["headers"]}
    return start["status"], headers, body


def _get(path: str, headers: list[tuple[bytes, bytes]] | None = None) -> tuple[int, dict[str, str], bytes]:
    return asyncio.run(_exchange(_scope(path, headers)))


def test_api_requests_get_security_headers_but_no_session_or_csrf_cookie(api_key_a):
    _, raw_key = api_key_a
    status, headers, body = _get("/api/v1/me", [(b"authorization", f"Bearer {raw_key}".encode())])
    assert status == 200, body
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert "set-cookie" not in headers


def test_health_check_answers_json_with_security_headers():
    status, headers, body = _get("/healthz")
    assert status == 200 and body == b'{"status": "ok"}'
    assert headers["x-content-type-options"] == "nosniff"


def test_unknown_host_is_refused(settings):
    settings.ALLOWED_HOSTS = ["api.example.com"]
    status, _, _ = _get("/healthz")
    assert status == 400


def test_web_pages_keep_sessions_csrf_and_frame_protection():
    status, headers, body = _get("/accounts/login/")
    assert status == 200, body
    assert "csrftoken=" in headers.get("set-cookie", "")
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"


def test_an_unknown_api_path_answers_404_in_the_api_error_shape():
    status, headers, body = _get("/api/v1/nothing-here")
    assert status == 404 and headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "not_found"
    status, headers, _ = _get("/no-such-page/")
    assert status == 404 and headers["content-type"].startswith("text/html")


def test_a_server_error_on_a_machine_path_shows_the_api_shape_and_no_internals(rf):
    from api.errors import server_error

    response = server_error(rf.get("/readyz"))
    assert response.status_code == 500
    assert json.loads(response.content) == {
        "error": {
            "type": "api_error",
            "code": "internal_error",
            "message": "Something went wrong on our side; it has been logged.",
            "param": None,
        }
    }
    assert server_error(rf.get("/dashboard/"))["Content-Type"].startswith("text/html")
