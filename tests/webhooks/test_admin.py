"""Operators see events, endpoints and deliveries read-only, and can replay a delivery."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Organization
from tests.conftest import mfa_login, staff_user
from tests.webhooks.conftest import Receiver, sweep_due_now
from webhooks import services
from webhooks.models import Delivery, Event, WebhookEndpoint

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_loopback")]


@pytest.fixture
def staff(db: None) -> Client:
    return mfa_login(staff_user("ops@example.com", is_superuser=True))


def test_every_webhook_admin_page_opens_and_a_delivery_can_be_replayed(
    staff: Client, org_a: Organization, receiver: Receiver
) -> None:
    endpoint, secret = services.endpoint_create(organization=org_a, url=receiver.url())
    event = services.event_record(org_a, "credits.topped_up", {"topup": "top_1"}, dedupe_key="topup:1")
    sweep_due_now()
    delivery = Delivery.objects.get()

    for model, obj in ((Event, event), (WebhookEndpoint, endpoint), (Delivery, delivery)):
        name = f"admin:webhooks_{model._meta.model_name}"
        assert staff.get(reverse(f"{name}_changelist")).status_code == 200
        page = staff.get(reverse(f"{name}_change", args=[obj.pk]))
        assert page.status_code == 200
        assert secret not in page.content.decode()

    response = staff.post(
        reverse("admin:webhooks_delivery_changelist"),
        {"action": "replay", "_selected_action": [delivery.pk]},
    )
    sweep_due_now()

    assert response.status_code == 302
    assert Delivery.objects.filter(replay_of=delivery, status="succeeded").count() == 1
    assert len(receiver.verified(secret)) == 2


def test_a_customer_cannot_open_the_admin(web_alice: Client) -> None:
    response = web_alice.get(reverse("admin:webhooks_delivery_changelist"))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
