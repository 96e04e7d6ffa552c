"""The media module, checked on real files: every video here is rendered,
then decoded, and every image is generated with Pillow."""

from __future__ import annotations

import base64
import io
import os
import random
import struct
from fractions import Fraction
from pathlib import Path

import av
import pytest
from PIL import Image, ImageChops, ImageStat

from videogen.media import (
    MAX_IMAGE_BYTES,
    ImageInfo,
    ImageRuleError,
    InvalidVideo,
    decode_data_url_or_base64,
    extract_poster,
    is_faststart,
    output_size,
    probe_video,
    render_sandbox_video,
    validate_image,
)

PROMPT = "A red fox runs across a snowy field at dawn, cinematic lighting"
RED, GREEN, BLUE = (220, 30, 30), (30, 200, 60), (30, 60, 220)


# --- helpers ---------------------------------------------------------------


def image_bytes(width: int, height: int, fmt: str = "JPEG", colour: object = RED) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format=fmt)
    return out.getvalue()


def noisy_jpeg(width: int, height: int) -> bytes:
    """A JPEG whose data cannot be guessed, so cutting it loses real pixels."""
    rng = random.Random(7)
    image = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def split_image(width: int, height: int) -> bytes:
    """Left half red, right half blue: easy to recognise in a decoded frame."""
    image = Image.new("RGB", (width, height), RED)
    image.paste(BLUE, (width // 2, 0, width, height))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def top_level_boxes(path: Path) -> list[str]:
    """Read the MP4 box order independently of the code under test."""
    data = path.read_bytes()
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            (size,) = struct.unpack(">Q", data[offset + 8 : offset + 16])
        boxes.append(kind.decode("latin-1"))
        if size < 8:
            break
        offset += size
    return boxes


def decoded_frames(path: Path) -> list[Image.Image]:
    with av.open(str(path)) as container:
        return [frame.to_image() for frame in container.decode(video=0)]


def stream_pix_fmt(path: Path) -> str:
    with av.open(str(path)) as container:
        return container.streams.video[0].codec_context.format.name


def mean_colour(image: Image.Image, box: tuple[int, int, int, int]) -> tuple[float, ...]:
    return tuple(ImageStat.Stat(image.crop(box)).mean)


def close_to(actual: tuple[float, ...], expected: tuple[int, int, int], tolerance: int = 30) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def blue_edge(image: Image.Image) -> int:
    """The first column, along the middle row, that is more blue than red."""
    row = image.height // 2
    for x in range(image.width):
        red, _, blue = image.getpixel((x, row))
        if blue > red:
            return x
    return image.width


def difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def assert_playable_mp4(path: Path, width: int, height: int, duration_s: int) -> None:
    info = probe_video(path)
    assert abs(info.duration_s - duration_s) <= 0.1
    assert (info.width, info.height) == (width, height)
    assert info.codec == "h264"
    assert info.container == "mp4"
    assert stream_pix_fmt(path) == "yuv420p"
    boxes = top_level_boxes(path)
    assert boxes.index("moov") < boxes.index("mdat"), boxes


def write_plain_mp4(path: Path, *, seconds: int = 2, fps: int = 24) -> None:
    """An MP4 written without faststart, as many tools do: index at the end."""
    with av.open(str(path), mode="w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 90, "yuv420p"
        for index in range(seconds * fps):
            frame = av.VideoFrame.from_image(Image.new("RGB", (160, 90), (index * 5, 0, 0)))
            frame.pts, frame.time_base = index, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def write_audio_only_mp4(path: Path) -> None:
    with av.open(str(path), mode="w", format="mp4") as out:
        stream = out.add_stream("aac", rate=48000, layout="mono")
        for index in range(20):
            frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
            frame.planes[0].update(bytes(4096))
            frame.sample_rate, frame.pts = 48000, index * 1024
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


# --- rendered videos, shared by the tests that only read them --------------


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("renders")
    jobs = {
        "text": {},
        "first": {"first_frame": split_image(640, 360)},
        "first_last": {"first_frame": split_image(640, 360), "last_frame": image_bytes(500, 500, "PNG", GREEN)},
    }
    paths = {}
    for name, frames in jobs.items():
        paths[name] = folder / f"{name}.mp4"
        render_sandbox_video(paths[name], width=320, height=180, duration_s=6, prompt=PROMPT, **frames)
    return paths


# --- render_sandbox_video ---------------------------------------------------


@pytest.mark.parametrize("kind", ["text", "first", "first_last"])
def test_renders_are_6_second_h264_faststart_mp4s(renders: dict[str, Path], kind: str) -> None:
    assert_playable_mp4(renders[kind], 320, 180, 6)
    assert probe_video(renders[kind]).frames == 6 * 24


def test_text_video_visibly_moves(renders: dict[str, Path]) -> None:
    frames = decoded_frames(renders["text"])
    assert difference(frames[0], frames[-1]) > 10


def test_text_video_shows_the_prompt(tmp_path: Path) -> None:
    other = tmp_path / "other.mp4"
    render_sandbox_video(other, width=320, height=180, duration_s=1, prompt="Two cats")
    same = tmp_path / "same.mp4"
    render_sandbox_video(same, width=320, height=180, duration_s=1, prompt=PROMPT)
    # The card's text is the only thing the prompt changes.
    centre = (40, 60, 280, 120)
    a, b = decoded_frames(other)[0].crop(centre), decoded_frames(same)[0].crop(centre)
    assert difference(a, b) > 3


def test_long_unbroken_prompt_still_renders(tmp_path: Path) -> None:
    dest = tmp_path / "long.mp4"
    render_sandbox_video(dest, width=320, height=180, duration_s=1, prompt="x" * 2000 + " end")
    assert probe_video(dest).frames == 24


def test_first_frame_opens_the_video_and_then_moves(renders: dict[str, Path]) -> None:
    frames = decoded_frames(renders["first"])
    opening = frames[0]
    assert close_to(mean_colour(opening, (10, 10, 100, 170)), RED)
    assert close_to(mean_colour(opening, (220, 10, 310, 170)), BLUE)
    # Zooming and panning carry the red/blue edge across the picture.
    assert abs(blue_edge(opening) - blue_edge(frames[-1])) >= 5


def test_large_jpeg_first_frame_keeps_its_picture(tmp_path: Path) -> None:
    image = Image.new("RGB", (2560, 1440), RED)
    image.paste(BLUE, (1280, 0, 2560, 1440))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    dest = tmp_path / "large.mp4"
    render_sandbox_video(dest, width=320, height=180, duration_s=1, prompt="", first_frame=out.getvalue())
    opening = decoded_frames(dest)[0]
    assert close_to(mean_colour(opening, (10, 10, 100, 170)), RED)
    assert close_to(mean_colour(opening, (220, 10, 310, 170)), BLUE)
    assert abs(blue_edge(opening) - 160) <= 2


def test_last_frame_closes_the_video(renders: dict[str, Path]) -> None:
    frames = decoded_frames(renders["first_last"])
    assert close_to(mean_colour(frames[-1], (0, 0, 320, 180)), GREEN)
    # Halfway, before the dissolve, there is no green yet.
    assert not close_to(mean_colour(frames[len(frames) // 2], (0, 0, 320, 180)), GREEN, 60)


def test_portrait_first_frame_fills_a_landscape_video(tmp_path: Path) -> None:
    dest = tmp_path / "portrait.mp4"
    render_sandbox_video(dest, width=320, height=180, duration_s=1, prompt="", first_frame=image_bytes(400, 900))
    opening = decoded_frames(dest)[0]
    # No black bars: the corners show the picture.
    assert close_to(mean_colour(opening, (0, 0, 16, 16)), RED)
    assert close_to(mean_colour(opening, (304, 164, 320, 180)), RED)


def test_real_768p_render(tmp_path: Path) -> None:
    dest = tmp_path / "768p.mp4"
    width, height = output_size("768p")
    render_sandbox_video(
        dest, width=width, height=height, duration_s=6, prompt=PROMPT, first_frame=noisy_jpeg(800, 600)
    )
    assert_playable_mp4(dest, 1366, 768, 6)


def test_ten_seconds_at_25_fps_lasts_ten_seconds(tmp_path: Path) -> None:
    dest = tmp_path / "ten.mp4"
    render_sandbox_video(dest, width=320, height=180, duration_s=10, prompt=PROMPT, fps=25)
    info = probe_video(dest)
    assert abs(info.duration_s - 10) <= 0.1
    assert info.frames == 250


def test_rendering_twice_replaces_the_file_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    dest = tmp_path / "out.mp4"
    render_sandbox_video(dest, width=320, height=180, duration_s=1, prompt="first")
    render_sandbox_video(dest, width=320, height=180, duration_s=2, prompt="second")
    assert abs(probe_video(dest).duration_s - 2) <= 0.1
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


@pytest.mark.parametrize(("width", "height"), [(321, 180), (320, 181), (0, 180), (-2, 180)])
def test_odd_or_empty_sizes_are_refused_without_writing(tmp_path: Path, width: int, height: int) -> None:
    with pytest.raises(ValueError, match="even"):
        render_sandbox_video(tmp_path / "x.mp4", width=width, height=height, duration_s=1, prompt="")
    assert list(tmp_path.iterdir()) == []


def test_undecodable_first_frame_is_reported_as_corrupt(tmp_path: Path) -> None:
    with pytest.raises(ImageRuleError) as caught:
        render_sandbox_video(tmp_path / "x.mp4", width=320, height=180, duration_s=1, prompt="", first_frame=b"junk")
    assert caught.value.rule == "corrupt"
    assert list(tmp_path.iterdir()) == []


# --- probe_video -----------------------------------------------------------


def test_probe_reports_what_it_decoded(renders: dict[str, Path]) -> None:
    info = probe_video(renders["text"])
    assert (info.container, info.codec, info.width, info.height, info.frames) == (
        "mp4",
        "h264",
        320,
        180,
        144,
    )
    assert info.duration_s == pytest.approx(6.0, abs=0.05)


def test_probe_reads_videos_without_faststart(tmp_path: Path) -> None:
    path = tmp_path / "plain.mp4"
    write_plain_mp4(path)
    assert not is_faststart(path)
    assert probe_video(path).frames == 48


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>\n", id="html"),
        pytest.param(random.Random(1).randbytes(64_000), id="random"),
        pytest.param(b"", id="empty"),
        pytest.param(b'{"error": "video not ready"}', id="json"),
    ],
)
def test_probe_rejects_files_that_are_not_videos(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "video.mp4"
    path.write_bytes(content)
    with pytest.raises(InvalidVideo):
        probe_video(path)


@pytest.mark.parametrize("keep", [0.5, 0.97])
def test_probe_rejects_a_truncated_download(renders: dict[str, Path], tmp_path: Path, keep: float) -> None:
    data = renders["first_last"].read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(InvalidVideo, match=r"truncated|not a readable"):
        probe_video(path)


def test_probe_rejects_a_truncated_file_whose_index_was_at_the_end(tmp_path: Path) -> None:
    whole = tmp_path / "plain.mp4"
    write_plain_mp4(whole)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(InvalidVideo):
        probe_video(cut)


def test_probe_rejects_an_mp4_without_video(tmp_path: Path) -> None:
    path = tmp_path / "audio.mp4"
    write_audio_only_mp4(path)
    with pytest.raises(InvalidVideo, match="no video stream"):
        probe_video(path)


def test_probe_of_a_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        probe_video(tmp_path / "nowhere.mp4")


# --- extract_poster ----------------------------------------------------------


def test_poster_is_a_jpeg_of_the_video_size(renders: dict[str, Path], tmp_path: Path) -> None:
    poster = tmp_path / "poster.jpg"
    extract_poster(renders["first"], poster)
    with Image.open(poster) as image:
        image.load()
        assert image.format == "JPEG"
        assert image.size == (320, 180)
        assert close_to(mean_colour(image.convert("RGB"), (10, 10, 100, 170)), RED)


def test_poster_at_the_end_shows_the_last_frame(renders: dict[str, Path], tmp_path: Path) -> None:
    poster = tmp_path / "poster.jpg"
    extract_poster(renders["first_last"], poster, at_s=60)
    with Image.open(poster) as image:
        assert close_to(mean_colour(image.convert("RGB"), (0, 0, 320, 180)), GREEN)


def test_poster_of_a_fake_video_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"<html>Not found</html>")
    with pytest.raises(InvalidVideo):
        extract_poster(fake, tmp_path / "poster.jpg")
    assert not (tmp_path / "poster.jpg").exists()


# --- validate_image ----------------------------------------------------------


def rule_of(data: bytes) -> str:
    with pytest.raises(ImageRuleError) as caught:
        validate_image(data)
    return caught.value.rule


def test_accepts_jpeg_and_png_and_describes_them() -> None:
    assert validate_image(image_bytes(1280, 720)) == ImageInfo("jpeg", 1280, 720, "image/jpeg")
    assert validate_image(image_bytes(720, 1280, "PNG")) == ImageInfo("png", 720, 1280, "image/png")


def test_camera_jpeg_with_extra_pictures_is_a_jpeg() -> None:
    out = io.BytesIO()
    Image.new("RGB", (600, 400), RED).save(
        out, format="MPO", save_all=True, append_images=[Image.new("RGB", (600, 400))]
    )
    assert validate_image(out.getvalue()).format == "jpeg"


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "BMP", "TIFF"])
def test_other_image_formats_are_refused_by_content(fmt: str) -> None:
    with pytest.raises(ImageRuleError) as caught:
        validate_image(image_bytes(800, 600, fmt))
    assert caught.value.rule == "format"
    assert fmt in caught.value.message


def test_things_that_are_not_images_break_the_format_rule() -> None:
    assert rule_of(b"<html><body>Forbidden</body></html>") == "format"
    assert rule_of(b"") == "format"


def test_shorter_side_must_be_over_300_px() -> None:
    assert validate_image(image_bytes(301, 700)).width == 301
    assert validate_image(image_bytes(700, 301)).height == 301
    for width, height in [(300, 700), (700, 300)]:
        with pytest.raises(ImageRuleError) as caught:
            validate_image(image_bytes(width, height))
        assert caught.value.rule == "dimensions"
        assert f"{width}×{height} px" in caught.value.message
        assert "300 px" in caught.value.message


def test_aspect_ratio_must_be_within_2_5_and_5_2() -> None:
    assert validate_image(image_bytes(400, 1000)).height == 1000
    assert validate_image(image_bytes(1000, 400)).width == 1000
    for width, height in [(400, 1001), (1001, 400)]:
        with pytest.raises(ImageRuleError) as caught:
            validate_image(image_bytes(width, height, "PNG"))
        assert caught.value.rule == "aspect_ratio"
        assert f"{width}×{height}" in caught.value.message


def test_images_are_limited_to_20_mb() -> None:
    # Bytes after a JPEG's end marker are ignored by decoders, which makes a
    # valid image of any size cheap to build.
    small = image_bytes(800, 600)
    at_limit = small + bytes(MAX_IMAGE_BYTES - len(small))
    assert validate_image(at_limit).format == "jpeg"
    with pytest.raises(ImageRuleError) as caught:
        validate_image(at_limit + b"\0")
    assert caught.value.rule == "size"
    assert "20 MB" in caught.value.message
    assert f"{MAX_IMAGE_BYTES + 1:,}" in caught.value.message


def test_damaged_images_are_corrupt() -> None:
    jpeg = noisy_jpeg(800, 600)
    assert rule_of(jpeg[: len(jpeg) // 2]) == "corrupt"
    png = image_bytes(800, 600, "PNG")
    damaged = bytearray(png)
    idat = png.index(b"IDAT")
    damaged[idat + 10] ^= 0xFF
    assert rule_of(bytes(damaged)) == "corrupt"
    assert rule_of(png[:40]) == "corrupt"


def test_sizes_are_reported_as_the_picture_is_shown() -> None:
    image = Image.new("RGB", (800, 400), RED)
    exif = image.getexif()
    exif[0x0112] = 6  # stored sideways, shown rotated by 90 degrees
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    info = validate_image(out.getvalue())
    assert (info.width, info.height) == (400, 800)


# --- decode_data_url_or_base64 -----------------------------------------------


def test_data_url_is_decoded() -> None:
    png = image_bytes(400, 400, "PNG")
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    assert decode_data_url_or_base64(url) == png
    assert validate_image(decode_data_url_or_base64(url) or b"").format == "png"


def test_raw_base64_is_decoded_even_wrapped_unpadded_or_url_safe() -> None:
    data = os.urandom(1000) + b"\xfb\xff"
    encoded = base64.b64encode(data).decode()
    wrapped = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    assert decode_data_url_or_base64(wrapped) == data
    assert decode_data_url_or_base64(encoded.rstrip("=")) == data
    assert decode_data_url_or_base64(base64.urlsafe_b64encode(data).decode()) == data


@pytest.mark.parametrize("url", ["https://example.com/cat.png", "http://example.com/a.jpg", "  HTTPS://EXAMPLE.COM/x"])
def test_http_urls_are_left_for_fetching(url: str) -> None:
    assert decode_data_url_or_base64(url) is None


@pytest.mark.parametrize(
    "value",
    ["not base64 at all!", "data:image/png,rawbytes", "", "data:image/png;base64,", "abcde"],
)
def test_invalid_encodings_are_refused(value: str) -> None:
    with pytest.raises(ImageRuleError) as caught:
        decode_data_url_or_base64(value)
    assert caught.value.rule == "encoding"


def test_base64_of_an_oversized_image_is_refused_as_size() -> None:
    with pytest.raises(ImageRuleError) as caught:
        decode_data_url_or_base64("QUFB" * (MAX_IMAGE_BYTES // 3 + 10))
    assert caught.value.rule == "size"


# --- output_size -------------------------------------------------------------


def test_default_sizes_are_16_9() -> None:
    assert output_size("768p") == (1366, 768)
    assert output_size("1080P") == (1920, 1080)
    assert output_size("512p") == (910, 512)


@pytest.mark.parametrize(
    ("resolution", "aspect", "expected"),
    [
        ("768p", (9, 16), (768, 1366)),
        ("1080p", (1, 1), (1080, 1080)),
        ("512p", (4, 3), (682, 512)),
        ("1080p", (5, 2), (2700, 1080)),
        ("768p", (1000, 2500), (768, 1920)),
        ("768p", (1366, 768), (1366, 768)),
    ],
)
def test_first_frame_aspect_keeps_the_short_side(
    resolution: str, aspect: tuple[int, int], expected: tuple[int, int]
) -> None:
    assert output_size(resolution, aspect) == expected


def test_unknown_resolution_is_refused() -> None:
    with pytest.raises(ValueError, match="720p"):
        output_size("720p")


def test_non_ascii_text_is_an_encoding_error_not_a_crash() -> None:
    with pytest.raises(ImageRuleError) as caught:
        decode_data_url_or_base64("data:image/png;base64,ÿÿÿÿ")
    assert caught.value.rule == "encoding"
