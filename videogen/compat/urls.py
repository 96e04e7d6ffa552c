"""Provider-compatible endpoints (Segmind, AIML API, Atlas Cloud, Replicate, fal), mounted at the site root.

The paths are the providers' own, so a client changes only its host and key.
"""

from __future__ import annotations

from django.urls import path

from videogen.compat import aimlapi, atlascloud, fal, replicate, segmind

urlpatterns = [
    # Replicate (before Segmind's v1/<slug>, which would take v1/predictions and v1/models)
    path("v1/predictions", replicate.predictions, name="compat-replicate-predictions"),
    path("v1/predictions/<str:prediction_id>", replicate.prediction, name="compat-replicate-prediction"),
    path("v1/predictions/<str:prediction_id>/cancel", replicate.prediction_cancel, name="compat-replicate-cancel"),
    path("v1/models", replicate.models, name="compat-replicate-models"),
    path("v1/models/<str:owner>/<str:name>", replicate.model, name="compat-replicate-model"),
    path(
        "v1/models/<str:owner>/<str:name>/predictions",
        replicate.model_predictions,
        name="compat-replicate-model-predictions",
    ),
    path("v1/models/<str:owner>/<str:name>/versions", replicate.model_versions, name="compat-replicate-versions"),
    path(
        "v1/models/<str:owner>/<str:name>/versions/<str:version_id>",
        replicate.model_version,
        name="compat-replicate-version",
    ),
    path("v1/webhooks/default/secret", replicate.webhook_secret, name="compat-replicate-webhook-secret"),
    # Segmind
    path("v1/<str:slug>", segmind.run_sync, name="compat-segmind-run"),
    path("v2/requests/<str:request_id>/status", segmind.request_status, name="compat-segmind-status"),
    path("v2/requests/<str:request_id>", segmind.request_result, name="compat-segmind-result"),
    # AIML API (before Segmind's v2/<slug>, which would not match it anyway: slugs have no slashes)
    path("v2/generate/video/minimax/generation", aimlapi.generation, name="compat-aimlapi-generation"),
    path("v2/video/generations", aimlapi.generation, name="compat-aimlapi-video-generations"),
    path("v2/<str:slug>", segmind.submit, name="compat-segmind-submit"),
    # Atlas Cloud
    path("api/v1/model/generateVideo", atlascloud.generate_video, name="compat-atlascloud-generate"),
    path("api/v1/model/prediction/<str:prediction_id>", atlascloud.prediction, name="compat-atlascloud-prediction"),
    path("api/v1/model/uploadMedia", atlascloud.upload_media, name="compat-atlascloud-upload"),
    # fal: status, result and cancel under the app id's first two parts, before the submit catch-all
    path("fal-ai/<str:alias>/requests/<str:request_id>/status", fal.request_status, name="compat-fal-status"),
    path("fal-ai/<str:alias>/requests/<str:request_id>/cancel", fal.request_cancel, name="compat-fal-cancel"),
    path("fal-ai/<str:alias>/requests/<str:request_id>", fal.request_result, name="compat-fal-result"),
    path("fal-ai/<path:app_path>", fal.submit, name="compat-fal-submit"),
    path("fal-run/fal-ai/<path:app_path>", fal.run, name="compat-fal-run"),
]
