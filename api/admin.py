"""Operators edit an organization's API limits; idempotency records are read-only."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from api.models import IdempotencyRecord, OrganizationApiLimits


@admin.register(OrganizationApiLimits)
class OrganizationApiLimitsAdmin(admin.ModelAdmin):
    list_display = ["organization", "key_requests_per_minute", "org_requests_per_minute", "max_running_jobs"]
    search_fields = ["organization__name", "organization__slug", "organization__public_id"]
    raw_id_fields = ["organization"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ["key", "organization", "status", "response_status", "created_at"]
    list_filter = ["status"]
    search_fields = ["key", "organization__slug"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ApiLimitsInline(admin.StackedInline):
    """The organization's API limits (empty fields: the defaults)."""

    model = OrganizationApiLimits
    can_delete = False
    max_num = 1
    verbose_name = "API rate limits"
    verbose_name_plural = "API rate limits (empty fields: the defaults)"
    exclude = ["updated_at"]
