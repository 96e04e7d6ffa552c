"""Operators' view of events, endpoints and deliveries: read-only, with replay through the service."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join

from core.admin import OrganizationFilter, ReadOnlyAdmin, ReadOnlyInline, change_url, pretty_json
from webhooks import services
from webhooks.errors import WebhookError
from webhooks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "type", "organization", "created_at"]
    list_filter = ["type", OrganizationFilter, "created_at"]
    search_fields = ["public_id", "organization__name", "organization__public_id", "dedupe_key"]
    list_select_related = ["organization"]
    fields = readonly_fields = (
        "public_id",
        "type",
        "organization",
        "created_at",
        "dedupe_key",
        "data_json",
        "deliveries_list",
    )

    @admin.display(description="data")
    def data_json(self, obj: Event) -> str:
        return pretty_json(obj.data)

    @admin.display(description="deliveries")
    def deliveries_list(self, obj: Event) -> str:
        deliveries = obj.deliveries.order_by("created_at")
        if not deliveries:
            return "—"
        return format_html_join(
            ", ", '<a href="{}">{}</a> ({}, {})', ((change_url(d), d.public_id, d.url, d.status) for d in deliveries)
        )


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "url", "organization", "enabled", "disabled_reason", "failing_since", "created_at"]
    list_filter = ["enabled", "disabled_reason"]
    search_fields = ["public_id", "url", "organization__name"]
    list_select_related = ["organization"]
    exclude = ["secret", "previous_secret"]


class DeliveryAttemptInline(ReadOnlyInline):
    model = DeliveryAttempt
    fields = readonly_fields = (
        "number",
        "started_at",
        "outcome",
        "status_code",
        "latency_ms",
        "error",
        "response_excerpt",
    )


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "event", "url", "organization", "status", "attempt_count", "last_status_code"]
    list_filter = ["status", OrganizationFilter, "created_at"]
    search_fields = ["public_id", "event__public_id", "url", "organization__name"]
    list_select_related = ["event", "organization"]
    inlines = [DeliveryAttemptInline]
    actions = ["replay"]

    @admin.action(description="Replay (new attempts, same webhook-id)")
    def replay(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        done = 0
        for delivery in queryset.select_related("event", "endpoint"):
            try:
                services.delivery_replay(delivery=delivery)
                done += 1
            except WebhookError as exc:
                self.message_user(request, f"{delivery.public_id}: {exc.message}", messages.WARNING)
        self.message_user(request, f"Replaying {done} deliveries.")
