from __future__ import annotations

from django.apps import AppConfig


class VideogenConfig(AppConfig):
    name = "videogen"
    verbose_name = "Generations"

    def ready(self) -> None:
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
