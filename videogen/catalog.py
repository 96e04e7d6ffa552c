"""The models we sell, their parameters and the rules a request must satisfy.

The catalog is code, not data: it describes what the upstream models accept.
Prices live in billing's price rules, keyed by the variants listed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from billing.models import Variant
from core.errors import ParamError

MAX_PROMPT_CHARS = 2000
IMAGE_FIELDS = ("first_frame_image", "last_frame_image")


@dataclass(frozen=True)
class ModelSpec:
    slug: str
    name: str
    description: str
    durations: tuple[int, ...]
    resolutions: tuple[str, ...]
    default_resolution: str
    # Resolutions limited to some durations, e.g. 1080p only at 6 s.
    resolution_max_duration: tuple[tuple[str, int], ...] = ()
    # When a model has modes, the mode decides the resolution.
    modes: tuple[tuple[str, str], ...] = ()
    first_frame: str = "optional"  # "required" | "optional"
    last_frame: bool = True
    go_fast: bool = False
    prompt_optimizer: bool = True

    @property
    def default_duration(self) -> int:
        return self.durations[0]

    def max_duration_for(self, resolution: str) -> int | None:
        return dict(self.resolution_max_duration).get(resolution)

    def variants(self) -> list[Variant]:
        if self.modes:
            return [Variant(self.slug, d, res, mode) for mode, res in self.modes for d in self.durations]
        found = []
        for res in self.resolutions:
            limit = self.max_duration_for(res)
            found += [Variant(self.slug, d, res) for d in self.durations if limit is None or d <= limit]
        return found

    def describe(self) -> dict[str, Any]:
        """The parameters and rules, as the API and the web form show them."""
        params: dict[str, Any] = {
            # Required unless a first frame is given (see _prompt).
            "prompt": {"type": "string", "required": True, "max_length": MAX_PROMPT_CHARS},
            "duration": {"type": "integer", "allowed": list(self.durations), "default": self.default_duration},
            "resolution": {
                "type": "string",
                "allowed": list(self.resolutions),
                "default": self.default_resolution,
                "max_duration": dict(self.resolution_max_duration),
            },
            "prompt_optimizer": {"type": "boolean", "default": True},
            "first_frame_image": {"type": "image", "required": self.first_frame == "required"},
        }
        if self.modes:
            params["mode"] = {
                "type": "string",
                "allowed": [m for m, _ in self.modes],
                "default": self.modes[0][0],
                "resolution": dict(self.modes),
            }
            params["resolution"]["derived_from"] = "mode"
        if self.last_frame:
            params["last_frame_image"] = {"type": "image", "required": False}
        if self.go_fast:
            params["go_fast"] = {"type": "boolean", "default": False}
        return params


MODELS: dict[str, ModelSpec] = {
    spec.slug: spec
    for spec in (
        ModelSpec(
            slug="hailuo-02",
            name="Hailuo 02",
            description="MiniMax's flagship: natural physics and camera motion, 768p or native 1080p.",
            durations=(6, 10),
            resolutions=("768p", "1080p"),
            default_resolution="768p",
            resolution_max_duration=(("1080p", 6),),
        ),
        ModelSpec(
            slug="hailuo-02-fast",
            name="Hailuo 02 Fast",
            description="Quick, low-cost 512p image-to-video clips.",
            durations=(6, 10),
            resolutions=("512p",),
            default_resolution="512p",
            # Every real provider of this model requires a first frame (Segmind's seed page, Atlas's
            # /fast, MiniMax's 512P), so the catalog does too: a request without one is refused
            # before anything is held, on every endpoint, and the sandbox follows the same rule.
            first_frame="required",
            go_fast=True,
        ),
        ModelSpec(
            slug="hailuo-2.3-fast",
            name="Hailuo 2.3 Fast",
            description="Hailuo 2.3 animating a first frame, 768p or 1080p.",
            durations=(6, 10),
            resolutions=("768p", "1080p"),
            default_resolution="768p",
            resolution_max_duration=(("1080p", 6),),
            first_frame="required",
            last_frame=False,
        ),
        ModelSpec(
            slug="hailuo-2.3",
            name="Hailuo 2.3",
            description="Hailuo 2.3 from text or a first frame, 768p or 1080p.",
            durations=(6, 10),
            resolutions=("768p", "1080p"),
            default_resolution="768p",
            # MiniMax publishes MiniMax-Hailuo-2.3 for text or a first frame: 768P 6/10 s, 1080P 6 s; no last frame.
            resolution_max_duration=(("1080p", 6),),
            last_frame=False,
        ),
        ModelSpec(
            slug="minimax-hailuo-2",
            name="MiniMax Hailuo 2",
            description="Cinematic clips from text or an image, in standard (768p) or pro (1080p) mode.",
            durations=(6,),
            resolutions=("768p", "1080p"),
            default_resolution="768p",
            modes=(("standard", "768p"), ("pro", "1080p")),
        ),
    )
}


def model_get(slug: str) -> ModelSpec:
    try:
        return MODELS[slug]
    except KeyError:
        known = ", ".join(MODELS)
        raise ParamError("model", "unknown_model", f"model: unknown model {slug!r}; choose one of {known}.") from None


def all_variants() -> list[Variant]:
    return [variant for spec in MODELS.values() for variant in spec.variants()]


def _bool(params: dict[str, Any], name: str, default: bool) -> bool:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise ParamError(name, "type", f"{name}: must be true or false.")


def _duration(spec: ModelSpec, value: Any) -> int:
    if value is None or value == "":
        return spec.default_duration
    if isinstance(value, bool):
        value = None
    elif isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    allowed = ", ".join(str(d) for d in spec.durations)
    if not isinstance(value, int) or value not in spec.durations:
        raise ParamError("duration", "allowed_values", f"duration: must be one of {allowed} seconds for {spec.slug}.")
    return value


def _resolution(spec: ModelSpec, value: Any, mode: str) -> str:
    if spec.modes:
        derived = dict(spec.modes)[mode]
        if value not in (None, "") and str(value).lower() != derived:
            raise ParamError("resolution", "mode", f"resolution: {spec.slug} in {mode} mode renders {derived}.")
        return derived
    if value in (None, ""):
        return spec.default_resolution
    resolution = str(value).lower()
    if resolution not in spec.resolutions:
        allowed = ", ".join(spec.resolutions)
        raise ParamError("resolution", "allowed_values", f"resolution: must be one of {allowed} for {spec.slug}.")
    return resolution


def _mode(spec: ModelSpec, value: Any) -> str:
    if not spec.modes:
        if value not in (None, ""):
            raise ParamError("mode", "not_supported", f"mode: {spec.slug} has no modes.")
        return ""
    if value in (None, ""):
        return spec.modes[0][0]
    allowed = [m for m, _ in spec.modes]
    if value not in allowed:
        raise ParamError("mode", "allowed_values", f"mode: must be one of {', '.join(allowed)}.")
    return str(value)


def _prompt(value: Any, *, has_first_frame: bool) -> str:
    if value in (None, "") and has_first_frame:
        return ""  # the first frame is animated as it is (Atlas's /fast takes no prompt, MiniMax neither)
    if not isinstance(value, str) or not value.strip():
        raise ParamError(
            "prompt", "required", "prompt: is required (unless a first frame is given) and must be a non-empty string."
        )
    if len(value) > MAX_PROMPT_CHARS:
        raise ParamError(
            "prompt", "max_length", f"prompt: must be at most {MAX_PROMPT_CHARS} characters (got {len(value)})."
        )
    return value


def _image_ref(spec: ModelSpec, params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value in (None, ""):
        if name == "first_frame_image" and spec.first_frame == "required":
            raise ParamError(name, "required", f"{name}: {spec.slug} needs a first frame image.")
        return None
    if name == "last_frame_image" and not spec.last_frame:
        raise ParamError(name, "not_supported", f"{name}: {spec.slug} does not take a last frame.")
    if not isinstance(value, str):
        raise ParamError(name, "type", f"{name}: must be an https URL, a data URL, base64 or an upload id.")
    return value


def validate_params(model: str, params: dict[str, Any]) -> dict[str, Any]:
    """Check a request against the model's rules and return normalized parameters.

    Images are returned as given (URL, data URL, base64 or upload id); their
    contents are checked by the generation service, which may fetch them.
    """
    spec = model_get(model)
    mode = _mode(spec, params.get("mode"))
    duration = _duration(spec, params.get("duration"))
    resolution = _resolution(spec, params.get("resolution"), mode)
    limit = spec.max_duration_for(resolution)
    if limit is not None and duration > limit:
        raise ParamError(
            "duration", "resolution_duration", f"duration: {resolution} is available only at {limit} seconds."
        )
    normalized: dict[str, Any] = {
        "prompt": _prompt(params.get("prompt"), has_first_frame=params.get("first_frame_image") not in (None, "")),
        "duration": duration,
        "resolution": resolution,
        "prompt_optimizer": _bool(params, "prompt_optimizer", True),
        "first_frame_image": _image_ref(spec, params, "first_frame_image"),
    }
    if spec.modes:
        normalized["mode"] = mode
    if spec.last_frame:
        normalized["last_frame_image"] = _image_ref(spec, params, "last_frame_image")
        if normalized["last_frame_image"] and not normalized["first_frame_image"]:
            raise ParamError(
                "last_frame_image", "requires_first_frame", "last_frame_image: needs a first_frame_image as well."
            )
    elif params.get("last_frame_image") not in (None, ""):
        # Refused rather than dropped: the customer would get a video that ignores the frame they sent.
        _image_ref(spec, params, "last_frame_image")
    if spec.go_fast:
        # Off unless asked for, as on Segmind's page: it trades quality for speed.
        normalized["go_fast"] = _bool(params, "go_fast", False)
    elif params.get("go_fast") not in (None, False):
        raise ParamError("go_fast", "not_supported", f"go_fast: {spec.slug} has no fast mode.")
    return normalized


def variant_for(model: str, params: dict[str, Any]) -> Variant:
    return Variant(model, params["duration"], params["resolution"], params.get("mode", ""))
