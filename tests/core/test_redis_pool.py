"""Django's Redis cache, made afresh for each request under ASGI, reuses the process's connections to Redis."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis
from django.core.cache.backends.redis import RedisCache

from tests.live import redis_or_skip

REDIS = "redis://127.0.0.1:6379/13"
OPTIONS = {"pool_class": "core.redis.SharedConnectionPool"}


@pytest.fixture
def server() -> redis.Redis:
    client: redis.Redis = redis_or_skip(REDIS, "the pool test counts connections a real Redis receives")
    return client


def connections_made(server: redis.Redis) -> int:
    stats: dict[str, Any] = server.info("stats")
    return int(stats["total_connections_received"])


def backend(**options: Any) -> RedisCache:
    """What Django's cache handler builds for each new request context."""
    return RedisCache(REDIS, {"KEY_PREFIX": "test-pool", "OPTIONS": options})


def test_a_backend_per_request_shares_one_pool(server: redis.Redis) -> None:
    key = f"k-{uuid.uuid4().hex}"
    backend(**OPTIONS).set(key, 1, 30)
    before = connections_made(server)
    for _ in range(50):
        assert backend(**OPTIONS).get(key) == 1
    assert connections_made(server) - before <= 1


def test_without_the_shared_pool_each_backend_connects_again(server: redis.Redis) -> None:
    # What the setting avoids: Django's default pool class opens a connection per backend, so per request.
    key = f"k-{uuid.uuid4().hex}"
    backend().set(key, 1, 30)
    before = connections_made(server)
    for _ in range(20):
        assert backend().get(key) == 1
    assert connections_made(server) - before >= 20
