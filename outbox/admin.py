"""Operators see every email and what became of it; nobody edits them."""

from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from outbox.models import Email


@admin.register(Email)
class EmailAdmin(ReadOnlyAdmin):
    list_display = ["subject", "kind", "recipients", "status", "attempt_count", "created_at", "sent_at"]
    list_filter = ["status", "kind", "created_at"]
    search_fields = ["key", "subject", "to"]
    fields = readonly_fields = (
        "key",
        "kind",
        "to",
        "subject",
        "body",
        "status",
        "attempt_count",
        "last_attempt_at",
        "next_attempt_at",
        "last_error",
        "created_at",
        "sent_at",
    )

    @admin.display(description="to")
    def recipients(self, obj: Email) -> str:
        return ", ".join(obj.to)
