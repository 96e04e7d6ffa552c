"""Providers in the admin: health at a glance, routes per model, and every recorded upstream call."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html

from billing.admin import usd
from core.admin import ReadOnlyAdmin, changelist_url, link, milliseconds, percent, pretty_json
from videogen import catalog, reports
from videogen.models import Provider, ProviderCall, ProviderRoute
from videogen.services.providers import provider_configured, provider_mark_healthy


class RouteForm(forms.ModelForm):
    model = forms.ChoiceField(choices=[(slug, slug) for slug in catalog.MODELS])

    class Meta:
        model = ProviderRoute
        fields = ["model", "provider", "priority", "enabled", "upstream_cost_micros"]
        help_texts = {"upstream_cost_micros": "Micro-USD per run (100000 = $0.10). Empty: the price rule's cost."}


class ProviderRouteInline(admin.TabularInline):
    model = ProviderRoute
    form = RouteForm
    extra = 0
    fields = ["model", "priority", "enabled", "upstream_cost_micros", "upstream_cost"]
    readonly_fields = ["upstream_cost"]
    ordering = ["model", "priority"]

    @admin.display(description="cost")
    def upstream_cost(self, obj: ProviderRoute) -> str:
        return usd(obj.upstream_cost_micros) if obj.pk else "—"


def _window_text(stats: reports.WindowStats) -> str:
    return (
        f"{stats.calls} calls, {percent(stats.call_success_percent)} ok; "
        f"p50 {milliseconds(stats.p50_ms)}, p95 {milliseconds(stats.p95_ms)}; "
        f"jobs {stats.jobs_succeeded}/{stats.jobs_finished} succeeded"
    )


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ["name", "label", "enabled", "healthy", "configured", "unhealthy_reason", "unhealthy_since"]
    list_editable = ["enabled"]
    list_filter = ["enabled", "healthy"]
    actions = ["mark_healthy"]
    inlines = [ProviderRouteInline]
    fieldsets = [
        (None, {"fields": ["name", "label", "enabled", "configured"]}),
        ("Health", {"fields": ["healthy", "unhealthy_reason", "unhealthy_since", "last_error", "last_error_at"]}),
        ("Last hour and day", {"fields": ["health_hour", "health_day", "balance_problems"]}),
    ]
    readonly_fields = [
        "name",
        "configured",
        "healthy",
        "unhealthy_reason",
        "unhealthy_since",
        "last_error",
        "last_error_at",
        "health_hour",
        "health_day",
        "balance_problems",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(boolean=True, description="API key set")
    def configured(self, obj: Provider) -> bool:
        return provider_configured(obj.name)

    def _health(self, obj: Provider) -> reports.ProviderHealth:
        cached = getattr(obj, "_health", None)
        if cached is None:
            cached = reports.provider_health([obj.name])[obj.name]
            obj._health = cached  # type: ignore[attr-defined]  # cached on the row for this page
        return cached

    @admin.display(description="last hour")
    def health_hour(self, obj: Provider) -> str:
        return _window_text(self._health(obj).hour)

    @admin.display(description="last day")
    def health_day(self, obj: Provider) -> str:
        return _window_text(self._health(obj).day)

    @admin.display(description="upstream balance problems (day)")
    def balance_problems(self, obj: Provider) -> str:
        health = self._health(obj)
        if not health.balance_problems_day:
            return "none"
        return format_html(
            '<a href="{}">{} calls</a>, last at {}',
            changelist_url(ProviderCall, provider=obj.name, error_code=reports.UPSTREAM_BALANCE_CODE),
            health.balance_problems_day,
            f"{health.last_balance_problem_at:%Y-%m-%d %H:%M:%S} UTC",
        )

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        providers = list(Provider.objects.order_by("name"))
        health = reports.provider_health([p.name for p in providers])
        rows = [
            {
                "provider": p,
                "configured": provider_configured(p.name),
                "health": health[p.name],
                "windows": [health[p.name].hour, health[p.name].day],
                "link": link(p),
            }
            for p in providers
        ]
        return super().changelist_view(request, {"health_rows": rows, **(extra_context or {})})

    @admin.action(description="Mark healthy (route jobs to them again)", permissions=["change"])
    def mark_healthy(self, request: HttpRequest, queryset: QuerySet[Provider]) -> None:
        for provider in queryset:
            provider_mark_healthy(provider.name)
        self.message_user(request, f"Marked healthy: {', '.join(p.name for p in queryset)}.")


@admin.register(ProviderRoute)
class ProviderRouteAdmin(admin.ModelAdmin):
    form = RouteForm
    list_display = ["model", "provider", "priority", "enabled", "upstream_cost_micros", "cost", "provider_state"]
    list_editable = ["priority", "enabled", "upstream_cost_micros"]
    list_filter = ["model", "provider"]
    list_select_related = ["provider"]
    ordering = ["model", "priority"]

    @admin.display(description="cost")
    def cost(self, obj: ProviderRoute) -> str:
        return usd(obj.upstream_cost_micros)

    @admin.display(description="provider")
    def provider_state(self, obj: ProviderRoute) -> str:
        provider = obj.provider
        state = [
            "enabled" if provider.enabled else "disabled",
            "healthy" if provider.healthy else "unhealthy",
        ]
        if not provider_configured(provider.name):
            state.append("not configured")
        return ", ".join(state)


@admin.register(ProviderCall)
class ProviderCallAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "provider", "operation", "ok", "latency_ms", "error_code", "generation_link"]
    list_filter = ["provider", "operation", "ok", "error_kind", "error_code", "created_at"]
    search_fields = ["generation__public_id", "error_code", "error_message"]
    list_select_related = ["generation"]
    show_full_result_count = False
    fields = readonly_fields = (
        "created_at",
        "generation_link",
        "provider",
        "operation",
        "ok",
        "latency_ms",
        "error_kind",
        "error_code",
        "error_message",
        "exchanges_redacted",
    )

    @admin.display(description="generation")
    def generation_link(self, obj: ProviderCall) -> str:
        return link(obj.generation)

    @admin.display(description="requests and responses (secrets redacted)")
    def exchanges_redacted(self, obj: ProviderCall) -> str:
        return pretty_json(obj.exchanges) if obj.exchanges else "—"
