"""Verifying webhook deliveries: Standard Webhooks signatures (`webhook-id`, `webhook-timestamp`, `webhook-signature`).

>>> event = hailuo.webhooks.verify(request_body, request_headers, secret="whsec_...")
>>> event["type"], event["data"]["id"]

Pass the body exactly as received (bytes), before any JSON parsing. During a
secret rotation, pass both secrets: `secret=[new, old]`.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping, Sequence
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

__all__ = ["WebhookVerificationError", "verify"]


def verify(payload: bytes | str, headers: Mapping[str, str], secret: str | Sequence[str]) -> dict[str, Any]:
    """The event (`{"id", "type", "created", "data"}`) if `payload` was signed with `secret`.

    Raises `WebhookVerificationError` when a header is missing, the timestamp is
    more than five minutes away from now, or no signature matches.
    """
    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not secrets:
        raise ValueError("verify() needs a secret")
    lowered = {str(name).lower(): str(value) for name, value in headers.items()}
    failure: WebhookVerificationError | None = None
    for candidate in secrets:
        try:
            event = Webhook(candidate).verify(payload, lowered)
        except WebhookVerificationError as exc:
            failure = exc
            continue
        except (ValueError, binascii.Error) as exc:  # a malformed signature header or body
            failure = WebhookVerificationError(f"Malformed webhook: {exc}")
            continue
        if not isinstance(event, dict):
            raise WebhookVerificationError("The payload is not a JSON object")
        return event
    assert failure is not None
    raise failure
