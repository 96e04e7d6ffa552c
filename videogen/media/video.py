"""Checking video files by decoding them, and taking poster frames from them.

A provider can hand us anything under a .mp4 name: an HTML error page, a
download cut short, an audio-only file. Decoding the stream is the only
reliable way to know a customer will be able to play what we store.
"""

from __future__ import annotations

import contextlib
import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import av.container
import av.video

from videogen.media._files import atomic_path

POSTER_JPEG_QUALITY = 85
# The ISO base media (mov/mp4) demuxer's name lists every brand it reads.
_MOV_FAMILY = "mov"
_QUICKTIME_BRAND = "qt"


@dataclass(frozen=True)
class VideoInfo:
    """What decoding a video file showed."""

    container: str
    codec: str
    duration_s: float
    width: int
    height: int
    frames: int
    pix_fmt: str = ""


class InvalidVideo(Exception):
    """A file that is not a playable video, with a sentence saying why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def probe_video(path: Path) -> VideoInfo:
    """Decode every frame of the first video stream in `path` and describe it.

    Raises InvalidVideo for an empty, fake, truncated or video-less file, and
    FileNotFoundError when there is no file at all.
    """
    if path.stat().st_size == 0:
        raise InvalidVideo(f"{path.name} is empty.")
    with _open_video(path) as (container, stream):
        frames, first = _decode_all(container, stream)
        expected = stream.frames
        if expected and frames < expected:
            raise InvalidVideo(f"{path.name} is truncated: only {frames} of {expected} frames could be decoded.")
        return VideoInfo(
            container=_container_name(container),
            codec=stream.codec_context.name,
            duration_s=_duration_s(container, stream, frames),
            width=first.width,
            height=first.height,
            frames=frames,
            pix_fmt=first.format.name,
        )


def extract_poster(path: Path, dest: Path, *, at_s: float = 0.5) -> None:
    """Write the frame shown at `at_s` seconds (or the last one, if the video is
    shorter) to `dest` as a JPEG at the video's own size.

    The file appears at `dest` only once complete. Raises InvalidVideo when
    the video has no decodable frame.
    """
    if at_s < 0:
        raise ValueError(f"at_s must not be negative, got {at_s}")
    with _open_video(path) as (container, stream):
        frame = _frame_at(container, stream, at_s)
        image = frame.to_image()
    with atomic_path(dest) as tmp:
        image.save(tmp, format="JPEG", quality=POSTER_JPEG_QUALITY)


def last_frame_png(path: Path) -> bytes:
    """The video's last decodable frame as a PNG at the video's own size (lossless, to start another video from).

    Decodes the whole stream: our outputs are seconds long. Raises InvalidVideo when no frame decodes.
    """
    with _open_video(path) as (container, stream):
        last: av.VideoFrame | None = None
        for frame in container.decode(stream):
            last = frame
        if last is None:
            raise InvalidVideo(f"{path.name} holds no decodable frame.")
        image = last.to_image()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def mp4_top_level_boxes(path: Path) -> list[str]:
    """The types of the top-level boxes of an MP4/MOV file, in file order.

    A browser can start playing before the download ends only when "moov"
    comes before "mdat". Reading stops quietly at the first box that does not
    fit in the file.
    """
    boxes: list[str] = []
    size_on_disk = path.stat().st_size
    with path.open("rb") as fh:
        offset = 0
        while offset + 8 <= size_on_disk:
            fh.seek(offset)
            size, kind = struct.unpack(">I4s", fh.read(8))
            if size == 1:  # 64-bit size follows the type
                (size,) = struct.unpack(">Q", fh.read(8))
            elif size == 0:  # the box runs to the end of the file
                size = size_on_disk - offset
            if size < 8 or offset + size > size_on_disk:
                break
            boxes.append(kind.decode("latin-1"))
            offset += size
    return boxes


def is_faststart(path: Path) -> bool:
    """True when the file's index ("moov") precedes its media data ("mdat")."""
    boxes = mp4_top_level_boxes(path)
    return "moov" in boxes and "mdat" in boxes and boxes.index("moov") < boxes.index("mdat")


@contextlib.contextmanager
def _open_video(
    path: Path,
) -> Iterator[tuple[av.container.InputContainer, av.video.VideoStream]]:
    """Open `path` for decoding its first video stream, turning FFmpeg's
    complaints into InvalidVideo."""
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.video:
                raise InvalidVideo(f"{path.name} has no video stream.")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            yield container, stream
    except av.error.FileNotFoundError:
        raise
    except av.FFmpegError as exc:
        raise InvalidVideo(f"{path.name} is not a readable video: {exc}") from exc


def _decode_all(container: av.container.InputContainer, stream: av.video.VideoStream) -> tuple[int, av.VideoFrame]:
    count = 0
    first: av.VideoFrame | None = None
    for frame in container.decode(stream):
        if first is None:
            first = frame
        count += 1
    if first is None:
        raise InvalidVideo("The video stream holds no decodable frame.")
    return count, first


def _frame_at(container: av.container.InputContainer, stream: av.video.VideoStream, at_s: float) -> av.VideoFrame:
    if at_s > 0 and stream.time_base:
        # Jump to the keyframe before the moment and decode forward from there.
        with contextlib.suppress(av.FFmpegError):
            container.seek(int(at_s / stream.time_base), stream=stream, backward=True)
    chosen: av.VideoFrame | None = None
    for frame in container.decode(stream):
        chosen = frame
        if frame.time is not None and frame.time >= at_s:
            break
    if chosen is None:
        raise InvalidVideo("The video stream holds no decodable frame.")
    return chosen


def _container_name(container: av.container.InputContainer) -> str:
    names = container.format.name.split(",")
    if names[0] != _MOV_FAMILY:
        return names[0]
    brand = container.metadata.get("major_brand", "").strip()
    return "mov" if brand == _QUICKTIME_BRAND else "mp4"


def _duration_s(container: av.container.InputContainer, stream: av.video.VideoStream, frames: int) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    rate = stream.average_rate or stream.guessed_rate
    return float(frames / rate) if rate else 0.0
