"""AI/ML API (api.aimlapi.com), Bearer key.

Protocol:
- `POST /v2/generate/video/minimax/generation` with `model`
  "minimax/hailuo-02", `prompt`, `prompt_optimizer`, `first_frame_image`
  (URL or base64), `duration` (6 or 10), `resolution` ("768P" or "1080P")
  -> `generation_id`
- `GET` the same path with `?generation_id=` -> `status` (queued, waiting,
  active, generating, then completed or failed), `video.url`, `error`

AIML API documents 403 for "no credits" (and we also read 402 that way).

Our models -> AIML ids: hailuo-02 -> "minimax/hailuo-02" (768p 6/10 s,
1080p 6 s). The other catalog models are not served here.
"""

from __future__ import annotations

from typing import Any, ClassVar

from videogen.providers._http import HttpProviderAdapter, Phase, body_message
from videogen.providers.base import SubmitRequest, UpstreamResult, UpstreamStatus

GENERATION_PATH = "/v2/generate/video/minimax/generation"
MODEL_IDS = {"hailuo-02": "minimax/hailuo-02"}
_STATUSES = {
    "queued": UpstreamStatus.QUEUED,
    "waiting": UpstreamStatus.QUEUED,
    "active": UpstreamStatus.RUNNING,
    "generating": UpstreamStatus.RUNNING,
    "completed": UpstreamStatus.SUCCEEDED,
    "failed": UpstreamStatus.FAILED,
}
_BLOCK_WORDS = ("content", "safety", "moderat", "nsfw", "sensitive", "policy")


class AimlApiAdapter(HttpProviderAdapter):
    """Generates videos through AI/ML API's MiniMax endpoint."""

    name: ClassVar[str] = "aimlapi"
    supported_models: ClassVar[frozenset[str]] = frozenset(MODEL_IDS)

    def _body(self, request: SubmitRequest) -> dict[str, Any]:
        params = request.params
        resolution = str(params.get("resolution") or "768p").lower()
        duration = int(params.get("duration") or 6)
        if resolution not in ("768p", "1080p"):
            raise self._invalid(f"AIML API cannot render {resolution}.")
        if duration not in (6, 10) or (resolution == "1080p" and duration != 6):
            raise self._invalid(f"AIML API cannot render {duration} s at {resolution}.")
        body: dict[str, Any] = {
            "model": MODEL_IDS[request.model],
            "prompt": params.get("prompt") or "",
            "prompt_optimizer": bool(params.get("prompt_optimizer", True)),
            "duration": duration,
            "resolution": resolution.upper(),
        }
        if params.get("first_frame_image"):
            body["first_frame_image"] = params["first_frame_image"]
        return body

    def submit(self, request: SubmitRequest) -> UpstreamResult:
        """Create a generation; the job starts QUEUED under AIML's generation id."""
        exchanges = self._begin(request)
        body = self._body(request)
        _, data = self.http.request_json("POST", GENERATION_PATH, exchanges=exchanges, phase=Phase.SUBMIT, json=body)
        generation_id = data.get("generation_id") if isinstance(data, dict) else None
        if not generation_id:
            if isinstance(data, dict) and data.get("error"):
                self.http.raise_status(400, body_message(data), phase=Phase.SUBMIT, exchanges=exchanges)
            raise self._bad_response("AIML API accepted the request but sent no generation_id.", exchanges)
        status = _STATUSES.get(str(data.get("status") or "").lower(), UpstreamStatus.QUEUED)
        return UpstreamResult(upstream_id=str(generation_id), status=status, exchanges=exchanges)

    def poll(self, upstream_id: str) -> UpstreamResult:
        """Read the generation; completed carries `video.url`, failed carries `error`."""
        exchanges = self._begin()
        _, data = self.http.request_json(
            "GET",
            GENERATION_PATH,
            exchanges=exchanges,
            phase=Phase.POLL,
            params={"generation_id": upstream_id},
        )
        raw = data.get("status") if isinstance(data, dict) else None
        status = _STATUSES.get(str(raw or "").lower())
        if status is None:
            raise self._bad_response(f"AIML API sent an unknown status {raw!r}.", exchanges)
        result = UpstreamResult(upstream_id=upstream_id, status=status, exchanges=exchanges)
        if status == UpstreamStatus.SUCCEEDED:
            video = data.get("video")
            url = video.get("url") if isinstance(video, dict) else None
            if not url:
                raise self._bad_response("AIML API said completed but sent no video.url.", exchanges)
            result.output_url = str(url)
        elif status == UpstreamStatus.FAILED:
            message = body_message({"error": data.get("error")}) or "AIML API reported the generation as failed."
            result.error_message = self.http.redact(message)
            lowered = message.lower()
            blocked = any(word in lowered for word in _BLOCK_WORDS)
            result.error_code = "content_blocked" if blocked else "generation_failed"
        return result
