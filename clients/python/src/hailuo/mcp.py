"""An MCP server (stdio) that lets a coding assistant make videos with the customer's own API key.

Run it with `hailuo mcp` or `python -m hailuo.mcp`; it reads HAILUO_API_KEY and
HAILUO_BASE_URL from its environment. Every tool calls the public API with
that key and nothing else, so the assistant can do exactly what the key's
role allows and spend only the organization's credit.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from hailuo._client import AsyncClient
from hailuo.errors import APIError, HailuoError, WaitTimeout
from hailuo.models import Generation, Progress

__all__ = ["main", "server"]

INSTRUCTIONS = (
    "Makes short videos with MiniMax Hailuo models on Hailuo Studio, paid from the user's prepaid credit. "
    "Call list_models for models, parameters and prices; start_generation returns at once with an id; "
    "wait_for_generation follows it to the end; download_generation saves the MP4. A generation is charged "
    "only if it succeeds; get_balance shows the credit left."
)

server: MCPServer[Any] = MCPServer("hailuo", instructions=INSTRUCTIONS)
_client: AsyncClient | None = None


def _api() -> AsyncClient:
    global _client
    if _client is None:
        try:
            _client = AsyncClient()
        except HailuoError as exc:
            raise ToolError(f"{exc} Add it to this MCP server's env in your assistant's configuration.") from None
    return _client


@contextmanager
def _errors() -> Iterator[None]:
    """The API's refusals reach the assistant as tool errors it can read and act on."""
    try:
        yield
    except APIError as exc:
        field = f", field {exc.field}" if exc.field else ""
        raise ToolError(f"{exc.message} (HTTP {exc.status}, {exc.code}{field})") from None
    except HailuoError as exc:
        raise ToolError(str(exc)) from None


def _job(generation: Generation) -> dict[str, Any]:
    """What the assistant needs of a generation (the full API object is in `raw`)."""
    output = generation.output
    return {
        "id": generation.id,
        "status": generation.status,
        "model": generation.model,
        "prompt": generation.input.get("prompt"),
        "price_usd": str(generation.price.amount),
        "charged": generation.price.charged,
        "error": None
        if generation.error is None
        else {"code": generation.error.code, "message": generation.error.message},
        "video_url": output.video_url if output else None,
        "duration_seconds": output.duration if output else None,
        "width": output.width if output else None,
        "height": output.height if output else None,
        "created_at": generation.created_at.isoformat() if generation.created_at else None,
    }


@server.tool()
async def list_models() -> dict[str, Any]:
    """The video models on offer, their parameters (durations, resolutions, image rules) and each variant's price."""
    with _errors():
        models = await _api().models.list()
    return {
        "models": [
            {
                "id": m.id,
                "name": m.name,
                "description": m.description,
                "parameters": m.parameters,
                "prices": [
                    {
                        "duration": p.duration,
                        "resolution": p.resolution,
                        "mode": p.mode,
                        "price_usd": str(p.price),
                    }
                    for p in m.prices
                ],
            }
            for m in models
        ]
    }


@server.tool()
async def start_generation(
    prompt: str,
    model: str | None = None,
    image: str | None = None,
    last_image: str | None = None,
    duration: int | None = None,
    resolution: str | None = None,
    mode: str | None = None,
) -> dict[str, Any]:
    """Start a video; returns at once with its id (then call wait_for_generation).

    `image` is the first frame: a local file path (absolute, or relative to this server's working directory)
    or an http(s) URL; `last_image` likewise where the model takes one. Without `model`: hailuo-02-fast
    when an image is given (it needs one), hailuo-02 otherwise. The price is reserved now and charged only
    if the video is delivered.
    """
    with _errors():
        generation = await _api().generations.create(
            model=model or ("hailuo-02-fast" if image else "hailuo-02"),
            prompt=prompt,
            first_frame=image or None,
            last_frame=last_image or None,
            duration=duration,
            resolution=resolution,
            mode=mode,
        )
    return _job(generation)


@server.tool()
async def get_generation(generation_id: str) -> dict[str, Any]:
    """The status of a generation (queued, running, succeeded, failed, canceled, timed_out) and its video link."""
    with _errors():
        return _job(await _api().generations.get(generation_id))


@server.tool()
async def wait_for_generation(
    generation_id: str, ctx: Context[Any, Any], timeout_seconds: float = 300
) -> dict[str, Any]:
    """Wait until a generation finishes (at most `timeout_seconds`), reporting progress; returns it as it stands."""

    async def progress(report: Progress) -> None:
        await ctx.report_progress(report.percent, 100, report.status)

    with _errors():
        try:
            generation = await _api().generations.wait(generation_id, timeout=timeout_seconds, on_progress=progress)
        except WaitTimeout as exc:
            still = exc.generation.status
            return {**_job(exc.generation), "note": f"still {still}: call wait_for_generation again"}
    return _job(generation)


@server.tool()
async def download_generation(generation_id: str, path: str) -> dict[str, Any]:
    """Save a succeeded generation's MP4 to `path` (a file, or an existing folder for <id>.mp4); returns where."""
    target = Path(os.path.expanduser(path))
    if not target.is_absolute():
        target = Path.cwd() / target
    with _errors():
        saved = await _api().generations.download(generation_id, target)
    return {"id": generation_id, "path": str(saved), "size_bytes": saved.stat().st_size}


@server.tool()
async def cancel_generation(generation_id: str) -> dict[str, Any]:
    """Cancel a queued or running generation; its reserved credit is released and nothing is charged."""
    with _errors():
        return _job(await _api().generations.cancel(generation_id))


@server.tool()
async def list_generations(limit: int = 10, status: str | None = None) -> dict[str, Any]:
    """Recent generations, newest first (`status` filters, e.g. "succeeded" or "queued,running")."""
    with _errors():
        page = await _api().generations.page(limit=max(1, min(limit, 100)), status=status or None)
    return {"generations": [_job(g) for g in page.data], "has_more": page.has_more}


@server.tool()
async def get_balance() -> dict[str, Any]:
    """The organization's credit in USD: balance, held for running generations, and available to spend."""
    with _errors():
        balance = await _api().balance()
    return {"balance_usd": str(balance.balance), "held_usd": str(balance.held), "available_usd": str(balance.available)}


def main() -> None:
    """Serve on stdio until the client goes away."""
    server.run("stdio")


if __name__ == "__main__":
    main()
