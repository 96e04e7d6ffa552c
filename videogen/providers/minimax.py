"""MiniMax's own video API (api.minimax.io).

Protocol:
- `POST /v1/video_generation` (Bearer key) -> `task_id` and `base_resp`
- `GET /v1/query/video_generation?task_id=` -> `status` (Preparing,
  Queueing, Processing, Success, Fail) and, on success, `file_id`
- `GET /v1/files/retrieve?file_id=` -> `file.download_url` (valid ~9 hours)
  and sometimes `file.backup_download_url`, tried when the first link fails

MiniMax reports most errors as HTTP 200 with `base_resp.status_code` not 0;
those codes are classified in `classify_base_resp` as MiniMax's table
publishes them: rate limits (1002, 1039, 1041, 2045) are TRANSIENT and keep
the job queued, bad input (1042, 1043, 2013) fails now. A `Fail` status
fails now; an unknown status is "unknown_status", bounded by the pipeline.

Our models -> MiniMax ids:
- hailuo-02        -> "MiniMax-Hailuo-02", "768P" (6/10 s) or "1080P" (6 s)
- hailuo-02-fast   -> "MiniMax-Hailuo-02", "512P" (6/10 s); `go_fast` is not sent
                      (MiniMax has no such mode; `fast_pretreatment` is something else)
- hailuo-2.3       -> "MiniMax-Hailuo-2.3", "768P" (6/10 s) or "1080P" (6 s), text or a first frame
- hailuo-2.3-fast  -> "MiniMax-Hailuo-2.3-Fast", "768P" or "1080P", first frame required
- minimax-hailuo-2 -> "MiniMax-Hailuo-02", standard "768P" or pro "1080P", 6 s
A last frame (`last_frame_image`) goes only to MiniMax-Hailuo-02, with a first
frame, not at 512P; other requests with one are route mismatches.

A successful poll carries no link: `links()` asks for the task's file id
again and resolves it, so it works from the upstream id alone, any time later.
"""

from __future__ import annotations

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

MODEL_IDS = {
    "hailuo-02": "MiniMax-Hailuo-02",
    "hailuo-02-fast": "MiniMax-Hailuo-02",
    "hailuo-2.3": "MiniMax-Hailuo-2.3",
    "hailuo-2.3-fast": "MiniMax-Hailuo-2.3-Fast",
    # Segmind's "minimax-hailuo-2" is Hailuo 02: standard mode renders 768P, pro 1080P.
    "minimax-hailuo-2": "MiniMax-Hailuo-02",
}
ALLOWED_RESOLUTIONS = {
    "hailuo-02": {"768p", "1080p"},
    "hailuo-02-fast": {"512p"},
    "hailuo-2.3": {"768p", "1080p"},
    "hailuo-2.3-fast": {"768p", "1080p"},
    "minimax-hailuo-2": {"768p", "1080p"},
}
DEFAULT_RESOLUTION = {
    "hailuo-02": "768p",
    "hailuo-02-fast": "512p",
    "hailuo-2.3": "768p",
    "hailuo-2.3-fast": "768p",
    "minimax-hailuo-2": "768p",
}
# Our models every upstream runs from a first frame only.
FIRST_FRAME_REQUIRED = frozenset({"hailuo-02-fast", "hailuo-2.3-fast"})
# Models whose first-and-last-frame mode MiniMax publishes (Hailuo 02 only).
LAST_FRAME_MODELS = frozenset({"MiniMax-Hailuo-02"})

_STATUSES = {
    "preparing": UpstreamStatus.QUEUED,
    "queueing": UpstreamStatus.QUEUED,
    "processing": UpstreamStatus.RUNNING,
    "success": UpstreamStatus.SUCCEEDED,
    "fail": UpstreamStatus.FAILED,
    "failed": UpstreamStatus.FAILED,
}

# MiniMax asks nothing about how long to wait after a rate limit; its limits are per minute.
RATE_LIMIT_RETRY_SECONDS = 60.0

# base_resp.status_code -> (kind, code), as MiniMax's error-code table publishes them.
# Codes not listed: 2xxx are request errors (PERMANENT), anything else a passing upstream fault.
_BASE_RESP_CODES: dict[int, tuple[ErrorKind, str]] = {
    1000: (ErrorKind.TRANSIENT, "upstream_error"),  # unknown error
    1001: (ErrorKind.TRANSIENT, "upstream_timeout"),
    1002: (ErrorKind.TRANSIENT, "rate_limited"),
    1004: (ErrorKind.ACCOUNT, "unauthorized"),
    1008: (ErrorKind.ACCOUNT, "upstream_insufficient_credit"),
    1024: (ErrorKind.TRANSIENT, "upstream_error"),  # internal error
    1026: (ErrorKind.PERMANENT, "content_blocked"),  # sensitive input
    1027: (ErrorKind.PERMANENT, "content_blocked"),  # sensitive output
    1039: (ErrorKind.TRANSIENT, "rate_limited"),  # token limit
    1041: (ErrorKind.TRANSIENT, "rate_limited"),  # connection limit
    1042: (ErrorKind.PERMANENT, "invalid_request"),  # invisible-character ratio: bad input
    1043: (ErrorKind.PERMANENT, "invalid_request"),  # ASR similarity check failed
    2013: (ErrorKind.PERMANENT, "invalid_request"),  # invalid parameters
    2045: (ErrorKind.TRANSIENT, "rate_limited"),  # rate growth limit
    2049: (ErrorKind.ACCOUNT, "unauthorized"),  # invalid API key
}


def classify_base_resp(status_code: int) -> tuple[ErrorKind, str]:
    """ErrorKind and our code for a MiniMax `base_resp.status_code` other than 0."""
    if status_code in _BASE_RESP_CODES:
        return _BASE_RESP_CODES[status_code]
    if 2000 <= status_code < 3000:
        return ErrorKind.PERMANENT, "invalid_request"
    return ErrorKind.TRANSIENT, "upstream_error"


def _base_resp_error(body: Any) -> tuple[int, str] | None:
    if not isinstance(body, dict):
        return None
    base_resp = body.get("base_resp")
    if not isinstance(base_resp, dict):
        return None
    try:
        code = int(base_resp.get("status_code", 0))
    except (TypeError, ValueError):
        return None
    if code == 0:
        return None
    return code, str(base_resp.get("status_msg") or "")


def parse_callback(body: Any) -> tuple[str | None, dict[str, Any] | None]:
    """Read a POST MiniMax made to our `callback_url`.

    Returns `(challenge, None)` for the verification request: the view must
    answer `{"challenge": challenge}` within 3 seconds. Returns
    `(None, update)` for a status update, where update holds `task_id`,
    `status` (an UpstreamStatus, or None when MiniMax sent one we do not
    know), `file_id` and, for failures, `error_code` / `error_message`.
    Returns `(None, None)` for anything else.
    """
    if not isinstance(body, dict):
        return None, None
    challenge = body.get("challenge")
    if challenge is not None:
        return str(challenge), None
    task_id = body.get("task_id")
    if not task_id:
        return None, None
    status = _STATUSES.get(str(body.get("status") or "").lower())
    file_id = body.get("file_id")
    update: dict[str, Any] = {
        "task_id": str(task_id),
        "status": status,
        "file_id": str(file_id) if file_id else None,
        "error_code": None,
        "error_message": None,
    }
    error = _base_resp_error(body)
    if error is not None:
        update["status"] = UpstreamStatus.FAILED
        update["error_code"] = classify_base_resp(error[0])[1]
        update["error_message"] = f"MiniMax error {error[0]}: {error[1]}"
    elif status == UpstreamStatus.FAILED:
        update["error_code"] = "generation_failed"
    return None, update


class MiniMaxAdapter(HttpProviderAdapter):
    """Generates videos through MiniMax's own API."""

    name: ClassVar[str] = "minimax"
    key_setting: ClassVar[str] = "MINIMAX_API_KEY"
    url_setting: ClassVar[str] = "MINIMAX_BASE_URL"
    supported_models: ClassVar[frozenset[str]] = frozenset(MODEL_IDS)

    # --- submit -------------------------------------------------------------

    @classmethod
    def check(cls, request: SubmitRequest) -> None:
        """MiniMax's published limits, as route mismatches (another route may take the request)."""
        super().check(request)
        params = request.params
        model = MODEL_IDS[request.model]
        resolution = str(params.get("resolution") or DEFAULT_RESOLUTION[request.model]).lower()
        duration = int(params.get("duration") or 6)
        if resolution not in ALLOWED_RESOLUTIONS[request.model]:
            raise mismatch(f"{request.model} at MiniMax cannot render {resolution}.", param="resolution")
        if duration not in (6, 10) or (resolution == "1080p" and duration != 6):
            raise mismatch(f"MiniMax cannot render {duration} s at {resolution}.", param="duration")
        if request.model in FIRST_FRAME_REQUIRED and not params.get("first_frame_image"):
            raise mismatch(
                f"{request.model} needs a first frame image.", param="first_frame_image", code="missing_first_frame"
            )
        if params.get("last_frame_image"):
            if model not in LAST_FRAME_MODELS:
                raise mismatch(f"MiniMax takes no last frame for {request.model}.", param="last_frame_image")
            if not params.get("first_frame_image"):
                raise mismatch("MiniMax takes a last frame only with a first frame.", param="last_frame_image")
            # Unconfirmed (the official page is cut off; mirrors say so): the
            # first-and-last-frame mode has no 512P. Refusing sends the job to a
            # route that takes it instead of failing it with a 2013.
            if resolution == "512p":
                raise mismatch("MiniMax's first-and-last-frame mode does not render 512P.", param="last_frame_image")

    def _body(self, request: SubmitRequest) -> dict[str, Any]:
        params = request.params
        resolution = str(params.get("resolution") or DEFAULT_RESOLUTION[request.model]).lower()
        body: dict[str, Any] = {
            "model": MODEL_IDS[request.model],
            "prompt": params.get("prompt") or "",
            "duration": int(params.get("duration") or 6),
            "resolution": resolution.upper(),
            "prompt_optimizer": bool(params.get("prompt_optimizer", True)),
        }
        # `go_fast` (Segmind's lower-quality fast mode) has no MiniMax counterpart:
        # `fast_pretreatment` only shortens prompt optimisation, so it is not sent for it.
        for key in ("first_frame_image", "last_frame_image"):
            if params.get(key):
                body[key] = params[key]
        if request.callback_url:
            body["callback_url"] = request.callback_url
        return body

    def start(self, request: SubmitRequest) -> UpstreamResult:
        """Create a MiniMax task; the job starts QUEUED under MiniMax's task id."""
        data = self._call("POST", "/v1/video_generation", Phase.SUBMIT, json=self._body(request))
        task_id = str(data.get("task_id") or "")
        if not task_id:
            raise self.bad_response("MiniMax accepted the request but sent no task_id.")
        return UpstreamResult(upstream_id=task_id, status=UpstreamStatus.QUEUED)

    # --- poll -----------------------------------------------------------------

    def _query(self, task_id: str) -> dict[str, Any]:
        return self._call("GET", "/v1/query/video_generation", Phase.POLL, params={"task_id": task_id})

    def status(self, upstream_id: str) -> UpstreamResult:
        """Ask MiniMax where the task is. Success carries no URL: see links().

        A `Fail` status ends the job now, whatever its `base_resp` says
        (raise_for_response lets it through); a status MiniMax does not
        publish is an "unknown_status" error, which the pipeline tolerates for
        a bounded number of polls.
        """
        data = self._query(upstream_id)
        raw_status = str(data.get("status") or "")
        status = _STATUSES.get(raw_status.lower())
        if status == UpstreamStatus.FAILED:
            error = _base_resp_error(data)
            detail = data.get("error_message") or data.get("fail_reason")
            if not detail and error is not None:
                detail = f"MiniMax error {error[0]}: {error[1]}"
            result = UpstreamResult(upstream_id=upstream_id, status=status)
            result.error_code = "content_blocked" if error and error[0] in (1026, 1027) else "generation_failed"
            result.error_message = self.redact(str(detail or "MiniMax reported the task as failed."))
            return result
        if status is None:
            raise self.fail(
                ErrorKind.TRANSIENT, "unknown_status", f"MiniMax sent an unknown task status {raw_status!r}."
            )
        return UpstreamResult(upstream_id=upstream_id, status=status)

    # --- result -----------------------------------------------------------------

    def links(self, result: UpstreamResult) -> list[str]:
        """Resolve the finished task's file id: `download_url`, then `backup_download_url` when sent."""
        if result.output_url:
            return [result.output_url]
        data = self._query(result.upstream_id)
        file_id = data.get("file_id")
        if not file_id or str(data.get("status", "")).lower() != "success":
            raise self.fail(
                ErrorKind.TRANSIENT,
                "no_output",
                f"MiniMax task {result.upstream_id} has no file yet (status {data.get('status')!r}).",
            )
        return self._file_links(str(file_id))

    def file_download_url(self, file_id: str) -> str:
        """The download link of a MiniMax file id (e.g. one a callback delivered)."""
        return self.recorded(lambda: self._file_links(file_id))[0]

    def _file_links(self, file_id: str) -> list[str]:
        data = self._call("GET", "/v1/files/retrieve", Phase.RESULT, params={"file_id": file_id})
        file_info = data.get("file")
        file_info = file_info if isinstance(file_info, dict) else {}
        links = [file_info.get("download_url"), file_info.get("backup_download_url")]
        urls = [str(link) for link in links if isinstance(link, str) and link]
        if not urls:
            raise self.fail(ErrorKind.TRANSIENT, "no_output", f"MiniMax returned no download_url for file {file_id}.")
        return urls

    # --- classification -------------------------------------------------------------

    def raise_for_response(self, response: httpx.Response, decoded: Decoded, phase: Phase) -> None:
        """HTTP rules first, then `base_resp.status_code` inside a 200, as MiniMax's error table says.

        A poll answering `Fail` is read, not raised: its base_resp explains the
        failure of the job, not of our request.
        """
        super().raise_for_response(response, decoded, phase)
        data = decoded.data
        if not isinstance(data, dict):
            raise self.bad_response(f"MiniMax answered with {type(data).__name__}.")
        error = _base_resp_error(data)
        if error is None:
            return
        if phase == Phase.POLL and str(data.get("status") or "").lower() in ("fail", "failed"):
            return
        code, message = error
        kind, our_code = classify_base_resp(code)
        raise self.fail(
            kind,
            our_code,
            f"MiniMax error {code}: {message or 'no detail'}",
            status_code=response.status_code,
            retry_after=RATE_LIMIT_RETRY_SECONDS if our_code == "rate_limited" else None,
        )

    def _call(
        self,
        method: str,
        path: str,
        phase: Phase,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        _, data = self.request(method, path, phase=phase, json=json, params=params)
        return data
