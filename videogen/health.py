"""Probes for load balancers: /healthz (process alive), /readyz (database, broker and storage reachable)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database_ok() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return f"database: {exc.__class__.__name__}"
    return None


def _broker_ok() -> str | None:
    if not settings.REDIS_URL:
        return None  # the database is the broker
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
    except Exception as exc:
        return f"broker: {exc.__class__.__name__}"
    return None


def _storage_ok() -> str | None:
    """The bucket exists and answers us (S3: one HEAD request), or the media folder is writable (local).

    A local folder that does not exist yet is fine: the first file saved creates it.
    """
    try:
        storage: Any = default_storage  # S3Storage or FileSystemStorage, by the setting
        if settings.STORAGE_BACKEND == "s3":
            storage.connection.meta.client.head_bucket(Bucket=storage.bucket_name)
            return None
        location = Path(storage.location)
        if location.exists() and not os.access(location, os.W_OK | os.X_OK):
            return "storage: the media folder is not writable"
    except Exception as exc:
        return f"storage: {exc.__class__.__name__}"
    return None


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    problems = [p for p in (_database_ok(), _broker_ok(), _storage_ok()) if p]
    if problems:
        return JsonResponse({"status": "unavailable", "problems": problems}, status=503)
    return JsonResponse({"status": "ok", "broker": "redis" if settings.REDIS_URL else "database"})
