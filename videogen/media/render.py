"""Rendering stand-in videos for the sandbox, where no provider is called.

A sandbox generation must still end in a file that behaves like a real one:
an H.264 MP4 of the requested size and length that starts playing in a
browser before it has fully downloaded. With a first frame image we move
slowly over it (a Ken Burns effect) and, given a last frame, dissolve into
it; without one we show the prompt over a drifting colour gradient.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageFont

from videogen.media._files import atomic_path
from videogen.media.images import open_image_rgb

# The provider's output sizes are named by their short side.
RESOLUTION_SHORT_SIDES = {"512p": 512, "768p": 768, "1080p": 1080}
DEFAULT_ASPECT = (16, 9)

# "veryfast" encodes 1080p several times faster than real time on one core
# while keeping files about half the size "ultrafast" makes.
X264_PRESET = "veryfast"
X264_CRF = "23"

KEN_BURNS_ZOOM = 1.15  # how far the first frame zooms in over the video
GRADIENT_PERIOD_S = 8.0  # seconds for the gradient to drift one full width
SANDBOX_LABEL = "SANDBOX PREVIEW"

Painter = Callable[[int], Image.Image]


def output_size(resolution: str, aspect: tuple[int, int] | None = None) -> tuple[int, int]:
    """The (width, height) in pixels of a video at `resolution` ("512p",
    "768p" or "1080p", any case).

    The short side is the resolution's number: the height for landscape and
    square pictures, the width for portrait ones. The long side follows the
    aspect ratio `aspect` as (width, height) of the first frame, 16:9 when no
    image is given, rounded to the nearest even number because H.264 in
    yuv420p needs even sizes. So 768p is 1366x768 and 1080p 1920x1080;
    512p is 910x512 (512 x 16/9 = 910.2).
    """
    short = RESOLUTION_SHORT_SIDES.get(resolution.lower())
    if short is None:
        raise ValueError(f"Unknown resolution {resolution!r}; use 512p, 768p or 1080p.")
    aspect_w, aspect_h = aspect or DEFAULT_ASPECT
    if aspect_w <= 0 or aspect_h <= 0:
        raise ValueError(f"Aspect ratio sides must be positive, got {aspect_w}:{aspect_h}.")
    if aspect_w >= aspect_h:
        return _round_even(short * aspect_w / aspect_h), short
    return short, _round_even(short * aspect_h / aspect_w)


def render_sandbox_video(
    dest: Path,
    *,
    width: int,
    height: int,
    duration_s: int,
    prompt: str,
    first_frame: bytes | None = None,
    last_frame: bytes | None = None,
    fps: int = 24,
) -> None:
    """Render a browser-playable H.264 MP4 of exactly `duration_s` seconds to `dest`.

    The file is written beside `dest` and renamed onto it when complete, so a
    reader never sees half a video and running twice is harmless. As with
    the provider, `last_frame` only counts together with `first_frame`. Raises
    ValueError for odd or non-positive sizes and ImageRuleError("corrupt")
    for frame images that cannot be decoded.
    """
    _check_render_args(width, height, duration_s, fps)
    total = duration_s * fps
    if first_frame is not None:
        paint = _ken_burns_painter(first_frame, last_frame, width, height, total)
    else:
        paint = _title_card_painter(prompt, width, height, fps)
    with atomic_path(dest) as tmp:
        _encode(tmp, paint, total, width, height, fps)


def _check_render_args(width: int, height: int, duration_s: int, fps: int) -> None:
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise ValueError(f"Video sizes must be positive even numbers, got {width}x{height}.")
    if duration_s <= 0 or fps <= 0:
        raise ValueError(f"Duration and fps must be positive, got {duration_s} s at {fps} fps.")


def _round_even(value: float) -> int:
    return 2 * round(value / 2)


def _encode(path: Path, paint: Painter, total: int, width: int, height: int, fps: int) -> None:
    # faststart moves the index in front of the media data so playback can
    # begin while the rest downloads.
    with av.open(str(path), mode="w", format="mp4", options={"movflags": "faststart"}) as out:
        stream = out.add_stream("libx264", rate=fps, options={"preset": X264_PRESET, "crf": X264_CRF})
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        time_base = Fraction(1, fps)
        for index in range(total):
            frame = av.VideoFrame.from_image(paint(index))
            frame.pts = index
            frame.time_base = time_base
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def _ease(t: float) -> float:
    """Smoothstep: motion starts and ends gently instead of jerking."""
    t = min(max(t, 0.0), 1.0)
    return t * t * (3 - 2 * t)


def _cover_box(
    source: tuple[int, int], out: tuple[int, int], zoom: float, fx: float, fy: float
) -> tuple[float, float, float, float]:
    """The part of the source shown when it fills the output at `zoom`.

    `fx` and `fy` (0..1) place that part within the room the crop leaves, so
    the box never leaves the picture.
    """
    src_w, src_h = source
    out_w, out_h = out
    if src_w * out_h > src_h * out_w:
        box_w, box_h = src_h * out_w / out_h, float(src_h)
    else:
        box_w, box_h = float(src_w), src_w * out_h / out_w
    box_w, box_h = box_w / zoom, box_h / zoom
    left, top = (src_w - box_w) * fx, (src_h - box_h) * fy
    return left, top, left + box_w, top + box_h


def _prepared_source(data: bytes, out: tuple[int, int], max_zoom: float) -> Image.Image:
    """Decode an image once, shrunk to just the detail the zoom can show,
    so that each frame resamples as few pixels as possible."""
    image = open_image_rgb(data, min_side=math.ceil(max(out) * max_zoom))
    left, _, right, _ = _cover_box(image.size, out, max_zoom, 0.5, 0.5)
    scale = out[0] / (right - left)
    if scale < 1:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
    return image


def _ken_burns_painter(first: bytes, last: bytes | None, width: int, height: int, total: int) -> Painter:
    out = (width, height)
    source = _prepared_source(first, out, KEN_BURNS_ZOOM)
    ending = _still_frame(last, out) if last is not None else None
    # The dissolve takes the final third and ends exactly on the last frame.
    fade_start = total - max(1, round(total / 3))
    span = max(1, total - 1)

    def paint(index: int) -> Image.Image:
        t = _ease(index / span)
        zoom = 1 + (KEN_BURNS_ZOOM - 1) * t
        box = _cover_box(source.size, out, zoom, 0.5 + 0.2 * t, 0.5 - 0.15 * t)
        frame = source.resize(out, Image.Resampling.BILINEAR, box=box)
        if ending is None or index < fade_start:
            return frame
        progress = (index - fade_start) / max(1, total - 1 - fade_start)
        return Image.blend(frame, ending, _ease(progress))

    return paint


def _still_frame(data: bytes, out: tuple[int, int]) -> Image.Image:
    """The image cropped to fill the frame, computed once: the first picture
    keeps moving underneath while it fades in, which is motion enough."""
    image = open_image_rgb(data, min_side=max(out))
    return image.resize(out, Image.Resampling.LANCZOS, box=_cover_box(image.size, out, 1, 0.5, 0.5))


def _title_card_painter(prompt: str, width: int, height: int, fps: int) -> Painter:
    backdrop = _gradient_strip(width, height)
    panel = _text_panel(prompt, width, height)
    position = ((width - panel.width) // 2, (height - panel.height) // 2)
    pixels_per_frame = width / (GRADIENT_PERIOD_S * fps)

    def paint(index: int) -> Image.Image:
        # The strip repeats every `width` pixels, so sliding a window along
        # it drifts forever without a seam.
        offset = round(index * pixels_per_frame) % width
        frame = backdrop.crop((offset, 0, offset + width, height))
        frame.paste(panel, position, panel)
        return frame

    return paint


def _gradient_strip(width: int, height: int) -> Image.Image:
    """A colour gradient twice the frame's width that repeats after one width,
    darker towards the bottom so white text stays readable."""
    row = Image.new("RGB", (2 * width, 1))
    row.putdata([_hue_colour(x / width) for x in range(2 * width)])
    colours = row.resize((2 * width, height), Image.Resampling.NEAREST)
    shade = Image.linear_gradient("L").resize((2 * width, height))
    dark = Image.new("RGB", colours.size, (10, 10, 30))
    return Image.composite(dark, colours, shade.point(lambda v: v * 3 // 5))


def _hue_colour(phase: float) -> tuple[int, int, int]:
    red, green, blue = colorsys.hsv_to_rgb(phase % 1.0, 0.55, 0.85)
    return round(red * 255), round(green * 255), round(blue * 255)


def _text_panel(prompt: str, width: int, height: int) -> Image.Image:
    """A translucent dark card with the sandbox label and the wrapped prompt."""
    font_px = max(12, height // 16)
    font = ImageFont.load_default(size=font_px)
    label_size = max(10, font_px * 3 // 5)
    label_font = ImageFont.load_default(size=label_size)
    pad = font_px // 2
    line_px = round(font_px * 1.25)
    max_text_w = round(width * 0.8) - 2 * pad
    label_px = round(label_size * 1.6)
    max_lines = max(1, (round(height * 0.8) - 2 * pad - label_px) // line_px)
    lines = _wrap(prompt, font, max_text_w, max_lines) if prompt.strip() else []
    text_w = max([label_font.getlength(SANDBOX_LABEL)] + [font.getlength(x) for x in lines])
    panel = Image.new("RGBA", (round(text_w) + 2 * pad, 2 * pad + label_px + line_px * len(lines)), (0, 0, 0, 150))
    draw = ImageDraw.Draw(panel)
    draw.text((pad, pad), SANDBOX_LABEL, font=label_font, fill=(255, 214, 102, 255))
    for number, line in enumerate(lines):
        draw.text((pad, pad + label_px + number * line_px), line, font=font, fill="white")
    return panel


def _wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, max_width: int, max_lines: int) -> list[str]:
    """Greedy word wrap to `max_width` pixels, cut to `max_lines` with "..."."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        for piece in _split_long_word(word, font, max_width):
            candidate = f"{current} {piece}" if current else piece
            if current and font.getlength(candidate) > max_width:
                lines.append(current)
                current = piece
            else:
                current = candidate
    lines.append(current)
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    last = kept[-1]
    while last and font.getlength(last + "...") > max_width:
        last = last[:-1]
    kept[-1] = last.rstrip() + "..."
    return kept


def _split_long_word(word: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, max_width: int) -> list[str]:
    """Break a word wider than a line (a URL, say) into line-sized pieces."""
    pieces: list[str] = []
    while font.getlength(word) > max_width and len(word) > 1:
        cut = 1
        while cut < len(word) and font.getlength(word[: cut + 1]) <= max_width:
            cut += 1
        pieces.append(word[:cut])
        word = word[cut:]
    return [*pieces, word]
