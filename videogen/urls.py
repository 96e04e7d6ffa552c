from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from accounts.api import MeView
from billing import urls as billing_urls
from videogen import callbacks, files_views, health, metrics, views
from videogen.api.schema import docs_view
from webhooks import urls as webhooks_urls

api_v1: list[URLPattern | URLResolver] = [
    path("me", MeView.as_view(), name="api-me"),
    path("", include(billing_urls.api_urlpatterns)),
    path("", include(webhooks_urls.api_urlpatterns)),
    path("", include("videogen.api.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("", include("accounts.urls")),
    path("", include("videogen.web_urls")),
    path("billing/", include((billing_urls.web_urlpatterns, "billing"))),
    path("webhooks/", include((webhooks_urls.web_urlpatterns, "webhooks"))),
    path("api/v1/", include(api_v1)),
    path("api/docs", docs_view, name="api-docs"),
    path("files/<str:token>", files_views.signed_file, name="signed-file"),
    path("hooks/minimax", callbacks.minimax_callback, name="minimax-callback"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    # Provider-compatible endpoints last: their paths (/v1/<slug>, /v2/...) are the providers' own.
    path("", include("videogen.compat.urls")),
]

# Machine clients get the API's JSON error shape from Django's own 404 and 500 too.
handler404 = "api.errors.not_found"
handler500 = "api.errors.server_error"
