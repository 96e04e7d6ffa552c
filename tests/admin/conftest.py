"""Admin fixtures: an operator (superuser), a Support agent, and a realistic platform to look at.

The platform is made the way production makes it: jobs run through the
pipeline (a real AIML API emulator on loopback refuses for lack of upstream
credit, the sandbox renders a real MP4), money moves through billing
services, webhooks are delivered over HTTP to a loopback receiver.
"""

from __future__ import annotations

import base64
import importlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone
from django_q.models import Task
from django_q.tasks import async_task
from PIL import Image

from accounts import services as accounts_services
from accounts.models import ApiKey, Invitation, Membership, Organization, User
from api.models import IdempotencyRecord, OrganizationApiLimits
from billing import services as billing_services
from billing.errors import InsufficientCredits
from billing.models import InsufficientCreditRejection, StripeEvent, TopUp
from tests.conftest import mfa_login, staff_user
from tests.emulators.aimlapi import AimlApiEmulator
from tests.emulators.base import Fault
from tests.emulators.helpers import EMULATOR_API_KEY
from tests.webhooks.conftest import Receiver, sweep_due_now
from videogen import catalog
from videogen.models import Generation, ProviderCall, ShowcaseClip, Status
from videogen.services import generations, pipeline, sweep
from webhooks import services as webhook_services
from webhooks.models import Delivery, WebhookEndpoint

roles = importlib.import_module("videogen.migrations.0003_operator_roles")

LEAKED_SECRET = "sk-live-LEAKED1234567890abcdef"


@pytest.fixture(autouse=True)
def _operator_roles(request: pytest.FixtureRequest) -> None:
    """The Support group and custom permissions come from a migration; a flush by a transactional test erases them."""
    if "db" not in request.fixturenames and "transactional_db" not in request.fixturenames:
        request.getfixturevalue("db")
    if not Group.objects.filter(name=roles.SUPPORT_GROUP).exists():
        roles.forwards(django_apps, None)


@pytest.fixture(autouse=True)
def _fast_sandbox(settings: Any) -> None:
    settings.SANDBOX_LATENCY_SECONDS = 0
    settings.SANDBOX_ENABLED = True
    settings.SIGNUP_GRANT_USD = Decimal("1.00")
    for name in ("MINIMAX_API_KEY", "SEGMIND_API_KEY", "AIMLAPI_API_KEY", "ATLASCLOUD_API_KEY"):
        setattr(settings, name, "")


@pytest.fixture
def operator(db: None) -> User:
    return staff_user("ops@example.com", is_superuser=True)


@pytest.fixture
def ops(operator: User) -> Client:
    """The operator's browser, signed in with password and authenticator app, as the admin requires."""
    return mfa_login(operator)


@pytest.fixture
def agent(db: None) -> User:
    user = staff_user("support@example.com")
    user.groups.add(Group.objects.get(name=roles.SUPPORT_GROUP))
    return user


@pytest.fixture
def support(agent: User) -> Client:
    return mfa_login(agent)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def aimlapi(settings: Any, mp4_bytes: bytes) -> Iterator[AimlApiEmulator]:
    with AimlApiEmulator(api_key=EMULATOR_API_KEY, video_bytes=mp4_bytes) as emulator:
        settings.AIMLAPI_API_KEY = EMULATOR_API_KEY
        settings.AIMLAPI_BASE_URL = emulator.base_url
        settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
        yield emulator


def png_data_url(width: int = 640, height: int = 360) -> str:
    image = Image.new("RGB", (width, height), (40, 120, 200))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def create(organization: Organization, prompt: str, model: str = "hailuo-02-fast", **params: Any) -> Generation:
    body = {"prompt": prompt, "duration": 6, **params}
    if catalog.MODELS[model].first_frame == "required":
        body.setdefault("first_frame_image", png_data_url())
    return generations.generation_create(organization=organization, model=model, params=body)


def run_to_end(generation: Generation, sweeps: int = 10) -> Generation:
    """What the worker does, by hand: submit, then sweep until the job is final."""
    pipeline.generation_submit(generation.pk)
    for _ in range(sweeps):
        generation.refresh_from_db()
        if generation.is_final:
            break
        Generation.objects.filter(pk=generation.pk).update(next_poll_at=timezone.now())
        sweep.poll_sweep()
    generation.refresh_from_db()
    return generation


def fund(organization: Organization, usd: str, key: str) -> None:
    billing_services.credits_grant(
        organization=organization,
        amount_micros=int(Decimal(usd) * 1_000_000),
        kind="grant",
        idempotency_key=f"{key}:{organization.public_id}",
        reason="test funding",
    )


@dataclass
class World:
    org: Organization
    other_org: Organization
    api_key: ApiKey
    api_key_raw: str
    succeeded: Generation
    failed: Generation
    running: Generation
    endpoint: WebhookEndpoint
    endpoint_secret: str


def _webhooks(org: Organization, receiver: Receiver) -> tuple[WebhookEndpoint, str]:
    endpoint, secret = webhook_services.endpoint_create(organization=org, url=receiver.url())
    return endpoint, secret


def _deliver(receiver: Receiver) -> None:
    receiver.answer(500)  # the first attempt fails, the retry succeeds: a delivery with two attempts
    sweep_due_now()
    sweep_due_now()


def _refused_for_credit(org: Organization, staff: User) -> None:
    available = billing_services.account_for(org).available_micros
    billing_services.credits_adjust(
        organization=org, amount_micros=-available, reason="test: drain the account", staff_user=staff
    )
    with pytest.raises(InsufficientCredits):
        create(org, "a fox in the snow")


def _stripe(org: Organization) -> None:
    topup = TopUp.objects.create(organization=org, amount_micros=10_000_000, stripe_session_id="cs_test_admin")
    StripeEvent.objects.create(
        event_id="evt_test_admin",
        type="checkout.session.expired",
        outcome="ignored",
        organization=org,
        topup=topup,
        payload={"id": "evt_test_admin", "type": "checkout.session.expired", "data": {"object": {"id": "cs_test"}}},
    )


def _queue_records(org: Organization) -> None:
    now = timezone.now()
    for success in (True, False):
        Task.objects.create(
            id=f"task{int(success)}" + "0" * 27,
            name=f"test-task-{success}",
            func="videogen.tasks.generation_submit",
            started=now,
            stopped=now,
            success=success,
            result=None if success else "Traceback: boom",
        )
    async_task("videogen.tasks.generation_submit", 0, task_name="queued-for-the-admin-test")
    OrganizationApiLimits.objects.create(organization=org, key_requests_per_minute=120)
    IdempotencyRecord.objects.create(organization=org, key="idem-1", request_hash="0" * 64)


def _leaky_call(generation: Generation) -> None:
    """A call whose recorded exchange kept a secret: the admin must still not show it."""
    ProviderCall.objects.create(
        generation=generation,
        provider="minimax",
        operation="poll",
        ok=False,
        latency_ms=80,
        error_kind="account",
        error_code="unauthorized",
        error_message="invalid api key",
        exchanges=[
            {
                "method": "GET",
                "url": f"https://api.minimax.io/v1/query/video_generation?task_id=1&api_key={LEAKED_SECRET}",
                "status_code": 401,
                "request_body": {"headers": {"Authorization": f"Bearer {LEAKED_SECRET}"}},
                "response_body": {"base_resp": {"status_msg": f"invalid api key {LEAKED_SECRET}"}},
            }
        ],
    )


@pytest.fixture
def world(
    org_a: Organization,
    bob: User,
    alice: User,
    org_b: Organization,
    api_key_a: tuple,
    operator: User,
    aimlapi: AimlApiEmulator,
    receiver: Receiver,
) -> World:
    fund(org_a, "5.00", "world")
    endpoint, secret = _webhooks(org_a, receiver)
    accounts_services.invitation_create(
        actor=Membership.objects.get(user=alice, organization=org_a), email="dan@example.com", role="member"
    )
    accounts_services.api_key_create(organization=org_a, name="old key", created_by=alice)
    ApiKey.objects.filter(name="old key").update(revoked_at=timezone.now() - timedelta(days=1))

    succeeded = run_to_end(create(org_a, "a lighthouse at dusk", first_frame_image=png_data_url()))
    assert (succeeded.status, succeeded.provider) == (Status.SUCCEEDED, "sandbox"), succeeded.failure_message
    # AIML API (second route of hailuo-02) is out of upstream credit: the job falls back to the sandbox, which fails it.
    aimlapi.inject(Fault.INSUFFICIENT_CREDIT, on="submit", times=1)
    failed = run_to_end(create(org_a, "sandbox:fail a storm at sea", model="hailuo-02"))
    assert (failed.status, failed.provider) == (Status.FAILED, "sandbox"), failed.failure_message
    running = run_to_end(create(org_a, "sandbox:hang a slow sunrise"), sweeps=2)
    assert running.status == Status.RUNNING
    _leaky_call(failed)

    _refused_for_credit(org_b, operator)
    _stripe(org_a)
    _queue_records(org_a)
    _deliver(receiver)
    assert Delivery.objects.filter(attempt_count__gte=2).exists()
    assert InsufficientCreditRejection.objects.filter(organization=org_b).exists()
    assert Invitation.objects.exists()
    ShowcaseClip.objects.create(
        title="Fox at dawn", prompt="A red fox in fresh snow", model="hailuo-02", video="showcase/fox.mp4"
    )
    api_key, raw = api_key_a
    return World(
        org=org_a,
        other_org=org_b,
        api_key=api_key,
        api_key_raw=raw,
        succeeded=succeeded,
        failed=failed,
        running=running,
        endpoint=endpoint,
        endpoint_secret=secret,
    )


def form_data(response: Any) -> dict[str, Any]:
    """The POST body a browser would send back for an admin change form, as rendered."""
    data: dict[str, Any] = {}

    def add(form: Any) -> None:
        for field in form:
            value = field.value()
            if value is None or value is False:
                continue
            if value is True:
                data[field.html_name] = "on"
            elif isinstance(value, list | tuple):
                data[field.html_name] = [str(v) for v in value]
            else:
                data[field.html_name] = str(value)

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    return data
