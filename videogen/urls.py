from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from accounts.api import MeView
from videogen import health, views

api_v1 = [
    path("me", MeView.as_view(), name="api-me"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("", include("accounts.urls")),
    path("api/v1/", include(api_v1)),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
]
