"""Helpers shared by the operator admin pages: formatting, filters, read-only admins and operation pages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from core.redaction import redact


def pretty_json(value: Any, *, redacted: bool = True, max_chars: int = 20_000) -> str:
    """Indented JSON in a <pre>, secrets removed, long bodies cut."""
    if redacted:
        value = redact(value)
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)
    if len(text) > max_chars:
        text = text[:max_chars] + "\n… (cut)"
    return format_html('<pre class="ops-json">{}</pre>', text)


def percent(value: int | None) -> str:
    return "—" if value is None else f"{value}%"


def milliseconds(value: int | None) -> str:
    return "—" if value is None else f"{value:,} ms"


class OrganizationFilter(admin.SimpleListFilter):
    """Filter by one organization, typed as its slug or public id (a list of every customer would not scale)."""

    title = "organization"
    parameter_name = "org"
    template = "admin/ops/input_filter.html"
    field_path = "organization"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        # A non-empty list makes Django show the filter; the template draws a text box instead.
        return [("", "")]

    def has_output(self) -> bool:
        return True

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = (self.value() or "").strip()
        if not value:
            return queryset
        prefix = f"{self.field_path}__" if self.field_path else ""
        match = Q(**{f"{prefix}slug": value}) | Q(**{f"{prefix}public_id": value})
        if value.isdigit():
            match |= Q(**{f"{prefix}pk": int(value)})
        return queryset.filter(match)

    def choices(self, changelist: Any) -> Iterator[Any]:
        yield from [
            {
                "value": self.value() or "",
                "parameter_name": self.parameter_name,
                "other_params": {k: v for k, v in changelist.params.items() if k != self.parameter_name},
                "clear_url": changelist.get_query_string(remove=[self.parameter_name]),
            }
        ]


# --- Operation pages --------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One object an operation will act on, as the confirmation page lists it."""

    label: str
    detail: str
    url: str = ""
    skipped: str = ""


def operation_page(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    *,
    action: str,
    title: str,
    intro: str,
    targets: list[Target],
    selected: list[Any],
    form: forms.Form,
    submit_label: str,
    cancel_url: str,
    danger: bool = False,
) -> TemplateResponse:
    """The intermediate page of an action: what will happen, to what, and the form it needs.

    It posts back to where it came from: the changelist (as a Django admin
    action, with the selected ids) or an object's own operation URL.
    """
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "opts": model_admin.opts,
        "targets": targets,
        "selected": selected,
        "form": form,
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "submit_label": submit_label,
        "cancel_url": cancel_url,
        "danger": danger,
        "media": model_admin.media + form.media,
    }
    return TemplateResponse(request, "admin/ops/operation.html", context)


def applying(request: HttpRequest) -> bool:
    """True when the operation page's own button was pressed (not the changelist's action menu)."""
    return request.method == "POST" and "apply" in request.POST


def object_operation(
    model_admin: admin.ModelAdmin[Any], request: HttpRequest, object_id: str, action: str
) -> HttpResponse:
    """Run one admin action on one object from its own URL (the buttons on the change page).

    The action's permission is checked the way Django checks it on the changelist.
    """
    obj = model_admin.get_object(request, unquote(object_id))
    if obj is None:
        raise Http404(f"No {model_admin.opts.verbose_name} with id {object_id!r}.")
    actions = model_admin.get_actions(request)
    if action not in actions:
        raise PermissionDenied
    func: Any = actions[action][0]  # type: ignore[index]  # checked above: the action exists
    queryset = model_admin.get_queryset(request).filter(pk=obj.pk)
    response: HttpResponse | None = func(model_admin, request, queryset)
    if response is None:
        return HttpResponseRedirect(change_url(obj))
    return response


def change_url(obj: Any) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def changelist_url(model: Any, **params: str) -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


def link(obj: Any, text: str | None = None) -> str:
    if obj is None:
        return "—"
    return format_html('<a href="{}">{}</a>', change_url(obj), text if text is not None else str(obj))


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Records nobody adds, changes or deletes in the admin (money, events, history)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    """A related list shown for reading only."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
