from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts import services

pytestmark = pytest.mark.django_db


def test_me_answers_with_the_organization_for_a_bearer_key(api_a: APIClient, org_a, api_key_a) -> None:
    response = api_a.get("/api/v1/me")
    assert response.status_code == 200
    body = response.json()
    assert body["organization"] == {"id": org_a.public_id, "name": org_a.name, "slug": org_a.slug}
    assert body["api_key"]["prefix"] == api_key_a[0].prefix
    assert api_key_a[1] not in response.content.decode()


def test_me_accepts_the_x_api_key_header(org_a, api_key_a) -> None:
    client = APIClient()
    response = client.get("/api/v1/me", HTTP_X_API_KEY=api_key_a[1])
    assert response.status_code == 200
    assert response.json()["organization"]["id"] == org_a.public_id


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "not_authenticated"),
        ({"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"}, "authentication_failed"),
        ({"HTTP_AUTHORIZATION": "Bearer"}, "authentication_failed"),
        ({"HTTP_AUTHORIZATION": "Bearer hs_not-a-real-key"}, "authentication_failed"),
        ({"HTTP_X_API_KEY": "sk-someone-elses"}, "authentication_failed"),
    ],
)
def test_bad_credentials_get_a_json_401_not_a_redirect(db: None, headers: dict, code: str) -> None:
    response = APIClient().get("/api/v1/me", **headers)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response["WWW-Authenticate"].startswith("Bearer")
    error = response.json()["error"]
    assert error["type"] == "authentication_error"
    assert error["code"] == code
    assert error["message"]


def test_a_revoked_key_is_refused(api_a: APIClient, api_key_a) -> None:
    services.api_key_revoke(api_key=api_key_a[0])
    response = api_a.get("/api/v1/me")
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


def test_use_of_a_key_is_recorded(api_a: APIClient, api_key_a) -> None:
    key = api_key_a[0]
    assert key.last_used_at is None
    api_a.get("/api/v1/me")
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_keys_are_stored_hashed(api_key_a) -> None:
    key, raw = api_key_a
    assert raw not in (key.key_hash, key.prefix)
    assert raw.startswith(key.prefix)


def test_each_key_sees_only_its_own_organization(api_b: APIClient, org_b, api_key_a) -> None:
    response = api_b.get("/api/v1/me")
    assert response.json()["organization"]["id"] == org_b.public_id


def test_health_probes_answer(client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"
