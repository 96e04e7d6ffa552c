"""The job object: one shape for the API, webhooks and the web app's status updates."""

from __future__ import annotations

import json
import pprint
import shlex
from datetime import datetime
from typing import Any

from billing.money import usd_string
from videogen.models import Generation, Status
from videogen.services.files import signed_url

# The columns `generation_to_dict` reads: a status read loads only these.
GENERATION_FIELDS = (
    "public_id",
    "status",
    "model",
    "input",
    "failure_code",
    "failure_message",
    "price_micros",
    "metadata",
    "created_at",
    "started_at",
    "completed_at",
    "video",
    "poster",
    "output_deleted_at",
    "output_duration_s",
    "output_width",
    "output_height",
    "output_bytes",
)


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


def generation_request_body(generation: Generation) -> dict[str, Any]:
    """The native API request that asks for this job again: its model and the inputs it was given."""
    given = {key: value for key, value in generation.input.items() if value is not None}
    if "mode" in given:
        given.pop("resolution", None)  # the mode decides it
    return {"model": generation.model, "input": given}


def api_snippets(base_url: str, key: str, body: dict[str, Any] | None = None) -> dict[str, str]:
    """Ready-to-paste curl and Python that start a generation through the native API with `key`.

    `key` is the key itself on the page that just made it, or a shell/environment placeholder elsewhere.
    """
    # A model that works from text alone, so the snippet runs as pasted.
    body = body or {"model": "hailuo-02", "input": {"prompt": "A paper boat drifting down a rainy street"}}
    url = f"{base_url.rstrip('/')}/api/v1/generations"
    pretty = json.dumps(body, indent=2, ensure_ascii=False)
    placeholder = key.startswith("$")
    auth = f"Authorization: Bearer {key}"
    curl = "\n".join(
        [
            f"curl {url} \\",
            f'  -H "{auth}" \\' if placeholder else f"  -H {shlex.quote(auth)} \\",
            "  -H 'Content-Type: application/json' \\",
            f"  -d {shlex.quote(pretty)}",
        ]
    )
    python_key = f'os.environ["{key[1:]}"]' if placeholder else repr(key)
    python = "\n".join(
        [
            "import os, requests" if placeholder else "import requests",
            "",
            "response = requests.post(",
            f"    {url!r},",
            f'    headers={{"Authorization": "Bearer " + {python_key}}},',
            f"    json={_python_literal(body)},",
            "    timeout=30,",
            ")",
            "response.raise_for_status()",
            'print(response.json()["id"], response.json()["status"])',
        ]
    )
    return {"url": url, "json": pretty, "curl": curl, "python": python}


def _python_literal(value: Any) -> str:
    """A Python literal of the request, indented to sit inside the call."""
    return pprint.pformat(value, sort_dicts=False, width=100).replace("\n", "\n    ")
