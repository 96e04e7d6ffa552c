"""Emulator of AI/ML API's video endpoints (api.aimlapi.com), Bearer key, as AIML publishes them.

Two paths, one job store (aimlapi/api-docs: the legacy schema and the
current universal schema):
- universal `POST /v2/video/generations` -> 200 `{"id", "status": "queued"}`;
  fields `model`, `prompt`, `duration`, `resolution`, `image_url` (first
  frame, required for minimax/hailuo-2.3-fast), `last_image_url`,
  `enhance_prompt`; `GET /v2/video/generations?generation_id=`
- legacy `POST /v2/generate/video/minimax/generation` -> 200
  `{"generation_id", "status"}`; fields `first_frame_image`,
  `prompt_optimizer` instead of `image_url`, `enhance_prompt`; `GET` the same
  path with `?generation_id=`

Fetch statuses: queued, generating, completed (with `video.url`) and, for a
failure, `error` with `error: {name, message}` (the fetch schema since
2025-06-20). Unknown id: 404.

Rules enforced (the stricter reading where the docs are silent, marked so):
models minimax/hailuo-02, minimax/hailuo-2.3, minimax/hailuo-2.3-fast;
`prompt` required, at most 2000 characters; `duration` 6 or 10; `resolution`
768P or 1080P (default 768P), 1080P only at 6 s; first frame required for
hailuo-2.3-fast; a last frame needs a first frame (stricter) and is refused
for hailuo-2.3-fast, whose MiniMax model has no last frame (stricter); images
are http(s) URLs or base64 (a data URL or bare). Unknown fields are
refused (stricter), so a field sent under the wrong name shows.

Errors are `{"message", "path", "requestId", "statusCode", "timestamp"}`;
running out of credits is a 403 "You've run out of credits".
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.emulators.base import Job, JobState, ProviderEmulator, Reply, Request, Route, json_reply

UNIVERSAL = re.compile(r"^/v2/video/generations$")
LEGACY = re.compile(r"^/v2/generate/video/minimax/generation$")
MODELS = {"minimax/hailuo-02", "minimax/hailuo-2.3", "minimax/hailuo-2.3-fast"}
FIELDS = {
    "universal": {"model", "prompt", "duration", "resolution", "image_url", "last_image_url", "enhance_prompt"},
    "legacy": {"model", "prompt", "duration", "resolution", "first_frame_image", "last_image_url", "prompt_optimizer"},
}
FIRST_FRAME = {"universal": "image_url", "legacy": "first_frame_image"}
MAX_PROMPT = 2000


def _image_ok(value: Any) -> bool:
    if not isinstance(value, str) or not value:
        return False
    return (
        value.startswith(("https://", "http://", "data:image/"))
        or re.fullmatch(r"[A-Za-z0-9+/=\s]+", value) is not None
    )


class AimlApiEmulator(ProviderEmulator):
    job_id_prefix = "gen-"

    def routes(self) -> list[Route]:
        return [
            Route("POST", UNIVERSAL, "submit", self._submit_universal),
            Route("GET", UNIVERSAL, "poll", self._poll),
            Route("POST", LEGACY, "submit", self._submit_legacy),
            Route("GET", LEGACY, "poll", self._poll),
        ]

    def error_body(self, status: int, message: str) -> Reply:
        return json_reply(
            status,
            {
                "message": message,
                "path": "/v2/video/generations",
                "requestId": str(uuid.uuid4()),
                "statusCode": status,
                "timestamp": "2025-01-01T00:00:00.000Z",
            },
        )

    def insufficient_credit(self) -> Reply:
        return self.error_body(403, "You've run out of credits. Please top up your balance to continue.")

    def problem(self, body: Any, schema: str) -> str | None:
        """Why AIML would refuse this body, or None."""
        if not isinstance(body, dict):
            return "Body validation error! Expected an object."
        unknown = sorted(set(body) - FIELDS[schema])
        if unknown:
            return f"Body validation error! Unknown field(s): {', '.join(unknown)}."
        model = body.get("model")
        if model not in MODELS:
            return f"Body validation error! model: unknown model {model!r}."
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            return "Body validation error! prompt: Required."
        if len(prompt) > MAX_PROMPT:
            return f"Body validation error! prompt: at most {MAX_PROMPT} characters."
        duration, resolution = body.get("duration", 6), body.get("resolution", "768P")
        if duration not in (6, 10) or resolution not in ("768P", "1080P"):
            return "Body validation error! duration must be 6 or 10, resolution 768P or 1080P."
        if resolution == "1080P" and duration != 6:
            return "Body validation error! 1080P is 6 seconds only."
        first, last = body.get(FIRST_FRAME[schema]), body.get("last_image_url")
        if model == "minimax/hailuo-2.3-fast" and not first:
            return f"Body validation error! {FIRST_FRAME[schema]}: Required for {model}."
        for name, value in ((FIRST_FRAME[schema], first), ("last_image_url", last)):
            if value is not None and not _image_ok(value):
                return f"Body validation error! {name}: must be an image URL or base64."
        if last and (not first or model == "minimax/hailuo-2.3-fast"):
            return "Body validation error! last_image_url: needs a first frame, and this model takes none."
        return None

    def _submit(self, request: Request, schema: str, fail_with: str | None) -> Reply:
        body = request.json()
        problem = self.problem(body, schema)
        if problem:
            return self.error_body(400, problem)
        job = self.store.create({**body, "schema": schema}, error=fail_with)
        id_key = "id" if schema == "universal" else "generation_id"
        return json_reply(200, {id_key: job.id, "status": "queued"})

    def _submit_universal(self, request: Request, fail_with: str | None = None) -> Reply:
        return self._submit(request, "universal", fail_with)

    def _submit_legacy(self, request: Request, fail_with: str | None = None) -> Reply:
        return self._submit(request, "legacy", fail_with)

    def _status_body(self, job: Job) -> dict[str, Any]:
        status = {
            JobState.QUEUED: "queued",
            JobState.RUNNING: "generating",
            JobState.SUCCEEDED: "completed",
            JobState.FAILED: "error",
        }[job.state]
        body: dict[str, Any] = {"id": job.id, "status": status, "video": None, "error": None}
        if job.state == JobState.SUCCEEDED:
            body["video"] = {"url": self.download_url(job.id)}
        if job.state == JobState.FAILED:
            body["error"] = {"name": "GenerationError", "message": job.error}
        return body

    def _poll(self, request: Request) -> Reply:
        job = self.store.observe(request.query.get("generation_id", ""))
        if job is None:
            return self.error_body(404, "Generation not found")
        return json_reply(200, self._status_body(job))
