"""Database connections: one policy for every process (see the README, "Running at scale")."""

from __future__ import annotations

from django.db import connections


def connection_pools_close() -> None:
    """Close this process's connection pools; the next query opens a new one.

    A pool cannot cross a fork: parent and child would talk to PostgreSQL over
    the same sockets. The task worker (django-q2) forks its processes, so each
    fork starts without a pool and opens its own.
    """
    for alias in connections:
        if connections.settings[alias].get("OPTIONS", {}).get("pool"):
            connections[alias].close_pool()  # type: ignore[attr-defined]  # PostgreSQL's wrapper only
