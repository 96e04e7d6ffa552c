"""The showcase: example videos on the landing page, pricing and model cards, managed by operators in the admin.

A fresh install is seeded with a few sandbox-rendered clips (`manage.py showcase_seed`, run by `bin/run`) so
the public pages are not empty; operators replace them with real examples.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.core.files import File
from PIL import Image, ImageDraw

from videogen import catalog
from videogen.media import extract_poster, output_size, render_sandbox_video
from videogen.models import ShowcaseClip


@dataclass(frozen=True)
class SeedClip:
    title: str
    prompt: str
    model: str
    resolution: str
    duration: int = 6


SEED_CLIPS = (
    SeedClip(
        "Fox at dawn",
        "A red fox trots through fresh snow at dawn, low tracking shot, soft golden light",
        "hailuo-02",
        "768p",
    ),
    SeedClip(
        "Harbor lights",
        "Fishing boats rock in a quiet harbor at dusk, lanterns flicker on the water",
        "minimax-hailuo-2",
        "768p",
    ),
    SeedClip(
        "Paper boat",
        "A paper boat drifts down a rainy street, close-up, raindrops rippling around it",
        "hailuo-02-fast",
        "512p",
    ),
)


def showcase_seed(clips: tuple[SeedClip, ...] = SEED_CLIPS) -> int:
    """Render and store the example clips when the showcase is empty; returns how many were added.

    Safe to run on every start: once any clip exists (seeded or the operators' own), it does nothing.
    """
    if ShowcaseClip.objects.exists():
        return 0
    for position, clip in enumerate(clips):
        _seed_one(clip, position)
    return len(clips)


def _seed_one(clip: SeedClip, position: int) -> ShowcaseClip:
    width, height = output_size(clip.resolution)
    # A model that animates a first frame is shown animating one, as a customer's request would be.
    first_frame = _painted_frame(width, height) if catalog.MODELS[clip.model].first_frame == "required" else None
    with tempfile.TemporaryDirectory() as folder:
        video_path, poster_path = Path(folder) / "clip.mp4", Path(folder) / "clip.jpg"
        render_sandbox_video(
            video_path,
            width=width,
            height=height,
            duration_s=clip.duration,
            prompt=clip.prompt,
            first_frame=first_frame,
        )
        extract_poster(video_path, poster_path)
        item = ShowcaseClip(
            title=clip.title,
            prompt=clip.prompt,
            model=clip.model,
            duration=clip.duration,
            resolution=clip.resolution,
            position=position,
        )
        slug = f"seed-{position}-{clip.model}"
        with video_path.open("rb") as video, poster_path.open("rb") as poster:
            item.video.save(f"{slug}.mp4", File(video), save=False)
            item.poster.save(f"{slug}.jpg", File(poster), save=False)
        item.save()
    return item


def _painted_frame(width: int, height: int) -> bytes:
    """A still to animate: a rainy street at dusk with a paper boat, drawn rather than shipped as a file."""
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):  # dusk sky fading into a wet street
        shade = y / height
        draw.line([(0, y), (width, y)], fill=(int(40 + 60 * shade), int(60 + 50 * shade), int(110 - 30 * shade)))
    for x in range(0, width, max(1, width // 24)):  # rain
        draw.line([(x, 0), (x + width // 60, height // 2)], fill=(150, 170, 200), width=1)
    boat_y = int(height * 0.72)
    left, right = int(width * 0.38), int(width * 0.62)
    draw.polygon(
        [
            (left, boat_y),
            (right, boat_y),
            (int(width * 0.57), boat_y + height // 12),
            (int(width * 0.43), boat_y + height // 12),
        ],
        fill=(240, 236, 225),
    )
    draw.polygon(
        [(int(width * 0.5), boat_y - height // 6), (int(width * 0.45), boat_y), (int(width * 0.55), boat_y)],
        fill=(250, 248, 240),
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
