"""Code snippets for developers, on the pages that hand out keys and show jobs."""

from __future__ import annotations

from typing import Any

from django import template

from videogen.models import Generation
from videogen.presenters import api_snippets, generation_request_body

register = template.Library()

KEY_PLACEHOLDER = "$HAILUO_API_KEY"


@register.simple_tag(takes_context=True)
def snippets_for(context: Any, key: str = KEY_PLACEHOLDER, generation: Generation | None = None) -> dict[str, str]:
    """curl and Python for the native API, at the address this page was opened on."""
    base_url = context["request"].build_absolute_uri("/")
    body = generation_request_body(generation) if generation is not None else None
    return api_snippets(base_url, key or KEY_PLACEHOLDER, body)
