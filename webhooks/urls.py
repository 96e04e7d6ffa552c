"""Webhook routes: web pages under /webhooks/ and the API under /api/v1/."""

from __future__ import annotations

web_urlpatterns: list = []
api_urlpatterns: list = []
