"""The one way domain code queues a django-q2 task after its transaction commits."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

logger = logging.getLogger(__name__)


@cache
def _broker() -> Any:
    """The process's broker: django-q2 would make one, and with Redis open a connection, for every task queued."""
    from django_q.brokers import get_broker

    return get_broker()


def enqueue_task(func: str, *args: Any, name: str) -> None:
    """Queue `func(*args)` for a worker; a broker that refuses is logged, never raised.

    Callers only enqueue work that a periodic sweep also finds in the database,
    so a task lost here (or in a broker without acknowledgements, like Redis)
    is late, not lost.
    """
    from django_q.tasks import async_task

    try:
        async_task(func, *args, task_name=name, broker=_broker())
    except Exception:  # never break the caller's commit
        logger.exception("Could not enqueue %s%s", func, args)
