"""The project's routes, plus billing's where videogen/urls.py does not mount them yet."""

from __future__ import annotations

from django.urls import NoReverseMatch, include, path, reverse

from billing import urls as billing_urls
from videogen import urls as project


def _mounted(name: str) -> bool:
    try:
        reverse(name, urlconf=project)
    except NoReverseMatch:
        return False
    return True


urlpatterns = list(project.urlpatterns)
if not _mounted("billing:home"):
    urlpatterns.append(path("billing/", include((billing_urls.web_urlpatterns, "billing"))))
if not _mounted("api-balance"):
    urlpatterns.append(path("api/v1/", include(billing_urls.api_urlpatterns)))
