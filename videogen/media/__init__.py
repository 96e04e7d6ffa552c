"""Media handling without Django: seed image rules, sandbox video rendering,
and checking video files by decoding them."""

from __future__ import annotations

from videogen.media.images import (
    MAX_IMAGE_BYTES,
    ImageInfo,
    ImageRuleError,
    decode_data_url_or_base64,
    open_image_rgb,
    validate_image,
)
from videogen.media.render import output_size, render_sandbox_video
from videogen.media.video import (
    InvalidVideo,
    VideoInfo,
    extract_poster,
    is_faststart,
    last_frame_png,
    mp4_top_level_boxes,
    probe_video,
)

__all__ = [
    "MAX_IMAGE_BYTES",
    "ImageInfo",
    "ImageRuleError",
    "InvalidVideo",
    "VideoInfo",
    "decode_data_url_or_base64",
    "extract_poster",
    "is_faststart",
    "last_frame_png",
    "mp4_top_level_boxes",
    "open_image_rgb",
    "output_size",
    "probe_video",
    "render_sandbox_video",
    "validate_image",
]
