"""Operators manage the showcase: the example videos on the landing page, pricing and model cards."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from videogen.models import ShowcaseClip
from videogen.services.files import signed_url


@admin.register(ShowcaseClip)
class ShowcaseClipAdmin(admin.ModelAdmin):
    list_display = ["title", "model", "resolution", "duration", "position", "published", "preview"]
    list_editable = ["position", "published"]
    list_filter = ["published", "model"]
    search_fields = ["title", "prompt"]
    fields = ["title", "prompt", "model", "duration", "resolution", "video", "poster", "position", "published"]

    @admin.display(description="poster")
    def preview(self, obj: ShowcaseClip) -> str:
        if not obj.poster:
            return "—"
        return format_html('<img src="{}" alt="" style="height:40px">', signed_url(obj.poster.name))
