"""A lean HTTP/1.1 load generator for the benchmarks: keep-alive connections on asyncio, raw bytes.

The server under test shares the machine's two cores with whatever drives it,
so the driver must cost as little CPU as it can: a full client library spends
several times more CPU per request than the smaller API requests themselves
cost the server. This one pre-encodes each request, reads the status line and
Content-Length framed (or chunked) responses with an asyncio.Protocol, and
nothing else. It speaks only to our own server on loopback.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any


@dataclass
class Response:
    status: int
    body: bytes


def encode_request(method: str, path: str, host: str, headers: dict[str, str] | None = None, body: Any = None) -> bytes:
    """One HTTP/1.1 request as bytes; a dict or list body is sent as JSON."""
    payload = b""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    if body is not None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        lines.append("Content-Type: application/json")
    if body is not None or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(payload)}")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = bytearray()
        self.waiter: asyncio.Future[Response] | None = None
        self.transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("the server closed the connection"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            return
        response = self._parse()
        if response is not None:
            self.waiter.set_result(response)

    def _parse(self) -> Response | None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        start = end + 4
        if "content-length" in headers:
            stop = start + int(headers["content-length"])
            if len(self.buffer) < stop:
                return None
            body = bytes(self.buffer[start:stop])
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body, stop = self._chunked(start)
            if body is None:
                return None
        else:
            return None  # this driver only talks to servers that frame their responses
        del self.buffer[:stop]
        return Response(status, body)

    def _chunked(self, position: int) -> tuple[bytes | None, int]:
        parts = []
        while True:
            line_end = self.buffer.find(b"\r\n", position)
            if line_end < 0:
                return None, 0
            size = int(bytes(self.buffer[position:line_end]).split(b";")[0], 16)
            chunk_start = line_end + 2
            if len(self.buffer) < chunk_start + size + 2:
                return None, 0
            if size == 0:
                return b"".join(parts), chunk_start + 2
            parts.append(bytes(self.buffer[chunk_start : chunk_start + size]))
            position = chunk_start + size + 2


class Connection:
    """One keep-alive connection; requests on it go one after the other."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.protocol: _Protocol | None = None

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(_Protocol, self.host, self.port)
        return protocol

    async def send(self, request: bytes) -> Response:
        if self.protocol is None or self.protocol.closed:
            self.protocol = await self._connect()
        protocol = self.protocol
        protocol.waiter = asyncio.get_running_loop().create_future()
        protocol.transport.write(request)
        return await protocol.waiter

    def close(self) -> None:
        if self.protocol is not None and self.protocol.transport is not None:
            self.protocol.transport.close()
