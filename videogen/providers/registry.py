"""Build provider adapters by name.

The four HTTP providers are registered here. Other modules add theirs with
`register(name, factory)` (the sandbox provider does this): a factory takes
keyword arguments `client`, `api_key` and `base_url` (each possibly None,
meaning "use your default") and returns a ProviderAdapter.
"""

from __future__ import annotations

from typing import Protocol

import httpx
from django.conf import settings

from core.outbound import provider_client
from videogen.providers.aimlapi import AimlApiAdapter
from videogen.providers.atlascloud import AtlasCloudAdapter
from videogen.providers.base import ProviderAdapter
from videogen.providers.minimax import MiniMaxAdapter
from videogen.providers.segmind import SegmindAdapter


class AdapterFactory(Protocol):
    def __call__(
        self, *, client: httpx.Client | None, api_key: str | None, base_url: str | None
    ) -> ProviderAdapter: ...


_FACTORIES: dict[str, AdapterFactory] = {}
_CLASSES: dict[str, type[ProviderAdapter]] = {}


def register(name: str, factory: AdapterFactory, adapter_class: type[ProviderAdapter] | None = None) -> None:
    """Make `build_adapter(name)` use `factory`; registering a name again replaces it.

    `adapter_class` lets routing ask the provider's `check()` about a request
    without building an adapter (and its HTTP client).
    """
    _FACTORIES[name] = factory
    if adapter_class is not None:
        _CLASSES[name] = adapter_class
    else:
        _CLASSES.pop(name, None)


def adapter_class(name: str) -> type[ProviderAdapter] | None:
    return _CLASSES.get(name)


def provider_names() -> list[str]:
    return sorted(_FACTORIES)


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
        factory = _FACTORIES[name]
    except KeyError:
        raise KeyError(f"Unknown provider {name!r}; known: {', '.join(provider_names())}.") from None
    return factory(client=client, api_key=api_key, base_url=base_url)


def _pick(value: str | None, default: str) -> str:
    return default if value is None else value


def _minimax(*, client: httpx.Client | None, api_key: str | None, base_url: str | None) -> ProviderAdapter:
    return MiniMaxAdapter(
        client=client or provider_client(),
        owns_client=client is None,
        api_key=_pick(api_key, settings.MINIMAX_API_KEY),
        base_url=base_url or settings.MINIMAX_BASE_URL,
    )


def _segmind(*, client: httpx.Client | None, api_key: str | None, base_url: str | None) -> ProviderAdapter:
    return SegmindAdapter(
        client=client or provider_client(),
        owns_client=client is None,
        api_key=_pick(api_key, settings.SEGMIND_API_KEY),
        base_url=base_url or settings.SEGMIND_BASE_URL,
    )


def _aimlapi(*, client: httpx.Client | None, api_key: str | None, base_url: str | None) -> ProviderAdapter:
    return AimlApiAdapter(
        client=client or provider_client(),
        owns_client=client is None,
        api_key=_pick(api_key, settings.AIMLAPI_API_KEY),
        base_url=base_url or settings.AIMLAPI_BASE_URL,
    )


def _atlascloud(*, client: httpx.Client | None, api_key: str | None, base_url: str | None) -> ProviderAdapter:
    return AtlasCloudAdapter(
        client=client or provider_client(),
        owns_client=client is None,
        api_key=_pick(api_key, settings.ATLASCLOUD_API_KEY),
        base_url=base_url or settings.ATLASCLOUD_BASE_URL,
    )


register("minimax", _minimax, MiniMaxAdapter)
register("segmind", _segmind, SegmindAdapter)
register("aimlapi", _aimlapi, AimlApiAdapter)
register("atlascloud", _atlascloud, AtlasCloudAdapter)
# "sandbox" is registered by its own module through register().
