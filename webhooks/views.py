"""Webhook pages: endpoints, their secrets and delivery logs, replays and test events.

Who may read and who may manage is accounts.permissions. A secret is
shown once, on the page after it was created or rotated (carried there in the
session and removed as it is shown).
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import MemberRequest, role_required
from accounts.permissions import Action, can
from webhooks import selectors, services, signing
from webhooks.delivery import disable_after
from webhooks.errors import WebhookError
from webhooks.forms import EndpointForm
from webhooks.models import WebhookEndpoint

DELIVERIES_PAGE_SIZE = 25
RECENT_JOB_DELIVERIES = 20
# Names, not secrets: where a fresh secret waits in the session, and the owner name of the per-job secret.
SECRET_SESSION_KEY = "webhooks_secret_once"  # noqa: S105
JOB_SECRET = "job"  # noqa: S105


def _show_once(request: HttpRequest, owner: str, secret: str) -> None:
    request.session[SECRET_SESSION_KEY] = {"owner": owner, "secret": secret}


def _take_once(request: HttpRequest, owner: str) -> str | None:
    held = request.session.get(SECRET_SESSION_KEY)
    if not held or held.get("owner") != owner:
        return None
    del request.session[SECRET_SESSION_KEY]
    return held["secret"]


@role_required(Action.WEBHOOKS_VIEW)
def endpoint_list(request: MemberRequest) -> HttpResponse:
    organization = request.membership.organization
    role = request.membership.role
    context = {
        "endpoints": selectors.endpoints_list(organization),
        "job_deliveries": selectors.job_deliveries(organization)[:RECENT_JOB_DELIVERIES],
        "job_secret": selectors.job_secret_find(organization),
        "new_job_secret": _take_once(request, JOB_SECRET) if can(role, Action.WEBHOOKS_JOB_SECRET) else None,
        "can_manage": can(role, Action.WEBHOOKS_MANAGE),
        "can_read_job_secret": can(role, Action.WEBHOOKS_JOB_SECRET),
    }
    return render(request, "webhooks/list.html", context)


def _form_error(form: EndpointForm, exc: WebhookError) -> None:
    field = exc.param if exc.param in form.fields else None
    message = exc.message.removeprefix(f"{field}: ") if field else exc.message
    form.add_error(field, message)


@role_required(Action.WEBHOOKS_MANAGE)
def endpoint_create(request: MemberRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = services.endpoint_create(
                organization=request.membership.organization,
                url=form.cleaned_data["url"],
                description=form.cleaned_data["description"],
                event_types=form.cleaned_data["event_types"],
            )
        except WebhookError as exc:
            _form_error(form, exc)
        else:
            _show_once(request, endpoint.public_id, secret)
            messages.success(request, "Endpoint added. Copy its signing secret now: it is shown only once.")
            return redirect("webhooks:detail", endpoint.public_id)
    return render(request, "webhooks/form.html", {"form": form, "endpoint": None})


@role_required(Action.WEBHOOKS_VIEW)
def endpoint_detail(request: MemberRequest, public_id: str) -> HttpResponse:
    endpoint = selectors.endpoint_get(request.membership.organization, public_id)
    deliveries = Paginator(selectors.endpoint_deliveries(endpoint), DELIVERIES_PAGE_SIZE)
    can_manage = can(request.membership.role, Action.WEBHOOKS_MANAGE)
    context = {
        "endpoint": endpoint,
        "deliveries": deliveries.get_page(request.GET.get("page")),
        "new_secret": _take_once(request, endpoint.public_id) if can_manage else None,
        "can_manage": can_manage,
        "disable_after_days": disable_after().days,
    }
    return render(request, "webhooks/detail.html", context)


@role_required(Action.WEBHOOKS_MANAGE)
def endpoint_edit(request: MemberRequest, public_id: str) -> HttpResponse:
    endpoint = selectors.endpoint_get(request.membership.organization, public_id)
    initial = {"url": endpoint.url, "description": endpoint.description, "event_types": endpoint.event_types}
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.endpoint_update(
                endpoint=endpoint,
                url=form.cleaned_data["url"],
                description=form.cleaned_data["description"],
                event_types=form.cleaned_data["event_types"],
            )
        except WebhookError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Endpoint saved.")
            return redirect("webhooks:detail", endpoint.public_id)
    return render(request, "webhooks/form.html", {"form": form, "endpoint": endpoint})


def _endpoint_for_post(request: MemberRequest, public_id: str) -> WebhookEndpoint:
    return selectors.endpoint_get(request.membership.organization, public_id)


@role_required(Action.WEBHOOKS_MANAGE)
@require_POST
def endpoint_enable(request: MemberRequest, public_id: str) -> HttpResponse:
    endpoint = services.endpoint_enable(endpoint=_endpoint_for_post(request, public_id))
    messages.success(request, f"Enabled {endpoint.url}: new events will be sent to it.")
    return redirect("webhooks:detail", endpoint.public_id)


@role_required(Action.WEBHOOKS_MANAGE)
@require_POST
def endpoint_disable(request: MemberRequest, public_id: str) -> HttpResponse:
    endpoint = services.endpoint_disable(endpoint=_endpoint_for_post(request, public_id))
    messages.success(request, f"Disabled {endpoint.url}: no events will be sent to it until you enable it.")
    return redirect("webhooks:detail", endpoint.public_id)


@role_required(Action.WEBHOOKS_MANAGE)
@require_POST
def endpoint_delete(request: MemberRequest, public_id: str) -> HttpResponse:
    endpoint = _endpoint_for_post(request, public_id)
    services.endpoint_delete(endpoint=endpoint)
    messages.success(request, f"Deleted the endpoint {endpoint.url} and its delivery log.")
    return redirect("webhooks:list")


@role_required(Action.WEBHOOKS_MANAGE)
@require_POST
def endpoint_rotate(request: MemberRequest, public_id: str) -> HttpResponse:
    endpoint = _endpoint_for_post(request, public_id)
    secret = services.endpoint_secret_rotate(endpoint=endpoint)
    _show_once(request, endpoint.public_id, secret)
    hours = int(services.ROTATION_OVERLAP.total_seconds() // 3600)
    messages.success(request, f"New secret created. For {hours} hours, deliveries are signed with both secrets.")
    return redirect("webhooks:detail", endpoint.public_id)


@role_required(Action.WEBHOOKS_MANAGE)
@require_POST
def endpoint_test(request: MemberRequest, public_id: str) -> HttpResponse:
    endpoint = _endpoint_for_post(request, public_id)
    try:
        delivery = services.endpoint_test_send(endpoint=endpoint)
    except WebhookError as exc:
        messages.error(request, exc.message)
        return redirect("webhooks:detail", endpoint.public_id)
    messages.success(request, "Test event sent. Its attempts appear below within a few seconds.")
    return redirect("webhooks:delivery", delivery.public_id)


@role_required(Action.WEBHOOKS_VIEW)
def delivery_detail(request: MemberRequest, public_id: str) -> HttpResponse:
    delivery = selectors.delivery_get(request.membership.organization, public_id)
    context = {
        "delivery": delivery,
        "attempts": selectors.delivery_attempts(delivery),
        "payload": json.dumps(signing.delivery_payload(delivery), indent=2),
        "can_manage": can(request.membership.role, Action.WEBHOOKS_MANAGE),
    }
    return render(request, "webhooks/delivery.html", context)


@role_required(Action.WEBHOOKS_MANAGE)
@require_POST
def delivery_replay(request: MemberRequest, public_id: str) -> HttpResponse:
    delivery = selectors.delivery_get(request.membership.organization, public_id)
    try:
        replay = services.delivery_replay(delivery=delivery)
    except WebhookError as exc:
        messages.error(request, exc.message)
        return redirect("webhooks:delivery", delivery.public_id)
    messages.success(request, f"Replaying {delivery.event.type} with the same webhook-id.")
    return redirect("webhooks:delivery", replay.public_id)


@role_required(Action.WEBHOOKS_JOB_SECRET)
@require_POST
def job_secret_reveal(request: MemberRequest) -> HttpResponse:
    holder = services.job_secret_ensure(request.membership.organization)
    _show_once(request, JOB_SECRET, holder.secret)
    return redirect("webhooks:list")


@role_required(Action.WEBHOOKS_JOB_SECRET)
@require_POST
def job_secret_rotate(request: MemberRequest) -> HttpResponse:
    secret = services.job_secret_rotate(organization=request.membership.organization)
    _show_once(request, JOB_SECRET, secret)
    hours = int(services.ROTATION_OVERLAP.total_seconds() // 3600)
    messages.success(request, f"New per-job secret created. For {hours} hours, both secrets sign.")
    return redirect("webhooks:list")
