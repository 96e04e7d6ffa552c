"""`Prefer: wait`: requests waiting for jobs to finish, without a thread each.

All waiting requests of a process (of an event loop, to be exact) share one
poller task: every POLL_SECONDS it asks the database which of the awaited
jobs reached a final state, in one query whatever the number of waiters,
and wakes their requests. The database is the only shared truth, so waiting
works the same with any number of web processes and workers.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from videogen.api.core import run_sync
from videogen.models import ACTIVE_STATUSES, Generation

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.25


def _finished_among(pks: list[int]) -> list[int]:
    return list(Generation.objects.filter(pk__in=pks).exclude(status__in=ACTIVE_STATUSES).values_list("pk", flat=True))


class _Waiters:
    def __init__(self) -> None:
        self.events: dict[int, set[asyncio.Event]] = {}
        self.task: asyncio.Task | None = None

    async def wait(self, generation_pk: int, timeout: float) -> bool:
        event = asyncio.Event()
        self.events.setdefault(generation_pk, set()).add(event)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._poll())
        try:
            async with asyncio.timeout(timeout):
                await event.wait()
            return True
        except TimeoutError:
            return False
        finally:
            self._forget(generation_pk, event)

    def _forget(self, generation_pk: int, event: asyncio.Event) -> None:
        waiting = self.events.get(generation_pk)
        if waiting is not None:
            waiting.discard(event)
            if not waiting:
                del self.events[generation_pk]
        if not self.events and self.task is not None:
            self.task.cancel()
            self.task = None

    async def _poll(self) -> None:
        while self.events:
            await asyncio.sleep(POLL_SECONDS)
            pks = list(self.events)
            if not pks:
                return
            try:
                finished = await run_sync(_finished_among, pks)
            except Exception:
                # A database hiccup must not strand the waiters: they try again next tick.
                logger.warning("Could not check awaited generations", exc_info=True)
                continue
            for pk in finished:
                for event in self.events.get(pk, ()):
                    event.set()


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Waiters] = weakref.WeakKeyDictionary()


async def wait_until_final(generation_pk: int, timeout: float) -> bool:
    """Wait up to `timeout` seconds for the job to reach a final state; True if it did."""
    if timeout <= 0:
        return False
    loop = asyncio.get_running_loop()
    waiters = _by_loop.get(loop)
    if waiters is None:
        waiters = _by_loop[loop] = _Waiters()
    return await waiters.wait(generation_pk, timeout)
