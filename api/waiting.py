"""Clients waiting for something to finish (`Prefer: wait`, Segmind's synchronous endpoint), without a query each.

All waiting requests of a process (of an event loop, to be exact) that wait
on the same kind of thing share one poller task: every POLL_SECONDS it asks,
through the caller's `finished_among` function, which of the awaited ids are
done, in one query whatever the number of waiters, and wakes their requests.
The database is the only shared truth, so waiting works the same with any
number of web processes and workers.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Hashable
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.25

# Which of the awaited keys (primary keys, public ids) are done, in one query.
FinishedAmong = Callable[[list[Any]], list[Any]]


def _checked(finished_among: FinishedAmong, ids: list[Hashable]) -> list[Hashable]:
    try:
        return finished_among(ids)
    finally:
        close_old_connections()  # the connection goes back to the pool between looks


class _Waiters:
    def __init__(self, finished_among: FinishedAmong) -> None:
        self.finished_among = finished_among
        self.events: dict[Hashable, set[asyncio.Event]] = {}
        self.task: asyncio.Task | None = None

    async def wait(self, key: Hashable, timeout: float) -> bool:
        event = asyncio.Event()
        self.events.setdefault(key, set()).add(event)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._poll())
        try:
            async with asyncio.timeout(timeout):
                await event.wait()
            return True
        except TimeoutError:
            return False
        finally:
            self._forget(key, event)

    def _forget(self, key: Hashable, event: asyncio.Event) -> None:
        waiting = self.events.get(key)
        if waiting is not None:
            waiting.discard(event)
            if not waiting:
                del self.events[key]
        if not self.events and self.task is not None:
            self.task.cancel()
            self.task = None

    async def _poll(self) -> None:
        check = sync_to_async(_checked, thread_sensitive=False)
        while self.events:
            await asyncio.sleep(POLL_SECONDS)
            keys = list(self.events)
            if not keys:
                return
            try:
                finished = await check(self.finished_among, keys)
            except Exception:
                # A database hiccup must not strand the waiters: they try again next tick.
                logger.warning("Could not check what waiting clients wait for", exc_info=True)
                continue
            for key in finished:
                for event in self.events.get(key, ()):
                    event.set()


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[FinishedAmong, _Waiters]] = (
    weakref.WeakKeyDictionary()
)


async def wait_until_finished(key: Hashable, timeout: float, *, finished_among: FinishedAmong) -> bool:
    """Wait up to `timeout` seconds until `finished_among` lists `key`; True if it did."""
    if timeout <= 0:
        return False
    per_check = _by_loop.setdefault(asyncio.get_running_loop(), {})
    waiters = per_check.get(finished_among)
    if waiters is None:
        waiters = per_check[finished_among] = _Waiters(finished_among)
    return await waiters.wait(key, timeout)
