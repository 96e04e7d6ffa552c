"""Web app pages of the generation app (generate, jobs, history, pricing)."""

from __future__ import annotations

urlpatterns: list = []
