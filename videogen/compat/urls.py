"""Provider-compatible endpoints (Segmind, AIML API, Atlas Cloud), mounted at the site root."""

from __future__ import annotations

urlpatterns: list = []
