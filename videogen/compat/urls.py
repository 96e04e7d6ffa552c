"""Provider-compatible endpoints (Segmind, AIML API, Atlas Cloud), mounted at the site root.

The paths are the providers' own, so a client changes only its host and key.
"""

from __future__ import annotations

from django.urls import path

from videogen.compat import aimlapi, atlascloud, segmind

urlpatterns = [
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
]
