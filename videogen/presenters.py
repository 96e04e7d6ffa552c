"""The job object: one shape for the API, webhooks and the web app's status updates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from billing.money import usd_string
from videogen.models import Generation, Status
from videogen.services.files import signed_url


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if not start or not end:
        return None
    return round((end - start).total_seconds(), 3)


def generation_output(generation: Generation) -> dict[str, Any] | None:
    if generation.status != Status.SUCCEEDED or not generation.video or generation.output_deleted_at:
        return None
    return {
        "video_url": signed_url(generation.video.name),
        "download_url": signed_url(generation.video.name, download_as=f"{generation.public_id}.mp4"),
        "poster_url": signed_url(generation.poster.name) if generation.poster else None,
        "content_type": "video/mp4",
        "duration": generation.output_duration_s,
        "width": generation.output_width,
        "height": generation.output_height,
        "size_bytes": generation.output_bytes,
    }


def generation_to_dict(generation: Generation) -> dict[str, Any]:
    charged = generation.status == Status.SUCCEEDED
    error = None
    if generation.failure_code:
        error = {"code": generation.failure_code, "message": generation.failure_message}
    return {
        "id": generation.public_id,
        "object": "generation",
        "status": generation.status,
        "model": generation.model,
        "input": generation.input,
        "output": generation_output(generation),
        "error": error,
        "price": {
            "amount": usd_string(generation.price_micros),
            "amount_micros": generation.price_micros,
            "currency": "usd",
            "charged": charged,
        },
        "metadata": generation.metadata,
        "created_at": _iso(generation.created_at),
        "started_at": _iso(generation.started_at),
        "completed_at": _iso(generation.completed_at),
        "timings": {
            "queue_seconds": _seconds(generation.created_at, generation.started_at),
            "generation_seconds": _seconds(generation.started_at, generation.completed_at),
        },
    }
