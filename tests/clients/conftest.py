"""Fixtures for our Python client: the live server and pipeline of the compatibility tests, a frame image on disk.

The client under test is the `hailuo` package of this checkout (clients/python/src), which bin/_env.sh
installs editable; subprocesses (the CLI, the MCP server) get the same source through PYTHONPATH.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.compat.conftest import _fast_sandbox, frames, key_a, live, png_bytes, runner  # noqa: F401

CLIENT_SOURCE = Path(__file__).resolve().parents[2] / "clients" / "python" / "src"
if str(CLIENT_SOURCE) not in sys.path:
    sys.path.insert(0, str(CLIENT_SOURCE))


@pytest.fixture
def frame_png(tmp_path: Path) -> Path:
    """A first frame on disk, as a customer would have it."""
    path = tmp_path / "frame.png"
    path.write_bytes(png_bytes(640, 360))
    return path


def client_env(key: str, base_url: str) -> dict[str, str]:
    """The environment of a subprocess that runs this checkout's client with `key` against `base_url`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAILUO_")}
    env.update(
        HAILUO_API_KEY=key,
        HAILUO_BASE_URL=base_url,
        PYTHONPATH=os.pathsep.join([str(CLIENT_SOURCE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        PYTHONUNBUFFERED="1",
    )
    return env
