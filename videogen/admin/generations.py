"""Generations in the admin: read-only jobs with their timeline, upstream calls, money and video.

Operators act on a job only through the product's services: retry on another
provider, cancel, refund. No field of a job is ever edited here.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from accounts.models import User
from billing.admin import usd
from billing.errors import BillingError
from billing.models import Hold, LedgerEntry
from billing.money import format_usd
from billing.selectors import margin_report as ledger_margin
from billing.services import credits_refund
from core.admin import (
    OrganizationFilter,
    ReadOnlyAdmin,
    ReadOnlyInline,
    Target,
    applying,
    change_url,
    changelist_url,
    link,
    object_operation,
    operation_page,
    pretty_json,
)
from core.errors import ParamError
from videogen import reports
from videogen.models import Generation, ProviderCall, ProviderRoute, Transition, Upload
from videogen.services.files import signed_url
from videogen.services.generations import RetryError, generation_cancel, generation_retry
from videogen.services.providers import provider_configured

REPORT_DAYS = (1, 7, 30, 90)


# --- Inlines ----------------------------------------------------------------------------------


class TransitionInline(ReadOnlyInline):
    model = Transition
    verbose_name = "state change"
    verbose_name_plural = "timeline"
    fields = readonly_fields = ("when", "after", "from_status", "to_status", "detail")
    ordering = ["at", "pk"]

    @admin.display(description="at (UTC)")
    def when(self, obj: Transition) -> str:
        return f"{obj.at:%Y-%m-%d %H:%M:%S}.{obj.at.microsecond // 1000:03d}"

    @admin.display(description="after")
    def after(self, obj: Transition) -> str:
        return f"+{(obj.at - obj.generation.created_at).total_seconds():.1f} s"


class ProviderCallInline(ReadOnlyInline):
    model = ProviderCall
    verbose_name = "upstream call"
    verbose_name_plural = "upstream requests and responses (secrets redacted)"
    fields = readonly_fields = ("when", "provider", "operation", "ok", "latency_ms", "error", "exchanges_redacted")
    ordering = ["created_at", "pk"]

    @admin.display(description="at (UTC)")
    def when(self, obj: ProviderCall) -> str:
        return f"{obj.created_at:%Y-%m-%d %H:%M:%S}"

    @admin.display(description="error")
    def error(self, obj: ProviderCall) -> str:
        if obj.ok:
            return "—"
        return f"{obj.error_kind} {obj.error_code}: {obj.error_message}".strip()

    @admin.display(description="exchanges")
    def exchanges_redacted(self, obj: ProviderCall) -> str:
        if not obj.exchanges:
            return "—"
        summary = ", ".join(
            f"{e.get('method', '?')} {e.get('status_code') or '—'}" for e in obj.exchanges if isinstance(e, dict)
        )
        return format_html("<details><summary>{}</summary>{}</details>", summary, pretty_json(obj.exchanges))


# --- Forms of the operations ----------------------------------------------------------------------


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300, widget=forms.TextInput(attrs={"size": 60}))

    def __init__(self, *args: Any, required: bool = True, help_text: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = required
        self.fields["reason"].help_text = help_text


def _provider_problems(route: ProviderRoute) -> list[str]:
    provider = route.provider
    problems = []
    if not provider.enabled:
        problems.append("disabled")
    if not provider.healthy:
        problems.append(f"unhealthy: {provider.unhealthy_reason or 'no reason recorded'}")
    if not provider_configured(provider.name):
        problems.append("not configured")
    return problems


class RetryForm(forms.Form):
    provider = forms.ChoiceField(help_text="Only providers with an enabled route for the model are offered.")

    def __init__(self, *args: Any, models: set[str], current: set[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        routes = ProviderRoute.objects.filter(model__in=models, enabled=True).select_related("provider")
        by_provider: dict[str, list[ProviderRoute]] = {}
        for route in routes.order_by("priority", "pk"):
            by_provider.setdefault(route.provider.name, []).append(route)
        choices, preferred = [], []
        for name, found in by_provider.items():
            if {r.model for r in found} < models:
                continue  # a provider qualifies when it serves every selected model
            problems = _provider_problems(found[0])
            choices.append((name, str(found[0].provider) + (f" ({'; '.join(problems)})" if problems else "")))
            if not problems and name not in current:
                preferred.append(name)
        self.fields["provider"].choices = choices  # type: ignore[attr-defined]  # a ChoiceField
        if preferred:
            self.fields["provider"].initial = preferred[0]


# --- The admin ------------------------------------------------------------------------------------


@admin.register(Generation)
class GenerationAdmin(ReadOnlyAdmin):
    list_display = [
        "public_id",
        "status",
        "model",
        "organization_link",
        "provider",
        "price",
        "upstream_cost",
        "video_duration",
        "run_time",
        "created_at",
    ]
    list_filter = [
        "status",
        "provider",
        "model",
        OrganizationFilter,
        "created_at",
        "source",
        "failure_code",
    ]
    search_fields = ["public_id", "upstream_id", "input__prompt"]
    search_help_text = "Our id (gen_…), the provider's id, or words of the prompt."
    date_hierarchy = "created_at"
    list_select_related = ["organization"]
    show_full_result_count = False
    actions = ["retry_on_provider", "cancel", "refund"]
    inlines = [TransitionInline, ProviderCallInline]
    fieldsets = [
        (None, {"fields": ["public_id", "status", "organization_link", "source", "api_key_prefix", "created_by"]}),
        ("Request", {"fields": ["model", "variant_key", "prompt", "input_json", "metadata_json", "webhook"]}),
        ("Outcome", {"fields": ["failure", "video_player", "output"]}),
        ("Money", {"fields": ["price", "upstream_cost", "hold_status", "ledger"]}),
        (
            "Upstream",
            {"fields": ["provider", "pinned_provider", "upstream_id", "route_index", "attempts", "poll_count"]},
        ),
        ("Retries", {"fields": ["retry_of", "retries"]}),
        (
            "Times",
            {"fields": ["created_at", "submitted_at", "started_at", "completed_at", "next_poll_at", "deadline_at"]},
        ),
    ]
    readonly_fields = [str(field) for _, options in fieldsets for field in options["fields"]]

    # --- permissions: read-only; jobs are only ever changed through operations ---

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("videogen.refund_generation")

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("videogen.cancel_generation")

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("videogen.retry_generation")

    # --- columns and fields ---

    @admin.display(description="organization", ordering="organization__name")
    def organization_link(self, obj: Generation) -> str:
        return link(obj.organization)

    @admin.display(description="price", ordering="price_micros")
    def price(self, obj: Generation) -> str:
        return usd(obj.price_micros)

    @admin.display(description="upstream cost", ordering="upstream_cost_micros")
    def upstream_cost(self, obj: Generation) -> str:
        return usd(obj.upstream_cost_micros)

    @admin.display(description="video", ordering="output_duration_s")
    def video_duration(self, obj: Generation) -> str:
        return "—" if obj.output_duration_s is None else f"{obj.output_duration_s:.1f} s"

    @admin.display(description="took")
    def run_time(self, obj: Generation) -> str:
        if obj.completed_at is None:
            return "—"
        return f"{(obj.completed_at - obj.created_at).total_seconds():.0f} s"

    @admin.display(description="API key")
    def api_key_prefix(self, obj: Generation) -> str:
        return "—" if obj.api_key is None else f"{obj.api_key.name} ({obj.api_key.prefix}…)"

    @admin.display(description="prompt")
    def prompt(self, obj: Generation) -> str:
        return obj.input.get("prompt", "") if isinstance(obj.input, dict) else ""

    @admin.display(description="input")
    def input_json(self, obj: Generation) -> str:
        return pretty_json(obj.input)

    @admin.display(description="metadata")
    def metadata_json(self, obj: Generation) -> str:
        return pretty_json(obj.metadata) if obj.metadata else "—"

    @admin.display(description="webhook")
    def webhook(self, obj: Generation) -> str:
        if not obj.webhook_url:
            return "—"
        return f"{obj.webhook_url} ({', '.join(obj.webhook_events or [])})"

    @admin.display(description="failure reason")
    def failure(self, obj: Generation) -> str:
        if not obj.failure_code:
            return "—"
        return format_html("<strong>{}</strong>: {}", obj.failure_code, obj.failure_message)

    @admin.display(description="video")
    def video_player(self, obj: Generation) -> str:
        if obj.output_deleted_at:
            return f"Deleted from our storage at {obj.output_deleted_at:%Y-%m-%d %H:%M} UTC."
        if not obj.video:
            return "—"
        poster = signed_url(obj.poster.name) if obj.poster else ""
        return format_html(
            '<video controls preload="metadata" width="480" src="{}" poster="{}"></video><br><a href="{}">Download</a>',
            signed_url(obj.video.name),
            poster,
            signed_url(obj.video.name, download_as=f"{obj.public_id}.mp4"),
        )

    @admin.display(description="output")
    def output(self, obj: Generation) -> str:
        if obj.output_width is None:
            return "—"
        size = f"{obj.output_bytes:,} bytes" if obj.output_bytes else "size unknown"
        return (
            f"{obj.output_width}×{obj.output_height}, {obj.output_duration_s or 0:.2f} s, "
            f"{obj.output_container or 'video'}, {size}"
        )

    @admin.display(description="hold")
    def hold_status(self, obj: Generation) -> str:
        hold = Hold.objects.filter(reference=obj.public_id).first()
        if hold is None:
            return "—"
        settled = f" at {hold.settled_at:%Y-%m-%d %H:%M:%S}" if hold.settled_at else ""
        return f"{hold.status} ({format_usd(hold.amount_micros)}){settled}"

    @admin.display(description="ledger entries")
    def ledger(self, obj: Generation) -> str:
        entries = LedgerEntry.objects.filter(reference=obj.public_id).select_related("staff_user").order_by("id")
        if not entries:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    f"{e.created_at:%Y-%m-%d %H:%M:%S}",
                    e.kind,
                    format_usd(e.amount_micros),
                    format_usd(e.held_delta_micros),
                    e.reason,
                    e.staff_user or "",
                )
                for e in entries
            ),
        )
        head = mark_safe("<tr><th>at</th><th>kind</th><th>balance</th><th>held</th><th>reason</th><th>staff</th></tr>")
        return format_html('<table class="ops-table">{}{}</table>', head, rows)

    @admin.display(description="retry of")
    def retry_of(self, obj: Generation) -> str:
        original = (obj.metadata or {}).get("retry_of")
        if not original:
            return "—"
        found = Generation.objects.filter(public_id=original).first()
        return link(found, original) if found else original

    @admin.display(description="retried as")
    def retries(self, obj: Generation) -> str:
        found = Generation.objects.filter(metadata__retry_of=obj.public_id).order_by("created_at")
        if not found:
            return "—"
        return format_html_join(", ", '<a href="{}">{}</a> ({})', ((change_url(g), g, g.status) for g in found))

    # --- operations ---

    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path("reports/failures/", wrap(self.failures_report_view), name="videogen_report_failures"),
            path("reports/margin/", wrap(self.margin_report_view), name="videogen_report_margin"),
            path("<path:object_id>/retry/", wrap(self.retry_view), name="videogen_generation_retry"),
            path("<path:object_id>/cancel/", wrap(self.cancel_view), name="videogen_generation_cancel"),
            path("<path:object_id>/refund/", wrap(self.refund_view), name="videogen_generation_refund"),
            *super().get_urls(),
        ]

    def retry_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return object_operation(self, request, object_id, "retry_on_provider")

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return object_operation(self, request, object_id, "cancel")

    def refund_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return object_operation(self, request, object_id, "refund")

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        extra = {
            "can_retry": self.has_retry_permission(request),
            "can_cancel": self.has_cancel_permission(request),
            "can_refund": self.has_refund_permission(request),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra)

    def _targets(self, jobs: list[Generation], skip: dict[int, str]) -> list[Target]:
        return [
            Target(
                label=g.public_id,
                detail=f"{g.status} · {g.model} · {g.provider or 'no provider'} · {g.organization} · "
                f"{format_usd(g.price_micros)}",
                url=change_url(g),
                skipped=skip.get(g.pk, ""),
            )
            for g in jobs
        ]

    def _page(
        self, request: HttpRequest, jobs: list[Generation], skip: dict[int, str], form: forms.Form, **kwargs: Any
    ) -> TemplateResponse:
        cancel_url = change_url(jobs[0]) if len(jobs) == 1 else changelist_url(Generation)
        return operation_page(
            self,
            request,
            targets=self._targets(jobs, skip),
            selected=[g.pk for g in jobs],
            form=form,
            cancel_url=cancel_url,
            **kwargs,
        )

    @admin.action(description="Retry on another provider…", permissions=["retry"])
    def retry_on_provider(self, request: HttpRequest, queryset: QuerySet[Generation]) -> HttpResponse | None:
        jobs = list(queryset.select_related("organization", "api_key"))
        skip = {g.pk: "still running; cancel it first" for g in jobs if not g.is_final}
        ready = [g for g in jobs if g.pk not in skip]
        form = RetryForm(
            request.POST if applying(request) else None,
            models={g.model for g in ready},
            current={g.provider for g in ready},
        )
        if not (ready and form.is_bound and form.is_valid()):
            return self._page(
                request,
                jobs,
                skip,
                form,
                action="retry_on_provider",
                title="Retry on another provider",
                intro="Each finished job runs again as a new job of the same customer, pinned to the provider "
                "you choose. It is priced and held like any job: the customer pays only if it succeeds.",
                submit_label="Retry",
            )
        created = self._retry(request, ready, form.cleaned_data["provider"])
        if len(created) == 1:
            return HttpResponseRedirect(change_url(created[0]))
        return None

    def _retry(self, request: HttpRequest, jobs: list[Generation], provider: str) -> list[Generation]:
        created = []
        for generation in jobs:
            try:
                retry = generation_retry(generation=generation, provider=provider, staff_user=cast(User, request.user))
            except (BillingError, ParamError, RetryError) as exc:
                self.message_user(request, f"{generation.public_id} was not retried: {exc}", messages.ERROR)
                continue
            created.append(retry)
            self.message_user(request, f"{generation.public_id} retried on {provider} as {retry.public_id}.")
        return created

    @admin.action(description="Cancel…", permissions=["cancel"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Generation]) -> HttpResponse | None:
        jobs = list(queryset.select_related("organization"))
        skip = {g.pk: f"already {g.status}" for g in jobs if g.is_final}
        form = ReasonForm(
            request.POST if applying(request) else None,
            required=False,
            help_text="Optional. The customer sees it as the job's failure message.",
        )
        if not (form.is_bound and form.is_valid()):
            return self._page(
                request,
                jobs,
                skip,
                form,
                action="cancel",
                title="Cancel generations",
                intro="Active jobs stop, their held credit is released and the customer is not charged.",
                submit_label="Cancel the jobs",
                danger=True,
            )
        reason = form.cleaned_data["reason"].strip()
        message = f"Canceled by support: {reason}" if reason else "Canceled by support."
        for generation in jobs:
            if generation_cancel(generation=generation, reason=message):
                self.message_user(request, f"{generation.public_id} canceled; its hold was released.")
            else:
                self.message_user(request, f"{generation.public_id} had already finished.", messages.WARNING)
        return None

    @admin.action(description="Refund the charge…", permissions=["refund"])
    def refund(self, request: HttpRequest, queryset: QuerySet[Generation]) -> HttpResponse | None:
        jobs = list(queryset.select_related("organization"))
        form = ReasonForm(
            request.POST if applying(request) else None,
            help_text="Required; kept in the ledger with your name.",
        )
        if not (form.is_bound and form.is_valid()):
            return self._page(
                request,
                jobs,
                {},
                form,
                action="refund",
                title="Refund generations",
                intro="The charge of each succeeded job goes back to the customer's balance, once.",
                submit_label="Refund",
            )
        started = timezone.now()
        for generation in jobs:
            try:
                entry = credits_refund(
                    organization=generation.organization,
                    reference=generation.public_id,
                    reason=form.cleaned_data["reason"],
                    staff_user=cast(User, request.user),
                )
            except BillingError as exc:
                self.message_user(request, f"{generation.public_id}: {exc}", messages.WARNING)
                continue
            if entry.created_at < started:
                self.message_user(
                    request,
                    f"{generation.public_id} was already refunded on {entry.created_at:%Y-%m-%d}.",
                    messages.WARNING,
                )
            else:
                self.message_user(request, f"Refunded {format_usd(entry.amount_micros)} for {generation.public_id}.")
        return None

    # --- reports ---

    def _report_days(self, request: HttpRequest) -> int:
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            days = int(request.GET.get("days", 30))
        except ValueError:
            days = 30
        return days if days in REPORT_DAYS else 30

    def _report_context(self, request: HttpRequest, title: str, days: int) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "days": days,
            "day_choices": REPORT_DAYS,
        }

    def failures_report_view(self, request: HttpRequest) -> TemplateResponse:
        days = self._report_days(request)
        report = reports.failures_report(days=days)
        context = {**self._report_context(request, "Failures", days), "report": report}
        return TemplateResponse(request, "admin/ops/report_failures.html", context)

    def margin_report_view(self, request: HttpRequest) -> TemplateResponse:
        days = self._report_days(request)
        report = reports.margin_report(days=days)
        context = {
            **self._report_context(request, "Margin", days),
            "report": report,
            "ledger": ledger_margin(start=report.start, end=timezone.now()),
        }
        return TemplateResponse(request, "admin/ops/report_margin.html", context)


@admin.register(Upload)
class UploadAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "organization", "content_type", "width", "height", "size_bytes", "created_at"]
    list_filter = [OrganizationFilter, "content_type"]
    search_fields = ["public_id"]
    list_select_related = ["organization"]
    fields = readonly_fields = (
        "public_id",
        "organization",
        "content_type",
        "size_bytes",
        "width",
        "height",
        "source_url",
        "image",
    )

    @admin.display(description="image")
    def image(self, obj: Upload) -> str:
        if not obj.file:
            return "—"
        return format_html('<img src="{}" alt="" style="max-width: 480px">', signed_url(obj.file.name))
