"""All outbound HTTP of the product goes through this module.

It sets timeouts on every client and applies the rules for URLs that
customers give us (images, webhooks).
"""

from __future__ import annotations

import httpx
from django.conf import settings


def provider_client(*, max_connections: int = 32) -> httpx.Client:
    """A pooled client for a provider's API (trusted, operator-configured hosts)."""
    timeout = httpx.Timeout(
        connect=settings.PROVIDER_CONNECT_TIMEOUT,
        read=settings.PROVIDER_READ_TIMEOUT,
        write=settings.PROVIDER_READ_TIMEOUT,
        pool=settings.PROVIDER_READ_TIMEOUT,
    )
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    return httpx.Client(timeout=timeout, limits=limits, follow_redirects=False)
