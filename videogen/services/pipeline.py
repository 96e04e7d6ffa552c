"""The job's road from accepted to finished: submit, poll, store the video, settle the bill.

Every step is safe to run twice (django-q2 delivers at least once, and a
worker may die at any line): state changes are conditional updates, the
credit hold settles exactly once, and a job is never submitted upstream twice
except to a provider whose submission is idempotent.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import httpx
from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core import outbound
from videogen import catalog, selectors
from videogen.media import InvalidVideo, extract_poster, probe_video
from videogen.models import ACTIVE_STATUSES, Generation, ProviderCall, ProviderRoute, Status, Upload
from videogen.providers import registry
from videogen.providers.base import (
    ROUTE_GONE_CODES,
    ROUTE_MISMATCH_CODES,
    ErrorKind,
    ProviderAdapter,
    ProviderError,
    SubmitRequest,
    UpstreamResult,
    UpstreamStatus,
)
from videogen.services import providers as provider_services
from videogen.services.files import signed_url
from videogen.services.joblog import job_logged
from videogen.services.state import finish_paid, finish_unpaid, generation_event, transition
from videogen.services.uploads import upload_data_url

logger = logging.getLogger(__name__)

# When every route refused a submission and at least one only because of its
# rate limit, the job goes back to the queue for this long (unless a provider
# asked for longer): it is never failed for a rate limit.
RATE_LIMITED_REQUEUE_SECONDS = 20.0
# A provider that keeps answering with a status it does not publish: the job
# fails unpaid after this many such polls instead of waiting for the deadline.
MAX_UNKNOWN_STATUS_POLLS = 3


def poll_interval(age: timedelta, retry_after: float | None = None) -> timedelta:
    """Quick at first, slower later; a provider's Retry-After wins when longer."""
    seconds = age.total_seconds()
    if seconds < 120:
        base = 1.0
    elif seconds < 600:
        base = 2.0
    elif seconds < 1800:
        base = 5.0
    else:
        base = 15.0
    return timedelta(seconds=max(base, retry_after or 0))


class Adapters:
    """Adapters built once per worker loop and shared by its threads (httpx clients are thread-safe)."""

    def __init__(self) -> None:
        self._cache: dict[str, ProviderAdapter] = {}
        self._client: httpx.Client | None = None

    def get(self, name: str) -> ProviderAdapter:
        if name not in self._cache:
            if self._client is None:
                self._client = outbound.provider_client(max_connections=settings.POLL_CONCURRENCY)
            self._cache[name] = registry.build_adapter(name, client=self._client)
        return self._cache[name]

    def close(self) -> None:
        for adapter in self._cache.values():
            adapter.close()
        if self._client is not None:
            self._client.close()
        self._cache.clear()


def _submit_request(generation: Generation, route_index: int) -> SubmitRequest:
    params = dict(generation.input)
    links: dict[str, str] = {}
    for field in catalog.IMAGE_FIELDS:
        if params.get(field):
            upload = Upload.objects.get(organization_id=generation.organization_id, public_id=params[field])
            params[field] = upload_data_url(upload)
            link = signed_url(upload.file.name)
            if link.startswith("https://"):  # only a public https address is worth giving a provider
                links[field] = link
    callback = None
    if settings.MINIMAX_USE_CALLBACK:
        from django.urls import reverse

        callback = settings.PUBLIC_BASE_URL + reverse("minimax-callback")
    return SubmitRequest(
        model=generation.model,
        params=params,
        idempotency_key=f"{generation.public_id}:{route_index}",
        callback_url=callback,
        image_links=links,
    )


def _routes(generation: Generation) -> list[ProviderRoute]:
    routes = selectors.routes_for(generation.model)
    if generation.pinned_provider:  # an operator chose the provider: use it even if it looks unhealthy
        return [r for r in routes if r.provider.name == generation.pinned_provider]
    usable = provider_services.routes_usable(routes)
    return provider_services.routes_profitable(usable, generation.price_micros)


@job_logged
def generation_submit(generation_id: int, adapters: Adapters | None = None) -> None:
    """Claim a queued job and hand it to the first provider route that accepts it."""
    generation = Generation.objects.filter(pk=generation_id).first()
    if generation is None or generation.status != Status.QUEUED:
        return
    claimed = transition(
        generation,
        Status.SUBMITTING,
        allowed_from=[Status.QUEUED],
        attempts=F("attempts") + 1,
        submitted_at=timezone.now(),
        next_poll_at=timezone.now() + timedelta(seconds=settings.SUBMIT_STUCK_SECONDS),
    )
    if not claimed:
        return
    own = adapters is None
    adapters = adapters or Adapters()
    try:
        _submit_along_routes(generation, adapters)
    finally:
        if own:
            adapters.close()


def _submit_along_routes(generation: Generation, adapters: Adapters) -> None:
    routes = _routes(generation)
    last_error = "No provider is configured for this model."
    rate_limited: list[float] = []
    for index, route in enumerate(routes):
        if index < generation.route_index:
            continue
        name = route.provider.name
        Generation.objects.filter(pk=generation.pk, status=Status.SUBMITTING).update(route_index=index, provider=name)
        adapter = adapters.get(name)
        request = _submit_request(generation, index)
        refusal = provider_services.route_refusal(route, request)
        wait = None if refusal else provider_services.provider_submit_slot(name)
        if wait is not None:  # our own per-account throttle: this route is busy, the next may not be
            last_error = f"{name}: our submissions per minute to this account are used up"
            rate_limited.append(wait)
            continue
        try:
            result = provider_services.provider_call(generation.pk, name, "submit", partial(adapter.submit, request))
        except ProviderError as exc:
            last_error = f"{name}: {exc.message}"
            if exc.code in ROUTE_GONE_CODES:
                provider_services.route_mark_unhealthy(route, f"{exc.code}: {exc.message}")
                continue
            if exc.kind == ErrorKind.PERMANENT and exc.code not in ROUTE_MISMATCH_CODES:
                finish_unpaid(generation, Status.FAILED, code=exc.code, message=_customer_message(exc))
                return
            if exc.kind == ErrorKind.ACCOUNT:
                provider_services.provider_mark_unhealthy(name, f"{exc.code}: {exc.message}")
            if exc.code == "rate_limited":
                rate_limited.append(exc.retry_after or RATE_LIMITED_REQUEUE_SECONDS)
            continue
        provider_services.provider_mark_healthy(name)
        _started(generation, route, result, adapter)
        return
    if rate_limited:
        _requeue(generation, max(1.0, min(rate_limited)), last_error)
        return
    finish_unpaid(
        generation,
        Status.FAILED,
        code="no_provider_available",
        message="Every provider for this model is unavailable right now; please try again shortly.",
    )
    logger.warning("Generation %s failed on every route; last error: %s", generation.public_id, last_error)


def _requeue(generation: Generation, delay_seconds: float, reason: str) -> None:
    """Back to the queue, from the first route, once the rate limit has passed (the sweep submits it again)."""
    transition(
        generation,
        Status.QUEUED,
        allowed_from=[Status.SUBMITTING],
        detail=f"rate limited, retrying in {delay_seconds:.0f} s: {reason}",
        route_index=0,
        provider="",
        next_poll_at=timezone.now() + timedelta(seconds=delay_seconds),
    )


def _customer_message(exc: ProviderError) -> str:
    if exc.code in {"content_blocked", "content_policy"}:
        return "The request was blocked by the provider's content policy."
    return exc.message


def _started(generation: Generation, route: ProviderRoute, result: UpstreamResult, adapter: ProviderAdapter) -> None:
    now = timezone.now()
    cost = route.upstream_cost_micros if route.upstream_cost_micros is not None else generation.upstream_cost_micros
    with transaction.atomic():
        running = transition(
            generation,
            Status.RUNNING,
            allowed_from=[Status.SUBMITTING],
            detail=f"submitted to {route.provider.name} as {result.upstream_id}",
            provider=route.provider.name,
            upstream_id=result.upstream_id,
            upstream_cost_micros=cost,
            started_at=now,
            next_poll_at=now + poll_interval(timedelta(0)),
        )
        if running:
            generation_event(generation, "generation.started")
    if not running:
        # Canceled or timed out while we were submitting: stop the upstream job too.
        if adapter.supports_cancel:
            _cancel_quietly(adapter, route.provider.name, result.upstream_id)
        return
    if result.status in (UpstreamStatus.SUCCEEDED, UpstreamStatus.FAILED):
        _settle(generation, adapter, result)


@job_logged
def generation_poll(generation_id: int, adapters: Adapters) -> None:
    """Ask the provider about one running job and act on the answer (the sweep batches this)."""
    generation = Generation.objects.filter(pk=generation_id).first()
    if generation is None or generation.status != Status.RUNNING:
        return
    outcome = upstream_poll(generation.pk, generation.provider, generation.upstream_id, adapters)
    if isinstance(outcome, ProviderError):
        generation_poll_failed(generation.pk, outcome)
    elif outcome.status in (UpstreamStatus.QUEUED, UpstreamStatus.RUNNING):
        _reschedule(generation, outcome.retry_after)
    else:
        generation_settle(generation.pk, outcome, adapters)


def upstream_poll(
    generation_id: int, provider: str, upstream_id: str, adapters: Adapters
) -> UpstreamResult | ProviderError:
    """One status request; touches the database only to record a failed call."""
    adapter = adapters.get(provider)
    try:
        return provider_services.provider_call(
            generation_id, provider, "poll", partial(adapter.poll, upstream_id), record_ok=False
        )
    except ProviderError as exc:
        return exc


@job_logged
def generation_poll_failed(generation_id: int, exc: ProviderError) -> None:
    generation = Generation.objects.filter(pk=generation_id, status=Status.RUNNING).first()
    if generation is None:
        return
    if exc.kind == ErrorKind.PERMANENT:
        finish_unpaid(generation, Status.FAILED, code=exc.code, message=_customer_message(exc))
        return
    if exc.code == "unknown_status" and _unknown_status_polls(generation) >= MAX_UNKNOWN_STATUS_POLLS:
        message = f"The provider kept reporting a status it does not document ({exc.message}); you were not charged."
        finish_unpaid(generation, Status.FAILED, code="upstream_unknown_status", message=message)
        return
    if exc.kind == ErrorKind.ACCOUNT:
        provider_services.provider_mark_unhealthy(generation.provider, f"{exc.code}: {exc.message}")
    _reschedule(generation, exc.retry_after)


def _unknown_status_polls(generation: Generation) -> int:
    """Polls of this job answered with an undocumented status (each failed call is recorded)."""
    return ProviderCall.objects.filter(
        generation_id=generation.pk, operation="poll", ok=False, error_code="unknown_status"
    ).count()


def next_poll_at(started_at: datetime, retry_after: float | None = None) -> datetime:
    now = timezone.now()
    return now + poll_interval(now - started_at, retry_after)


def _reschedule(generation: Generation, retry_after: float | None) -> None:
    Generation.objects.filter(pk=generation.pk, status=Status.RUNNING).update(
        next_poll_at=next_poll_at(generation.started_at or generation.created_at, retry_after),
        poll_count=F("poll_count") + 1,
    )


@job_logged
def generation_settle(generation_id: int, result: UpstreamResult, adapters: Adapters) -> None:
    """A poll said the job ended upstream: store the video and charge, or fail unpaid."""
    generation = Generation.objects.filter(pk=generation_id, status=Status.RUNNING).first()
    if generation is not None:
        _settle(generation, adapters.get(generation.provider), result)


def _settle(generation: Generation, adapter: ProviderAdapter, result: UpstreamResult) -> None:
    if result.status == UpstreamStatus.FAILED:
        code = result.error_code or "upstream_failed"
        message = result.error_message or "The provider could not generate this video."
        if code in {"content_blocked", "content_policy"}:
            message = f"The request was blocked by the content policy: {message}"
        finish_unpaid(generation, Status.FAILED, code=code, message=message)
        return
    _store_output(generation, adapter, result)


def _store_output(generation: Generation, adapter: ProviderAdapter, result: UpstreamResult) -> None:
    """Copy the video into our storage (provider links expire), check it by decoding, then charge."""
    with tempfile.TemporaryDirectory(prefix="videogen-") as tmp:
        video_path = Path(tmp) / "video.mp4"
        try:
            _download(generation, adapter, result, video_path)
        except ProviderError as exc:
            if exc.kind == ErrorKind.PERMANENT:
                finish_unpaid(generation, Status.FAILED, code=exc.code, message=exc.message)
            else:
                _reschedule(generation, exc.retry_after)
            return
        except outbound.UnsafeURLError as exc:
            if exc.reason in {"timeout", "connect_error"}:
                _reschedule(generation, None)  # the provider's file host may be back in a moment
            else:
                finish_unpaid(generation, Status.FAILED, code="output_unavailable", message=exc.message)
            return
        try:
            info = probe_video(video_path)
            poster_path = Path(tmp) / "poster.jpg"
            extract_poster(video_path, poster_path)
        except InvalidVideo as exc:
            finish_unpaid(
                generation,
                Status.FAILED,
                code="invalid_output",
                message=f"The provider returned no playable video ({exc}).",
            )
            return
        stem = f"{generation.organization.public_id}/{generation.public_id}"
        video_name, poster_name = _save(generation, video_path, poster_path, stem)
        paid = finish_paid(
            generation,
            video=video_name,
            poster=poster_name,
            output_container=info.container,
            output_duration_s=info.duration_s,
            output_width=info.width,
            output_height=info.height,
            output_bytes=video_path.stat().st_size,
        )
        if not paid:  # canceled or timed out meanwhile: keep nothing we will not sell
            generation.video.storage.delete(video_name)
            generation.poster.storage.delete(poster_name)


def _download(generation: Generation, adapter: ProviderAdapter, result: UpstreamResult, dest: Path) -> None:
    """Copy the video from the first link that works (MiniMax also sends a backup link)."""
    if result.output_path:
        shutil.copyfile(result.output_path, dest)
        return
    name = generation.provider
    urls = provider_services.provider_call(
        generation.pk, name, "result", partial(adapter.result_urls, result), record_ok=False
    )
    for index, url in enumerate(urls):
        try:
            outbound.download_to_file(url, dest, max_bytes=settings.MAX_OUTPUT_BYTES)
            return
        except outbound.UnsafeURLError as exc:
            if index == len(urls) - 1:
                raise
            logger.info("Download of %s from its first link failed (%s); trying the backup", generation.public_id, exc)


def _save(generation: Generation, video_path: Path, poster_path: Path, stem: str) -> tuple[str, str]:
    storage = generation.video.storage
    # Same names on a second run: a retried task overwrites instead of piling up copies.
    for name in (f"videos/{stem}.mp4", f"posters/{stem}.jpg"):
        storage.delete(name)
    with video_path.open("rb") as handle:
        video_name = storage.save(f"videos/{stem}.mp4", File(handle))
    with poster_path.open("rb") as handle:
        poster_name = storage.save(f"posters/{stem}.jpg", File(handle))
    return video_name, poster_name


def _cancel_quietly(adapter: ProviderAdapter, provider: str, upstream_id: str) -> None:
    try:
        provider_services.provider_call(None, provider, "cancel", lambda: adapter.cancel(upstream_id))
    except ProviderError:
        logger.info("Upstream cancel of %s at %s failed; it will expire there", upstream_id, provider)


@job_logged
def generation_cancel_upstream(generation_id: int) -> None:
    """After a customer's cancel or our timeout: ask the provider to stop, where it can."""
    generation = Generation.objects.filter(pk=generation_id).first()
    if generation is None or not generation.upstream_id or generation.status in ACTIVE_STATUSES:
        return
    adapters = Adapters()
    try:
        adapter = adapters.get(generation.provider)
        if adapter.supports_cancel:
            _cancel_quietly(adapter, generation.provider, generation.upstream_id)
    finally:
        adapters.close()


@job_logged
def generation_recover_submit(generation_id: int, adapters: Adapters) -> None:
    """A worker died while submitting: retry where the provider dedupes submissions, else fail unpaid."""
    generation = Generation.objects.filter(pk=generation_id).first()
    # Only the sweep calls this, for jobs whose stuck-submission deadline passed.
    if generation is None or generation.status != Status.SUBMITTING:
        return
    name = generation.provider
    # No provider recorded: the worker died before calling one, so nothing exists upstream.
    if not name or adapters.get(name).idempotent_submit:
        if transition(generation, Status.QUEUED, allowed_from=[Status.SUBMITTING], detail="resubmitting after a crash"):
            generation_submit(generation.pk, adapters)
        return
    finish_unpaid(
        generation,
        Status.FAILED,
        code="submission_interrupted",
        message="We lost contact with the provider while submitting this job; it was not charged. Please try again.",
    )


@job_logged
def generation_time_out(generation_id: int) -> bool:
    generation = Generation.objects.filter(pk=generation_id).first()
    if generation is None or generation.status not in ACTIVE_STATUSES:
        return False
    ended = finish_unpaid(
        generation,
        Status.TIMED_OUT,
        code="deadline_exceeded",
        message=f"The video was not ready within {settings.GENERATION_DEADLINE_SECONDS} seconds; you were not charged.",
    )
    if ended and generation.upstream_id:
        generation_cancel_upstream(generation.pk)
    return ended
