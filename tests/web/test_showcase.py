"""The showcase: example videos, managed in the admin, on the landing page, pricing and each model's card."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client

from accounts.models import Organization
from tests.web.conftest import generation_make
from videogen.models import ShowcaseClip
from videogen.services.showcase import SeedClip, showcase_seed

pytestmark = pytest.mark.django_db

ONE_CLIP = (SeedClip("Paper boat", "A paper boat drifts down a rainy street", "hailuo-02-fast", "512p"),)


def local(url: str) -> str:
    return url[url.index("/files/") :]


def test_seeding_fills_an_empty_showcase_once_with_playable_clips(client: Client) -> None:
    assert showcase_seed(ONE_CLIP) == 1
    assert showcase_seed(ONE_CLIP) == 0  # every start of bin/run: nothing more once there is a clip
    clip = ShowcaseClip.objects.get()
    assert (clip.model, clip.resolution, clip.duration, clip.published) == ("hailuo-02-fast", "512p", 6, True)
    assert default_storage.exists(clip.video.name) and default_storage.exists(clip.poster.name)
    page = client.get("/").content.decode()
    video = re.search(r'<video class="showcase-video"[^>]*src="([^"]+)"', page, re.S).group(1)
    response = client.get(local(video))
    assert (response.status_code, response["Content-Type"]) == (200, "video/mp4")


def test_the_landing_page_pricing_and_model_cards_show_published_clips_with_prompt_and_settings(
    client: Client,
) -> None:
    showcase_seed(ONE_CLIP)
    hidden = ShowcaseClip.objects.create(
        title="Draft", prompt="not ready to show", model="hailuo-02", video="showcase/draft.mp4", published=False
    )
    home = client.get("/").content.decode()
    assert "Made with Hailuo Studio" in home
    assert "“A paper boat drifts down a rainy street”" in home
    assert "Hailuo 02 Fast · 6 s · 512p" in home
    # The clip's model card carries it too: the landing page shows it twice (showcase and card).
    assert home.count('data-testid="showcase-clip"') == 2
    pricing = client.get("/pricing/").content.decode()
    card = re.search(r'<section class="panel" aria-labelledby="price-hailuo-02-fast">(.*?)</section>', pricing, re.S)
    assert "A paper boat drifts down a rainy street" in card.group(1)
    assert hidden.prompt not in home and hidden.prompt not in pricing


def test_without_clips_the_pages_show_no_empty_showcase(client: Client) -> None:
    page = client.get("/").content.decode()
    assert "Made with Hailuo Studio" not in page and "showcase-clip" not in page


def test_operators_manage_the_showcase_in_the_admin(admin_client: Client) -> None:
    showcase_seed(ONE_CLIP)
    clip = ShowcaseClip.objects.get()
    changelist = admin_client.get("/admin/videogen/showcaseclip/")
    assert changelist.status_code == 200 and "Paper boat" in changelist.content.decode()
    response = admin_client.post(
        f"/admin/videogen/showcaseclip/{clip.pk}/change/",
        {
            "title": "Paper boat",
            "prompt": clip.prompt,
            "model": clip.model,
            "duration": "6",
            "resolution": "512p",
            "position": "3",
            # "published" left out: unchecked
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    clip.refresh_from_db()
    assert (clip.position, clip.published) == (3, False)
    assert "showcase-clip" not in Client().get("/").content.decode()


def test_the_command_seeds_the_showcase(capsys: Any) -> None:
    ShowcaseClip.objects.create(title="Own", prompt="an operator's clip", model="hailuo-02", video="showcase/own.mp4")
    call_command("showcase_seed")
    assert "already has clips" in capsys.readouterr().out
    assert ShowcaseClip.objects.count() == 1


def test_the_dashboard_shows_examples_until_the_first_video_of_ones_own(web_alice: Client, org_a: Organization) -> None:
    showcase_seed(ONE_CLIP)
    page = web_alice.get("/dashboard/").content.decode()
    assert 'data-testid="dashboard-showcase"' in page and "A paper boat drifts down a rainy street" in page
    generation_make(org_a, "my own first video")
    page = web_alice.get("/dashboard/").content.decode()
    assert 'data-testid="dashboard-showcase"' not in page
