"""The webhook pages: endpoints, secrets shown once, test events, the delivery log and replays."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Organization
from tests.webhooks.conftest import Receiver, Reply, run_queued_tasks, sweep_due_now
from webhooks import services
from webhooks.models import Delivery, WebhookEndpoint

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_loopback")]

SECRET = re.compile(r'data-testid="endpoint-secret">(whsec_[A-Za-z0-9+/=]+)<')


def shown_secret(response: Any) -> str | None:
    found = SECRET.search(response.content.decode())
    return found.group(1) if found else None


def test_an_admin_adds_an_endpoint_and_sees_its_secret_once(web_alice: Client, receiver: Receiver) -> None:
    response = web_alice.post(
        reverse("webhooks:create"),
        {"url": receiver.url(), "description": "Order system", "event_types": ["generation.succeeded"]},
        follow=True,
    )

    endpoint = WebhookEndpoint.objects.get()
    assert response.redirect_chain == [(reverse("webhooks:detail", args=[endpoint.public_id]), 302)]
    assert shown_secret(response) == endpoint.secret
    assert (endpoint.url, endpoint.description, endpoint.event_types) == (
        receiver.url(),
        "Order system",
        ["generation.succeeded"],
    )
    again = web_alice.get(reverse("webhooks:detail", args=[endpoint.public_id]))
    assert again.status_code == 200
    assert shown_secret(again) is None
    listing = web_alice.get(reverse("webhooks:list")).content.decode()
    assert receiver.url() in listing
    assert "Order system" in listing
    assert endpoint.secret not in listing
    assert receiver.connections == 0


def test_the_form_explains_a_refused_url_and_keeps_what_was_typed(web_alice: Client) -> None:
    response = web_alice.post(reverse("webhooks:create"), {"url": "http://10.0.0.7/hook", "description": "VPN box"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "the URL points to a private network address (10.0.0.7)" in page
    assert 'value="VPN box"' in page
    assert not WebhookEndpoint.objects.exists()


def test_editing_disabling_enabling_and_deleting_an_endpoint(
    web_alice: Client, org_a: Organization, receivers: Callable[..., Receiver]
) -> None:
    old, new = receivers(), receivers()
    endpoint, _ = services.endpoint_create(organization=org_a, url=old.url())
    detail = reverse("webhooks:detail", args=[endpoint.public_id])

    edited = web_alice.post(
        reverse("webhooks:edit", args=[endpoint.public_id]),
        {"url": new.url(), "description": "moved", "event_types": ["credits.low", "credits.insufficient"]},
    )
    assert edited.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.description) == (new.url(), "moved")
    assert endpoint.event_types == ["credits.insufficient", "credits.low"]

    web_alice.post(reverse("webhooks:disable", args=[endpoint.public_id]))
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert "Disabled by a user" in web_alice.get(detail).content.decode()

    web_alice.post(reverse("webhooks:enable", args=[endpoint.public_id]))
    endpoint.refresh_from_db()
    assert endpoint.enabled

    deleted = web_alice.post(reverse("webhooks:delete", args=[endpoint.public_id]), follow=True)
    assert deleted.redirect_chain == [(reverse("webhooks:list"), 302)]
    assert "Deleted the endpoint" in deleted.content.decode()
    assert not WebhookEndpoint.objects.exists()
    assert web_alice.get(detail).status_code == 404


def test_rotating_the_secret_shows_the_new_one_once(web_alice: Client, org_a: Organization) -> None:
    endpoint, old = services.endpoint_create(organization=org_a, url="http://127.0.0.1:9/hook")

    response = web_alice.post(reverse("webhooks:rotate", args=[endpoint.public_id]), follow=True)

    endpoint.refresh_from_db()
    new = shown_secret(response)
    assert new == endpoint.secret != old
    assert endpoint.previous_secret == old
    page = response.content.decode()
    assert "the previous secret also signs until" in page
    assert "For 24 hours, deliveries are signed with both secrets." in page
    assert shown_secret(web_alice.get(reverse("webhooks:detail", args=[endpoint.public_id]))) is None


def test_a_test_event_sent_from_the_page_reaches_the_receiver(
    web_alice: Client,
    org_a: Organization,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    endpoint, secret = services.endpoint_create(
        organization=org_a, url=receiver.url(), event_types=["generation.failed"]
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = web_alice.post(reverse("webhooks:test", args=[endpoint.public_id]))
    run_queued_tasks()

    delivery = Delivery.objects.get(endpoint=endpoint)
    assert response.status_code == 302
    assert response["Location"] == reverse("webhooks:delivery", args=[delivery.public_id])
    [event] = receiver.verified(secret)
    assert event["type"] == "webhook.test"
    assert event["data"]["endpoint"] == endpoint.public_id
    page = web_alice.get(response["Location"]).content.decode()
    assert "webhook.test" in page
    assert 'data-testid="delivery-status">succeeded<' in page
    assert "<td>200</td>" in page


def test_the_delivery_log_shows_every_attempt_and_a_replay_resends_the_same_webhook_id(
    web_alice: Client,
    org_a: Organization,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    endpoint, secret = services.endpoint_create(organization=org_a, url=receiver.url())
    receiver.answer(Reply(500, b"database unavailable"))
    event = services.event_record(org_a, "credits.topped_up", {"topup": "top_7"}, dedupe_key="topup:7")
    sweep_due_now()
    sweep_due_now()
    original = Delivery.objects.get(endpoint=endpoint)

    page = web_alice.get(reverse("webhooks:delivery", args=[original.public_id])).content.decode()
    assert "database unavailable" in page
    assert "The endpoint answered HTTP 500." in page
    assert "<td>500</td>" in page
    assert "<td>200</td>" in page
    assert page.count(" ms</td>") == 2
    assert "top_7" in page  # the payload

    with django_capture_on_commit_callbacks(execute=True):
        replayed = web_alice.post(reverse("webhooks:delivery-replay", args=[original.public_id]), follow=True)
    run_queued_tasks()

    replay = Delivery.objects.exclude(pk=original.pk).get()
    assert replay.replay_of == original
    assert replay.status == "succeeded"
    assert "Replaying credits.topped_up" in replayed.content.decode()
    assert len(receiver.verified(secret)) == 3
    assert {h.headers["webhook-id"] for h in receiver.hits} == {event.public_id}
    log = web_alice.get(reverse("webhooks:detail", args=[endpoint.public_id])).content.decode()
    assert log.count(reverse("webhooks:delivery", args=[replay.public_id])) == 1
    assert log.count(reverse("webhooks:delivery", args=[original.public_id])) == 1


def test_a_disabled_endpoint_is_neither_tested_nor_replayed(
    web_alice: Client, org_a: Organization, receiver: Receiver
) -> None:
    endpoint, _ = services.endpoint_create(organization=org_a, url=receiver.url())
    services.event_record(org_a, "credits.topped_up", {"topup": "top_8"}, dedupe_key="topup:8")
    delivery = Delivery.objects.get()
    services.endpoint_disable(endpoint=endpoint)

    tested = web_alice.post(reverse("webhooks:test", args=[endpoint.public_id]), follow=True)
    replayed = web_alice.post(reverse("webhooks:delivery-replay", args=[delivery.public_id]), follow=True)

    assert "enable it before sending a test" in tested.content.decode()
    assert "enable it before replaying" in replayed.content.decode()
    assert Delivery.objects.count() == 1
    assert sweep_due_now() == 0
    assert receiver.connections == 0


def test_the_per_job_secret_is_shown_to_admins_and_rotates(web_alice: Client, org_a: Organization) -> None:
    revealed = web_alice.post(reverse("webhooks:job-secret-reveal"), follow=True).content.decode()
    first = services.job_secret_ensure(org_a).secret
    assert f'data-testid="job-secret">{first}<' in revealed
    assert first not in web_alice.get(reverse("webhooks:list")).content.decode()

    rotated = web_alice.post(reverse("webhooks:job-secret-rotate"), follow=True).content.decode()
    holder = services.job_secret_ensure(org_a)
    assert f'data-testid="job-secret">{holder.secret}<' in rotated
    assert holder.secret != first
    assert holder.previous_secret == first


def test_a_member_can_read_but_not_manage(web_bob: Client, org_a: Organization, receiver: Receiver) -> None:
    endpoint, secret = services.endpoint_create(organization=org_a, url=receiver.url())
    services.event_record(org_a, "credits.topped_up", {"topup": "top_5"}, dedupe_key="topup:5")
    delivery = Delivery.objects.get()

    assert receiver.url() in web_bob.get(reverse("webhooks:list")).content.decode()
    detail = web_bob.get(reverse("webhooks:detail", args=[endpoint.public_id])).content.decode()
    assert "Rotate secret" not in detail
    assert web_bob.get(reverse("webhooks:delivery", args=[delivery.public_id])).status_code == 200

    refused = [
        web_bob.post(reverse("webhooks:create"), {"url": receiver.url("/mine")}),
        web_bob.get(reverse("webhooks:edit", args=[endpoint.public_id])),
        web_bob.post(reverse("webhooks:disable", args=[endpoint.public_id])),
        web_bob.post(reverse("webhooks:rotate", args=[endpoint.public_id])),
        web_bob.post(reverse("webhooks:test", args=[endpoint.public_id])),
        web_bob.post(reverse("webhooks:delete", args=[endpoint.public_id])),
        web_bob.post(reverse("webhooks:delivery-replay", args=[delivery.public_id])),
        web_bob.post(reverse("webhooks:job-secret-reveal")),
    ]

    assert {r.status_code for r in refused} == {403}
    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.secret) == (True, secret)
    assert WebhookEndpoint.objects.count() == 1
    assert Delivery.objects.count() == 1


def test_another_organizations_endpoints_and_deliveries_are_404(
    web_carol: Client, org_a: Organization, receiver: Receiver
) -> None:
    endpoint, secret = services.endpoint_create(organization=org_a, url=receiver.url())
    services.event_record(org_a, "credits.topped_up", {"topup": "top_6"}, dedupe_key="topup:6")
    delivery = Delivery.objects.get()
    ep = [endpoint.public_id]

    responses = [
        web_carol.get(reverse("webhooks:detail", args=ep)),
        web_carol.get(reverse("webhooks:edit", args=ep)),
        web_carol.post(reverse("webhooks:edit", args=ep), {"url": receiver.url("/carol")}),
        web_carol.post(reverse("webhooks:disable", args=ep)),
        web_carol.post(reverse("webhooks:enable", args=ep)),
        web_carol.post(reverse("webhooks:rotate", args=ep)),
        web_carol.post(reverse("webhooks:test", args=ep)),
        web_carol.post(reverse("webhooks:delete", args=ep)),
        web_carol.get(reverse("webhooks:delivery", args=[delivery.public_id])),
        web_carol.post(reverse("webhooks:delivery-replay", args=[delivery.public_id])),
    ]

    assert [r.status_code for r in responses] == [404] * len(responses)
    assert receiver.url() not in web_carol.get(reverse("webhooks:list")).content.decode()
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.enabled, endpoint.secret) == (receiver.url(), True, secret)
    assert Delivery.objects.count() == 1
