"""One Redis connection pool per process and address, shared by the cache and the task queue.

Under ASGI, Django keeps a cache backend per request context, so its Redis
cache would build a new connection pool, and open a new connection to Redis,
for every request; django-q2 likewise connects afresh for each task it
queues. Each costs a TCP handshake and milliseconds of CPU. The pools here
live as long as the process (redis-py resets a pool inherited across a fork).
"""

from __future__ import annotations

import threading
from typing import Any

import redis

_pools: dict[tuple[str, str], redis.ConnectionPool] = {}
_lock = threading.Lock()


def shared_pool(url: str, **options: Any) -> redis.ConnectionPool:
    """The process's pool for this address and these options, made on first use."""
    key = (url, repr(sorted(options.items())))
    with _lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = redis.ConnectionPool.from_url(url, **options)
        return pool


class SharedConnectionPool(redis.ConnectionPool):
    """`pool_class` for Django's Redis cache: every backend instance of one process shares one pool."""

    @classmethod
    def from_url(cls, url: str, **options: Any) -> redis.ConnectionPool:  # type: ignore[override]
        return shared_pool(url, **options)
