"""Provider health and the record of every call we make to a provider."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from api.ratelimit import counters_bump
from core.errors import ParamError
from videogen import selectors
from videogen.models import Provider, ProviderCall, ProviderRoute
from videogen.providers import registry
from videogen.providers.base import ROUTE_MISMATCH_CODES, ProviderError, SubmitRequest, UpstreamResult

T = TypeVar("T")

# An unhealthy provider gets one trial job again after this long (half-open circuit).
UNHEALTHY_COOLDOWN = timedelta(minutes=10)

_SUBMIT_LIMIT_SETTINGS = {
    "minimax": "MINIMAX_SUBMITS_PER_MINUTE",
    "segmind": "SEGMIND_SUBMITS_PER_MINUTE",
    "aimlapi": "AIMLAPI_SUBMITS_PER_MINUTE",
    "atlascloud": "ATLASCLOUD_SUBMITS_PER_MINUTE",
}


def provider_configured(name: str) -> bool:
    if name == "sandbox":
        return settings.SANDBOX_ENABLED
    setting = getattr(registry.adapter_class(name), "key_setting", "")
    return bool(setting and getattr(settings, setting))


def _route_down_key(model: str, provider: str) -> str:
    return f"videogen:route-down:{model}:{provider}"


def route_mark_unhealthy(route: ProviderRoute, reason: str) -> None:
    """The provider no longer serves this model (a 404 on submission): rest this route, not the provider.

    Kept in the cache for UNHEALTHY_COOLDOWN, after which the route gets a
    trial job again; the provider's other models are untouched. Operators see
    the reason as the provider's last error.
    """
    cache.set(_route_down_key(route.model, route.provider.name), reason[:300], UNHEALTHY_COOLDOWN.total_seconds())
    Provider.objects.filter(pk=route.provider_id).update(
        last_error=f"{route.model}: {reason}"[:500], last_error_at=timezone.now()
    )


def route_unhealthy_reason(route: ProviderRoute) -> str | None:
    reason: str | None = cache.get(_route_down_key(route.model, route.provider.name))
    return reason


def routes_usable(routes: list[ProviderRoute], now: Any = None) -> list[ProviderRoute]:
    """The routes that may take a job now, in order; one cache read for all of them."""
    resting = cache.get_many([_route_down_key(route.model, route.provider.name) for route in routes])
    return [
        route
        for route in routes
        if _route_down_key(route.model, route.provider.name) not in resting and _provider_usable(route, now)
    ]


def route_usable(route: ProviderRoute, now: Any = None) -> bool:
    return bool(routes_usable([route], now))


def _provider_usable(route: ProviderRoute, now: Any = None) -> bool:
    provider = route.provider
    if not (route.enabled and provider.enabled and provider_configured(provider.name)):
        return False
    if provider.healthy:
        return True
    now = now or timezone.now()
    return provider.unhealthy_since is None or now - provider.unhealthy_since > UNHEALTHY_COOLDOWN


def provider_submit_slot(name: str, now: float | None = None) -> float | None:
    """Count one submission to a provider account; None if it may go now, else seconds until it may.

    A fixed one-minute window per provider, counted with the API's rate-limit
    counters (the database, or Redis when configured), so every worker shares
    it. Like healthchecks' TokenBucket it is a little inexact for simplicity: a
    burst straddling two minutes may send up to twice the limit within 60 s,
    and a refused attempt still counts. Keep the setting below the provider's
    published limit (MiniMax: 20 a minute on a paid account) if that matters;
    a provider's own rate-limit answer keeps the job queued all the same.
    """
    limit = getattr(settings, _SUBMIT_LIMIT_SETTINGS.get(name, ""), 0) or 0
    if limit <= 0:
        return None
    now = time.time() if now is None else now
    window_start = int(now) // 60 * 60
    hits = counters_bump([f"provider-submit:{name}"], window_start)[f"provider-submit:{name}"]
    if hits <= limit:
        return None
    return float(window_start + 60 - now)


def route_refusal(route: ProviderRoute, request: SubmitRequest) -> ProviderError | None:
    """Why this route's provider cannot take the request as asked (a route mismatch), or None."""
    adapter_class = registry.adapter_class(route.provider.name)
    if adapter_class is None:
        return None
    try:
        adapter_class.check(request)
    except ProviderError as exc:
        if exc.code in ROUTE_MISMATCH_CODES:
            return exc
        raise
    return None


def routes_profitable(routes: list[ProviderRoute], price_micros: int) -> list[ProviderRoute]:
    """The routes whose known upstream cost is below the price: a run at or above it loses money.

    A route without its own cost (empty) is priced by the price rule's upstream
    cost, which is below the price by construction, so it stays.
    """
    return [r for r in routes if r.upstream_cost_micros is None or r.upstream_cost_micros < price_micros]


def routes_check_request(model: str, params: dict[str, Any], price_micros: int | None = None) -> None:
    """Refuse at submission a request that no usable route can run, naming the field at fault.

    Images are checked for presence only, so upload ids and URLs are fine here.
    With `price_micros`, routes that would run at a loss do not count.
    Raises ParamError (400) with the field the first route's refusal names.
    """
    routes = routes_usable(selectors.routes_for(model))
    if not routes:
        return  # nothing configured: the job fails unpaid as before, with its own message
    if price_micros is not None:
        routes = routes_profitable(routes, price_micros)
        if not routes:
            raise ParamError("model", "no_route", "model: no provider can run this request at its price right now.")
    request = SubmitRequest(model=model, params=params, idempotency_key="check")
    refusals = [route_refusal(route, request) for route in routes]
    if all(refusal is not None for refusal in refusals):
        first = next(refusal for refusal in refusals if refusal is not None)
        field = first.param or "model"
        reasons = "; ".join(refusal.message for refusal in refusals if refusal is not None)
        raise ParamError(field, "no_route", f"{field}: no provider can run this request as asked ({reasons}).")


def provider_mark_unhealthy(name: str, reason: str) -> None:
    """An account problem (bad key, upstream balance exhausted): route around it and tell operators."""
    now = timezone.now()
    Provider.objects.filter(name=name).update(
        healthy=False, unhealthy_reason=reason[:300], unhealthy_since=now, last_error=reason[:500], last_error_at=now
    )


def provider_mark_healthy(name: str) -> None:
    Provider.objects.filter(name=name, healthy=False).update(healthy=True, unhealthy_reason="", unhealthy_since=None)


def _exchanges(items: list[Any]) -> list[dict[str, Any]]:
    return [asdict(item) if hasattr(item, "__dataclass_fields__") else item for item in items][:10]


@contextmanager
def _timer() -> Iterator[Callable[[], int]]:
    start = time.monotonic()
    yield lambda: int((time.monotonic() - start) * 1000)


def provider_call(
    generation_id: int | None, provider: str, operation: str, call: Callable[[], T], *, record_ok: bool = True
) -> T:
    """Run one adapter call, recording its outcome and latency; ProviderError passes through.

    Routine successful polls pass record_ok=False: thousands a minute would
    bury the calls operators need to see.
    """
    with _timer() as elapsed:
        try:
            result = call()
        except ProviderError as exc:
            ProviderCall.objects.create(
                generation_id=generation_id,
                provider=provider,
                operation=operation,
                ok=False,
                latency_ms=elapsed(),
                error_kind=exc.kind,
                error_code=exc.code[:60],
                error_message=exc.message[:500],
                exchanges=_exchanges(getattr(exc, "exchanges", [])),
            )
            Provider.objects.filter(name=provider).update(
                last_error=f"{exc.code}: {exc.message}"[:500], last_error_at=timezone.now()
            )
            raise
    if not record_ok:
        return result
    exchanges = result.exchanges if isinstance(result, UpstreamResult) else []
    ProviderCall.objects.create(
        generation_id=generation_id,
        provider=provider,
        operation=operation,
        ok=True,
        latency_ms=elapsed(),
        exchanges=_exchanges(exchanges),
    )
    return result


def provider_calls_prune(older_than: timedelta = timedelta(days=30)) -> int:
    deleted, _ = ProviderCall.objects.filter(Q(created_at__lt=timezone.now() - older_than)).delete()
    return deleted
