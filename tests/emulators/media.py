"""Small real media files for tests, made with PyAV."""

from __future__ import annotations

import functools
import io

import av


@functools.cache
def make_mp4(*, seconds: int = 1, size: int = 64, fps: int = 24) -> bytes:
    """An H.264 MP4 of `seconds` seconds, `size` x `size` pixels, brightening frame by frame."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for index in range(seconds * fps):
            frame = av.VideoFrame(size, size, "yuv420p")
            luma = 16 + (index * 200 // max(1, seconds * fps - 1))
            for plane, value in zip(frame.planes, (luma, 128, 128), strict=True):
                plane.update(bytes([value]) * plane.buffer_size)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()
