"""Emulator of Atlas Cloud's model API (api.atlascloud.ai), Bearer key.

- `POST /api/v1/model/generateVideo` (flat body or `input` object) ->
  `{"code": 200, "data": {"id", "status": "processing", ...}}`
- `GET /api/v1/model/prediction/{id}` -> `data.status` processing, then
  `done_status` ("completed" or "succeeded") with `outputs[]`, or failed with
  `error`; `metrics.predict_time`; unknown id: 404
- `POST /api/v1/model/uploadMedia` (multipart `file`) -> `data.download_url`,
  served back at `/uploads/<id>/<name>`

Errors are `{"code", "message"}`; credit exhaustion is "403 Forbidden
(quota)", and `Fault.ERROR_IN_200` answers HTTP 200 with `code=` (default
400) in the body.

Rules enforced (Atlas publishes no input schema, so the stricter reading of
what the same model ids take elsewhere):
- only the confirmed model ids: minimax/hailuo-02/fast, minimax/hailuo-02/standard,
  minimax/hailuo-2.3/i2v-standard; any other id is a 404;
- /fast and i2v-standard: `image` required, `prompt` optional; standard:
  `prompt` required;
- `duration` 6 or 10; `go_fast`, `enable_prompt_expansion` booleans;
- `end_image` refused: no confirmed model takes a last frame;
- images by http(s) URL only.
"""

from __future__ import annotations

import itertools
import re
import threading
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import Any

from tests.emulators.base import Job, JobState, ProviderEmulator, Reply, Request, Route, json_reply

MODELS = {"minimax/hailuo-02/fast", "minimax/hailuo-02/standard", "minimax/hailuo-2.3/i2v-standard"}
IMAGE_REQUIRED = {"minimax/hailuo-02/fast", "minimax/hailuo-2.3/i2v-standard"}


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, str, bytes]]:
    """Form fields of a multipart body: name -> (filename, content type, bytes)."""
    message = BytesParser(policy=default_policy).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, tuple[str | None, str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            payload = part.get_payload(decode=True) or b""
            fields[str(name)] = (part.get_filename(), part.get_content_type(), payload)
    return fields


class AtlasCloudEmulator(ProviderEmulator):
    job_id_prefix = "pred_"

    def __init__(self, *, done_status: str = "completed", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.done_status = done_status
        self.uploads: dict[str, tuple[str, str, bytes]] = {}
        self._upload_ids = itertools.count(1)
        self._uploads_lock = threading.Lock()

    def routes(self) -> list[Route]:
        return [
            Route("POST", re.compile(r"^/api/v1/model/generateVideo$"), "submit", self._submit),
            Route("GET", re.compile(r"^/api/v1/model/prediction/(?P<prediction_id>[^/]+)$"), "poll", self._poll),
            Route("POST", re.compile(r"^/api/v1/model/uploadMedia$"), "upload", self._upload),
            Route(
                "GET",
                re.compile(r"^/uploads/(?P<upload_id>[^/]+)/(?P<name>[^/]+)$"),
                "download",
                self._uploaded,
                auth=False,
            ),
        ]

    def error_body(self, status: int, message: str) -> Reply:
        return json_reply(status, {"code": status, "message": message})

    def insufficient_credit(self) -> Reply:
        return self.error_body(403, "Forbidden (quota): insufficient balance, please top up your account.")

    def error_in_200(self, code: Any, message: str) -> Reply:
        return json_reply(200, {"code": int(code or 400), "message": message, "data": None})

    # --- routes -------------------------------------------------------------------------

    def _problem(self, body: dict[str, Any]) -> str | None:
        model = body["model"]
        if model in IMAGE_REQUIRED and not body.get("image"):
            return "image is required"
        if model not in IMAGE_REQUIRED and not body.get("prompt"):
            return "prompt is required"
        if body.get("end_image") is not None:
            return f"end_image is not supported by {model}"
        if body.get("image") is not None and not str(body["image"]).startswith(("http://", "https://")):
            return "image must be a URL"
        if body.get("duration", 6) not in (6, 10):
            return "duration must be 6 or 10"
        for key in ("go_fast", "enable_prompt_expansion"):
            if key in body and not isinstance(body[key], bool):
                return f"{key} must be a boolean"
        return None

    def _submit(self, request: Request, fail_with: str | None = None) -> Reply:
        body = request.json()
        if not isinstance(body, dict):
            return self.error_body(400, "body must be JSON")
        if isinstance(body.get("input"), dict):
            body = {"model": body.get("model"), **body["input"]}
        if body.get("model") not in MODELS:
            return self.error_body(404, f"model {body.get('model')!r} not found")
        problem = self._problem(body)
        if problem:
            return self.error_body(400, problem)
        job = self.store.create(body, error=fail_with)
        return json_reply(200, {"code": 200, "message": "success", "data": self._prediction(job)})

    def _prediction(self, job: Job) -> dict[str, Any]:
        status = {
            JobState.QUEUED: "processing",
            JobState.RUNNING: "processing",
            JobState.SUCCEEDED: self.done_status,
            JobState.FAILED: "failed",
        }[job.state]
        data: dict[str, Any] = {
            "id": job.id,
            "status": status,
            "model": job.params.get("model"),
            "outputs": [],
            "error": "",
            "created_at": "2025-01-01T00:00:00Z",
        }
        if job.done:
            data["metrics"] = {"predict_time": round((job.completed_at or 0) - job.created_at, 3)}
            data["completed_at"] = "2025-01-01T00:00:10Z"
        if job.state == JobState.SUCCEEDED:
            data["outputs"] = [self.download_url(job.id)]
        if job.state == JobState.FAILED:
            data["error"] = job.error
        return data

    def _poll(self, request: Request, prediction_id: str) -> Reply:
        job = self.store.observe(prediction_id)
        if job is None:
            return self.error_body(404, "prediction not found")
        return json_reply(200, {"code": 200, "message": "success", "data": self._prediction(job)})

    def _upload(self, request: Request) -> Reply:
        fields = parse_multipart(request.headers.get("content-type", ""), request.body)
        if "file" not in fields:
            return self.error_body(400, "file is required")
        filename, content_type, data = fields["file"]
        name = filename or "upload.bin"
        with self._uploads_lock:
            upload_id = f"up{next(self._upload_ids)}"
            self.uploads[upload_id] = (name, content_type, data)
        payload = {
            "download_url": self.url(f"/uploads/{upload_id}/{name}"),
            "file_name": name,
            "content_type": content_type,
            "size": len(data),
        }
        return json_reply(200, {"code": 200, "message": "success", "data": payload})

    def _uploaded(self, request: Request, upload_id: str, name: str) -> Reply:
        stored = self.uploads.get(upload_id)
        if stored is None or stored[0] != name:
            return Reply(status=404, body=b"not found", content_type="text/plain")
        return Reply(status=200, body=stored[2], content_type=stored[1])
