"""Webhook routes: web pages under /webhooks/ (namespace "webhooks") and the API under /api/v1/."""

from __future__ import annotations

from django.urls import path

from webhooks import api, views

web_urlpatterns = [
    path("", views.endpoint_list, name="list"),
    path("new/", views.endpoint_create, name="create"),
    path("job-secret/reveal/", views.job_secret_reveal, name="job-secret-reveal"),
    path("job-secret/rotate/", views.job_secret_rotate, name="job-secret-rotate"),
    path("deliveries/<str:public_id>/", views.delivery_detail, name="delivery"),
    path("deliveries/<str:public_id>/replay/", views.delivery_replay, name="delivery-replay"),
    path("<str:public_id>/", views.endpoint_detail, name="detail"),
    path("<str:public_id>/edit/", views.endpoint_edit, name="edit"),
    path("<str:public_id>/enable/", views.endpoint_enable, name="enable"),
    path("<str:public_id>/disable/", views.endpoint_disable, name="disable"),
    path("<str:public_id>/delete/", views.endpoint_delete, name="delete"),
    path("<str:public_id>/rotate/", views.endpoint_rotate, name="rotate"),
    path("<str:public_id>/test/", views.endpoint_test, name="test"),
]

api_urlpatterns = [
    path("webhook-endpoints", api.EndpointListView.as_view(), name="api-webhook-endpoints"),
    path("webhook-endpoints/<str:public_id>", api.EndpointDetailView.as_view(), name="api-webhook-endpoint"),
    path(
        "webhook-endpoints/<str:public_id>/rotate",
        api.EndpointRotateView.as_view(),
        name="api-webhook-endpoint-rotate",
    ),
    path("webhook-secret", api.JobSecretView.as_view(), name="api-webhook-secret"),
    path("webhook-secret/rotate", api.JobSecretRotateView.as_view(), name="api-webhook-secret-rotate"),
]
