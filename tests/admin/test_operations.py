"""Operators fix customers' problems from the admin: every operation has the effect of the service it calls."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.admin import helpers
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiKey, User
from billing.models import CreditAccount, Hold, LedgerEntry, PriceRule
from billing.selectors import balance_get
from billing.services import credits_adjust
from tests.admin.conftest import World, create, form_data, run_to_end
from videogen.media import probe_video
from videogen.models import Generation, Provider, ProviderRoute, Status
from videogen.services.generations import generation_cancel
from videogen.services.providers import provider_mark_healthy
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def audit_is_clean() -> None:
    call_command("billing_audit")  # raises CommandError on any drift


def entries(reference: str) -> list[tuple[str, int, int]]:
    rows = LedgerEntry.objects.filter(reference=reference).order_by("id")
    return [(e.kind, e.amount_micros, e.held_delta_micros) for e in rows]


def run_action(client: Client, action: str, ids: list[int], **fields: str) -> tuple[str, object]:
    """Choose the action on the changelist, then confirm its page the way a browser would."""
    url = reverse("admin:videogen_generation_changelist")
    selected = {"action": action, helpers.ACTION_CHECKBOX_NAME: [str(i) for i in ids]}
    page = client.post(url, {**selected, "index": "0"})
    assert page.status_code == 200, "the action asks for confirmation first"
    return page.content.decode(), client.post(url, {**selected, "apply": "yes", **fields})


# --- Refund --------------------------------------------------------------------------------


def test_refund_gives_the_charge_back_once_with_the_operator_and_reason(
    ops: Client, world: World, operator: User
) -> None:
    job = world.succeeded
    before = balance_get(world.org)
    url = reverse("admin:videogen_generation_refund", args=[job.pk])
    assert "Refund" in ops.get(url).content.decode()

    response = ops.post(url, {"reason": "the video was blank", "apply": "yes"})

    assert response.status_code == 302
    after = balance_get(world.org)
    assert after.balance_micros == before.balance_micros + job.price_micros
    refund = LedgerEntry.objects.get(reference=job.public_id, kind="refund")
    assert (refund.amount_micros, refund.staff_user, refund.reason) == (
        job.price_micros,
        operator,
        "the video was blank",
    )
    assert Hold.objects.get(reference=job.public_id).status == "refunded"
    assert Event.objects.filter(organization=world.org, type="billing.refunded").count() == 1
    # Pressing the button again refunds nothing more.
    ops.post(url, {"reason": "again", "apply": "yes"})
    assert balance_get(world.org) == after
    assert LedgerEntry.objects.filter(reference=job.public_id, kind="refund").count() == 1
    audit_is_clean()


def test_refund_needs_a_reason(ops: Client, world: World) -> None:
    before = balance_get(world.org)
    url = reverse("admin:videogen_generation_refund", args=[world.succeeded.pk])

    response = ops.post(url, {"reason": "  ", "apply": "yes"})

    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert balance_get(world.org) == before


def test_a_failed_job_has_nothing_to_refund(ops: Client, world: World) -> None:
    before = balance_get(world.org)

    _, response = run_action(ops, "refund", [world.failed.pk], reason="customer asked")

    assert response.status_code == 302
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("nothing to refund" in m for m in messages)
    assert balance_get(world.org) == before
    audit_is_clean()


def test_support_can_refund(support: Client, world: World, agent: User) -> None:
    before = balance_get(world.org)

    _, response = run_action(support, "refund", [world.succeeded.pk], reason="bad output")

    assert response.status_code == 302
    assert balance_get(world.org).balance_micros == before.balance_micros + world.succeeded.price_micros
    assert LedgerEntry.objects.get(reference=world.succeeded.public_id, kind="refund").staff_user == agent
    audit_is_clean()


# --- Cancel --------------------------------------------------------------------------------


def test_cancel_from_the_admin_does_what_the_service_does(ops: Client, world: World) -> None:
    twin = run_to_end(create(world.org, "sandbox:hang the twin"), sweeps=2)
    assert twin.status == Status.RUNNING
    start = balance_get(world.org)

    page, response = run_action(ops, "cancel", [world.running.pk], reason="stuck for an hour")
    generation_cancel(generation=twin, reason="Canceled by support: stuck for an hour")

    assert world.running.public_id in page
    assert response.status_code == 302
    by_admin = Generation.objects.get(pk=world.running.pk)
    by_service = Generation.objects.get(pk=twin.pk)
    assert by_admin.status == by_service.status == Status.CANCELED
    assert by_admin.failure_message == by_service.failure_message == "Canceled by support: stuck for an hour"
    assert [e[0] for e in entries(by_admin.public_id)] == [e[0] for e in entries(by_service.public_id)]
    after = balance_get(world.org)
    assert after.balance_micros == start.balance_micros
    assert after.held_micros == start.held_micros - by_admin.price_micros - by_service.price_micros
    audit_is_clean()


def test_cancel_leaves_finished_jobs_alone(ops: Client, world: World) -> None:
    before = balance_get(world.org)

    _, response = run_action(ops, "cancel", [world.succeeded.pk, world.failed.pk])

    assert response.status_code == 302
    assert Generation.objects.get(pk=world.succeeded.pk).status == Status.SUCCEEDED
    assert Generation.objects.get(pk=world.failed.pk).status == Status.FAILED
    assert balance_get(world.org) == before


# --- Retry on another provider -------------------------------------------------------------------


def test_retry_on_another_provider_runs_the_job_again_and_charges_only_the_success(
    ops: Client, world: World, operator: User
) -> None:
    before = balance_get(world.org)
    original = world.failed
    url = reverse("admin:videogen_generation_retry", args=[original.pk])
    page = ops.get(url).content.decode()
    # Only providers that serve the model are offered; the page says which are unhealthy.
    assert 'value="aimlapi"' in page and "unhealthy" in page
    assert 'value="segmind"' not in page

    response = ops.post(url, {"provider": "aimlapi", "apply": "yes"})

    retry = Generation.objects.exclude(pk=original.pk).get(metadata__retry_of=original.public_id)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:videogen_generation_change", args=[retry.pk])
    assert (retry.pinned_provider, retry.created_by, retry.input) == ("aimlapi", operator, original.input)
    assert balance_get(world.org).held_micros == before.held_micros + retry.price_micros

    retry = run_to_end(retry)

    assert (retry.status, retry.provider) == (Status.SUCCEEDED, "aimlapi"), retry.failure_message
    assert probe_video(Path(retry.video.path)).duration_s > 0
    after = balance_get(world.org)
    assert after.balance_micros == before.balance_micros - retry.price_micros
    assert after.held_micros == before.held_micros
    assert [e[0] for e in entries(retry.public_id)] == ["hold", "capture"]
    original.refresh_from_db()
    assert original.status == Status.FAILED
    assert entries(original.public_id) == [
        ("hold", 0, original.price_micros),
        ("release", 0, -original.price_micros),
    ]
    assert retry.public_id in ops.get(reverse("admin:videogen_generation_change", args=[original.pk])).content.decode()
    audit_is_clean()


def test_retry_refuses_a_job_that_is_still_running(ops: Client, world: World) -> None:
    page, response = run_action(ops, "retry_on_provider", [world.running.pk], provider="sandbox")

    assert "still running" in page
    assert response.status_code == 200  # nothing to retry: the page is shown again
    assert not Generation.objects.filter(metadata__retry_of=world.running.public_id).exists()


def test_a_retry_the_customer_cannot_afford_is_refused(ops: Client, world: World, operator: User) -> None:
    available = balance_get(world.org).available_micros
    credits_adjust(organization=world.org, amount_micros=-available, reason="test: drain", staff_user=operator)

    response = ops.post(
        reverse("admin:videogen_generation_retry", args=[world.failed.pk]), {"provider": "sandbox", "apply": "yes"}
    )

    assert response.status_code == 302
    assert any("was not retried" in str(m) for m in response.wsgi_request._messages)
    assert not Generation.objects.filter(metadata__retry_of=world.failed.public_id).exists()
    audit_is_clean()


# --- Credit adjustments ------------------------------------------------------------------------------


def test_adjusting_credit_books_an_entry_with_the_operator_and_reason(
    ops: Client, world: World, operator: User
) -> None:
    before = balance_get(world.org)
    url = reverse("admin:accounts_organization_adjust_credit", args=[world.org.pk])
    page = ops.get(url)
    token = page.context["form"]["token"].value()
    assert len(token) == 32

    data = {"amount_usd": "2.50", "reason": "goodwill for the outage", "token": token, "apply": "1"}
    response = ops.post(url, {**data, "description": "Credit for Tuesday's slow videos"})
    ops.post(url, data)

    assert response.status_code == 302
    assert balance_get(world.org).balance_micros == before.balance_micros + 2_500_000
    entry = LedgerEntry.objects.get(organization=world.org, kind="adjustment", reason="goodwill for the outage")
    assert (entry.amount_micros, entry.staff_user) == (2_500_000, operator)
    assert entry.description == "Credit for Tuesday's slow videos"  # what the customer's billing page shows
    audit_is_clean()


def test_an_adjustment_without_a_reason_or_beyond_the_available_credit_changes_nothing(
    ops: Client, world: World
) -> None:
    before = balance_get(world.org)
    url = reverse("admin:accounts_organization_adjust_credit", args=[world.org.pk])

    no_reason = ops.post(url, {"amount_usd": "1.00", "reason": "", "token": "b" * 32, "apply": "1"})
    too_much = ops.post(url, {"amount_usd": "-1000", "reason": "oops", "token": "c" * 32, "apply": "1"})

    assert no_reason.status_code == too_much.status_code == 200
    assert "This field is required" in no_reason.content.decode()
    assert "available to take away" in too_much.content.decode()
    assert balance_get(world.org) == before
    assert not LedgerEntry.objects.filter(organization=world.org, kind="adjustment").exists()


def test_spend_caps_and_rate_limits_are_edited_on_the_organization_page(ops: Client, world: World) -> None:
    url = reverse("admin:accounts_organization_change", args=[world.org.pk])
    page = ops.get(url)
    data = form_data(page)
    data["name"] = "Alice & Co"
    data["credit_account-0-monthly_cap_usd"] = "3.00"
    data["credit_account-0-low_balance_threshold_usd"] = "0.50"
    if "api_limits-0-key_requests_per_minute" in data:
        data["api_limits-0-key_requests_per_minute"] = "30"

    response = ops.post(url, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    account = CreditAccount.objects.get(organization=world.org)
    assert (account.monthly_cap_micros, account.low_balance_threshold_micros) == (3_000_000, 500_000)
    world.org.refresh_from_db()
    assert world.org.name == "Alice & Co"
    if "api_limits-0-key_requests_per_minute" in data:
        assert world.org.api_limits.key_requests_per_minute == 30
    audit_is_clean()


# --- API keys and providers ---------------------------------------------------------------------------


def test_revoking_a_key_locks_its_programs_out(ops: Client, world: World) -> None:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {world.api_key_raw}")
    assert api.get("/api/v1/me").status_code == 200
    url = reverse("admin:accounts_apikey_revoke", args=[world.api_key.pk])
    assert world.api_key.prefix in ops.get(url).content.decode()

    response = ops.post(url, {"apply": "yes"})

    assert response.status_code == 302
    assert ApiKey.objects.get(pk=world.api_key.pk).revoked_at is not None
    assert api.get("/api/v1/me").status_code == 401


def test_mark_healthy_sends_jobs_to_the_provider_again(ops: Client, world: World) -> None:
    assert not Provider.objects.get(name="aimlapi").healthy  # it ran out of upstream credit in the world
    listing = ops.get(reverse("admin:videogen_provider_changelist")).content.decode()
    assert "unhealthy" in listing and "upstream_insufficient_credit" in listing

    response = ops.post(
        reverse("admin:videogen_provider_changelist"),
        {"action": "mark_healthy", helpers.ACTION_CHECKBOX_NAME: [str(Provider.objects.get(name="aimlapi").pk)]},
    )
    job = run_to_end(create(world.org, "a red kite over hills", model="hailuo-02"))

    assert response.status_code == 302
    provider = Provider.objects.get(name="aimlapi")
    assert (provider.healthy, provider.unhealthy_reason) == (True, "")
    assert (job.status, job.provider) == (Status.SUCCEEDED, "aimlapi")
    audit_is_clean()


def test_a_disabled_provider_and_edited_routes_are_used_by_the_next_job(ops: Client, world: World) -> None:
    provider_mark_healthy("aimlapi")
    aimlapi = Provider.objects.get(name="aimlapi")
    url = reverse("admin:videogen_provider_change", args=[aimlapi.pk])
    data = form_data(ops.get(url))
    data.pop("enabled", None)

    assert ops.post(url, data).status_code == 302
    assert not Provider.objects.get(name="aimlapi").enabled
    skipped = run_to_end(create(world.org, "sandbox:fail routed past the disabled provider", model="hailuo-02"))
    assert skipped.provider == "sandbox"

    sandbox = Provider.objects.get(name="sandbox")
    url = reverse("admin:videogen_provider_change", args=[sandbox.pk])
    data = form_data(ops.get(url))
    routes = ProviderRoute.objects.filter(provider=sandbox).order_by("model", "priority")
    index = [r.model for r in routes].index("hailuo-02-fast")
    data[f"routes-{index}-upstream_cost_micros"] = "55000"
    assert ops.post(url, data).status_code == 302

    job = run_to_end(create(world.org, "a quiet harbour"))
    assert (job.provider, job.upstream_cost_micros) == ("sandbox", 55_000)
    audit_is_clean()


# --- Prices -------------------------------------------------------------------------------------------


def test_a_price_edited_in_dollars_is_what_the_next_job_costs(ops: Client, world: World) -> None:
    rule = PriceRule.objects.get(model="hailuo-02-fast", duration=6, resolution="512p", mode="")
    url = reverse("admin:billing_pricerule_change", args=[rule.pk])
    data = form_data(ops.get(url))
    assert (Decimal(data["price_usd"]), Decimal(data["upstream_cost_usd"])) == (Decimal("0.10"), Decimal("0.07"))

    too_precise = ops.post(url, {**data, "price_usd": "0.1234567"})
    response = ops.post(url, {**data, "price_usd": "0.125"})

    assert too_precise.status_code == 200
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.price_micros, rule.upstream_cost_micros) == (125_000, 70_000)
    assert create(world.org, "a paper boat").price_micros == 125_000


def test_a_price_at_or_below_its_upstream_cost_is_flagged_in_the_price_list(ops: Client, world: World) -> None:
    rule = PriceRule.objects.get(model="hailuo-02-fast", duration=6, resolution="512p", mode="")
    page = ops.get(reverse("admin:billing_pricerule_changelist")).content.decode()
    assert "(no margin)" not in page
    PriceRule.objects.filter(pk=rule.pk).update(upstream_cost_micros=rule.price_micros + 10_000)
    page = ops.get(reverse("admin:billing_pricerule_changelist")).content.decode()
    assert page.count("(no margin)") == 1
    assert "$-0.01" in page or "-$0.01" in page
