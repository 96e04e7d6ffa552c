"""Every admin page opens on a realistic platform; only staff get in; Support sees everything but prices stay locked."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.db.models import Model
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.models import User
from billing.models import PriceRule
from tests.admin.conftest import LEAKED_SECRET, World
from tests.conftest import mfa_login, staff_user
from tests.emulators.helpers import EMULATOR_API_KEY
from videogen.models import Generation, ProviderCall

pytestmark = pytest.mark.django_db

REPORTS = ["admin:videogen_report_failures", "admin:videogen_report_margin"]


def registered() -> list[tuple[type[Model], admin.ModelAdmin]]:
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def admin_url(model: type[Model], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def first_object(model: type[Model]) -> Model | None:
    return model._default_manager.order_by("pk").first()


def test_every_changelist_change_and_add_page_opens_for_a_superuser(ops: Client, world: World, operator: User) -> None:
    request = RequestFactory().get("/admin/")
    request.user = operator
    empty = []
    for model, model_admin in registered():
        label = model._meta.label
        assert ops.get(admin_url(model, "changelist")).status_code == 200, label
        obj = first_object(model)
        if obj is None:
            empty.append(label)
            continue
        page = ops.get(admin_url(model, "change", quote(obj.pk)))
        assert page.status_code == 200, label
        if model_admin.has_add_permission(request):
            assert ops.get(admin_url(model, "add")).status_code == 200, label
    assert empty == [], f"the world has no {empty}: their change pages were not checked"


def test_the_report_pages_and_the_index_open(ops: Client, world: World) -> None:
    index = ops.get(reverse("admin:index"))
    assert index.status_code == 200
    for name in REPORTS:
        assert reverse(name) in index.content.decode()
        for days in (1, 7, 30, 90):
            assert ops.get(reverse(name), {"days": days}).status_code == 200
    assert ops.get(reverse(REPORTS[0]), {"days": "lots"}).status_code == 200


def test_the_generation_page_shows_timeline_upstream_calls_failure_and_video(ops: Client, world: World) -> None:
    page = ops.get(admin_url(Generation, "change", world.succeeded.pk)).content.decode()
    for status in ("queued", "submitting", "running", "succeeded"):
        assert status in page
    assert "<video" in page and "/files/" in page

    failed = ops.get(admin_url(Generation, "change", world.failed.pk)).content.decode()
    assert "upstream_insufficient_credit" in failed  # the AIML API call that was refused
    assert EMULATOR_API_KEY not in failed
    assert "content_policy" in failed
    assert "blocked by the content policy" in failed
    assert LEAKED_SECRET not in failed
    assert "[redacted]" in failed


def test_no_page_shows_a_secret(ops: Client, world: World) -> None:
    call = ProviderCall.objects.get(error_code="unauthorized")
    pages = [
        admin_url(ProviderCall, "change", call.pk),
        admin_url(ProviderCall, "changelist"),
        admin_url(type(world.org), "change", world.org.pk),
        admin_url(type(world.api_key), "change", world.api_key.pk),
        admin_url(type(world.endpoint), "change", world.endpoint.pk),
    ]
    for url in pages:
        body = ops.get(url).content.decode()
        for secret in (LEAKED_SECRET, world.api_key_raw, world.api_key.key_hash, world.endpoint_secret):
            assert secret not in body, url
    org_page = ops.get(admin_url(type(world.org), "change", world.org.pk)).content.decode()
    assert f"{world.api_key.prefix}…" in org_page


def test_generations_are_searched_by_id_upstream_id_and_prompt(ops: Client, world: World) -> None:
    url = admin_url(Generation, "changelist")
    for query in (world.succeeded.public_id, world.succeeded.upstream_id, "lighthouse"):
        body = ops.get(url, {"q": query}).content.decode()
        assert world.succeeded.public_id in body, query
        assert world.failed.public_id not in body, query
    filtered = ops.get(url, {"status__exact": "failed", "org": world.org.slug}).content.decode()
    assert world.failed.public_id in filtered
    assert world.succeeded.public_id not in filtered
    other = ops.get(url, {"org": world.other_org.public_id}).content.decode()
    assert world.failed.public_id not in other


def test_generations_cannot_be_added_edited_or_deleted(ops: Client, world: World) -> None:
    assert ops.get(admin_url(Generation, "add")).status_code == 403
    page = ops.get(admin_url(Generation, "change", world.failed.pk))
    assert 'name="_save"' not in page.content.decode()
    response = ops.post(admin_url(Generation, "change", world.failed.pk), {"status": "succeeded"})
    assert response.status_code == 403
    assert ops.get(admin_url(Generation, "delete", world.failed.pk)).status_code == 403
    world.failed.refresh_from_db()
    assert world.failed.status == "failed"


def test_money_records_events_and_attempts_are_read_only(ops: Client, world: World, operator: User) -> None:
    request = RequestFactory().get("/admin/")
    request.user = operator
    for label in [
        "billing.LedgerEntry",
        "billing.Hold",
        "billing.InsufficientCreditRejection",
        "billing.TopUp",
        "billing.StripeEvent",
        "billing.CreditAccount",
        "webhooks.Event",
        "webhooks.Delivery",
        "videogen.ProviderCall",
    ]:
        model_admin = next(a for m, a in registered() if m._meta.label == label)
        assert not model_admin.has_add_permission(request), label
        assert not model_admin.has_change_permission(request), label
        assert not model_admin.has_delete_permission(request), label
    delivery_admin = next(a for m, a in registered() if m._meta.label == "webhooks.Delivery")
    for inline in delivery_admin.get_inline_instances(request):
        assert not inline.has_add_permission(request, None)
        assert not inline.has_change_permission(request, None)
        assert not inline.has_delete_permission(request, None)


def test_a_customer_is_sent_to_the_admin_login_and_refused_there(web_alice: Client, world: World) -> None:
    for url in [reverse("admin:index"), *map(reverse, REPORTS)] + [
        admin_url(model, "changelist") for model, _ in registered()
    ]:
        response = web_alice.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url
    assert web_alice.get(reverse("admin:login")).status_code == 403


def test_an_anonymous_visitor_is_sent_to_the_admin_login(client: Client, world: World) -> None:
    response = client.get(admin_url(Generation, "change", world.succeeded.pk))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_staff_without_permissions_see_nothing(world: World) -> None:
    client = mfa_login(staff_user("intern@example.com"))
    assert client.get(admin_url(Generation, "changelist")).status_code == 403
    assert client.get(reverse(REPORTS[0])).status_code == 403
    assert client.get(admin_url(Generation, "refund", world.succeeded.pk)).status_code == 403


def test_support_sees_every_page(support: Client, world: World) -> None:
    for model, _ in registered():
        assert support.get(admin_url(model, "changelist")).status_code == 200, model._meta.label
        obj = first_object(model)
        assert support.get(admin_url(model, "change", quote(obj.pk))).status_code == 200, model._meta.label
    for name in REPORTS:
        assert support.get(reverse(name)).status_code == 200


def test_support_cannot_change_a_price(support: Client, world: World) -> None:
    rule = PriceRule.objects.get(model="hailuo-02-fast", duration=6, resolution="512p", mode="")
    page = support.get(admin_url(PriceRule, "change", rule.pk))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()

    response = support.post(
        admin_url(PriceRule, "change", rule.pk),
        {
            "model": rule.model,
            "duration": rule.duration,
            "resolution": rule.resolution,
            "mode": rule.mode,
            "price_usd": "0.01",
            "upstream_cost_usd": "0.01",
            "active": "on",
        },
    )

    assert response.status_code == 403
    assert support.get(admin_url(PriceRule, "add")).status_code == 403
    rule.refresh_from_db()
    assert rule.price_micros == 100_000


def test_support_is_offered_refund_but_not_retry_cancel_or_credit(support: Client, world: World) -> None:
    page = support.get(admin_url(Generation, "change", world.succeeded.pk)).content.decode()
    assert admin_url(Generation, "refund", world.succeeded.pk) in page
    assert admin_url(Generation, "retry", world.succeeded.pk) not in page
    listing = support.get(admin_url(Generation, "changelist")).content.decode()
    assert 'value="refund"' in listing
    assert 'value="cancel"' not in listing
    assert support.get(admin_url(Generation, "retry", world.failed.pk)).status_code == 403
    assert support.get(admin_url(Generation, "cancel", world.running.pk)).status_code == 403
    adjust = reverse("admin:accounts_organization_adjust_credit", args=[world.org.pk])
    assert support.get(adjust).status_code == 403
    assert support.get(reverse("admin:accounts_apikey_revoke", args=[world.api_key.pk])).status_code == 403
