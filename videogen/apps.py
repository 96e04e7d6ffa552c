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
        from videogen.providers import sandbox  # noqa: F401
