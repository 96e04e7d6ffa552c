from __future__ import annotations

import os

from django.apps import AppConfig

from core.db import connection_pools_close


class VideogenConfig(AppConfig):
    name = "videogen"
    verbose_name = "Generations"

    def ready(self) -> None:
        # A connection pool cannot cross a fork, and the task worker forks its processes.
        os.register_at_fork(before=connection_pools_close)

        # The sandbox adapter registers itself with the provider registry on import.
        from django_q.signals import post_execute_in_worker, post_spawn

        from videogen.providers import sandbox  # noqa: F401

        # A worker that starts, or finishes any task, restarts the poller if jobs are waiting
        # for one: after a crash or a deploy nobody waits for the minute schedule.
        post_spawn.connect(_ensure_poller, dispatch_uid="videogen-poller-spawn")
        post_execute_in_worker.connect(_ensure_poller, dispatch_uid="videogen-poller-execute")


def _ensure_poller(sender: object, **kwargs: object) -> None:
    from django.db import close_old_connections

    from videogen.tasks import poller_ensure

    try:
        poller_ensure()
    finally:
        close_old_connections()
