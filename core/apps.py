from __future__ import annotations

from django.apps import AppConfig
from django.conf import settings


class CoreConfig(AppConfig):
    """Shared pieces; installed only to wire the task queue's signals to Sentry when it is on."""

    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        if settings.SENTRY_DSN:
            from core.sentry import connect_task_signals

            connect_task_signals()
