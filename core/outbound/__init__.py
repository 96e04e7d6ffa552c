"""All outbound HTTP of the product goes through this package.

It sets timeouts on every client and applies the rules for URLs that
customers give us (images, webhooks).

A customer URL is checked by `check_url`: http(s) only, no credentials, and
every address its host resolves to must be public. The request is then sent
to the address that was checked, never to a fresh DNS answer, so a name that
changes its answer between the check and the connection (DNS rebinding)
cannot reach an internal service. The Host header, TLS SNI and certificate
verification still use the original host name.
"""

from __future__ import annotations

import httpx
from django.conf import settings

from core.outbound.fetching import FetchedContent, PostResult, download_to_file, fetch, post_json
from core.outbound.rules import REASON_CODES, ResolvedURL, UnsafeURLError, address_refusal, check_url
from core.outbound.transport import PinnedTransport, pinned_client

__all__ = [
    "REASON_CODES",
    "FetchedContent",
    "PinnedTransport",
    "PostResult",
    "ResolvedURL",
    "UnsafeURLError",
    "address_refusal",
    "check_url",
    "download_to_file",
    "fetch",
    "pinned_client",
    "post_json",
    "provider_client",
]


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
