"""Building adapters by name from the settings."""

from __future__ import annotations

import httpx
import pytest
from pytest_django.fixtures import Settings

from tests.emulators.aimlapi import AimlApiEmulator
from tests.emulators.helpers import EMULATOR_API_KEY
from videogen.providers import registry
from videogen.providers.aimlapi import AimlApiAdapter
from videogen.providers.atlascloud import AtlasCloudAdapter
from videogen.providers.base import ProviderAdapter, SubmitRequest, UpstreamStatus
from videogen.providers.minimax import MiniMaxAdapter
from videogen.providers.segmind import SegmindAdapter

pytest_plugins = ["tests.emulators.fixtures"]


@pytest.mark.parametrize(
    ("name", "cls", "prefix"),
    [
        ("minimax", MiniMaxAdapter, "MINIMAX"),
        ("segmind", SegmindAdapter, "SEGMIND"),
        ("aimlapi", AimlApiAdapter, "AIMLAPI"),
        ("atlascloud", AtlasCloudAdapter, "ATLASCLOUD"),
    ],
)
def test_adapters_take_their_key_and_url_from_the_settings(
    settings: Settings, name: str, cls: type[ProviderAdapter], prefix: str
) -> None:
    setattr(settings, f"{prefix}_API_KEY", f"{name}-key")
    setattr(settings, f"{prefix}_BASE_URL", f"https://{name}.example.test")

    adapter = registry.build_adapter(name)
    try:
        assert isinstance(adapter, cls)
        assert (adapter.api_key, adapter.base_url) == (f"{name}-key", f"https://{name}.example.test")
        assert adapter.supported_models
    finally:
        adapter.close()


def test_a_built_adapter_talks_to_the_given_url_with_the_given_client(
    aimlapi_emulator: AimlApiEmulator, provider_http: httpx.Client
) -> None:
    adapter = registry.build_adapter(
        "aimlapi", client=provider_http, api_key=EMULATOR_API_KEY, base_url=aimlapi_emulator.base_url
    )

    result = adapter.submit(SubmitRequest(model="hailuo-02", params={"prompt": "a cat"}, idempotency_key="k"))
    adapter.close()

    assert result.status == UpstreamStatus.QUEUED
    assert not provider_http.is_closed, "a client we were given is not ours to close"


def test_an_adapter_closes_the_client_it_created(settings: Settings) -> None:
    adapter = registry.build_adapter("segmind")

    adapter.close()

    assert adapter.client.is_closed


def test_unknown_providers_are_refused_with_the_known_names() -> None:
    with pytest.raises(KeyError, match="minimax"):
        registry.build_adapter("no-such-provider")


def test_another_module_can_add_a_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    class Elsewhere(ProviderAdapter):
        name = "elsewhere"

    monkeypatch.setitem(registry.ADAPTERS, "elsewhere", Elsewhere)

    assert isinstance(registry.build_adapter("elsewhere", api_key="k"), Elsewhere)
    assert "elsewhere" in registry.provider_names()
    assert registry.adapter_class("elsewhere") is Elsewhere


def test_the_sandbox_adds_itself() -> None:
    import videogen.providers.sandbox

    assert registry.adapter_class("sandbox") is videogen.providers.sandbox.SandboxAdapter
