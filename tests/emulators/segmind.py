"""Emulator of Segmind's serverless API (api.segmind.com), header `x-api-key`.

v2 (async):
- `POST /v2/{slug}` -> `{"request_id", "status": "QUEUED", "status_url", "response_url"}`
- `GET /v2/requests/{id}/status` -> QUEUED / PROCESSING / COMPLETED (200),
  FAILED as HTTP 422 with `error`; unknown or expired id: 404
- `GET /v2/requests/{id}` -> `{"status": "COMPLETED", "output": ..., "metrics": ...}`;
  `output_shape` picks how the video URL is wrapped: "url" (a string),
  "list", "object" (`{"video": url}`) or "json_string" (a JSON text)

v1 (sync): `POST /v1/{slug}` -> the video bytes (`sync_reply="bytes"`) or
`{"video": url}` (`sync_reply="json"`).

Errors are `{"error": message}` with the documented statuses; 406 is
insufficient credits.

Rules enforced, from the seed pages (stricter where unconfirmed):
- hailuo-02-fast: `prompt`, `first_frame_image` required; `duration` 6 or 10
  (the example sends "6"); `go_fast`, `prompt_optimizer` booleans;
  `last_frame_image` optional (null in the example);
- hailuo-2.3-fast: `prompt`, `first_frame_image` required; `resolution`
  "768p" or "1080p"; 1080p at 6 s only (stricter, as MiniMax's own limit);
  no last frame (stricter: the page lists none);
- minimax-hailuo-2: `prompt`, `mode` standard/pro; `image_url`,
  `last_frame_image` optional;
- images are https URLs ("string (uri)"); `data:` URLs are refused
  (unconfirmed upstream, so the stricter reading);
- results are kept 1 hour after completion (on the emulator's clock), then
  the status and result routes answer 404.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.emulators.base import Job, JobState, ProviderEmulator, Reply, Request, Route, json_reply

REQUIRED = {
    "hailuo-02-fast": ("prompt", "first_frame_image"),
    "hailuo-2.3-fast": ("prompt", "first_frame_image"),
    "minimax-hailuo-2": ("prompt", "mode"),
}
IMAGES = {
    "hailuo-02-fast": ("first_frame_image", "last_frame_image"),
    "hailuo-2.3-fast": ("first_frame_image",),
    "minimax-hailuo-2": ("image_url", "last_frame_image"),
}
_STATUS_NAMES = {
    JobState.QUEUED: "QUEUED",
    JobState.RUNNING: "PROCESSING",
    JobState.SUCCEEDED: "COMPLETED",
    JobState.FAILED: "FAILED",
}


class SegmindEmulator(ProviderEmulator):
    job_id_prefix = "req_"

    # "Results are retained for 1 hour, then expire" (seed page 002).
    RETENTION_SECONDS = 3600.0

    def __init__(self, *, output_shape: str = "url", sync_reply: str = "bytes", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.output_shape = output_shape
        self.sync_reply = sync_reply

    def _expired(self, job: Job) -> bool:
        return job.completed_at is not None and self.store.clock() - job.completed_at > self.RETENTION_SECONDS

    def routes(self) -> list[Route]:
        return [
            Route("GET", re.compile(r"^/v2/requests/(?P<request_id>[^/]+)/status$"), "poll", self._status),
            Route("GET", re.compile(r"^/v2/requests/(?P<request_id>[^/]+)$"), "result", self._result),
            Route("POST", re.compile(r"^/v2/(?P<slug>[^/]+)$"), "submit", self._submit),
            Route("POST", re.compile(r"^/v1/(?P<slug>[^/]+)$"), "submit", self._submit_sync),
        ]

    # --- provider-specific errors ---------------------------------------------------

    def presented_key(self, request: Request) -> str:
        return request.headers.get("x-api-key", "")

    def insufficient_credit(self) -> Reply:
        return self.error_body(406, "Insufficient credits. Please top up your account.")

    # --- routes ----------------------------------------------------------------------

    def _validate(self, slug: str, body: Any) -> Reply | None:
        if slug not in REQUIRED:
            return self.error_body(404, f"Model {slug} not found")
        if not isinstance(body, dict):
            return self.error_body(400, "Request body must be JSON")
        missing = [name for name in REQUIRED[slug] if not body.get(name)]
        if missing:
            return self.error_body(400, f"Missing required parameter(s): {', '.join(missing)}")
        if body.get("duration", 6) not in (6, 10, "6", "10"):
            return self.error_body(400, "duration must be 6 or 10")
        for name in ("go_fast", "prompt_optimizer"):
            if name in body and not isinstance(body[name], bool):
                return self.error_body(400, f"{name} must be a boolean")
        if slug != "hailuo-2.3-fast" and body.get("last_frame_image") and not body.get(IMAGES[slug][0]):
            return self.error_body(400, "last_frame_image needs a first frame")
        if slug == "hailuo-2.3-fast":
            if body.get("last_frame_image") is not None:
                return self.error_body(400, "Unknown parameter: last_frame_image")
            resolution = body.get("resolution", "1080p")
            if resolution not in ("768p", "1080p"):
                return self.error_body(400, "resolution must be 768p or 1080p")
            if resolution == "1080p" and int(body.get("duration", 6)) != 6:
                return self.error_body(400, "1080p is available at 6 seconds only")
        if slug == "minimax-hailuo-2" and body.get("mode") not in ("standard", "pro"):
            return self.error_body(400, "mode must be standard or pro")
        for name in IMAGES[slug]:
            value = body.get(name)
            if value is not None and not (isinstance(value, str) and value.startswith("https://")):
                return self.error_body(400, f"{name} must be an https URL")
        return None

    def _submit(self, request: Request, slug: str, fail_with: str | None = None) -> Reply:
        body = request.json()
        problem = self._validate(slug, body)
        if problem:
            return problem
        job = self.store.create({**body, "slug": slug}, error=fail_with)
        return json_reply(
            200,
            {
                "request_id": job.id,
                "status": "QUEUED",
                "status_url": self.url(f"/v2/requests/{job.id}/status"),
                "response_url": self.url(f"/v2/requests/{job.id}"),
            },
        )

    def _failed(self, job: Job) -> Reply:
        return json_reply(422, {"request_id": job.id, "status": "FAILED", "error": job.error})

    def _status(self, request: Request, request_id: str) -> Reply:
        job = self.store.observe(request_id)
        if job is None or self._expired(job):
            return self.error_body(404, "Request not found or expired")
        if job.state == JobState.FAILED:
            return self._failed(job)
        return json_reply(200, {"request_id": job.id, "status": _STATUS_NAMES[job.state]})

    def _output(self, job: Job) -> Any:
        url = self.download_url(job.id)
        return {
            "url": url,
            "list": [url],
            "object": {"video": url},
            "json_string": json.dumps({"video_url": url}),
        }[self.output_shape]

    def _result(self, request: Request, request_id: str) -> Reply:
        job = self.store.get(request_id)
        if job is None or self._expired(job):
            return self.error_body(404, "Request not found or expired")
        if job.state == JobState.FAILED:
            return self._failed(job)
        if job.state != JobState.SUCCEEDED:
            return json_reply(200, {"request_id": job.id, "status": _STATUS_NAMES[job.state]})
        seconds = (job.completed_at or job.created_at) - job.created_at
        return json_reply(
            200,
            {
                "request_id": job.id,
                "status": "COMPLETED",
                "output": self._output(job),
                "metrics": {"inference_time": round(seconds, 3)},
            },
        )

    def _submit_sync(self, request: Request, slug: str, fail_with: str | None = None) -> Reply:
        body = request.json()
        problem = self._validate(slug, body)
        if problem:
            return problem
        job = self.store.create({**body, "slug": slug}, error=fail_with)
        job = self.store.finish(job.id)
        if job.state == JobState.FAILED:
            return self.error_body(400, job.error or "Generation failed")
        if self.sync_reply == "json":
            return json_reply(200, {"video": self.download_url(job.id)}, {"x-request-id": job.id})
        return Reply(status=200, body=self.video_bytes, content_type="video/mp4", headers={"x-request-id": job.id})
