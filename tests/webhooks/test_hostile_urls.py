"""Hostile webhook URLs are refused wherever a customer can give one, and nothing is contacted.

A receiver listens on 127.0.0.1; the loopback URLs point at its port, so a
request that slipped through would show up as a connection. Names under
.test resolve through a fake DNS; nothing else is faked.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Organization
from billing.selectors import balance_get
from core.errors import ParamError
from tests.webhooks.conftest import Receiver, sweep_due_now
from videogen.models import Generation
from videogen.services import generations
from webhooks import services
from webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint

pytestmark = pytest.mark.django_db

PUBLIC = "93.184.216.34"
DNS = {
    "hooks.test": [PUBLIC],
    "evil.test": ["127.0.0.1"],
    "evil6.test": ["::1"],
    "mixed.test": [PUBLIC, "127.0.0.1"],
    "intranet.test": [PUBLIC, "10.1.2.3"],
    "metadata.test": ["169.254.169.254"],
}

HOSTILE = [
    "http://127.0.0.1:{port}/hook",
    "https://127.0.0.1:{port}/hook",
    "http://localhost:{port}/hook",
    "http://10.0.0.1/hook",
    "http://10.255.255.254:8080/hook",
    "http://172.16.0.1/hook",
    "http://172.31.255.254/hook",
    "http://192.168.1.1/hook",
    "http://100.64.0.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.1.1/hook",
    "http://[::1]:{port}/hook",
    "http://[::ffff:127.0.0.1]:{port}/hook",
    "http://[::ffff:7f00:1]:{port}/hook",
    "http://[fe80::1]/hook",
    "http://[fc00::1]/hook",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://0x7f000001:{port}/hook",
    "http://2130706433:{port}/hook",
    "http://0177.0.0.1:{port}/hook",
    "http://127.1:{port}/hook",
    "http://0.0.0.0:{port}/hook",
    "http://224.0.0.1/hook",
    "http://evil.test:{port}/hook",
    "http://evil6.test:{port}/hook",
    "http://mixed.test:{port}/hook",
    "http://intranet.test/hook",
    "http://metadata.test/computeMetadata/v1/",
    "http://nowhere.test/hook",
    "http://user:password@127.0.0.1:{port}/hook",
    "file:///etc/passwd",
    "gopher://127.0.0.1:{port}/_POST",
    "ftp://hooks.test/hook",
    "javascript:alert(1)",
    "//127.0.0.1:{port}/hook",
]
REFUSAL = "only public http(s) URLs are allowed"


@pytest.fixture
def hostile_setup(settings: Any, fake_dns: dict[str, list[str]]) -> None:
    settings.OUTBOUND_ALLOWED_HOSTS = []
    fake_dns.update(DNS)


@pytest.fixture
def existing(org_a: Organization, hostile_setup: None) -> WebhookEndpoint:
    endpoint, _ = services.endpoint_create(organization=org_a, url="https://hooks.test/hook")
    return endpoint


def test_the_matrix_is_large_enough() -> None:
    assert len(HOSTILE) >= 20


@pytest.mark.usefixtures("hostile_setup")
@pytest.mark.parametrize("template", HOSTILE)
def test_a_hostile_webhook_url_is_refused_wherever_a_customer_can_give_one(
    template: str,
    org_a: Organization,
    web_alice: Client,
    api_a: APIClient,
    receiver: Receiver,
    existing: WebhookEndpoint,
) -> None:
    url = template.format(port=receiver.port)
    start = balance_get(org_a)

    web_created = web_alice.post(reverse("webhooks:create"), {"url": url, "description": "x"})
    web_edited = web_alice.post(reverse("webhooks:edit", args=[existing.public_id]), {"url": url})
    api_created = api_a.post("/api/v1/webhook-endpoints", {"url": url}, format="json")
    api_updated = api_a.patch(f"/api/v1/webhook-endpoints/{existing.public_id}", {"url": url}, format="json")
    with pytest.raises(ParamError) as job_refused:
        generations.generation_create(
            organization=org_a,
            model="hailuo-02",
            params={"prompt": "a quiet harbour", "duration": 6},
            webhook_url=url,
        )

    for response in (web_created, web_edited):
        assert response.status_code == 200  # the form again, with the reason
        assert REFUSAL in response.content.decode()
    for response in (api_created, api_updated):
        assert response.status_code == 400
        error = response.json()["error"]
        assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", "url_refused", "url")
        assert error["message"].startswith("url: ")
        assert REFUSAL in error["message"]
    assert list(WebhookEndpoint.objects.values_list("url", flat=True)) == ["https://hooks.test/hook"]
    assert job_refused.value.param == "webhook"
    assert not Generation.objects.exists()
    assert balance_get(org_a) == start
    assert receiver.connections == 0


HOSTILE_IMAGES = [
    "https://127.0.0.1:{port}/cat.png",
    "https://[::ffff:127.0.0.1]:{port}/cat.png",
    "https://2130706433:{port}/cat.png",
    "https://evil.test:{port}/cat.png",
    "https://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:{port}/cat.png",
    "file:///etc/passwd",
]


@pytest.mark.usefixtures("hostile_setup")
@pytest.mark.parametrize("template", HOSTILE_IMAGES)
def test_a_hostile_first_frame_image_url_is_refused_naming_the_field(
    template: str, org_a: Organization, receiver: Receiver
) -> None:
    image = template.format(port=receiver.port)

    with pytest.raises(ParamError) as refused:
        generations.generation_create(
            organization=org_a,
            model="hailuo-02-fast",
            params={"prompt": "a quiet harbour", "duration": 6, "first_frame_image": image},
        )

    assert refused.value.param == "first_frame_image"
    assert "first_frame_image" in str(refused.value)
    assert not Generation.objects.exists()
    assert receiver.connections == 0


@pytest.mark.usefixtures("hostile_setup")
def test_a_public_url_is_accepted_without_being_contacted(api_a: APIClient, receiver: Receiver) -> None:
    # Saving checks the address, it does not call the endpoint: the first request is a real event.
    response = api_a.post("/api/v1/webhook-endpoints", {"url": "https://hooks.test/ok"}, format="json")

    assert response.status_code == 201
    assert receiver.connections == 0


@pytest.mark.usefixtures("hostile_setup")
def test_a_name_that_resolves_to_loopback_by_delivery_time_is_not_contacted(
    org_a: Organization, receiver: Receiver, fake_dns: dict[str, list[str]]
) -> None:
    services.endpoint_create(organization=org_a, url=f"http://hooks.test:{receiver.port}/hook")
    fake_dns["hooks.test"] = ["127.0.0.1"]  # the DNS answer changed after the endpoint was saved

    services.event_record(org_a, "credits.topped_up", {"topup": "top_1"}, dedupe_key="topup:1")
    sweep_due_now()

    attempt = DeliveryAttempt.objects.get()
    assert (attempt.outcome, attempt.status_code) == ("failed", None)
    assert "loopback address (127.0.0.1)" in attempt.error
    assert Delivery.objects.get().status == "pending"  # retried later, checked again each time
    assert receiver.connections == 0


def test_an_unreachable_endpoint_is_a_logged_failure(org_a: Organization, allow_loopback: None) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    services.endpoint_create(organization=org_a, url=f"http://127.0.0.1:{closed}/hook")

    services.event_record(org_a, "credits.topped_up", {"topup": "top_2"}, dedupe_key="topup:2")
    sweep_due_now()

    attempt = DeliveryAttempt.objects.get()
    assert attempt.outcome == "failed"
    assert attempt.error.startswith("The connection to the server failed")
