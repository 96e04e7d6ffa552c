"""Emulator of AI/ML API's MiniMax video endpoint (api.aimlapi.com), Bearer key.

- `POST /v2/generate/video/minimax/generation` -> 201 `{"generation_id", "status": "queued"}`
- `GET /v2/generate/video/minimax/generation?generation_id=` ->
  queued / waiting / generating, then completed with `video.url` or failed
  with `error`; unknown id: 404

Errors are `{"statusCode", "message"}`; like AIML API, running out of
credits is a 403.
"""

from __future__ import annotations

import re
from typing import Any

from tests.emulators.base import Job, JobState, ProviderEmulator, Reply, Request, Route, json_reply

PATH = re.compile(r"^/v2/generate/video/minimax/generation$")


class AimlApiEmulator(ProviderEmulator):
    job_id_prefix = "gen-"

    def routes(self) -> list[Route]:
        return [
            Route("POST", PATH, "submit", self._submit),
            Route("GET", PATH, "poll", self._poll),
        ]

    def error_body(self, status: int, message: str) -> Reply:
        return json_reply(status, {"statusCode": status, "message": message})

    def insufficient_credit(self) -> Reply:
        return self.error_body(403, "Insufficient credits. Top up your balance to continue.")

    def _problem(self, body: Any) -> str | None:
        if not isinstance(body, dict):
            return "Body validation error! Expected an object."
        if body.get("model") != "minimax/hailuo-02":
            return f"Body validation error! Unknown model {body.get('model')!r}."
        if not isinstance(body.get("prompt"), str) or not body["prompt"]:
            return "Body validation error! prompt: Required."
        duration, resolution = body.get("duration", 6), body.get("resolution", "768P")
        if duration not in (6, 10) or resolution not in ("768P", "1080P"):
            return "Body validation error! duration/resolution."
        if resolution == "1080P" and duration != 6:
            return "Body validation error! 1080P is 6 seconds only."
        return None

    def _submit(self, request: Request, fail_with: str | None = None) -> Reply:
        body = request.json()
        problem = self._problem(body)
        if problem:
            return self.error_body(400, problem)
        job = self.store.create(body, error=fail_with)
        return json_reply(201, {"generation_id": job.id, "status": "queued"})

    def _status_body(self, job: Job) -> dict[str, Any]:
        status = {
            JobState.QUEUED: "queued" if job.polls <= 1 else "waiting",
            JobState.RUNNING: "generating",
            JobState.SUCCEEDED: "completed",
            JobState.FAILED: "failed",
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
