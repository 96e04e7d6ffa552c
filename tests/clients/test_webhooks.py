"""`hailuo.webhooks.verify` on real deliveries: an endpoint registered through the API, a job run to the end."""

from __future__ import annotations

import time
from collections.abc import Iterator

import hailuo
import pytest
from hailuo.webhooks import WebhookVerificationError, verify

from tests.compat.conftest import LIVE
from tests.webhooks.conftest import Receiver, run_queued_tasks, sweep_due_now

pytestmark = [LIVE]


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]  # the receiver listens on loopback
    started = Receiver()
    yield started
    started.stop()


def test_a_real_delivery_verifies_and_a_tampered_one_does_not(live: str, key_a: str, receiver: Receiver) -> None:
    with hailuo.Client(key_a, base_url=live) as client:
        endpoint = client.request("POST", "webhook-endpoints", json={"url": receiver.url(), "description": "tests"})
        secret = endpoint["secret"]
        assert secret.startswith("whsec_")
        video = client.generations.create(model="hailuo-02", prompt="a lighthouse", wait=True, poll_wait=1)
    assert video.status == "succeeded"

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(b'"generation.succeeded"' in hit.body for hit in receiver.hits):
        run_queued_tasks(("webhooks.",))  # what a worker does with the delivery tasks the job queued
        sweep_due_now()
        time.sleep(0.1)

    events = [verify(hit.body, hit.headers, secret) for hit in receiver.hits]
    succeeded = [e for e in events if e["type"] == "generation.succeeded"]
    assert len(succeeded) == 1, [e["type"] for e in events]
    assert succeeded[0]["data"]["generation"]["id"] == video.id
    assert succeeded[0]["data"]["generation"]["price"]["charged"] is True

    hit = next(h for h in receiver.hits if b'"generation.succeeded"' in h.body)
    # The headers as a web framework hands them over: any capitalisation.
    assert (
        verify(hit.body.decode(), {k.title(): v for k, v in hit.headers.items()}, secret)["id"]
        == hit.headers["webhook-id"]
    )
    # During a rotation both secrets are tried.
    assert verify(hit.body, hit.headers, ["whsec_" + "A" * 32, secret])["type"] == "generation.succeeded"

    tampered = hit.body.replace(b'"charged":true', b'"charged":false')
    assert tampered != hit.body
    with pytest.raises(WebhookVerificationError):
        verify(tampered, hit.headers, secret)
    with pytest.raises(WebhookVerificationError):
        verify(hit.body, hit.headers, "whsec_" + "A" * 32)
    with pytest.raises(WebhookVerificationError):
        verify(hit.body, {**hit.headers, "webhook-id": "msg_other"}, secret)
    with pytest.raises(WebhookVerificationError):
        verify(hit.body, {**hit.headers, "webhook-signature": "v1"}, secret)
    with pytest.raises(WebhookVerificationError):
        verify(hit.body, {k: v for k, v in hit.headers.items() if k != "webhook-timestamp"}, secret)
