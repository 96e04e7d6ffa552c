"""AI/ML API (api.aimlapi.com), Bearer key, on its universal video schema.

Protocol (current docs; the legacy `/v2/generate/video/minimax/generation`
is still accepted upstream but no longer used here):
- `POST /v2/video/generations` with `model`, `prompt` (at most 2000
  characters), `duration` (6 or 10), `resolution` ("768P" or "1080P"),
  `image_url` (first frame; required for minimax/hailuo-2.3-fast),
  `last_image_url` (last frame), `enhance_prompt` -> 200 `{id or
  generation_id, status}`
- `GET /v2/video/generations?generation_id=` -> `status` queued,
  generating, completed (with `video.url`) or error (with `error: {name,
  message}`); the legacy names waiting, active and failed are read too

AIML API answers 403 "You've run out of credits" (and we also read 402 that way).

Our models -> AIML ids: hailuo-02 -> "minimax/hailuo-02" (768p 6/10 s,
1080p 6 s; first and last frame), hailuo-2.3 -> "minimax/hailuo-2.3" (text
or a first frame, no last frame), hailuo-2.3-fast -> "minimax/hailuo-2.3-fast"
(first frame required, no last frame). Images go as the signed https link to
our stored copy when there is one, else as the data URL (AIML documents base64).
"""

from __future__ import annotations

from typing import Any, ClassVar

from videogen.providers.base import ErrorKind, SubmitRequest, UpstreamResult, UpstreamStatus, mismatch
from videogen.providers.classify import Phase
from videogen.providers.http import HttpProviderAdapter
from videogen.providers.responses import body_message

GENERATION_PATH = "/v2/video/generations"
MODEL_IDS = {
    "hailuo-02": "minimax/hailuo-02",
    "hailuo-2.3": "minimax/hailuo-2.3",
    "hailuo-2.3-fast": "minimax/hailuo-2.3-fast",
}
LAST_FRAME_MODELS = frozenset({"hailuo-02"})
FIRST_FRAME_REQUIRED = frozenset({"hailuo-2.3-fast"})
_STATUSES = {
    "queued": UpstreamStatus.QUEUED,
    "waiting": UpstreamStatus.QUEUED,
    "active": UpstreamStatus.RUNNING,
    "generating": UpstreamStatus.RUNNING,
    "completed": UpstreamStatus.SUCCEEDED,
    "error": UpstreamStatus.FAILED,
    "failed": UpstreamStatus.FAILED,
}
_BLOCK_WORDS = ("content", "safety", "moderat", "nsfw", "sensitive", "policy")


class AimlApiAdapter(HttpProviderAdapter):
    """Generates videos through AI/ML API's universal video endpoint."""

    name: ClassVar[str] = "aimlapi"
    key_setting: ClassVar[str] = "AIMLAPI_API_KEY"
    url_setting: ClassVar[str] = "AIMLAPI_BASE_URL"
    supported_models: ClassVar[frozenset[str]] = frozenset(MODEL_IDS)

    @classmethod
    def check(cls, request: SubmitRequest) -> None:
        super().check(request)
        params = request.params
        if not params.get("prompt"):
            raise mismatch("AIML API requires a prompt.", param="prompt")
        resolution = str(params.get("resolution") or "768p").lower()
        duration = int(params.get("duration") or 6)
        if resolution not in ("768p", "1080p"):
            raise mismatch(f"AIML API cannot render {resolution}.", param="resolution")
        if duration not in (6, 10) or (resolution == "1080p" and duration != 6):
            raise mismatch(f"AIML API cannot render {duration} s at {resolution}.", param="duration")
        if request.model in FIRST_FRAME_REQUIRED and not params.get("first_frame_image"):
            raise mismatch(
                f"AIML API needs image_url for {request.model}.", param="first_frame_image", code="missing_first_frame"
            )
        if params.get("last_frame_image") and (
            request.model not in LAST_FRAME_MODELS or not params.get("first_frame_image")
        ):
            raise mismatch(f"AIML API takes no last frame here for {request.model}.", param="last_frame_image")

    def _body(self, request: SubmitRequest) -> dict[str, Any]:
        params = request.params
        body: dict[str, Any] = {
            "model": MODEL_IDS[request.model],
            "prompt": params.get("prompt") or "",
            "enhance_prompt": bool(params.get("prompt_optimizer", True)),
            "duration": int(params.get("duration") or 6),
            "resolution": str(params.get("resolution") or "768p").upper(),
        }
        for ours, theirs in (("first_frame_image", "image_url"), ("last_frame_image", "last_image_url")):
            image = request.image(ours)
            if image:
                body[theirs] = image
        return body

    def start(self, request: SubmitRequest) -> UpstreamResult:
        """Create a generation; the job starts QUEUED under AIML's generation id."""
        body = self._body(request)
        _, data = self.request("POST", GENERATION_PATH, phase=Phase.SUBMIT, json=body)
        generation_id = (data.get("id") or data.get("generation_id")) if isinstance(data, dict) else None
        if not generation_id:
            if isinstance(data, dict) and data.get("error"):
                self.raise_status(400, body_message(data), phase=Phase.SUBMIT)
            raise self.bad_response("AIML API accepted the request but sent no generation id.")
        status = _STATUSES.get(str(data.get("status") or "").lower(), UpstreamStatus.QUEUED)
        result = UpstreamResult(upstream_id=str(generation_id), status=status)
        if status == UpstreamStatus.FAILED:
            self._mark_failed(result, data)
        return result

    def status(self, upstream_id: str) -> UpstreamResult:
        """Read the generation; completed carries `video.url`, error carries `error`."""
        _, data = self.request("GET", GENERATION_PATH, phase=Phase.POLL, params={"generation_id": upstream_id})
        raw = data.get("status") if isinstance(data, dict) else None
        status = _STATUSES.get(str(raw or "").lower())
        if status is None:
            raise self.fail(ErrorKind.TRANSIENT, "unknown_status", f"AIML API sent an unknown status {raw!r}.")
        result = UpstreamResult(upstream_id=upstream_id, status=status)
        if status == UpstreamStatus.SUCCEEDED:
            video = data.get("video")
            url = video.get("url") if isinstance(video, dict) else None
            if not url:
                raise self.bad_response("AIML API said completed but sent no video.url.")
            result.output_url = str(url)
        elif status == UpstreamStatus.FAILED:
            self._mark_failed(result, data)
        return result

    def _mark_failed(self, result: UpstreamResult, data: dict[str, Any]) -> None:
        message = body_message({"error": data.get("error")}) or "AIML API reported the generation as failed."
        result.error_message = self.redact(message)
        lowered = message.lower()
        blocked = any(word in lowered for word in _BLOCK_WORDS)
        result.error_code = "content_blocked" if blocked else "generation_failed"
