"""Web app pages of the generation app (generate, jobs, history, pricing)."""

from __future__ import annotations

from django.urls import path

from videogen import views

urlpatterns = [
    path("pricing/", views.pricing, name="pricing"),
    path("generate/", views.generate, name="generate"),
    path("generate/upload/", views.frame_upload, name="frame-upload"),
    path("generations/", views.history, name="history"),
    path("generations.csv", views.usage_csv, name="usage-csv"),
    path("generations/<str:public_id>/", views.generation_detail, name="generation"),
    path("generations/<str:public_id>/status/", views.generation_status, name="generation-status"),
    path("generations/<str:public_id>/cancel/", views.generation_cancel, name="generation-cancel"),
    path("generations/<str:public_id>/again/", views.generation_again, name="generation-again"),
    path("generations/<str:public_id>/continue/", views.generation_continue, name="generation-continue"),
    path("generations/<str:public_id>/share/", views.generation_share, name="generation-share"),
    path("generations/<str:public_id>/unshare/", views.generation_unshare, name="generation-unshare"),
    path("s/<str:token>/", views.shared, name="shared"),
    path("generations/<str:public_id>/delete/", views.generation_output_delete, name="generation-delete"),
]
