"""Atlas Cloud-compatible endpoints: both body forms, duration snapping, uploads and Atlas's error envelope."""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from billing import services as billing_services
from billing.selectors import balance_get
from tests.compat.conftest import jpeg_bytes, png_bytes, run_pipeline
from videogen.compat import atlascloud
from videogen.models import Generation, Source, Upload

pytestmark = pytest.mark.django_db

GENERATE = "/api/v1/model/generateVideo"
# /fast requires an image, as on Atlas.
IMAGE = "data:image/jpeg;base64," + base64.b64encode(jpeg_bytes()).decode()


def generate(client: Client, key: str | None, body: dict):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    return client.post(GENERATE, body, content_type="application/json", **headers)


def prediction(client: Client, key: str, prediction_id: str):
    return client.get(f"/api/v1/model/prediction/{prediction_id}", HTTP_AUTHORIZATION=f"Bearer {key}")


def test_flat_body_is_accepted_and_the_prediction_follows_the_job(client: Client, key_a: str) -> None:
    response = generate(
        client, key_a, {"model": "minimax/hailuo-02/fast", "prompt": "waves", "image": IMAGE, "duration": 10}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["code"] == 200
    data = body["data"]
    assert (data["status"], data["model"], data["outputs"]) == ("processing", "minimax/hailuo-02/fast", [])
    assert body["id"] == data["id"]  # the page's other sample reads the top level
    generation = Generation.objects.get(public_id=data["id"])
    assert (generation.source, generation.model, generation.input["duration"]) == (
        Source.ATLASCLOUD,
        "hailuo-02-fast",
        10,
    )

    run_pipeline(generation.public_id)

    done = prediction(client, key_a, generation.public_id).json()["data"]
    assert done["status"] == "completed"
    assert len(done["outputs"]) == 1
    assert "/files/" in done["outputs"][0]
    assert done["metrics"]["predict_time"] is not None
    assert done["error"] is None


def test_input_form_with_atlas_names_maps_to_our_parameters(client: Client, key_a: str) -> None:
    image = "data:image/jpeg;base64," + base64.b64encode(jpeg_bytes()).decode()
    body = {
        "model": "minimax/hailuo-02/pro",
        "input": {"prompt": "a red kite", "image": image, "enable_prompt_expansion": False},
    }

    data = generate(client, key_a, body).json()["data"]

    generation = Generation.objects.get(public_id=data["id"])
    assert generation.model == "hailuo-02"
    assert generation.input["resolution"] == "1080p"
    assert generation.input["prompt_optimizer"] is False
    assert generation.input["first_frame_image"].startswith("upl_")
    assert prediction(client, key_a, data["id"]).json()["data"]["model"] == "minimax/hailuo-02/pro"


def test_a_duration_below_the_shortest_clip_is_raised_and_said_so(client: Client, key_a: str) -> None:
    body = {
        "model": "minimax/hailuo-02/fast",
        "prompt": "waves",
        "image": IMAGE,
        "width": 512,
        "height": 512,
        "duration": 3,
        "fps": 24,
    }

    data = generate(client, key_a, body).json()["data"]

    assert Generation.objects.get(public_id=data["id"]).input["duration"] == 6
    warnings = " ".join(data["warnings"])
    assert "duration" in warnings
    assert "fps" in warnings


def test_a_duration_the_model_does_not_offer_is_400_naming_it(client: Client, key_a: str) -> None:
    response = generate(
        client, key_a, {"model": "minimax/hailuo-02/fast", "prompt": "waves", "image": IMAGE, "duration": 15}
    )

    assert response.status_code == 400
    assert response.json()["msg"].startswith("duration:")


def test_a_failed_job_is_failed_with_its_error(client: Client, key_a: str, org_a) -> None:
    start = balance_get(org_a)
    prediction_id = generate(
        client, key_a, {"model": "minimax/hailuo-02/fast", "prompt": "sandbox:fail", "image": IMAGE}
    ).json()["id"]
    run_pipeline(prediction_id)

    data = prediction(client, key_a, prediction_id).json()["data"]
    assert data["status"] == "failed"
    assert "content policy" in data["error"]
    assert balance_get(org_a) == start


def test_upload_media_returns_a_link_that_serves_the_image_and_works_as_a_frame(
    client: Client, key_a: str, org_a
) -> None:
    image = png_bytes()
    response = client.post(
        "/api/v1/model/uploadMedia",
        {"file": SimpleUploadedFile("image.png", image, content_type="image/png")},
        HTTP_AUTHORIZATION=f"Bearer {key_a}",
    )

    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["file_name"], data["content_type"], data["size"]) == ("image.png", "image/png", len(image))
    served = client.get(urlsplit(data["download_url"]).path)
    assert b"".join(served.streaming_content) == image

    made = generate(client, key_a, {"model": "minimax/hailuo-02/fast", "prompt": "x", "image": data["download_url"]})
    upload = Upload.objects.get(organization=org_a)
    assert Generation.objects.get(public_id=made.json()["id"]).input["first_frame_image"] == upload.public_id


def test_errors_use_atlas_envelope_and_codes(client: Client, key_a: str, org_a, alice) -> None:
    unauthorized = generate(client, None, {"model": "minimax/hailuo-02/fast", "prompt": "x"})
    assert unauthorized.status_code == 401
    body = unauthorized.json()
    assert (body["code"], body["data"]) == (401, None)
    assert body["msg"]

    assert generate(client, key_a, {"prompt": "x"}).status_code == 400
    assert generate(client, key_a, {"model": "minimax/hailuo-99", "prompt": "x"}).status_code == 404
    conflict = generate(client, key_a, {"model": "minimax/hailuo-02/pro", "prompt": "x", "resolution": "768p"})
    assert conflict.status_code == 400
    assert conflict.json()["msg"].startswith("resolution:")
    bad_image = generate(client, key_a, {"model": "minimax/hailuo-02/fast", "prompt": "x", "image": "ftp://x"})
    assert bad_image.json()["msg"].startswith("image:")
    no_file = client.post("/api/v1/model/uploadMedia", {}, HTTP_AUTHORIZATION=f"Bearer {key_a}")
    assert no_file.status_code == 400
    not_an_image = client.post(
        "/api/v1/model/uploadMedia",
        {"file": SimpleUploadedFile("notes.txt", b"hello", content_type="text/plain")},
        HTTP_AUTHORIZATION=f"Bearer {key_a}",
    )
    assert not_an_image.status_code == 400
    assert not_an_image.json()["msg"].startswith("file:")

    available = balance_get(org_a).available_micros
    billing_services.credits_adjust(organization=org_a, amount_micros=-available, reason="test", staff_user=alice)
    broke = generate(client, key_a, {"model": "minimax/hailuo-02/fast", "prompt": "x", "image": IMAGE})
    assert broke.status_code == 403
    assert broke.json()["code"] == 403
    assert broke.json()["msg"].startswith("Forbidden (quota)")


def test_unknown_and_other_organizations_predictions_are_404(client: Client, key_a: str, api_key_b: tuple) -> None:
    prediction_id = generate(client, key_a, {"model": "minimax/hailuo-02/fast", "prompt": "x", "image": IMAGE}).json()[
        "id"
    ]

    assert prediction(client, key_a, "gen_doesnotexist").status_code == 404
    cross_tenant = prediction(client, api_key_b[1], prediction_id)
    assert cross_tenant.status_code == 404
    assert cross_tenant.json()["code"] == 404


def test_a_bug_is_a_500_in_atlas_envelope(client: Client, key_a: str, monkeypatch) -> None:
    prediction_id = generate(client, key_a, {"model": "minimax/hailuo-02/fast", "prompt": "x", "image": IMAGE}).json()[
        "id"
    ]
    monkeypatch.setattr(atlascloud, "job_view", lambda generation: 1 / 0)

    response = prediction(client, key_a, prediction_id)

    assert response.status_code == 500
    assert (response.json()["code"], response.json()["msg"]) == (500, "Internal server error.")


def test_fast_requires_an_image_and_takes_no_prompt_and_go_fast(client: Client, key_a: str) -> None:
    no_image = generate(client, key_a, {"model": "minimax/hailuo-02/fast", "prompt": "waves"})
    assert no_image.status_code == 400
    assert no_image.json()["msg"].startswith("image:")

    made = generate(client, key_a, {"model": "minimax/hailuo-02/fast", "image": IMAGE, "go_fast": True})

    assert made.status_code == 200, made.content
    generation = Generation.objects.get(public_id=made.json()["data"]["id"])
    assert generation.input["prompt"] == ""
    assert generation.input["go_fast"] is True


def test_hailuo_23_i2v_standard_is_our_hailuo_23_at_768p_from_an_image(client: Client, key_a: str, org_a) -> None:
    no_image = generate(client, key_a, {"model": "minimax/hailuo-2.3/i2v-standard", "prompt": "waves"})
    assert no_image.status_code == 400
    assert no_image.json()["msg"].startswith("image:")
    assert not Generation.objects.filter(organization=org_a).exists()

    made = generate(client, key_a, {"model": "minimax/hailuo-2.3/i2v-standard", "prompt": "waves", "image": IMAGE})

    assert made.status_code == 200, made.content
    assert made.json()["data"]["model"] == "minimax/hailuo-2.3/i2v-standard"
    generation = Generation.objects.get(public_id=made.json()["data"]["id"])
    assert (generation.model, generation.input["resolution"], generation.price_micros) == (
        "hailuo-2.3",
        "768p",
        400_000,
    )
