"""Segmind's serverless API (api.segmind.com), header `x-api-key`.

v2, asynchronous (the default here):
- `POST /v2/{slug}` -> `request_id`, `status_url`, `response_url`
- `GET /v2/requests/{id}/status` -> QUEUED, PROCESSING, COMPLETED; a FAILED
  job is served as HTTP 422 whose body still says FAILED and carries `error`
  (a job failure, not a transport error); an unknown or expired id is 404
  (results are kept one hour)
- `GET /v2/requests/{id}` -> the result body; every model puts its result
  under `output`, whose shape varies (a URL, a list, an object, or a JSON
  string), so the video URL is looked for leniently

v1, synchronous (`SegmindAdapter(..., synchronous=True)`): `POST /v1/{slug}`
answers with the video bytes, which submit() streams to a temporary file.

406 means our Segmind account is out of credits.

Our models -> Segmind slugs (same names): hailuo-02-fast, hailuo-2.3-fast,
minimax-hailuo-2. The first two need a first frame image; minimax-hailuo-2
takes its first frame as `image_url` and a `mode` of standard or pro. A last
frame goes as `last_frame_image` to hailuo-02-fast and minimax-hailuo-2;
hailuo-2.3-fast takes none (a route mismatch). Defaults as on the seed
pages: `go_fast` false, hailuo-2.3-fast at "1080p". Images go as the signed
https link to our stored copy when there is one (Segmind types them "string
(uri)"; whether it takes `data:` URLs is unconfirmed), else as given.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import httpx

from videogen.providers.base import (
    ErrorKind,
    SubmitRequest,
    UpstreamResult,
    UpstreamStatus,
    mismatch,
)
from videogen.providers.classify import Phase
from videogen.providers.http import HttpProviderAdapter
from videogen.providers.responses import Decoded

# Slugs whose seed page lists `last_frame_image`.
LAST_FRAME_MODELS = frozenset({"hailuo-02-fast", "minimax-hailuo-2"})
SLUGS = {
    "hailuo-02-fast": "hailuo-02-fast",
    "hailuo-2.3-fast": "hailuo-2.3-fast",
    "minimax-hailuo-2": "minimax-hailuo-2",
}
_STATUSES = {
    "QUEUED": UpstreamStatus.QUEUED,
    "PROCESSING": UpstreamStatus.RUNNING,
    "COMPLETED": UpstreamStatus.SUCCEEDED,
    "FAILED": UpstreamStatus.FAILED,
}
# Segmind reports content/RAI blocks as an ordinary FAILED: recognise them by wording.
_BLOCK_WORDS = ("content", "safety", "moderat", "nsfw", "rai ", "sensitive", "policy")
_URL_KEYS = ("video", "video_url", "url", "output_url", "download_url", "output", "outputs", "result", "data")


def find_video_url(value: Any, depth: int = 0) -> str | None:
    """The first http(s) URL in a result body, under the keys providers commonly use."""
    if depth > 5 or value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(("http://", "https://")):
            return text
        if text[:1] in "[{":
            try:
                return find_video_url(json.loads(text), depth + 1)
            except ValueError:
                return None
        return None
    if isinstance(value, list):
        for item in value:
            found = find_video_url(item, depth + 1)
            if found:
                return found
        return None
    if isinstance(value, dict):
        for key in _URL_KEYS:
            found = find_video_url(value.get(key), depth + 1)
            if found:
                return found
    return None


def _failure_code(detail: str) -> str:
    lowered = f"{detail.lower()} "
    return "content_blocked" if any(word in lowered for word in _BLOCK_WORDS) else "generation_failed"


class SegmindAdapter(HttpProviderAdapter):
    """Generates videos through Segmind (v2 async by default, v1 sync on request)."""

    name: ClassVar[str] = "segmind"
    credit_statuses: ClassVar[frozenset[int]] = frozenset({406})
    key_setting: ClassVar[str] = "SEGMIND_API_KEY"
    url_setting: ClassVar[str] = "SEGMIND_BASE_URL"
    supported_models: ClassVar[frozenset[str]] = frozenset(SLUGS)

    def __init__(
        self,
        *,
        client: httpx.Client,
        api_key: str,
        base_url: str,
        owns_client: bool = False,
        synchronous: bool = False,
        download_dir: Path | None = None,
    ) -> None:
        super().__init__(client=client, api_key=api_key, base_url=base_url, owns_client=owns_client)
        self.synchronous = synchronous
        self.download_dir = download_dir

    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.api_key}

    # --- submit ---------------------------------------------------------------

    @classmethod
    def check(cls, request: SubmitRequest) -> None:
        super().check(request)
        params = request.params
        if not params.get("prompt"):
            raise mismatch("Segmind requires a prompt.", param="prompt")
        if request.model == "minimax-hailuo-2":
            mode = params.get("mode") or "standard"
            if mode not in ("standard", "pro"):
                raise mismatch(f"minimax-hailuo-2 has no mode {mode!r}.", param="mode")
        elif not params.get("first_frame_image"):
            raise mismatch(
                f"{request.model} needs a first frame image.", param="first_frame_image", code="missing_first_frame"
            )
        if params.get("last_frame_image") and request.model not in LAST_FRAME_MODELS:
            raise mismatch(f"Segmind's {request.model} takes no last frame.", param="last_frame_image")

    def _body(self, request: SubmitRequest) -> dict[str, Any]:
        params = request.params
        first_frame = request.image("first_frame_image")
        body: dict[str, Any] = {
            "prompt": params.get("prompt") or "",
            "prompt_optimizer": bool(params.get("prompt_optimizer", True)),
        }
        if request.model == "minimax-hailuo-2":
            body["mode"] = params.get("mode") or "standard"
            if first_frame:
                body["image_url"] = first_frame
        else:
            body["first_frame_image"] = first_frame
            body["duration"] = int(params.get("duration") or 6)
        if request.model == "hailuo-02-fast":
            body["go_fast"] = bool(params.get("go_fast", False))  # the seed page's default
        if request.model == "hailuo-2.3-fast":
            body["resolution"] = str(params.get("resolution") or "1080p").lower()  # the seed page's default
        last_frame = request.image("last_frame_image")
        if last_frame:
            body["last_frame_image"] = last_frame
        for name in ("first_frame_image", "image_url", "last_frame_image"):
            if body.get(name) and not str(body[name]).startswith("https://"):
                # Segmind types images "string (uri)"; data: URLs are unconfirmed there. Without
                # a public https link to our copy, another route runs the job instead.
                raise mismatch("Segmind takes images as https links only.", param=name)
        return body

    def start(self, request: SubmitRequest) -> UpstreamResult:
        """Queue a v2 request (QUEUED), or in synchronous mode wait for the video itself."""
        body = self._body(request)
        slug = SLUGS[request.model]
        if self.synchronous:
            return self._submit_sync(request, slug, body)
        _, data = self.request("POST", f"/v2/{slug}", phase=Phase.SUBMIT, json=body)
        request_id = data.get("request_id") if isinstance(data, dict) else None
        if not request_id:
            raise self.bad_response("Segmind accepted the request but sent no request_id.")
        return UpstreamResult(upstream_id=str(request_id), status=UpstreamStatus.QUEUED)

    def _submit_sync(self, request: SubmitRequest, slug: str, body: dict[str, Any]) -> UpstreamResult:
        answer = self.post_for_file(f"/v1/{slug}", json=body, download_dir=self.download_dir)
        upstream_id = answer.headers.get("x-request-id") or f"sync-{request.idempotency_key}"
        if answer.path is not None:
            return UpstreamResult(upstream_id=upstream_id, status=UpstreamStatus.SUCCEEDED, output_path=answer.path)
        url = find_video_url(answer.body)
        if not url:
            raise self.bad_response("Segmind answered without a video or a video URL.")
        return UpstreamResult(upstream_id=upstream_id, status=UpstreamStatus.SUCCEEDED, output_url=url)

    # --- poll -------------------------------------------------------------------

    def status(self, upstream_id: str) -> UpstreamResult:
        """Read the request's status; on COMPLETED also fetch the result's video URL."""
        if self.synchronous and upstream_id.startswith("sync-"):
            raise self.fail(ErrorKind.PERMANENT, "expired", "A synchronous Segmind request has nothing to poll.")
        _, data = self.request("GET", f"/v2/requests/{upstream_id}/status", phase=Phase.POLL)
        status = self._status_of(data)
        result = UpstreamResult(upstream_id=upstream_id, status=status)
        if status == UpstreamStatus.FAILED:
            self._mark_failed(result, data)
        elif status == UpstreamStatus.SUCCEEDED:
            self._fetch_output(result)
        return result

    def _fetch_output(self, result: UpstreamResult) -> None:
        _, data = self.request("GET", f"/v2/requests/{result.upstream_id}", phase=Phase.RESULT)
        if isinstance(data, dict) and data.get("status") == "FAILED":
            result.status = UpstreamStatus.FAILED
            self._mark_failed(result, data)
            return
        url = find_video_url(data.get("output") if isinstance(data, dict) else None) or find_video_url(data)
        if not url:
            raise self.fail(
                ErrorKind.TRANSIENT, "no_output", "Segmind said COMPLETED but the result carries no video URL."
            )
        result.output_url = url

    def raise_for_response(self, response: httpx.Response, decoded: Decoded, phase: Phase) -> None:
        """A FAILED job is served as HTTP 422 whose body says FAILED: a job's failure to read, not an error."""
        data = decoded.data
        if response.status_code == 422 and isinstance(data, dict) and data.get("status") == "FAILED":
            return
        super().raise_for_response(response, decoded, phase)

    def _status_of(self, data: Any) -> UpstreamStatus:
        raw = data.get("status") if isinstance(data, dict) else None
        status = _STATUSES.get(str(raw or "").upper())
        if status is None:
            raise self.fail(ErrorKind.TRANSIENT, "unknown_status", f"Segmind sent an unknown status {raw!r}.")
        return status

    def _mark_failed(self, result: UpstreamResult, data: dict[str, Any]) -> None:
        detail = data.get("error") or data.get("detail") or data.get("message")
        if isinstance(detail, dict):
            detail = detail.get("message") or json.dumps(detail)
        message = self.redact(str(detail or "Segmind reported the request as FAILED."))
        result.error_message = message
        result.error_code = _failure_code(message)
