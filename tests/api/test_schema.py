"""The OpenAPI schema matches behaviour, and the docs page loads nothing from another host."""

from __future__ import annotations

import contextlib
import copy
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlparse

import jsonschema
import pytest
from django.urls import NoReverseMatch, reverse
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from tests.api.conftest import fund, image_file, job_body, run_pipeline, set_limits

pytestmark = pytest.mark.django_db(transaction=True)

NATIVE = {
    ("get", "/api/v1/models"): {"200", "401", "429", "500"},
    ("get", "/api/v1/generations"): {"200", "400", "401", "403", "429", "500"},
    ("post", "/api/v1/generations"): {"201", "400", "401", "402", "403", "404", "409", "413", "415", "429", "500"},
    ("get", "/api/v1/generations/{generation_id}"): {"200", "401", "403", "404", "429", "500"},
    ("post", "/api/v1/generations/{generation_id}/cancel"): {"200", "401", "403", "404", "409", "429", "500"},
    ("post", "/api/v1/uploads"): {"201", "400", "401", "403", "413", "415", "429", "500"},
}


@pytest.fixture
def schema(db) -> dict[str, Any]:
    response = APIClient().get("/api/v1/schema")
    assert response.status_code == 200
    return response.json()


def test_the_schema_is_valid_openapi_3_and_documents_every_status(schema) -> None:
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    assert "creator's current role" in schema["info"]["description"]
    for (method, path), statuses in NATIVE.items():
        operation = schema["paths"][path][method]
        assert set(operation["responses"]) == statuses, (method, path)
        assert {"BearerAuth": []} in operation["security"]
        assert {"ApiKeyAuth": []} in operation["security"]
    schemes = schema["components"]["securitySchemes"]
    assert schemes["BearerAuth"]["scheme"] == "bearer"
    assert schemes["ApiKeyAuth"]["name"] == "x-api-key"
    create = schema["paths"]["/api/v1/generations"]["post"]
    assert {p["name"] for p in create["parameters"]} == {"Idempotency-Key", "Prefer"}
    assert list(create["requestBody"]["content"]) == ["application/json"]
    upload = schema["paths"]["/api/v1/uploads"]["post"]
    assert list(upload["requestBody"]["content"]) == ["multipart/form-data"]
    frame = [
        c["properties"]["first_frame_image"]
        for c in schema["components"]["schemas"].values()
        if "properties" in c and "first_frame_image" in c["properties"]
    ]
    assert frame and all("Required for hailuo-02-fast and hailuo-2.3-fast" in f["description"] for f in frame)


def test_the_schema_is_yaml_when_asked(db) -> None:
    response = APIClient().get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3")


# --- Real responses against the schema ---------------------------------------------------------


def _inline(node: Any, components: dict[str, Any]) -> Any:
    """Resolve $refs and turn OpenAPI 3.0's `nullable` into JSON Schema."""
    if isinstance(node, list):
        return [_inline(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _inline(components[node["$ref"].rsplit("/", 1)[1]], components)
    result = {key: _inline(value, components) for key, value in node.items()}
    if result.pop("nullable", False):
        return {"anyOf": [result, {"type": "null"}]}
    return result


def _operation_for(schema: dict[str, Any], method: str, path: str) -> tuple[str, dict[str, Any]]:
    for template, item in schema["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method in item:
            return template, item[method]
    raise AssertionError(f"{method.upper()} {path} is not in the schema")


def conforms(schema: dict[str, Any], response: Any) -> None:
    """The status is documented, the body matches its schema, the required headers are there."""
    request = response.wsgi_request
    template, operation = _operation_for(schema, request.method.lower(), request.path)
    status = str(response.status_code)
    assert status in operation["responses"], f"{request.method} {template}: undocumented {status}"
    documented = operation["responses"][status]
    assert response["Content-Type"] == "application/json"
    body_schema = _inline(documented["content"]["application/json"]["schema"], schema["components"]["schemas"])
    jsonschema.validate(response.json(), body_schema, format_checker=jsonschema.FormatChecker())
    for name, header in documented.get("headers", {}).items():
        if header.get("required"):
            assert name in response, f"{request.method} {template} {status}: no {name} header"
        if name in response and header["schema"].get("type") == "integer":
            assert response[name].isdigit(), (name, response[name])


def test_responses_of_every_outcome_match_the_schema(schema, api_a, api_b, org_a, settings) -> None:
    fund(org_a, 5_000_000)
    anonymous = APIClient()
    created = api_a.post("/api/v1/generations", job_body(), format="json")
    job = created.json()["id"]
    done = api_a.post("/api/v1/generations", job_body(prompt="sandbox:fail"), format="json").json()["id"]
    run_pipeline(done)
    finished = api_a.post("/api/v1/generations", job_body(prompt="finished"), format="json").json()["id"]
    run_pipeline(finished)
    responses = [
        created,
        api_a.get("/api/v1/models"),
        anonymous.get("/api/v1/models"),
        api_a.get("/api/v1/generations", {"limit": 2}),
        api_a.get("/api/v1/generations", {"limit": 500}),
        api_a.get(f"/api/v1/generations/{job}"),
        api_a.get(f"/api/v1/generations/{done}"),
        api_a.get(f"/api/v1/generations/{finished}", headers={"Prefer": "wait=5"}),
        api_b.get(f"/api/v1/generations/{job}"),
        anonymous.get(f"/api/v1/generations/{job}"),
        api_a.post("/api/v1/generations", {"model": "hailuo-02-fast", "input": {}}, format="json"),
        api_a.post("/api/v1/generations", job_body(first_frame_image="upl_nope"), format="json"),
        api_a.post("/api/v1/generations", {"model": "x"}, format="multipart"),
        api_a.post("/api/v1/generations", job_body(), format="json", headers={"Idempotency-Key": "s1"}),
        api_a.post("/api/v1/generations", job_body(), format="json", headers={"Idempotency-Key": "s1"}),
        api_a.post("/api/v1/generations", job_body(prompt="other"), format="json", headers={"Idempotency-Key": "s1"}),
        api_a.post(f"/api/v1/generations/{job}/cancel"),
        api_a.post(f"/api/v1/generations/{job}/cancel"),
        api_b.post(f"/api/v1/generations/{job}/cancel"),
        api_a.post("/api/v1/uploads", {"file": image_file()}, format="multipart"),
        api_a.post("/api/v1/uploads", {"file": image_file(b"not an image")}, format="multipart"),
        api_a.post("/api/v1/uploads", {}, format="json"),
    ]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    responses.append(api_a.post("/api/v1/generations", job_body(prompt="p" * 200), format="json"))
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 30 * 1024 * 1024
    responses.append(api_b.post("/api/v1/generations", job_body(), format="json"))  # spend the grant...
    for _ in range(9):
        api_b.post("/api/v1/generations", job_body(), format="json")
    responses.append(api_b.post("/api/v1/generations", job_body(), format="json"))  # ...then 402
    set_limits(org_a, key_requests_per_minute=1)
    responses.append(api_a.get("/api/v1/generations"))
    seen = set()
    for response in responses:
        conforms(schema, response)
        seen.add((response.wsgi_request.method, response.status_code))
    assert {("POST", s) for s in (201, 400, 402, 404, 409, 413, 415)} <= seen
    assert {("GET", s) for s in (200, 400, 401, 404, 429)} <= seen


# --- The docs page ---------------------------------------------------------------------------------------


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href"} and value:
                self.urls.append(value)


def _docs_paths() -> list[str]:
    paths = ["/api/v1/docs"]
    with contextlib.suppress(NoReverseMatch):
        paths.append(reverse("api-docs"))
    return paths


@pytest.mark.parametrize("docs_path", _docs_paths())
def test_the_docs_page_loads_only_local_assets(db, docs_path) -> None:
    client = APIClient()
    page = client.get(docs_path)
    assert page.status_code == 200
    html = page.content.decode()
    assets = _Assets()
    assets.feed(html)
    assert len(assets.urls) >= 3
    for url in assets.urls:
        assert urlparse(url).netloc == "", f"{url} comes from another host"
        assert url.startswith("/static/drf_spectacular_sidecar/"), url
        assert client.get(url).status_code == 200, url
    assert not re.search(r"https?://(?!127\.0\.0\.1|localhost|testserver)", html)
    assert '"/api/v1/schema"' in html


def test_the_docs_are_mounted_at_api_docs() -> None:
    assert reverse("api-docs") == "/api/docs"


@pytest.mark.browser
def test_swagger_ui_renders_the_operations_offline_in_a_browser(live_server, chromium_path: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    outside: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page()

            def only_local(route: Any) -> None:
                if route.request.url.startswith(live_server.url):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            page.route("**/*", only_local)
            page.goto(f"{live_server.url}/api/v1/docs")
            sync_api.expect(page.get_by_text("Create a generation")).to_be_visible(timeout=20_000)
            sync_api.expect(page.get_by_text("Cancel a generation")).to_be_visible()
            sync_api.expect(page.get_by_role("button", name=re.compile("Authorize"))).to_be_visible()
        finally:
            browser.close()
    assert outside == []


def test_no_schema_path_is_left_without_a_documented_error_shape(schema) -> None:
    error = copy.deepcopy(schema["components"]["schemas"]["ErrorResponse"])
    assert error["required"] == ["error"]
    details = schema["components"]["schemas"]["ErrorDetails"]
    assert set(details["required"]) == {"type", "code", "message", "param"}
    for (method, path), statuses in NATIVE.items():
        for status in statuses - {"200", "201"}:
            ref = schema["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
            assert ref == {"$ref": "#/components/schemas/ErrorResponse"}, (method, path, status)


def test_every_operation_that_needs_a_role_documents_its_403(schema) -> None:
    paths = schema["paths"]
    for path, method in [
        ("/api/v1/webhook-endpoints", "post"),
        ("/api/v1/webhook-secret", "get"),
        ("/api/v1/balance", "get"),
        ("/api/v1/generations/{generation_id}/cancel", "post"),
    ]:
        refused = paths[path][method]["responses"]["403"]
        assert "permission_error" in refused["description"]
        assert refused["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
    for path in ("/api/v1/me", "/api/v1/models", "/api/v1/pricing"):
        assert "403" not in paths[path]["get"]["responses"]
