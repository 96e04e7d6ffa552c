"""The generate page: options from the catalog, prices, frame uploads and the server's rules, field by field."""

from __future__ import annotations

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import Organization, User
from billing.models import PriceRule
from billing.selectors import balance_get, price_list
from billing.services import credits_grant
from tests.web.conftest import generation_make, png_bytes
from videogen import catalog
from videogen.models import Generation, Upload
from videogen.services.uploads import upload_create

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def field_error(page: str, field: str) -> str:
    """The message shown next to a field ('' when the field has none)."""
    match = re.search(rf'<p class="field-error" id="error-{field}" role="alert"\s*(hidden)?>(.*?)</p>', page, re.S)
    assert match, f"no error slot for {field}"
    return "" if match.group(1) else match.group(2)


def form(**overrides: str) -> dict[str, str]:
    data = {
        "model": "hailuo-02-fast",
        "prompt": "a paper boat on a rainy street",
        "duration": "6",
        "resolution": "512p",
        "prompt_optimizer": "on",
        "go_fast": "on",
    }
    if catalog.MODELS[overrides.get("model") or data["model"]].first_frame == "required" and not any(
        name in overrides for name in ("first_frame_image", "first_frame_file")
    ):
        data["first_frame_file"] = image_file()  # the model animates a first frame (None in overrides: none sent)
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def image_file(name: str = "frame.png", width: int = 640, height: int = 360) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(width, height), content_type="image/png")


# --- The page ----------------------------------------------------------------------------


def test_the_page_carries_every_models_options_and_rules_and_every_price(web_alice: Client) -> None:
    response = web_alice.get("/generate/")
    assert response.status_code == 200
    page = text(response)
    data = json.loads(re.search(r'<script id="generate-data" type="application/json">(.*?)</script>', page).group(1))
    assert data["models"] == {
        slug: {"name": spec.name, "params": json.loads(json.dumps(spec.describe()))}
        for slug, spec in catalog.MODELS.items()
    }
    assert {key: value["micros"] for key, value in data["prices"].items()} == {
        p["variant"]: p["price_micros"] for p in price_list(catalog.all_variants())
    }
    assert data["prices"]["hailuo-02-fast:6s:512p"]["display"] == "$0.10"
    assert data["available_micros"] == 1_000_000
    assert "maxlength" not in page  # never cut in the browser: the page shows a long prompt as over
    assert 'enctype="multipart/form-data"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    for label in ["Prompt", "Improve my prompt", "Fast mode"]:
        assert f">{label}</label>" in page


def test_the_page_shows_the_price_of_the_chosen_options_before_submitting(web_alice: Client) -> None:
    page = text(web_alice.get("/generate/", {"model": "minimax-hailuo-2"}))
    assert re.search(r'data-testid="price" id="price" aria-live="polite">\$0\.28<', page)
    assert "MiniMax Hailuo 2 · 6 s · 768p · Standard" in page


# --- Submitting ------------------------------------------------------------------------------


def test_submitting_starts_a_web_generation_holds_its_price_and_opens_its_page(
    web_alice: Client, alice: User, org_a: Organization
) -> None:
    response = web_alice.post("/generate/", form(), follow=True)
    generation = Generation.objects.get(organization=org_a)
    assert response.redirect_chain[-1][0] == f"/generations/{generation.public_id}/"
    assert (generation.source, generation.created_by, generation.model) == ("web", alice, "hailuo-02-fast")
    assert generation.input["prompt"] == "a paper boat on a rainy street"
    assert generation.input["go_fast"] is True
    assert generation.price_micros == 100_000
    assert balance_get(org_a).held_micros == 100_000
    assert "Your video is on its way. $0.10 is on hold until it is ready." in text(response)


def test_unchecked_boxes_are_sent_as_off(web_alice: Client, org_a: Organization) -> None:
    web_alice.post("/generate/", form(prompt_optimizer=None, go_fast=None))
    generation = Generation.objects.get(organization=org_a)
    assert generation.input["prompt_optimizer"] is False
    assert generation.input["go_fast"] is False


def test_options_of_other_models_left_on_the_page_without_javascript_are_ignored(
    web_alice: Client, org_a: Organization
) -> None:
    response = web_alice.post(
        "/generate/", form(model="minimax-hailuo-2", mode="pro", resolution="512p", duration="6", go_fast="on")
    )
    assert response.status_code == 302
    generation = Generation.objects.get(organization=org_a)
    assert (generation.input["mode"], generation.input["resolution"]) == ("pro", "1080p")
    assert "go_fast" not in generation.input
    assert generation.price_micros == 490_000


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"model": "hailuo-02", "resolution": "1080p", "duration": "10"}, "duration", "1080p is available only at 6"),
        ({"duration": "7"}, "duration", "Must be one of 6, 10 seconds"),
        ({"resolution": "1080p"}, "resolution", "Must be one of 512p"),
        ({"prompt": "   "}, "prompt", "Is required"),
        ({"prompt": "x" * 2001}, "prompt", "At most 2000 characters (got 2001)"),
        (
            {"model": "hailuo-2.3-fast", "resolution": "768p", "first_frame_file": None},
            "first_frame_image",
            "needs a first frame image",
        ),
        ({"first_frame_file": None}, "first_frame_image", "hailuo-02-fast needs a first frame image"),
        ({"model": "minimax-hailuo-2", "mode": "ultra"}, "mode", "Must be one of standard, pro"),
    ],
)
def test_a_rule_broken_is_explained_next_to_the_field_and_nothing_is_charged(
    web_alice: Client, org_a: Organization, overrides: dict[str, str], field: str, message: str
) -> None:
    response = web_alice.post("/generate/", form(**overrides))
    assert response.status_code == 200
    page = text(response)
    assert message.lower() in field_error(page, field).lower()
    assert "The video was not started: please check the highlighted fields." in page
    assert not Generation.objects.filter(organization=org_a).exists()
    assert balance_get(org_a).available_micros == 1_000_000


def test_a_refused_form_keeps_what_the_user_entered(web_alice: Client, org_a: Organization) -> None:
    upload = upload_create(organization=org_a, data=png_bytes(), field="first_frame_image")
    page = text(
        web_alice.post(
            "/generate/",
            form(model="hailuo-02", resolution="1080p", duration="10", first_frame_image=upload.public_id),
        )
    )
    assert "a paper boat on a rainy street</textarea>" in page
    assert re.search(r'name="model" value="hailuo-02" checked', page)
    assert re.search(r'name="resolution" value="1080p" checked', page)
    assert f'name="first_frame_image" value="{upload.public_id}"' in page
    assert 'alt="First frame preview" src="http' in page


def test_a_short_balance_is_explained_with_a_link_to_buy_credits(web_alice: Client, org_a: Organization) -> None:
    for _ in range(9):
        generation_make(org_a)  # $0.90 held: $0.10 left
    response = web_alice.post("/generate/", form(model="hailuo-02", resolution="1080p", duration="6"))
    assert response.status_code == 200
    page = text(response)
    assert "This generation costs $0.49 but only $0.10 of credit is available." in page
    short = re.search(r'<div class="credit-short" id="credit-short" role="alert"\s*>(.*?)</div>', page, re.S).group(1)
    assert 'href="/billing/"' in short and "Buy credits" in short
    assert Generation.objects.filter(organization=org_a).count() == 9


def test_a_variant_taken_off_sale_is_refused_with_a_message(web_alice: Client, org_a: Organization) -> None:
    PriceRule.objects.filter(model="hailuo-02-fast", duration=6).update(active=False)
    page = text(web_alice.post("/generate/", form()))
    assert "hailuo-02-fast:6s:512p is not available for purchase right now." in page
    assert not Generation.objects.filter(organization=org_a).exists()


def test_the_form_needs_a_csrf_token(alice: User, org_a: Organization) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post("/generate/", form()).status_code == 403
    assert client.post("/generate/upload/", {"field": "first_frame_image", "file": image_file()}).status_code == 403
    assert not Generation.objects.exists()


# --- Frames -----------------------------------------------------------------------------------------


def test_a_frame_is_uploaded_checked_and_previewed_before_the_form_is_sent(
    web_alice: Client, org_a: Organization
) -> None:
    response = web_alice.post("/generate/upload/", {"field": "first_frame_image", "file": image_file()})
    assert response.status_code == 201
    body = response.json()
    upload = Upload.objects.get(public_id=body["id"])
    assert upload.organization == org_a
    assert (body["width"], body["height"], body["field"]) == (640, 360, "first_frame_image")
    preview = body["preview_url"]
    assert web_alice.get(preview[preview.index("/files/") :]).status_code == 200

    web_alice.post("/generate/", form(model="hailuo-2.3-fast", resolution="768p", first_frame_image=body["id"]))
    generation = Generation.objects.get(organization=org_a)
    assert generation.input["first_frame_image"] == body["id"]


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (png_bytes(300, 600), "shorter side must be over 300 px"),
        (png_bytes(1001, 400), "between 2:5 (0.4) and 5:2 (2.5)"),
        (b"GIF89a not really", "JPEG or PNG"),
    ],
)
def test_the_server_checks_uploaded_frames_again_and_names_the_field(web_alice: Client, data: bytes, rule: str) -> None:
    upload = SimpleUploadedFile("frame.png", data, content_type="image/png")
    response = web_alice.post("/generate/upload/", {"field": "last_frame_image", "file": upload})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "last_frame_image"
    assert rule.lower() in error["message"].lower()
    assert not Upload.objects.exists()


def test_an_upload_needs_a_file(web_alice: Client) -> None:
    response = web_alice.post("/generate/upload/", {"field": "first_frame_image"})
    assert response.status_code == 400
    assert response.json()["error"] == {"param": "first_frame_image", "message": "Choose a JPG or PNG image."}


def test_without_javascript_frames_are_sent_with_the_form(web_alice: Client, org_a: Organization) -> None:
    data = form(model="hailuo-2.3-fast", resolution="768p")
    data["first_frame_file"] = image_file()
    response = web_alice.post("/generate/", data)
    assert response.status_code == 302
    generation = Generation.objects.get(organization=org_a)
    upload = Upload.objects.get(public_id=generation.input["first_frame_image"])
    assert (upload.organization, upload.width) == (org_a, 640)


def test_a_bad_frame_sent_with_the_form_is_explained_next_to_that_frame(web_alice: Client, org_a: Organization) -> None:
    data = form()
    data["last_frame_file"] = SimpleUploadedFile("tiny.png", png_bytes(200, 200), content_type="image/png")
    page = text(web_alice.post("/generate/", data))
    assert "shorter side must be over 300 px" in field_error(page, "last_frame_image")
    assert field_error(page, "first_frame_image") == ""
    assert not Generation.objects.exists()


def test_another_organizations_upload_cannot_be_used(
    web_carol: Client, org_a: Organization, org_b: Organization
) -> None:
    alices = upload_create(organization=org_a, data=png_bytes(), field="first_frame_image")
    page = text(web_carol.post("/generate/", form(first_frame_image=alices.public_id)))
    assert "no upload" in field_error(page, "first_frame_image").lower()
    assert 'name="first_frame_image" value=""' in page  # not shown, not kept
    assert 'alt="First frame preview" src=' not in page
    assert not Generation.objects.exists()


# --- Generate again ------------------------------------------------------------------------------------


def test_generate_again_fills_the_form_with_the_earlier_inputs(web_alice: Client, org_a: Organization) -> None:
    upload = upload_create(organization=org_a, data=png_bytes(), field="first_frame_image")
    earlier = generation_make(
        org_a,
        "a glass city at night",
        model="hailuo-02",
        resolution="1080p",
        prompt_optimizer=False,
        first_frame_image=upload.public_id,
    )
    page = text(web_alice.get(f"/generations/{earlier.public_id}/again/"))
    assert "a glass city at night</textarea>" in page
    assert re.search(r'name="model" value="hailuo-02" checked', page)
    assert re.search(r'name="resolution" value="1080p" checked', page)
    assert re.search(r'name="duration" value="6" checked', page)
    assert not re.search(r'name="prompt_optimizer"[^>]*checked', page)
    assert f'name="first_frame_image" value="{upload.public_id}"' in page
    assert "Filled in with the settings of your earlier video." in page
    assert re.search(r'id="price" aria-live="polite">\$0\.49<', page)


def test_generate_again_of_another_organizations_job_is_not_found(
    web_carol: Client, org_a: Organization, org_b: Organization
) -> None:
    alices = generation_make(org_a)
    assert web_carol.get(f"/generations/{alices.public_id}/again/").status_code == 404


def test_the_generate_page_uses_the_active_organizations_balance(
    web_carol: Client, org_a: Organization, org_b: Organization
) -> None:
    credits_grant(organization=org_a, amount_micros=5_000_000, kind="grant", idempotency_key="a5", reason="test")
    page = text(web_carol.get("/generate/"))
    assert re.search(r'data-testid="generate-available">\$1\.00<', page)
