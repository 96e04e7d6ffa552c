"""Hostile input on the API and compatible paths: refused with the field and the rule, nothing created or charged."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from billing.selectors import balance_get
from videogen.models import Generation

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def client(api_key_a) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {api_key_a[1]}")


def post_json(client: Client, url: str, body: str | bytes) -> Any:
    return client.post(url, data=body, content_type="application/json")


def error_of(response: Any) -> dict[str, Any]:
    return response.json()["error"]


@pytest.mark.parametrize(
    ("text", "param"),
    [
        (json.dumps({"model": "hailuo-02-fast", "input": {"prompt": "a\u0000b", "duration": 6}}), "prompt"),
        (json.dumps({"model": "hailuo-02-fast", "input": {"prompt": "a\ud800", "duration": 6}}), "prompt"),
        (json.dumps({"model": "hailuo-02-fast\u0000", "input": {"prompt": "boat"}}), "model"),
        (
            json.dumps({"model": "hailuo-02-fast", "input": {"prompt": "boat", "tags": ["ok", "\u0000"]}}),
            "tags[1]",
        ),
    ],
)
def test_nul_bytes_and_lone_surrogates_in_a_body_are_400_naming_the_field(client, org_a, text, param) -> None:
    before = balance_get(org_a)
    response = post_json(client, "/api/v1/generations", text)
    assert response.status_code == 400
    assert error_of(response)["param"] == param
    assert error_of(response)["code"] == "invalid_characters"
    assert not Generation.objects.exists()
    assert balance_get(org_a) == before


def test_hostile_input_without_a_valid_key_is_refused_before_the_endpoint() -> None:
    body = '{"\\u0000": 1}'
    assert post_json(Client(), "/api/v1/generations", body).status_code == 400
    assert error_of(post_json(Client(), "/api/v1/generations", body))["param"] == "body"
    # With a key, the key is checked and the request counted first, as for any other request.
    assert post_json(Client(HTTP_AUTHORIZATION="Bearer x"), "/api/v1/generations", body).status_code == 401


def test_a_refusal_to_a_key_carries_the_rate_limit_headers(client) -> None:
    response = post_json(client, "/api/v1/generations", '{"prompt": "\\u0000"}')
    assert response.status_code == 400
    assert response["X-RateLimit-Remaining"].isdigit()


def test_json_nested_deeper_than_the_limit_is_400(client) -> None:
    for body in ["[" * 50 + "]" * 50, "[" * 200_000 + "]" * 200_000, '{"a":' * 40 + "1" + "}" * 40]:
        response = post_json(client, "/api/v1/generations", body)
        assert response.status_code == 400, body[:20]
        assert error_of(response)["code"] == "too_deep"


def test_json_within_the_depth_limit_reaches_the_endpoint(client) -> None:
    response = post_json(client, "/api/v1/generations", '{"model": "hailuo-02-fast", "input": {"prompt": [[[1]]]}}')
    assert response.status_code == 400
    assert error_of(response)["param"] == "prompt"  # the endpoint's own rule: a prompt is text
    assert error_of(response)["code"] != "too_deep"


def test_a_body_over_the_limit_is_413_before_it_is_parsed(client, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post_json(client, "/api/v1/generations", b'{"prompt":"' + b"a" * 2000 + b'"}')
    assert response.status_code == 413
    assert error_of(response)["code"] == "request_too_large"
    # A compatible endpoint answers in its provider's shape, as a bad request.
    response = post_json(client, "/v2/generate/video/minimax/generation", b'{"prompt":"' + b"a" * 2000 + b'"}')
    assert response.status_code == 400
    assert "larger than 1000 bytes" in response.content.decode()
    assert not Generation.objects.exists()


def test_a_nul_byte_in_an_id_is_404(client) -> None:
    for url in ["/api/v1/generations/gen_%00", "/api/v1/webhook-endpoints/we_%00x"]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert error_of(response)["code"] == "not_found"
    segmind = Client(HTTP_X_API_KEY=client.defaults["HTTP_AUTHORIZATION"].removeprefix("Bearer "))
    assert segmind.get("/v2/requests/%00/status").status_code == 404


def test_a_nul_byte_in_a_query_parameter_is_400_naming_it(client) -> None:
    response = client.get("/api/v1/generations?status=%00")
    assert response.status_code == 400
    assert error_of(response)["param"] == "status"


def test_compatible_endpoints_refuse_nul_bytes_and_charge_nothing(client, org_a) -> None:
    before = balance_get(org_a)
    body = json.dumps({"model": "video-01", "prompt": "boat\u0000"})
    response = post_json(client, "/v2/generate/video/minimax/generation", body)
    assert response.status_code == 400
    assert "prompt: must not contain NUL bytes" in response.content.decode()  # in AIML API's error shape
    assert "X-RateLimit-Remaining" in response
    assert not Generation.objects.exists()
    assert balance_get(org_a) == before


def test_web_pages_are_left_to_their_forms(client) -> None:
    """The guard covers the machine paths only: a page answers in HTML, never 5xx."""
    response = Client().get("/pricing/?q=%00")
    assert response.status_code == 200


def test_a_nul_byte_in_a_page_address_is_the_site_s_404_page() -> None:
    response = Client().get("/s/gen_%00x/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
