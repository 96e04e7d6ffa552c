from __future__ import annotations

from django.apps import AppConfig


class PlatformApiConfig(AppConfig):
    name = "platform_api"
    verbose_name = "API limits and idempotency"
