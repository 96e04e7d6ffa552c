"""POST /api/v1/uploads and GET /api/v1/models."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import image_file, png_bytes
from videogen.models import Generation, Upload

pytestmark = pytest.mark.django_db(transaction=True)

UPLOADS = "/api/v1/uploads"


def test_an_uploaded_image_gets_an_id_and_a_signed_url(api_a, org_a) -> None:
    response = api_a.post(UPLOADS, {"file": image_file(png_bytes(800, 450))}, format="multipart")

    assert response.status_code == 201
    body = response.json()
    assert body["id"].startswith("upl_")
    assert body["object"] == "upload"
    assert (body["width"], body["height"], body["content_type"]) == (800, 450, "image/png")
    assert body["size_bytes"] == len(png_bytes(800, 450))
    assert body["created_at"].endswith("Z")
    # The signed URL needs no API key and serves the very image.
    image = APIClient().get(urlparse(body["url"]).path)
    assert image.status_code == 200
    assert b"".join(image.streaming_content) == png_bytes(800, 450)
    assert Upload.objects.get(public_id=body["id"]).organization == org_a


def test_an_upload_is_usable_as_the_first_frame(api_a) -> None:
    upload = api_a.post(UPLOADS, {"file": image_file()}, format="multipart").json()
    body = {"model": "hailuo-2.3-fast", "input": {"prompt": "the bird takes off", "first_frame_image": upload["id"]}}
    response = api_a.post("/api/v1/generations", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["input"]["first_frame_image"] == upload["id"]
    assert Generation.objects.get(public_id=response.json()["id"]).input["first_frame_image"] == upload["id"]


def test_a_jpeg_is_accepted(api_a) -> None:
    response = api_a.post(UPLOADS, {"file": image_file(png_bytes(fmt="JPEG"), "f.jpg")}, format="multipart")
    assert response.status_code == 201
    assert response.json()["content_type"] == "image/jpeg"


@pytest.mark.parametrize(
    "data",
    [
        b"GIF89a not really",
        png_bytes(300, 300),  # the shorter side must be over 300 px
        png_bytes(1200, 400),  # wider than 5:2
    ],
)
def test_images_breaking_the_rules_are_400_naming_file(api_a, data) -> None:
    response = api_a.post(UPLOADS, {"file": image_file(data)}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "file"
    assert not Upload.objects.exists()


def test_a_missing_file_field_is_400(api_a) -> None:
    response = api_a.post(UPLOADS, {"image": image_file()}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "code": "required",
        "message": "file: send the image in the multipart field 'file'.",
        "param": "file",
    }


def test_an_image_over_20_mb_is_413(api_a) -> None:
    big = png_bytes() + b"\0" * (20 * 1024 * 1024)
    response = api_a.post(UPLOADS, {"file": image_file(big)}, format="multipart")
    assert response.status_code == 413
    assert response.json()["error"]["param"] == "file"
    assert not Upload.objects.exists()


def test_an_upload_that_is_not_multipart_is_415(api_a) -> None:
    response = api_a.post(UPLOADS, data=png_bytes(), content_type="image/png")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_uploads_need_a_key(db) -> None:
    response = APIClient().post(UPLOADS, {"file": image_file()}, format="multipart")
    assert response.status_code == 401


def test_another_organizations_upload_is_not_usable_and_is_not_found(api_a, api_b) -> None:
    upload = api_a.post(UPLOADS, {"file": image_file()}, format="multipart").json()
    body = {"model": "hailuo-2.3-fast", "input": {"prompt": "x", "first_frame_image": upload["id"]}}
    response = api_b.post("/api/v1/generations", body, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["param"] == "first_frame_image"


# --- Models --------------------------------------------------------------------------------------------


def test_the_catalog_lists_every_model_with_parameters_rules_and_prices(api_a) -> None:
    response = api_a.get("/api/v1/models")
    assert response.status_code == 200
    models = {m["id"]: m for m in response.json()["data"]}
    assert set(models) == {"hailuo-02", "hailuo-02-fast", "hailuo-2.3", "hailuo-2.3-fast", "minimax-hailuo-2"}
    fast = models["hailuo-02-fast"]
    assert fast["object"] == "model"
    assert fast["parameters"]["duration"]["allowed"] == [6, 10]
    assert fast["parameters"]["prompt"] == {"type": "string", "required": True, "max_length": 2000}
    assert "go_fast" in fast["parameters"]
    six = next(p for p in fast["prices"] if p["duration"] == 6)
    assert (six["price"], six["price_micros"], six["currency"]) == ("0.10", 100_000, "usd")
    # Every upstream of hailuo-02-fast animates a first frame; hailuo-02 also works from text.
    required = {slug: m["parameters"]["first_frame_image"]["required"] for slug, m in models.items()}
    assert required == {
        "hailuo-02": False,
        "hailuo-02-fast": True,
        "hailuo-2.3": False,
        "hailuo-2.3-fast": True,
        "minimax-hailuo-2": False,
    }
    assert models["hailuo-02"]["parameters"]["resolution"]["max_duration"] == {"1080p": 6}
    assert {p["mode"] for p in models["minimax-hailuo-2"]["prices"]} == {"standard", "pro"}


def test_the_catalog_needs_a_key(db) -> None:
    assert APIClient().get("/api/v1/models").status_code == 401
