"""Provider adapters by name: a plain mapping from a provider's name to its adapter class.

The four HTTP providers are listed here; the sandbox module adds its own
(`ADAPTERS["sandbox"] = SandboxAdapter`). Each class builds itself from the
settings (`from_settings`), so routing can also ask a class's `check()`
about a request without building an adapter or its HTTP client.
"""

from __future__ import annotations

import httpx

from videogen.providers.aimlapi import AimlApiAdapter
from videogen.providers.atlascloud import AtlasCloudAdapter
from videogen.providers.base import ProviderAdapter
from videogen.providers.minimax import MiniMaxAdapter
from videogen.providers.segmind import SegmindAdapter

ADAPTERS: dict[str, type[ProviderAdapter]] = {
    "minimax": MiniMaxAdapter,
    "segmind": SegmindAdapter,
    "aimlapi": AimlApiAdapter,
    "atlascloud": AtlasCloudAdapter,
}


def provider_names() -> list[str]:
    return sorted(ADAPTERS)


def adapter_class(name: str) -> type[ProviderAdapter] | None:
    return ADAPTERS.get(name)


def build_adapter(
    name: str,
    *,
    client: httpx.Client | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
) -> ProviderAdapter:
    """An adapter for the named provider; key and base URL default to the settings.

    Without a `client`, the adapter gets its own pooled one from
    `provider_client()` and closes it in `close()`.
    """
    try:
        adapter_cls = ADAPTERS[name]
    except KeyError:
        raise KeyError(f"Unknown provider {name!r}; known: {', '.join(provider_names())}.") from None
    return adapter_cls.from_settings(client=client, api_key=api_key, base_url=base_url)
