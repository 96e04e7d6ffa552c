"""Rules for the first and last frame images a customer sends.

The rules follow the provider's published limits for seed images: JPG, JPEG
or PNG, at most 20 MB, shorter side over 300 px, aspect ratio between 2:5 and
5:2. Every rejection names its rule so the API can return a precise error.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MIN_SHORT_SIDE_PX = 300  # exclusive: the shorter side must be strictly larger

# Pillow reports camera JPEGs that carry extra pictures as "MPO"; they are JPEGs.
_ACCEPTED_FORMATS = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png"}
_CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png"}
_SIGNATURES = {b"\xff\xd8\xff": "jpeg", b"\x89PNG\r\n\x1a\n": "png"}
# EXIF orientations that turn the picture by 90 degrees, swapping width and height.
_ROTATING_ORIENTATIONS = {5, 6, 7, 8}
_EXIF_ORIENTATION_TAG = 0x0112


@dataclass(frozen=True)
class ImageInfo:
    """What we learned about an accepted image, with sizes as the viewer sees them."""

    format: str
    width: int
    height: int
    content_type: str


class ImageRuleError(ValueError):
    """An image broke one of the seed image rules.

    `rule` is one of "format", "size", "dimensions", "aspect_ratio", "corrupt"
    or "encoding"; `message` is a sentence fit to show the customer.
    """

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


def validate_image(data: bytes) -> ImageInfo:
    """Check `data` against every seed image rule and describe the image.

    Raises ImageRuleError naming the first rule that fails. The format is
    judged by the bytes, never by a file name or a declared content type.
    """
    _check_size(data)
    image = _identify(data)
    width, height = _displayed_size(image)
    _check_dimensions(width, height)
    _check_aspect_ratio(width, height)
    fmt = _ACCEPTED_FORMATS[image.format or ""]
    _check_decodable(data, fmt)
    return ImageInfo(format=fmt, width=width, height=height, content_type=_CONTENT_TYPES[fmt])


def open_image_rgb(data: bytes, *, min_side: int | None = None) -> Image.Image:
    """Decode an image into an upright RGB picture, transparency laid over black.

    With `min_side`, a large JPEG may be decoded at a reduced scale that keeps
    both sides at least that long, which is several times faster.
    """
    try:
        image: Image.Image = Image.open(io.BytesIO(data))
        if min_side:
            image.draft(image.mode, (min_side, min_side))
        image = ImageOps.exif_transpose(image)
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            rgba = image.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
            return Image.alpha_composite(background, rgba).convert("RGB")
        return image.convert("RGB")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageRuleError("corrupt", f"The image could not be decoded ({exc}).") from exc


def decode_data_url_or_base64(value: str) -> bytes | None:
    """Turn a `data:image/...;base64,...` URL or a bare base64 string into bytes.

    Returns None when the value is an http(s) URL, which the caller fetches
    through the outbound module instead. Raises ImageRuleError("encoding") for
    text that is not valid base64, and ImageRuleError("size") early when the
    decoded image would be over the limit anyway.
    """
    text = value.strip()
    if text[:8].lower().startswith(("http://", "https://")):
        return None
    if text[:5].lower() == "data:":
        header, comma, text = text.partition(",")
        if not comma or not header.lower().endswith(";base64"):
            raise ImageRuleError("encoding", "The data URL must have the form data:image/<type>;base64,<data>.")
    return _decode_base64(text)


def _decode_base64(text: str) -> bytes:
    # Clients wrap long base64 over several lines and some use the URL-safe
    # alphabet or drop the padding; none of that changes the bytes meant.
    compact = re.sub(r"\s+", "", text).replace("-", "+").replace("_", "/")
    if not compact:
        raise ImageRuleError("encoding", "The image data is empty.")
    if len(compact) * 3 // 4 > MAX_IMAGE_BYTES + 2:
        _raise_too_large(len(compact) * 3 // 4)
    padded = compact + "=" * (-len(compact) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError) as exc:  # ValueError: text that is not ASCII
        raise ImageRuleError("encoding", f"The image data is not valid base64 ({exc}).") from exc


def _check_size(data: bytes) -> None:
    if len(data) > MAX_IMAGE_BYTES:
        _raise_too_large(len(data))


def _raise_too_large(size: int) -> None:
    megabytes = size / (1024 * 1024)
    raise ImageRuleError(
        "size",
        f"The image is {size:,} bytes ({megabytes:.2f} MB); images must be at most 20 MB ({MAX_IMAGE_BYTES:,} bytes).",
    )


def _sniff(data: bytes) -> str | None:
    for signature, fmt in _SIGNATURES.items():
        if data.startswith(signature):
            return fmt
    return None


def _identify(data: bytes) -> Image.Image:
    """Open the image lazily (header only) and enforce the format rule."""
    sniffed = _sniff(data)
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageRuleError("dimensions", f"The image has too many pixels to process ({exc}).") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if sniffed:
            # It starts like a JPEG or PNG, so the customer sent the right
            # kind of file and it is damaged rather than of the wrong format.
            raise ImageRuleError(
                "corrupt", f"The image looks like a {sniffed.upper()} file but cannot be read."
            ) from exc
        raise ImageRuleError(
            "format", "The file is not a recognisable image; only JPG, JPEG or PNG are accepted."
        ) from exc
    if image.format not in _ACCEPTED_FORMATS:
        raise ImageRuleError("format", f"The image is a {image.format} file; only JPG, JPEG or PNG are accepted.")
    return image


def _displayed_size(image: Image.Image) -> tuple[int, int]:
    width, height = image.size
    try:
        orientation = image.getexif().get(_EXIF_ORIENTATION_TAG)
    except (OSError, SyntaxError, ValueError):
        orientation = None  # unreadable EXIF: show the picture as stored
    if orientation in _ROTATING_ORIENTATIONS:
        return height, width
    return width, height


def _check_dimensions(width: int, height: int) -> None:
    if min(width, height) <= MIN_SHORT_SIDE_PX:
        raise ImageRuleError(
            "dimensions",
            f"The image is {width}×{height} px; its shorter side must be over {MIN_SHORT_SIDE_PX} px.",
        )


def _check_aspect_ratio(width: int, height: int) -> None:
    # Integer cross-multiplication keeps the exact 2:5 and 5:2 boundaries exact.
    if 2 * height <= 5 * width and 2 * width <= 5 * height:
        return
    raise ImageRuleError(
        "aspect_ratio",
        f"The image is {width}×{height} px, a width-to-height ratio of {width / height:.4f}; "
        "the ratio must be between 2:5 (0.4) and 5:2 (2.5).",
    )


def _check_decodable(data: bytes, fmt: str) -> None:
    """Decode enough of the image to know the pixel data is complete."""
    try:
        image = Image.open(io.BytesIO(data))
        if fmt == "png":
            # verify() walks every chunk and its checksum without holding
            # the pixels in memory.
            image.verify()
        else:
            # Decoding at 1/8 scale still reads the whole JPEG stream.
            image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageRuleError(
            "corrupt",
            f"The {fmt.upper()} image is damaged or incomplete and cannot be decoded ({exc}).",
        ) from exc
