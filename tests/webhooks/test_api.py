"""The webhook endpoints API: /api/v1/webhook-endpoints and the per-job secret."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta

import pytest
from rest_framework.test import APIClient

from accounts.models import Organization
from tests.webhooks.conftest import Receiver
from webhooks import services
from webhooks.models import WebhookEndpoint

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_loopback")]

BASE = "/api/v1/webhook-endpoints"


def secret_bytes(secret: str) -> bytes:
    assert secret.startswith("whsec_")
    return base64.b64decode(secret.removeprefix("whsec_"), validate=True)


def test_creating_an_endpoint_returns_its_secret_once(api_a: APIClient, receiver: Receiver) -> None:
    response = api_a.post(
        BASE,
        {"url": receiver.url(), "description": "orders", "event_types": ["generation.succeeded", "credits.low"]},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["id"].startswith("ep_")
    assert body["object"] == "webhook_endpoint"
    assert (body["url"], body["description"], body["enabled"]) == (receiver.url(), "orders", True)
    assert body["event_types"] == ["generation.succeeded", "credits.low"]
    assert 24 <= len(secret_bytes(body["secret"])) <= 32
    assert body["disabled_reason"] is None
    listed = api_a.get(BASE).json()
    assert [e["id"] for e in listed["data"]] == [body["id"]]
    assert "secret" not in listed["data"][0]
    assert "secret" not in api_a.get(f"{BASE}/{body['id']}").json()
    assert receiver.connections == 0


def test_updating_changes_only_the_fields_given(api_a: APIClient, org_a: Organization, receiver: Receiver) -> None:
    endpoint, _ = services.endpoint_create(organization=org_a, url=receiver.url(), description="first")

    response = api_a.patch(f"{BASE}/{endpoint.public_id}", {"enabled": False, "event_types": []}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["url"], body["description"], body["enabled"]) == (receiver.url(), "first", False)
    assert body["disabled_reason"] == "manual"
    assert body["event_types"] == []
    again = api_a.patch(f"{BASE}/{endpoint.public_id}", {"enabled": True, "url": receiver.url("/v2")}, format="json")
    assert (again.json()["enabled"], again.json()["url"]) == (True, receiver.url("/v2"))
    assert again.json()["disabled_reason"] is None


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"url": "http://127.0.0.1:1/x", "event_types": ["generation.exploded"]}, "event_types", "invalid_parameter"),
        ({"url": "http://127.0.0.1:1/x", "event_types": "credits.low"}, "event_types", "invalid_parameter"),
        ({"url": "http://127.0.0.1:1/x", "event_types": ["webhook.test"]}, "event_types", "invalid_parameter"),
        ({"url": "http://127.0.0.1:1/x", "enabled": "yes"}, "enabled", "invalid_parameter"),
        ({"url": "http://127.0.0.1:1/x", "description": "x" * 201}, "description", "invalid_parameter"),
        ({"url": "http://127.0.0.1:1/x", "secret": "whsec_mine"}, "secret", "unknown_parameter"),
        ({"description": "no url"}, "url", "missing_parameter"),
        ({"url": ""}, "url", "invalid_parameter"),
        ({"url": 42}, "url", "invalid_parameter"),
    ],
)
def test_invalid_input_is_a_400_naming_the_parameter(api_a: APIClient, body: dict, param: str, code: str) -> None:
    response = api_a.post(BASE, body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", code, param)
    assert error["message"].startswith(f"{param}: ")
    assert not WebhookEndpoint.objects.exists()


def test_an_organization_has_at_most_twenty_endpoints(api_a: APIClient, org_a: Organization) -> None:
    for n in range(services.MAX_ENDPOINTS_PER_ORGANIZATION):
        services.endpoint_create(organization=org_a, url=f"http://127.0.0.1:1/{n}")

    response = api_a.post(BASE, {"url": "http://127.0.0.1:1/one-more"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "limit_reached"


def test_deleting_an_endpoint(api_a: APIClient, org_a: Organization) -> None:
    endpoint, _ = services.endpoint_create(organization=org_a, url="http://127.0.0.1:1/x")

    response = api_a.delete(f"{BASE}/{endpoint.public_id}")

    assert response.status_code == 200
    assert response.json() == {"id": endpoint.public_id, "object": "webhook_endpoint", "deleted": True}
    assert api_a.get(f"{BASE}/{endpoint.public_id}").status_code == 404


def test_rotating_returns_the_new_secret_and_when_the_old_one_stops(api_a: APIClient, org_a: Organization) -> None:
    endpoint, old = services.endpoint_create(organization=org_a, url="http://127.0.0.1:1/x")

    response = api_a.post(f"{BASE}/{endpoint.public_id}/rotate")

    assert response.status_code == 200
    body = response.json()
    assert body["secret"] != old
    assert len(secret_bytes(body["secret"])) == 32
    ends = datetime.fromisoformat(body["previous_secret_expires_at"])
    endpoint.refresh_from_db()
    assert ends == endpoint.previous_secret_expires_at
    assert endpoint.updated_at + timedelta(hours=23) < ends <= endpoint.updated_at + timedelta(hours=24)
    assert api_a.get(f"{BASE}/{endpoint.public_id}").json()["previous_secret_expires_at"] is not None


def test_the_per_job_secret_can_be_read_and_rotated(api_a: APIClient) -> None:
    first = api_a.get("/api/v1/webhook-secret").json()
    assert first["object"] == "webhook_secret"
    assert first["previous_secret_expires_at"] is None
    assert api_a.get("/api/v1/webhook-secret").json()["secret"] == first["secret"]

    rotated = api_a.post("/api/v1/webhook-secret/rotate").json()

    assert len(secret_bytes(rotated["secret"])) == 32
    assert rotated["secret"] != first["secret"]
    assert rotated["previous_secret_expires_at"] is not None
    assert api_a.get("/api/v1/webhook-secret").json()["secret"] == rotated["secret"]


def test_another_organizations_endpoint_is_404(api_b: APIClient, api_a: APIClient, org_a: Organization) -> None:
    endpoint, secret = services.endpoint_create(organization=org_a, url="http://127.0.0.1:1/x")
    url = f"{BASE}/{endpoint.public_id}"

    responses = [
        api_b.get(url),
        api_b.patch(url, {"url": "http://127.0.0.1:1/carol"}, format="json"),
        api_b.delete(url),
        api_b.post(f"{url}/rotate"),
    ]

    for response in responses:
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "not_found"
    assert api_b.get(BASE).json()["data"] == []
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.secret) == ("http://127.0.0.1:1/x", secret)
    assert api_a.get("/api/v1/webhook-secret").json()["secret"] != api_b.get("/api/v1/webhook-secret").json()["secret"]


def test_a_request_without_a_key_is_401(db: None) -> None:
    response = APIClient().get(BASE)

    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
