"""Native REST API routes, mounted under /api/v1/."""

from __future__ import annotations

from django.urls import path

from videogen.api import schema, views

urlpatterns = [
    path("models", views.ModelsView.as_view(), name="api-models"),
    path("generations", views.generations, name="api-generations"),
    path("generations/<str:generation_id>", views.generation, name="api-generation"),
    path("generations/<str:generation_id>/cancel", views.GenerationCancelView.as_view(), name="api-generation-cancel"),
    path("uploads", views.UploadsView.as_view(), name="api-uploads"),
    path("schema", schema.SchemaView.as_view(), name="api-schema"),
    path("docs", schema.DocsView.as_view(), name="api-docs-v1"),
]
