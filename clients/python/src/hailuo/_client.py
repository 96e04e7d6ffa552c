"""`Client` and `AsyncClient`: the native API (`/api/v1`) over httpx, with retries and idempotent creates."""

from __future__ import annotations

import asyncio
import inspect
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from hailuo._http import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_WAIT,
    DEFAULT_POLL_WAIT,
    DEFAULT_TIMEOUT,
    ImageInput,
    Options,
    ProgressClock,
    create_body,
    image_reference,
    list_params,
    read_response,
    retry_wait,
    server_wait,
)
from hailuo.errors import APIConnectionError, APIError, GenerationError, WaitTimeout
from hailuo.models import Balance, Generation, LedgerEntry, Model, Page, Progress, Upload

__all__ = ["AsyncClient", "Client"]

ProgressCallback = Callable[[Progress], Any]
PathLike = str | os.PathLike[str]
# Signed links that stopped working (expired): fetch the generation again for fresh ones.
STALE_LINK = (401, 403, 404, 410)


def _target(path: PathLike, generation: Generation) -> Path:
    """Where a video goes: `path`, or `<id>.mp4` in it when it is a folder (made if missing)."""
    target = Path(path)
    if target.is_dir() or str(path).endswith(("/", os.sep)):
        target = target / f"{generation.id}.mp4"
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _ready(generation: Generation) -> Generation:
    if not generation.succeeded or generation.output is None:
        raise GenerationError(generation)
    return generation


# --- Synchronous ---------------------------------------------------------------------------------------


class Client:
    """The native API, synchronously.

    >>> client = Client()  # HAILUO_API_KEY, and HAILUO_BASE_URL or the local default
    >>> video = client.generations.create(model="hailuo-02", prompt="a paper boat", wait=True)
    >>> client.generations.download(video, "boat.mp4")
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        http_client: httpx.Client | None = None,
    ) -> None:
        self.options = Options.from_arguments(api_key, base_url, timeout, max_retries, max_retry_wait)
        self._http = http_client or httpx.Client(timeout=timeout, follow_redirects=False)
        self.generations = Generations(self)
        self.models = Models(self)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        files: Any = None,
        timeout: float | None = None,
    ) -> Any:
        """Send one API request, retrying 429s, 5xx and transport errors (honouring `Retry-After`)."""
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    method,
                    self.options.url(path),
                    json=json,
                    params=params,
                    headers={**self.options.headers(), **(headers or {})},
                    files=files,
                    timeout=timeout or self.options.timeout,
                )
            except httpx.TransportError as exc:
                delay = retry_wait(None, attempt, self.options)
                if delay is None:
                    raise APIConnectionError(f"Could not reach {self.options.base_url}: {exc!r}") from exc
            else:
                try:
                    return read_response(response)
                except APIError as exc:
                    delay = retry_wait(exc, attempt, self.options)
                    if delay is None:
                        raise
            time.sleep(delay)
            attempt += 1

    def balance(self) -> Balance:
        """Credit of the key's organization: balance, held for running jobs, available."""
        return Balance.from_dict(self.request("GET", "balance"))

    def ledger(self, *, limit: int | None = None) -> Iterator[LedgerEntry]:
        """Every ledger entry, newest first, page after page (`limit`: entries per request)."""
        cursor: str | None = None
        while True:
            params = {k: v for k, v in {"limit": limit, "cursor": cursor}.items() if v is not None}
            page = Page.from_dict(self.request("GET", "ledger", params=params), LedgerEntry.from_dict)
            yield from page.data
            if not page.has_more or not page.next_cursor:
                return
            cursor = page.next_cursor

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Models:
    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self) -> list[Model]:
        """Every model with its parameters, their rules and each variant's price."""
        return [Model.from_dict(m) for m in self._client.request("GET", "models")["data"]]


class Generations:
    def __init__(self, client: Client) -> None:
        self._client = client

    def upload(self, image: ImageInput) -> Upload:
        """Store an image (a path or bytes) for use as a first or last frame."""
        reference = image_reference(image)
        if not isinstance(reference, tuple):
            raise ValueError("upload() takes a file path or bytes")
        return Upload.from_dict(self._client.request("POST", "uploads", files={"file": reference}))

    def _image(self, image: ImageInput | None) -> str | None:
        reference = image_reference(image)
        if isinstance(reference, tuple):
            return Upload.from_dict(self._client.request("POST", "uploads", files={"file": reference})).id
        return reference

    def create(
        self,
        *,
        model: str,
        prompt: str | None = None,
        first_frame: ImageInput | None = None,
        last_frame: ImageInput | None = None,
        duration: int | None = None,
        resolution: str | None = None,
        mode: str | None = None,
        prompt_optimizer: bool | None = None,
        go_fast: bool | None = None,
        webhook: str | None = None,
        webhook_events_filter: list[str] | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        wait: bool = False,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
        poll_wait: int = DEFAULT_POLL_WAIT,
        **params: Any,
    ) -> Generation:
        """Start a generation; with `wait=True`, return it finished (or raise `WaitTimeout` after `timeout` s).

        Images may be a local path or bytes (uploaded first), an http(s) URL, a data URL or an upload id.
        The request carries an `Idempotency-Key` (a new one per call unless given), the same on every retry:
        a retried create never makes or charges a second job.
        """
        body = create_body(
            model,
            prompt,
            duration,
            resolution,
            mode,
            prompt_optimizer,
            go_fast,
            self._image(first_frame),
            self._image(last_frame),
            webhook,
            webhook_events_filter,
            metadata,
            params,
        )
        key = idempotency_key or str(uuid.uuid4())
        created = Generation.from_dict(
            self._client.request("POST", "generations", json=body, headers={"Idempotency-Key": key})
        )
        if not wait:
            return created
        return self.wait(created, timeout=timeout, on_progress=on_progress, poll_wait=poll_wait)

    def get(self, generation_id: str, *, wait: int | None = None) -> Generation:
        """One generation; `wait=N` lets the server hold the answer up to N s (≤ 60) until it finishes."""
        if wait:
            headers, timeout = {"Prefer": f"wait={wait}"}, wait + self._client.options.timeout
            data = self._client.request("GET", f"generations/{generation_id}", headers=headers, timeout=timeout)
        else:
            data = self._client.request("GET", f"generations/{generation_id}")
        return Generation.from_dict(data)

    def wait(
        self,
        generation: Generation | str,
        *,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
        poll_wait: int = DEFAULT_POLL_WAIT,
    ) -> Generation:
        """Wait until the generation is final, calling `on_progress` at each news (at least every `poll_wait` s)."""
        clock = ProgressClock()
        deadline = None if timeout is None else time.monotonic() + timeout
        current = generation if isinstance(generation, Generation) else self.get(generation)
        while True:
            if on_progress is not None:
                on_progress(clock.report(current))
            if current.done:
                return current
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise WaitTimeout(current, timeout or 0)
            asked = time.monotonic()
            current = self.get(current.id, wait=server_wait(remaining, poll_wait))
            if not current.done and time.monotonic() - asked < 1:
                time.sleep(1)  # the server did not hold the request (a proxy dropped `Prefer`): poll gently

    def page(
        self,
        *,
        status: str | list[str] | None = None,
        model: str | None = None,
        created_after: str | None = None,
        created_before: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[Generation]:
        """One page of generations, newest first."""
        params = list_params(status, model, created_after, created_before, limit, cursor)
        return Page.from_dict(self._client.request("GET", "generations", params=params), Generation.from_dict)

    def list(
        self,
        *,
        status: str | list[str] | None = None,
        model: str | None = None,
        created_after: str | None = None,
        created_before: str | None = None,
        limit: int | None = None,
    ) -> Iterator[Generation]:
        """Every generation matching the filters, newest first, fetching pages as it goes (`limit` per page)."""
        cursor: str | None = None
        while True:
            page = self.page(
                status=status,
                model=model,
                created_after=created_after,
                created_before=created_before,
                limit=limit,
                cursor=cursor,
            )
            yield from page.data
            if not page.has_more or not page.next_cursor:
                return
            cursor = page.next_cursor

    def cancel(self, generation_id: str) -> Generation:
        """Cancel a queued or running generation; its reserved credit is released (`ConflictError` if finished)."""
        return Generation.from_dict(self._client.request("POST", f"generations/{generation_id}/cancel"))

    def download(self, generation: Generation | str, path: PathLike) -> Path:
        """Save the video of a succeeded generation to `path` (a file, or a folder for `<id>.mp4`)."""
        current = _ready(generation if isinstance(generation, Generation) else self.get(generation))
        target = _target(path, current)
        partial = target.with_name(target.name + ".part")
        options = self._client.options
        attempt = 0
        refreshed = False
        while True:
            assert current.output is not None
            try:
                with self._client._http.stream("GET", current.output.download_url, timeout=options.timeout) as got:
                    if got.status_code in STALE_LINK and not refreshed:
                        current, refreshed = _ready(self.get(current.id)), True
                        continue
                    if got.status_code >= 400:
                        got.read()
                        read_response(got)
                    with partial.open("wb") as out:
                        for chunk in got.iter_bytes():
                            out.write(chunk)
                partial.replace(target)
                return target
            except httpx.TransportError as exc:
                delay = retry_wait(None, attempt, options)
                if delay is None:
                    raise APIConnectionError(f"Could not download {current.id}: {exc!r}") from exc
            except APIError as exc:
                delay = retry_wait(exc, attempt, options)
                if delay is None:
                    raise
            time.sleep(delay)
            attempt += 1


# --- Asynchronous --------------------------------------------------------------------------------------


async def _call(callback: ProgressCallback | None, progress: Progress) -> None:
    if callback is None:
        return
    result = callback(progress)
    if inspect.isawaitable(result):
        await result


class AsyncClient:
    """The native API on asyncio; the same methods as `Client`, to be awaited (`list` is an async iterator)."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.options = Options.from_arguments(api_key, base_url, timeout, max_retries, max_retry_wait)
        self._http = http_client or httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self.generations = AsyncGenerations(self)
        self.models = AsyncModels(self)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        files: Any = None,
        timeout: float | None = None,
    ) -> Any:
        """Send one API request, retrying 429s, 5xx and transport errors (honouring `Retry-After`)."""
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    method,
                    self.options.url(path),
                    json=json,
                    params=params,
                    headers={**self.options.headers(), **(headers or {})},
                    files=files,
                    timeout=timeout or self.options.timeout,
                )
            except httpx.TransportError as exc:
                delay = retry_wait(None, attempt, self.options)
                if delay is None:
                    raise APIConnectionError(f"Could not reach {self.options.base_url}: {exc!r}") from exc
            else:
                try:
                    return read_response(response)
                except APIError as exc:
                    delay = retry_wait(exc, attempt, self.options)
                    if delay is None:
                        raise
            await asyncio.sleep(delay)
            attempt += 1

    async def balance(self) -> Balance:
        return Balance.from_dict(await self.request("GET", "balance"))

    async def ledger(self, *, limit: int | None = None) -> AsyncIterator[LedgerEntry]:
        cursor: str | None = None
        while True:
            params = {k: v for k, v in {"limit": limit, "cursor": cursor}.items() if v is not None}
            page = Page.from_dict(await self.request("GET", "ledger", params=params), LedgerEntry.from_dict)
            for entry in page.data:
                yield entry
            if not page.has_more or not page.next_cursor:
                return
            cursor = page.next_cursor

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class AsyncModels:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(self) -> list[Model]:
        return [Model.from_dict(m) for m in (await self._client.request("GET", "models"))["data"]]


class AsyncGenerations:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def upload(self, image: ImageInput) -> Upload:
        reference = image_reference(image)
        if not isinstance(reference, tuple):
            raise ValueError("upload() takes a file path or bytes")
        return Upload.from_dict(await self._client.request("POST", "uploads", files={"file": reference}))

    async def _image(self, image: ImageInput | None) -> str | None:
        reference = image_reference(image)
        if isinstance(reference, tuple):
            return Upload.from_dict(await self._client.request("POST", "uploads", files={"file": reference})).id
        return reference

    async def create(
        self,
        *,
        model: str,
        prompt: str | None = None,
        first_frame: ImageInput | None = None,
        last_frame: ImageInput | None = None,
        duration: int | None = None,
        resolution: str | None = None,
        mode: str | None = None,
        prompt_optimizer: bool | None = None,
        go_fast: bool | None = None,
        webhook: str | None = None,
        webhook_events_filter: list[str] | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        wait: bool = False,
        timeout: float | None = None,
        on_progress: Callable[[Progress], Any] | Callable[[Progress], Awaitable[Any]] | None = None,
        poll_wait: int = DEFAULT_POLL_WAIT,
        **params: Any,
    ) -> Generation:
        """As `Client.generations.create`; `on_progress` may be a coroutine function."""
        body = create_body(
            model,
            prompt,
            duration,
            resolution,
            mode,
            prompt_optimizer,
            go_fast,
            await self._image(first_frame),
            await self._image(last_frame),
            webhook,
            webhook_events_filter,
            metadata,
            params,
        )
        key = idempotency_key or str(uuid.uuid4())
        created = Generation.from_dict(
            await self._client.request("POST", "generations", json=body, headers={"Idempotency-Key": key})
        )
        if not wait:
            return created
        return await self.wait(created, timeout=timeout, on_progress=on_progress, poll_wait=poll_wait)

    async def get(self, generation_id: str, *, wait: int | None = None) -> Generation:
        if wait:
            headers, timeout = {"Prefer": f"wait={wait}"}, wait + self._client.options.timeout
            data = await self._client.request("GET", f"generations/{generation_id}", headers=headers, timeout=timeout)
        else:
            data = await self._client.request("GET", f"generations/{generation_id}")
        return Generation.from_dict(data)

    async def wait(
        self,
        generation: Generation | str,
        *,
        timeout: float | None = None,
        on_progress: Callable[[Progress], Any] | None = None,
        poll_wait: int = DEFAULT_POLL_WAIT,
    ) -> Generation:
        clock = ProgressClock()
        deadline = None if timeout is None else time.monotonic() + timeout
        current = generation if isinstance(generation, Generation) else await self.get(generation)
        while True:
            await _call(on_progress, clock.report(current))
            if current.done:
                return current
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise WaitTimeout(current, timeout or 0)
            asked = time.monotonic()
            current = await self.get(current.id, wait=server_wait(remaining, poll_wait))
            if not current.done and time.monotonic() - asked < 1:
                await asyncio.sleep(1)

    async def page(
        self,
        *,
        status: str | list[str] | None = None,
        model: str | None = None,
        created_after: str | None = None,
        created_before: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[Generation]:
        params = list_params(status, model, created_after, created_before, limit, cursor)
        return Page.from_dict(await self._client.request("GET", "generations", params=params), Generation.from_dict)

    async def list(
        self,
        *,
        status: str | list[str] | None = None,
        model: str | None = None,
        created_after: str | None = None,
        created_before: str | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[Generation]:
        cursor: str | None = None
        while True:
            page = await self.page(
                status=status,
                model=model,
                created_after=created_after,
                created_before=created_before,
                limit=limit,
                cursor=cursor,
            )
            for item in page.data:
                yield item
            if not page.has_more or not page.next_cursor:
                return
            cursor = page.next_cursor

    async def cancel(self, generation_id: str) -> Generation:
        return Generation.from_dict(await self._client.request("POST", f"generations/{generation_id}/cancel"))

    async def download(self, generation: Generation | str, path: PathLike) -> Path:
        current = _ready(generation if isinstance(generation, Generation) else await self.get(generation))
        target = _target(path, current)
        partial = target.with_name(target.name + ".part")
        options = self._client.options
        attempt = 0
        refreshed = False
        while True:
            assert current.output is not None
            try:
                async with self._client._http.stream(
                    "GET", current.output.download_url, timeout=options.timeout
                ) as got:
                    if got.status_code in STALE_LINK and not refreshed:
                        current, refreshed = _ready(await self.get(current.id)), True
                        continue
                    if got.status_code >= 400:
                        await got.aread()
                        read_response(got)
                    with partial.open("wb") as out:
                        async for chunk in got.aiter_bytes():
                            out.write(chunk)
                partial.replace(target)
                return target
            except httpx.TransportError as exc:
                delay = retry_wait(None, attempt, options)
                if delay is None:
                    raise APIConnectionError(f"Could not download {current.id}: {exc!r}") from exc
            except APIError as exc:
                delay = retry_wait(exc, attempt, options)
                if delay is None:
                    raise
            await asyncio.sleep(delay)
            attempt += 1
