"""Atlas Cloud (api.atlascloud.ai), Bearer key.

Protocol:
- `POST /api/v1/model/generateVideo` (flat body) -> `data.id`
- `GET /api/v1/model/prediction/{id}` -> `data.status` (processing,
  completed, succeeded, failed), `data.outputs[]`, `data.error`,
  `data.metrics.predict_time`
- `POST /api/v1/model/uploadMedia` (multipart field `file`) ->
  `data.download_url`

Answers come in an envelope `{"code": ..., "message": ..., "data": ...}`;
an HTTP 200 whose `code` is not 200 is classified as if `code` were the HTTP
status. 402 means our Atlas balance is exhausted.

Our models -> Atlas model ids, only those Atlas confirms (the input names
`image`, `end_image`, `go_fast`, `enable_prompt_expansion` are those the same
ids take elsewhere: Atlas publishes no input schema):
- hailuo-02       -> "minimax/hailuo-02/standard" (768p, 6/10 s)
- hailuo-02-fast  -> "minimax/hailuo-02/fast" (512p, 6/10 s; `image` required,
                     `prompt` optional, `go_fast` passed through)
- hailuo-2.3      -> "minimax/hailuo-2.3/i2v-standard" (768p, 6/10 s; image to
                     video: `image` required, so a text-only request goes elsewhere)
Unconfirmed ids ("minimax/hailuo-02/pro" for 1080p, "minimax/hailuo-2.3/fast")
and last frames (`end_image`: no confirmed model takes one) are refused as
route mismatches, so such a request runs on the next route instead.

Images go as the signed https link to our stored copy when there is one;
frames given only as data URLs are uploaded with upload_media() first,
because Atlas takes images by URL.
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
from videogen.providers.responses import Decoded, body_message, decode_data_url

GENERATE_PATH = "/api/v1/model/generateVideo"
PREDICTION_PATH = "/api/v1/model/prediction/{id}"
UPLOAD_PATH = "/api/v1/model/uploadMedia"

_STATUSES = {
    "created": UpstreamStatus.QUEUED,
    "queued": UpstreamStatus.QUEUED,
    "pending": UpstreamStatus.QUEUED,
    "starting": UpstreamStatus.QUEUED,
    "processing": UpstreamStatus.RUNNING,
    "completed": UpstreamStatus.SUCCEEDED,
    "succeeded": UpstreamStatus.SUCCEEDED,
    "failed": UpstreamStatus.FAILED,
}
_BLOCK_WORDS = ("content", "safety", "moderat", "nsfw", "sensitive", "policy")
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def model_id(model: str, resolution: str) -> str | None:
    """Atlas's confirmed model id for our model at a resolution, or None if there is none."""
    if model == "hailuo-02" and resolution == "768p":
        return "minimax/hailuo-02/standard"
    if model == "hailuo-02-fast" and resolution == "512p":
        return "minimax/hailuo-02/fast"
    if model == "hailuo-2.3" and resolution == "768p":
        return "minimax/hailuo-2.3/i2v-standard"
    return None


_DEFAULT_RESOLUTION = {"hailuo-02": "768p", "hailuo-02-fast": "512p", "hailuo-2.3": "768p"}
# Atlas's image-to-video ids: `image` required.
_IMAGE_REQUIRED = frozenset({"hailuo-02-fast", "hailuo-2.3"})


class AtlasCloudAdapter(HttpProviderAdapter):
    """Generates videos through Atlas Cloud's prediction API."""

    name: ClassVar[str] = "atlascloud"
    key_setting: ClassVar[str] = "ATLASCLOUD_API_KEY"
    url_setting: ClassVar[str] = "ATLASCLOUD_BASE_URL"
    supported_models: ClassVar[frozenset[str]] = frozenset(_DEFAULT_RESOLUTION)

    # --- upload ---------------------------------------------------------------

    def upload_media(self, data: bytes, filename: str, content_type: str) -> str:
        """Store a file at Atlas and return its download URL (to pass as an image)."""
        self._require_key()
        return self.recorded(lambda: self._upload(data, filename, content_type))

    def _upload(self, data: bytes, filename: str, content_type: str) -> str:
        body = self._call("POST", UPLOAD_PATH, Phase.UPLOAD, files={"file": (filename, data, content_type)})
        url = body.get("download_url") if isinstance(body, dict) else None
        if not url:
            raise self.bad_response("Atlas Cloud stored the upload but sent no download_url.")
        return str(url)

    def _as_url(self, image: str, name: str) -> str:
        if not image.startswith("data:"):
            return image
        decoded = decode_data_url(image)
        if decoded is None:
            raise self.fail(ErrorKind.PERMANENT, "invalid_request", f"The {name} is not a readable base64 data URL.")
        content_type, data = decoded
        return self._upload(data, f"{name}.{_EXTENSIONS.get(content_type, 'bin')}", content_type)

    # --- submit ---------------------------------------------------------------

    @classmethod
    def check(cls, request: SubmitRequest) -> None:
        super().check(request)
        params = request.params
        resolution = str(params.get("resolution") or _DEFAULT_RESOLUTION[request.model]).lower()
        duration = int(params.get("duration") or 6)
        if model_id(request.model, resolution) is None:
            raise mismatch(
                f"Atlas Cloud has no confirmed model for {request.model} at {resolution}.", param="resolution"
            )
        if duration not in (6, 10):
            raise mismatch(f"Atlas Cloud cannot render {duration} s at {resolution}.", param="duration")
        if request.model in _IMAGE_REQUIRED and not params.get("first_frame_image"):
            raise mismatch(
                f"{model_id(request.model, resolution)} needs an image.",
                param="first_frame_image",
                code="missing_first_frame",
            )
        if params.get("last_frame_image"):
            raise mismatch("Atlas Cloud has no confirmed last-frame input for this model.", param="last_frame_image")

    def _body(self, request: SubmitRequest) -> dict[str, Any]:
        params = request.params
        resolution = str(params.get("resolution") or _DEFAULT_RESOLUTION[request.model]).lower()
        atlas_model = model_id(request.model, resolution)
        body: dict[str, Any] = {
            "model": atlas_model,
            "duration": int(params.get("duration") or 6),
            "enable_prompt_expansion": bool(params.get("prompt_optimizer", True)),
        }
        if params.get("prompt"):
            body["prompt"] = params["prompt"]
        if request.model == "hailuo-02-fast":
            body["go_fast"] = bool(params.get("go_fast", False))
        image = request.image("first_frame_image")
        if image:
            body["image"] = self._as_url(image, "first_frame")
        return body

    def start(self, request: SubmitRequest) -> UpstreamResult:
        """Start a prediction (uploading inline frames first); it starts QUEUED."""
        data = self._call("POST", GENERATE_PATH, Phase.SUBMIT, json=self._body(request))
        prediction_id = data.get("id") if isinstance(data, dict) else None
        if not prediction_id:
            raise self.bad_response("Atlas Cloud accepted the request but sent no prediction id.")
        return UpstreamResult(upstream_id=str(prediction_id), status=UpstreamStatus.QUEUED)

    # --- poll -------------------------------------------------------------------

    def status(self, upstream_id: str) -> UpstreamResult:
        """Read the prediction; completed/succeeded carries outputs[0]."""
        data = self._call("GET", PREDICTION_PATH.format(id=upstream_id), Phase.POLL)
        raw = data.get("status") if isinstance(data, dict) else None
        status = _STATUSES.get(str(raw or "").lower())
        if status is None:
            raise self.fail(ErrorKind.TRANSIENT, "unknown_status", f"Atlas Cloud sent an unknown status {raw!r}.")
        result = UpstreamResult(upstream_id=upstream_id, status=status)
        if status == UpstreamStatus.SUCCEEDED:
            outputs = data.get("outputs")
            url = outputs[0] if isinstance(outputs, list) and outputs else None
            if not isinstance(url, str) or not url:
                raise self.fail(
                    ErrorKind.TRANSIENT, "no_output", "Atlas Cloud said the prediction finished but listed no outputs."
                )
            result.output_url = url
        elif status == UpstreamStatus.FAILED:
            message = body_message({"error": data.get("error")}) or "Atlas Cloud reported the prediction as failed."
            result.error_message = self.redact(message)
            lowered = message.lower()
            blocked = any(word in lowered for word in _BLOCK_WORDS)
            result.error_code = "content_blocked" if blocked else "generation_failed"
        return result

    # --- classification ---------------------------------------------------------------

    def raise_for_response(self, response: httpx.Response, decoded: Decoded, phase: Phase) -> None:
        """HTTP rules first; then the envelope's `code`, checked like an HTTP status."""
        super().raise_for_response(response, decoded, phase)
        body = decoded.data
        if not isinstance(body, dict):
            raise self.bad_response(f"Atlas Cloud answered with {type(body).__name__}.")
        code = body.get("code")
        if isinstance(code, int) and code not in (0, 200):
            self.raise_status(code, body_message(body), phase=phase)

    def _call(
        self,
        method: str,
        path: str,
        phase: Phase,
        *,
        json: Any = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> Any:
        """Send, then unwrap the envelope (the docs show both the envelope and a bare prediction)."""
        _, body = self.request(method, path, phase=phase, json=json, files=files)
        data = body.get("data")
        return data if isinstance(data, dict) else body
