"""The MCP server started over stdio as an assistant starts it (`hailuo mcp`), driven with mcp's client to a video."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from accounts.models import Organization
from billing.selectors import balance_get
from tests.clients.conftest import client_env
from tests.compat.conftest import LIVE
from videogen.media import probe_video
from videogen.models import Generation

pytestmark = [LIVE]

TOOLS = {
    "list_models",
    "start_generation",
    "get_generation",
    "wait_for_generation",
    "download_generation",
    "cancel_generation",
    "list_generations",
    "get_balance",
}


def _result(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    if result.structured_content is not None:
        return dict(result.structured_content)
    return dict(json.loads(result.content[0].text))


async def _session_run(key: str, base_url: str, frame: Path, out: Path, errlog: Path) -> dict[str, Any]:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "hailuo", "mcp"], env=client_env(key, base_url), cwd=str(out.parent)
    )
    seen: dict[str, Any] = {"progress": []}

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen["progress"].append((progress, total, message))

    with errlog.open("w") as log:
        async with stdio_client(params, errlog=log) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            listed = await session.list_tools()
            seen["tools"] = {tool.name: tool for tool in listed.tools}

            seen["models"] = _result(await session.call_tool("list_models", {}))
            seen["balance_before"] = _result(await session.call_tool("get_balance", {}))
            started = _result(
                await session.call_tool(
                    "start_generation", {"prompt": "a paper boat", "image": str(frame), "duration": 6}
                )
            )
            seen["started"] = started
            seen["finished"] = _result(
                await session.call_tool(
                    "wait_for_generation",
                    {"generation_id": started["id"], "timeout_seconds": 120},
                    progress_callback=on_progress,
                )
            )
            seen["saved"] = _result(
                await session.call_tool("download_generation", {"generation_id": started["id"], "path": out.name})
            )
            seen["balance_after"] = _result(await session.call_tool("get_balance", {}))
            seen["refused"] = await session.call_tool(
                "start_generation", {"prompt": "a kite", "duration": 7}
            )  # a rule broken: the API's reason comes back as a tool error
    return seen


def test_an_assistant_makes_a_video_through_the_mcp_server(
    live: str, key_a: str, org_a: Organization, frame_png: Path, tmp_path: Path, settings
) -> None:
    settings.SANDBOX_LATENCY_SECONDS = 2
    out = tmp_path / "boat.mp4"
    seen = asyncio.run(_session_run(key_a, live, frame_png, out, tmp_path / "server.log"))

    assert set(seen["tools"]) == TOOLS
    assert "image" in seen["tools"]["start_generation"].input_schema["properties"]
    fast = next(m for m in seen["models"]["models"] if m["id"] == "hailuo-02-fast")
    assert any(p["duration"] == 6 and p["price_usd"] for p in fast["prices"])

    started, finished = seen["started"], seen["finished"]
    assert started["id"].startswith("gen_") and started["status"] in ("queued", "submitting", "running")
    assert finished["id"] == started["id"] and finished["status"] == "succeeded" and finished["charged"]
    assert seen["progress"] and seen["progress"][-1][0] == 100 and seen["progress"][-1][2] == "succeeded"

    assert seen["saved"]["path"] == str(out)
    info = probe_video(out)
    assert abs(info.duration_s - 6) < 0.1 and info.codec == "h264"

    job = Generation.objects.get(public_id=started["id"], organization=org_a)
    assert job.input["first_frame_image"].startswith("upl_")  # the local image went up through the API
    spent = float(seen["balance_before"]["balance_usd"]) - float(seen["balance_after"]["balance_usd"])
    assert round(spent * 1_000_000) == job.price_micros
    assert seen["balance_after"]["balance_usd"] == f"{balance_get(org_a).balance_micros / 1_000_000:.2f}"

    refused = seen["refused"]
    assert refused.is_error and "field duration" in refused.content[0].text and "HTTP 400" in refused.content[0].text
    assert Generation.objects.filter(organization=org_a).count() == 1
