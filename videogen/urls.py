from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from accounts.api import MeView
from videogen import callbacks, files_views, health, views

api_v1 = [
    path("me", MeView.as_view(), name="api-me"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("", include("accounts.urls")),
    path("api/v1/", include(api_v1)),
    path("files/<str:token>", files_views.signed_file, name="signed-file"),
    path("hooks/minimax", callbacks.minimax_callback, name="minimax-callback"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
]
