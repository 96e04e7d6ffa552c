from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    """What every API endpoint shares: key authentication, rate limits, idempotency, waiting, errors.

    The label is the app's first name, so its tables and migration history stay as they are.
    """

    name = "api"
    label = "platform_api"
    verbose_name = "API limits and idempotency"
