"""Pytest fixtures for the emulators: `pytest_plugins = ["tests.emulators.fixtures"]`.

Each emulator fixture is a started server that needs three polls to finish a
job and serves the session's MP4. Clients: `provider_http` has timeouts a
loopback server always meets; `impatient_http` gives up after 0.3 s, for
timeout scenarios.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest

from tests.emulators.aimlapi import AimlApiEmulator
from tests.emulators.atlascloud import AtlasCloudEmulator
from tests.emulators.helpers import EMULATOR_API_KEY
from tests.emulators.media import make_mp4
from tests.emulators.minimax import MiniMaxEmulator
from tests.emulators.segmind import SegmindEmulator

# Emulators speak plain HTTP; one shared TLS context spares each client ~80 ms of certificate loading.
_TLS = ssl.create_default_context()


@pytest.fixture(scope="session")
def mp4_bytes() -> bytes:
    return make_mp4()


@pytest.fixture
def provider_http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(10.0, connect=5.0), verify=_TLS) as client:
        yield client


@pytest.fixture
def impatient_http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(0.3), verify=_TLS) as client:
        yield client


@pytest.fixture
def minimax_emulator(mp4_bytes: bytes) -> Iterator[MiniMaxEmulator]:
    with MiniMaxEmulator(api_key=EMULATOR_API_KEY, video_bytes=mp4_bytes) as emulator:
        yield emulator


@pytest.fixture
def segmind_emulator(mp4_bytes: bytes) -> Iterator[SegmindEmulator]:
    with SegmindEmulator(api_key=EMULATOR_API_KEY, video_bytes=mp4_bytes) as emulator:
        yield emulator


@pytest.fixture
def aimlapi_emulator(mp4_bytes: bytes) -> Iterator[AimlApiEmulator]:
    with AimlApiEmulator(api_key=EMULATOR_API_KEY, video_bytes=mp4_bytes) as emulator:
        yield emulator


@pytest.fixture
def atlascloud_emulator(mp4_bytes: bytes) -> Iterator[AtlasCloudEmulator]:
    with AtlasCloudEmulator(api_key=EMULATOR_API_KEY, video_bytes=mp4_bytes) as emulator:
        yield emulator
