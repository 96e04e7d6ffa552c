from __future__ import annotations

from django.apps import AppConfig


class OutboxConfig(AppConfig):
    """Emails written in the transaction that decides to send them, sent by a task and a sweep."""

    name = "outbox"
    verbose_name = "Outgoing email"
