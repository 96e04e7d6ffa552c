"""AIML API-compatible endpoint: the seed page's shapes, statuses and AIML's error style."""

from __future__ import annotations

import base64

import pytest
from django.test import Client

from billing import services as billing_services
from billing.selectors import balance_get
from tests.compat.conftest import jpeg_bytes, run_pipeline
from videogen.compat import aimlapi
from videogen.models import Generation, Source

pytestmark = pytest.mark.django_db

PATH = "/v2/generate/video/minimax/generation"
FRAME = "data:image/jpeg;base64," + base64.b64encode(jpeg_bytes()).decode()


def create(client: Client, key: str | None, body: dict):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    return client.post(PATH, body, content_type="application/json", **headers)


def read(client: Client, key: str, generation_id: str):
    return client.get(PATH, {"generation_id": generation_id}, HTTP_AUTHORIZATION=f"Bearer {key}")


def test_create_then_read_follows_the_job_to_its_video(client: Client, key_a: str, org_a) -> None:
    response = create(client, key_a, {"model": "minimax/hailuo-02", "prompt": "a red kite", "resolution": "768P"})

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "queued"
    assert body["id"] == body["generation_id"]
    assert body["meta"]["usage"] == {"amount": "0.28", "currency": "usd"}
    generation = Generation.objects.get(public_id=body["generation_id"])
    assert (generation.source, generation.model, generation.input["resolution"]) == (
        Source.AIMLAPI,
        "hailuo-02",
        "768p",
    )
    assert read(client, key_a, generation.public_id).json() == {
        "id": generation.public_id,
        "status": "queued",
        "video": None,
        "error": None,
    }

    run_pipeline(generation.public_id)

    done = read(client, key_a, generation.public_id).json()
    assert done["status"] == "completed"
    assert "/files/" in done["video"]["url"]
    assert done["error"] is None


def test_1080p_is_accepted_in_aimls_spelling(client: Client, key_a: str) -> None:
    body = create(client, key_a, {"model": "minimax/hailuo-02", "prompt": "x", "resolution": "1080P"}).json()

    assert body["meta"]["usage"]["amount"] == "0.49"
    assert Generation.objects.get(public_id=body["generation_id"]).input["resolution"] == "1080p"


def test_a_running_job_is_generating(client: Client, key_a: str) -> None:
    generation_id = create(client, key_a, {"model": "minimax/hailuo-02", "prompt": "sandbox:hang"}).json()[
        "generation_id"
    ]
    run_pipeline(generation_id, sweeps=1)

    assert read(client, key_a, generation_id).json()["status"] == "generating"


@pytest.mark.parametrize(
    ("model_id", "slug"),
    [
        ("minimax/hailuo-02-fast", "hailuo-02-fast"),
        ("minimax/hailuo-2", "minimax-hailuo-2"),
        ("hailuo-02-fast", "hailuo-02-fast"),
    ],
)
def test_our_other_models_have_ids_too(client: Client, key_a: str, model_id: str, slug: str) -> None:
    body = create(client, key_a, {"model": model_id, "prompt": "a red kite", "first_frame_image": FRAME}).json()
    assert Generation.objects.get(public_id=body["generation_id"]).model == slug


@pytest.mark.parametrize("path", [PATH, "/v2/video/generations"])
def test_aimls_hailuo_23_runs_our_hailuo_23_from_text(client: Client, key_a: str, org_a, path: str) -> None:
    start = balance_get(org_a)
    response = client.post(
        path,
        {"model": "minimax/hailuo-2.3", "prompt": "a red kite", "duration": 6, "resolution": "768P"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key_a}",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["meta"]["usage"]["amount"] == "0.40"
    generation = Generation.objects.get(public_id=body["generation_id"])
    assert (generation.source, generation.model, generation.input["resolution"]) == (
        Source.AIMLAPI,
        "hailuo-2.3",
        "768p",
    )
    run_pipeline(generation.public_id)
    read_back = client.get(path, {"generation_id": generation.public_id}, HTTP_AUTHORIZATION=f"Bearer {key_a}")
    assert read_back.json()["status"] == "completed"
    assert balance_get(org_a).balance_micros == start.balance_micros - 400_000


@pytest.mark.parametrize("path", [PATH, "/v2/video/generations"])
def test_hailuo_02_fast_without_a_first_frame_is_a_400_and_holds_nothing(
    client: Client, key_a: str, org_a, path: str
) -> None:
    start = balance_get(org_a)
    response = client.post(
        path,
        {"model": "minimax/hailuo-02-fast", "prompt": "a red kite"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key_a}",
    )

    assert response.status_code == 400
    assert "hailuo-02-fast" in response.json()["message"]
    assert balance_get(org_a) == start
    assert not Generation.objects.filter(organization=org_a).exists()


def test_a_failed_job_says_error_with_its_error_and_costs_nothing(client: Client, key_a: str, org_a) -> None:
    start = balance_get(org_a)
    generation_id = create(client, key_a, {"model": "minimax/hailuo-02", "prompt": "sandbox:fail"}).json()[
        "generation_id"
    ]
    run_pipeline(generation_id)

    body = read(client, key_a, generation_id).json()
    assert body["status"] == "error"
    assert body["video"] is None
    assert body["error"]["name"] == "content_policy"
    assert "content policy" in body["error"]["message"]
    assert balance_get(org_a) == start


def test_errors_use_aimls_shape_and_codes(client: Client, key_a: str, org_a, alice) -> None:
    unauthorized = create(client, None, {"model": "minimax/hailuo-02", "prompt": "x"})
    assert unauthorized.status_code == 401
    assert set(unauthorized.json()) == {"message", "path", "requestId", "statusCode", "timestamp"}
    assert unauthorized.json()["statusCode"] == 401
    assert unauthorized.json()["path"] == PATH

    unknown_model = create(client, key_a, {"model": "minimax/hailuo-99", "prompt": "x"})
    assert unknown_model.status_code == 400
    assert unknown_model.json()["message"].startswith("model:")
    bad = create(client, key_a, {"model": "minimax/hailuo-02", "prompt": "x", "duration": 10, "resolution": "1080P"})
    assert bad.status_code == 400
    assert bad.json()["message"].startswith("duration:")
    missing_id = client.get(PATH, HTTP_AUTHORIZATION=f"Bearer {key_a}")
    assert missing_id.status_code == 400
    assert "generation_id" in missing_id.json()["message"]

    available = balance_get(org_a).available_micros
    billing_services.credits_adjust(organization=org_a, amount_micros=-available, reason="test", staff_user=alice)
    broke = create(client, key_a, {"model": "minimax/hailuo-02", "prompt": "x"})
    assert broke.status_code == 403
    assert broke.json()["message"].startswith("You've run out of credits")


def test_unknown_and_other_organizations_generations_are_404(client: Client, key_a: str, api_key_b: tuple) -> None:
    generation_id = create(client, key_a, {"model": "minimax/hailuo-02", "prompt": "x"}).json()["generation_id"]

    assert read(client, key_a, "gen_doesnotexist").status_code == 404
    cross_tenant = read(client, api_key_b[1], generation_id)
    assert cross_tenant.status_code == 404
    assert cross_tenant.json()["statusCode"] == 404


def test_a_bug_is_a_500_in_aimls_shape(client: Client, key_a: str, monkeypatch) -> None:
    generation_id = create(client, key_a, {"model": "minimax/hailuo-02", "prompt": "x"}).json()["generation_id"]
    monkeypatch.setattr(aimlapi, "job_view", lambda generation: 1 / 0)

    response = read(client, key_a, generation_id)

    assert response.status_code == 500
    assert response.json()["message"] == "Internal server error."
    assert "ZeroDivision" not in response.content.decode()


# --- the universal schema -----------------------------------------------------------------

UNIVERSAL = "/v2/video/generations"


def test_the_universal_path_takes_image_url_last_image_url_and_enhance_prompt(
    client: Client, key_a: str, frames
) -> None:
    body = {
        "model": "minimax/hailuo-02",
        "prompt": "a kite",
        "image_url": frames.first,
        "last_image_url": frames.last,
        "enhance_prompt": False,
    }
    response = client.post(UNIVERSAL, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key_a}")

    assert response.status_code == 200
    generation = Generation.objects.get(public_id=response.json()["id"])
    assert generation.input["first_frame_image"].startswith("upl_")
    assert generation.input["last_frame_image"].startswith("upl_")
    assert generation.input["prompt_optimizer"] is False
    read_back = client.get(UNIVERSAL, {"generation_id": generation.public_id}, HTTP_AUTHORIZATION=f"Bearer {key_a}")
    assert read_back.json()["status"] == "queued"


def test_hailuo_23_fast_without_image_url_is_a_400_naming_image_url(client: Client, key_a: str) -> None:
    body = {"model": "minimax/hailuo-2.3-fast", "prompt": "a kite"}
    response = client.post(UNIVERSAL, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key_a}")

    assert response.status_code == 400
    assert response.json()["message"].startswith("image_url:")


def test_a_last_image_without_a_first_is_a_400_naming_it(client: Client, key_a: str, frames) -> None:
    body = {"model": "minimax/hailuo-02", "prompt": "a kite", "last_image_url": frames.last}
    response = client.post(UNIVERSAL, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key_a}")

    assert response.status_code == 400
    assert response.json()["message"].startswith("last_image_url:")
    assert not Generation.objects.exists()
