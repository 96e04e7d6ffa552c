"""The built-in sandbox provider: renders real MP4 files locally.

It behaves like a remote asynchronous API (queued, then processing, then
completed after SANDBOX_LATENCY_SECONDS) so the whole pipeline runs without
any provider key. Magic prompts exercise failure paths, like a payment
provider's test cards:

- `sandbox:fail`  the job ends FAILED with a content-policy reason;
- `sandbox:error` submission fails with a 503, so routing falls back;
- `sandbox:hang`  the job never completes, so our deadline fires.

Like the real providers, it refuses a model's request without a first frame
when the catalog says the model needs one.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import ClassVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from videogen import catalog
from videogen.media import decode_data_url_or_base64, open_image_rgb, output_size, render_sandbox_video
from videogen.models import SandboxTask
from videogen.providers import registry
from videogen.providers.base import (
    ErrorKind,
    Exchange,
    ProviderAdapter,
    ProviderError,
    SubmitRequest,
    UpstreamResult,
    UpstreamStatus,
    mismatch,
)

FAIL, ERROR, HANG = "sandbox:fail", "sandbox:error", "sandbox:hang"


class SandboxAdapter(ProviderAdapter):
    name = "sandbox"
    supports_cancel = True
    idempotent_submit = True
    supported_models: ClassVar[frozenset[str]] = frozenset(catalog.MODELS)

    def __init__(self, *, latency_s: int | None = None, directory: Path | None = None) -> None:
        self.latency_s = settings.SANDBOX_LATENCY_SECONDS if latency_s is None else latency_s
        self.directory = Path(directory or settings.SANDBOX_DIR)

    def submit(self, request: SubmitRequest) -> UpstreamResult:
        prompt = request.params.get("prompt", "")
        exchange = Exchange("POST", "sandbox://submit", None, {"model": request.model, "prompt": prompt[:200]})
        if catalog.MODELS[request.model].first_frame == "required" and not request.params.get("first_frame_image"):
            # As every real provider of such a model does (the catalog refuses these requests before this).
            raise mismatch(
                f"{request.model} needs a first frame.", param="first_frame_image", code="missing_first_frame"
            )
        if ERROR in prompt:
            raise ProviderError(
                ErrorKind.TRANSIENT, "upstream_unavailable", "Sandbox: service unavailable (503).", status_code=503
            )
        task = self._create(request)
        exchange.status_code = 200
        exchange.response_body = {"id": task.upstream_id, "status": "queued"}
        return UpstreamResult(task.upstream_id, UpstreamStatus.QUEUED, exchanges=[exchange])

    def _create(self, request: SubmitRequest) -> SandboxTask:
        existing = SandboxTask.objects.filter(idempotency_key=request.idempotency_key).first()
        if existing is not None:
            return existing
        params = {key: value for key, value in request.params.items() if key not in catalog.IMAGE_FIELDS}
        task = SandboxTask(
            idempotency_key=request.idempotency_key,
            params={**params, "model": request.model},
            complete_at=timezone.now() + timedelta(seconds=self.latency_s),
        )
        folder = self.directory / task.upstream_id
        folder.mkdir(parents=True, exist_ok=True)
        for name in catalog.IMAGE_FIELDS:
            value = request.params.get(name)
            data = decode_data_url_or_base64(value) if value else None
            if data:
                (folder / f"{name}.img").write_bytes(data)
        try:
            with transaction.atomic():
                task.save()
        except IntegrityError:  # the same submission raced us: answer as the first one did
            return SandboxTask.objects.get(idempotency_key=request.idempotency_key)
        return task

    def poll(self, upstream_id: str) -> UpstreamResult:
        task = SandboxTask.objects.filter(upstream_id=upstream_id).first()
        if task is None:
            raise ProviderError(ErrorKind.PERMANENT, "expired", f"Sandbox: no job {upstream_id}.", status_code=404)
        now = timezone.now()
        prompt = task.params.get("prompt", "")
        if task.canceled_at:
            return UpstreamResult(upstream_id, UpstreamStatus.FAILED, error_code="canceled", error_message="Canceled.")
        if now < task.created_at + (task.complete_at - task.created_at) / 3:
            return UpstreamResult(upstream_id, UpstreamStatus.QUEUED)
        if now < task.complete_at or HANG in prompt:
            return UpstreamResult(upstream_id, UpstreamStatus.RUNNING)
        if FAIL in prompt:
            return UpstreamResult(
                upstream_id,
                UpstreamStatus.FAILED,
                error_code="content_policy",
                error_message="The prompt was blocked by the content policy.",
            )
        return UpstreamResult(upstream_id, UpstreamStatus.SUCCEEDED, output_path=self._render(task))

    def _render(self, task: SandboxTask) -> Path:
        folder = self.directory / task.upstream_id
        dest = folder / "output.mp4"
        if dest.exists():
            return dest
        folder.mkdir(parents=True, exist_ok=True)
        first = _read(folder / "first_frame_image.img")
        last = _read(folder / "last_frame_image.img")
        aspect = open_image_rgb(first).size if first else None
        width, height = output_size(task.params["resolution"], aspect)
        render_sandbox_video(
            dest,
            width=width,
            height=height,
            duration_s=int(task.params["duration"]),
            prompt=task.params.get("prompt", ""),
            first_frame=first,
            last_frame=last,
        )
        return dest

    def cancel(self, upstream_id: str) -> None:
        SandboxTask.objects.filter(upstream_id=upstream_id, canceled_at=None).update(canceled_at=timezone.now())


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


registry.ADAPTERS["sandbox"] = SandboxAdapter
