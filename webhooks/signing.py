"""Standard Webhooks: secrets, the message body, and the three headers that sign it.

https://www.standardwebhooks.com: the signature is `v1,` + base64 of
HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the
base64-decoded part of the `whsec_...` secret. While a secret is being
rotated, the header carries one signature per valid secret, space-separated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable
from typing import Any

from webhooks.models import Delivery, Event

SECRET_PREFIX = "whsec_"  # noqa: S105 (a format prefix, not a secret)
SECRET_BYTES = 32
USER_AGENT = "HailuoStudio-Webhooks/1.0"


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def event_payload(event: Event) -> dict[str, Any]:
    created = event.created_at.isoformat().replace("+00:00", "Z")
    return {"id": event.public_id, "type": event.type, "created": created, "data": event.data}


def event_body(event: Event) -> bytes:
    """The exact bytes we send and sign; the same for every attempt of the event."""
    return json.dumps(event_payload(event), separators=(",", ":"), ensure_ascii=True).encode()


def delivery_payload(delivery: Delivery) -> Any:
    """What a delivery sends: its own body when it has one (a job webhook in another API's shape), else the event."""
    return delivery.body if delivery.body is not None else event_payload(delivery.event)


def delivery_body(delivery: Delivery) -> bytes:
    """The exact bytes a delivery sends and signs; the same for every attempt and replay."""
    if delivery.body is None:
        return event_body(delivery.event)
    return json.dumps(delivery.body, separators=(",", ":"), ensure_ascii=True).encode()


def signed_headers(secrets_in_use: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    signatures = " ".join(signature(secret, msg_id, timestamp, body) for secret in secrets_in_use)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
