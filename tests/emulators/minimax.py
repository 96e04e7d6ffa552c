"""Emulator of MiniMax's video API (api.minimax.io).

- `POST /v1/video_generation` -> `{"task_id", "base_resp"}`; with a
  `callback_url`, first POSTs `{"challenge": ...}` there and requires the
  echo within 3 s, then POSTs `{"task_id", "status", "file_id", "base_resp"}`
  when the task finishes
- `GET /v1/query/video_generation?task_id=` -> Preparing/Queueing/
  Processing/Success/Fail, `file_id` on success
- `GET /v1/files/retrieve?file_id=` -> `file.download_url`

Like MiniMax, most errors are HTTP 200 with `base_resp.status_code` != 0:
a bad key is 1004, bad parameters 2013, `Fault.INSUFFICIENT_CREDIT` is 1008
and `Fault.ERROR_IN_200` takes `code=` (default 1026, sensitive input; 2045,
1002 or 1041 for the rate limits).

Rules enforced, from MiniMax's docs (stricter where marked unconfirmed):
- models MiniMax-Hailuo-02 (512P 6/10 s, 768P 6/10 s, 1080P 6 s; text, first
  frame, or first + last frame), MiniMax-Hailuo-2.3 (768P, 1080P; text or
  first frame), MiniMax-Hailuo-2.3-Fast (768P, 1080P; first frame only);
- a last frame needs a first frame, only MiniMax-Hailuo-02 takes one, and not
  at 512P (unconfirmed: the stricter reading);
- `fast_pretreatment` only for MiniMax-Hailuo-02;
- images are http(s) URLs or `data:image/(jpeg|png|webp)` URLs;
- `video_requests_per_minute` (None: unlimited) answers 1002 past the limit,
  as MiniMax's per-account limit (5 free, 20 paid) does;
- a `download_url` stops working about 9 hours after the video is done.

Switches for the documented failure shapes: `fail_base_resp` puts a
`base_resp` error on a `Fail` status; `status_override` answers polls with a
status MiniMax does not publish; `broken_primary_link` makes
`download_url` a dead link while `backup_download_url` still works.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import httpx

from tests.emulators.base import Job, JobState, ProviderEmulator, Reply, Request, Route, json_reply

MODELS = {
    "MiniMax-Hailuo-02": {"512P", "768P", "1080P"},
    "MiniMax-Hailuo-2.3": {"768P", "1080P"},
    "MiniMax-Hailuo-2.3-Fast": {"768P", "1080P"},
}
IMAGE_PREFIXES = ("https://", "http://", "data:image/jpeg;", "data:image/jpg;", "data:image/png;", "data:image/webp;")
_OK = {"status_code": 0, "status_msg": "success"}
_WIDTH = {"512P": (912, 512), "768P": (1366, 768), "1080P": (1920, 1080)}


def _base_resp(code: int, message: str) -> dict[str, Any]:
    return {"status_code": code, "status_msg": message}


class MiniMaxEmulator(ProviderEmulator):
    job_id_prefix = "3080000"

    # `download_url` "expires after about 9 h" (MiniMax's file retrieve docs).
    LINK_TTL_SECONDS = 9 * 3600.0

    def __init__(
        self,
        *,
        video_requests_per_minute: int | None = None,
        fail_base_resp: tuple[int, str] | None = None,
        status_override: str | None = None,
        broken_primary_link: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.video_requests_per_minute = video_requests_per_minute
        self.fail_base_resp = fail_base_resp
        self.status_override = status_override
        self.broken_primary_link = broken_primary_link
        self._recent_submits: list[float] = []
        # (url, payload, HTTP status or None if unreachable) of every callback POST made.
        self.callback_deliveries: list[tuple[str, dict[str, Any], int | None]] = []
        self.completion_hooks.append(self._deliver_callback)

    def routes(self) -> list[Route]:
        return [
            Route("POST", re.compile(r"^/v1/video_generation$"), "submit", self._submit),
            Route("GET", re.compile(r"^/v1/query/video_generation$"), "poll", self._query),
            Route("GET", re.compile(r"^/v1/files/retrieve$"), "result", self._retrieve),
        ]

    # --- provider-specific errors ---------------------------------------------------

    def error_body(self, status: int, message: str) -> Reply:
        return json_reply(status, {"base_resp": _base_resp(1000, message)})

    def auth_failure(self, presented: str) -> Reply:
        return self.error_in_200(1004, f"login fail: invalid api key {presented}")

    def insufficient_credit(self) -> Reply:
        return self.error_in_200(1008, "insufficient balance")

    def error_in_200(self, code: Any, message: str) -> Reply:
        return json_reply(200, {"task_id": "", "base_resp": _base_resp(int(code or 1026), message)})

    # --- routes ----------------------------------------------------------------------

    def _validate(self, body: Any) -> str | None:
        if not isinstance(body, dict):
            return "invalid params, body must be JSON"
        model, resolution = body.get("model"), body.get("resolution", "768P")
        duration = body.get("duration", 6)
        if model not in MODELS:
            return f"invalid params, model {model!r}"
        if not body.get("prompt") and not body.get("first_frame_image"):
            return "invalid params, prompt is required"
        if resolution not in MODELS[model] or duration not in (6, 10):
            return f"invalid params, {resolution} at {duration}s"
        if resolution == "1080P" and duration != 6:
            return "invalid params, 1080P is only available at 6s"
        first, last = body.get("first_frame_image"), body.get("last_frame_image")
        if model == "MiniMax-Hailuo-2.3-Fast" and not first:
            return "invalid params, first_frame_image is required"
        for name, value in (("first_frame_image", first), ("last_frame_image", last)):
            if value is not None and not (isinstance(value, str) and value.startswith(IMAGE_PREFIXES)):
                return f"invalid params, {name} must be a URL or a data URL of a JPG, PNG or WebP image"
        if last:
            if model != "MiniMax-Hailuo-02":
                return f"invalid params, {model} takes no last_frame_image"
            if not first:
                return "invalid params, last_frame_image needs first_frame_image"
            if resolution == "512P":
                return "invalid params, first and last frame mode does not support 512P"
        if body.get("fast_pretreatment") and model != "MiniMax-Hailuo-02":
            return "invalid params, fast_pretreatment applies only to MiniMax-Hailuo-02"
        return None

    def _over_rate_limit(self) -> bool:
        if self.video_requests_per_minute is None:
            return False
        now = self.store.clock()
        with self._faults_lock:
            self._recent_submits = [t for t in self._recent_submits if now - t < 60]
            if len(self._recent_submits) >= self.video_requests_per_minute:
                return True
            self._recent_submits.append(now)
        return False

    def _submit(self, request: Request, fail_with: str | None = None) -> Reply:
        if self._over_rate_limit():
            return self.error_in_200(1002, "rate limit exceeded(RPM)")
        body = request.json()
        problem = self._validate(body)
        if problem:
            return self.error_in_200(2013, problem)
        callback_url = body.get("callback_url")
        if callback_url and not self._verify_callback(callback_url):
            return self.error_in_200(2013, "invalid params, callback_url verification failed")
        job = self.store.create(body, error=fail_with, callback_url=callback_url)
        return json_reply(200, {"task_id": job.id, "base_resp": _OK})

    def _verify_callback(self, url: str) -> bool:
        challenge = secrets.token_hex(8)
        try:
            answer = httpx.post(url, json={"challenge": challenge}, timeout=3.0)
            return answer.status_code == 200 and answer.json().get("challenge") == challenge
        except (httpx.HTTPError, ValueError):
            return False

    def _status_body(self, job: Job) -> dict[str, Any]:
        status = {
            JobState.QUEUED: "Preparing" if job.polls <= 1 else "Queueing",
            JobState.RUNNING: "Processing",
            JobState.SUCCEEDED: "Success",
            JobState.FAILED: "Fail",
        }[job.state]
        body: dict[str, Any] = {"task_id": job.id, "status": status, "file_id": "", "base_resp": _OK}
        if job.state == JobState.SUCCEEDED:
            width, height = _WIDTH.get(job.params.get("resolution", "768P"), (1366, 768))
            body.update(file_id=self.file_id(job.id), video_width=width, video_height=height)
        if job.state == JobState.FAILED:
            # Not in MiniMax's documented body: lets tests see the detail travel.
            body["error_message"] = job.error
            if self.fail_base_resp is not None:
                body["base_resp"] = _base_resp(*self.fail_base_resp)
        if self.status_override is not None:
            body["status"] = self.status_override
        return body

    def _query(self, request: Request) -> Reply:
        job = self.store.observe(request.query.get("task_id", ""))
        if job is None:
            return self.error_in_200(2013, "invalid params, task not found")
        return json_reply(200, self._status_body(job))

    def _retrieve(self, request: Request) -> Reply:
        file_id = request.query.get("file_id", "")
        job = self.store.get(file_id[1:]) if file_id.startswith("9") else None
        if job is None or job.state != JobState.SUCCEEDED:
            return self.error_in_200(2013, "invalid params, file not found")
        file_info = {
            "file_id": int(file_id),
            "bytes": len(self.video_bytes),
            "created_at": int(time.time()),
            "filename": "output.mp4",
            "purpose": "video_generation",
            "download_url": self.url(f"/expired/{job.id}.mp4")
            if self.broken_primary_link
            else self.download_url(job.id),
            "backup_download_url": self.download_url(job.id),
        }
        return json_reply(200, {"file": file_info, "base_resp": _OK})

    def _download(self, request: Request, job_id: str) -> Reply:
        job = self.store.get(job_id)
        done_at = job.completed_at if job is not None else None
        if done_at is not None and self.store.clock() - done_at > self.LINK_TTL_SECONDS:
            return Reply(status=403, body=b"Request has expired", content_type="text/plain")
        return super()._download(request, job_id)

    @staticmethod
    def file_id(job_id: str) -> str:
        return f"9{job_id}"

    # --- callbacks ----------------------------------------------------------------------

    def _deliver_callback(self, job: Job) -> None:
        if not job.callback_url:
            return
        payload = {
            "task_id": job.id,
            "status": "success" if job.state == JobState.SUCCEEDED else "failed",
            "file_id": self.file_id(job.id) if job.state == JobState.SUCCEEDED else "",
            "base_resp": _OK,
        }
        try:
            status: int | None = httpx.post(job.callback_url, json=payload, timeout=3.0).status_code
        except httpx.HTTPError:
            status = None
        self.callback_deliveries.append((job.callback_url, payload, status))
