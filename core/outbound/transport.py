"""Connections that go to the checked address only, with bounded time."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import httpx

from core.outbound.rules import ResolvedURL, UnsafeURLError


class PinnedTransport(httpx.HTTPTransport):
    """Sends requests for one checked host to the checked address only.

    The URL handed to the connection pool names the IP address, so nothing
    below this point resolves the host name again. The Host header keeps the
    original name (httpx set it when the request was built), and the
    "sni_hostname" extension makes httpcore use the original name for TLS SNI
    and certificate verification.
    """

    def __init__(self, target: ResolvedURL, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._target = target

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        target = self._target
        if (url.scheme, url.host, port) != (target.scheme, target.host, target.port):
            raise RuntimeError(f"pinned to {target.host}:{target.port}, asked for {url}")
        pinned = httpx.Request(
            request.method,
            url.copy_with(host=target.ip),
            headers=request.headers,
            stream=request.stream,
            extensions={**request.extensions, "sni_hostname": target.host},
        )
        return super().handle_request(pinned)


def pinned_client(target: ResolvedURL, *, timeout: float) -> httpx.Client:
    """A client that can only talk to `target`, via its checked address."""
    return httpx.Client(
        transport=PinnedTransport(target, retries=0),
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,  # no proxy or .netrc from the environment
    )


@contextlib.contextmanager
def network_errors(field: str) -> Iterator[None]:
    """Turn httpx network failures into UnsafeURLError("timeout" / "connect_error")."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise UnsafeURLError(field, "timeout", f"{field}: the server did not answer in time.") from exc
    except httpx.TransportError as exc:
        message = f"{field}: the connection to the server failed ({type(exc).__name__})."
        raise UnsafeURLError(field, "connect_error", message) from exc


class Deadline:
    """A bound on the whole exchange, checked between chunks of a body."""

    def __init__(self, seconds: float, field: str) -> None:
        self._end = time.monotonic() + seconds
        self._field = field

    def remaining(self) -> float:
        left = self._end - time.monotonic()
        if left <= 0:
            message = f"{self._field}: the server did not answer in time."
            raise UnsafeURLError(self._field, "timeout", message)
        return left
