"""The Stripe adapter: the only module that talks to Stripe's API or checks its signatures.

It translates between our top-ups and Stripe's objects and nothing else; it
never touches credit. Failures surface as BillingError with a message that
can be shown to people.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import stripe
from django.conf import settings

from billing.errors import BillingError
from core.outbound import provider_client

logger = logging.getLogger(__name__)

NETWORK_RETRIES = 2


class _StripeHttp(stripe.HTTPClient):
    """Stripe's library over our outbound client (its timeouts); the library keeps its retry rules."""

    name = "httpx"

    def __init__(self) -> None:
        super().__init__()
        self._client = provider_client(max_connections=4)

    def request(  # type: ignore[override]  # stripe reads the body as bytes or text
        self, method: str, url: str, headers: Mapping[str, str] | None, post_data: Any = None, **_: Any
    ) -> tuple[bytes, int, Mapping[str, str]]:
        try:
            response = self._client.request(method, url, headers=dict(headers or {}), content=post_data)
        except httpx.HTTPError as exc:
            raise stripe.APIConnectionError(f"Could not reach Stripe: {exc}", should_retry=True) from exc
        return response.content, response.status_code, response.headers

    def request_stream(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("streaming is not used")

    def close(self) -> None:
        self._client.close()


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


def payments_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_WEBHOOK_SECRET)


def _client() -> stripe.StripeClient:
    if not settings.STRIPE_SECRET_KEY:
        raise BillingError("Payments are not configured.")
    return _client_for(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)


@functools.lru_cache(maxsize=4)
def _client_for(secret_key: str, api_base: str) -> stripe.StripeClient:
    """One client (and connection pool) per key and API host."""
    return stripe.StripeClient(
        secret_key,
        base_addresses={"api": api_base} if api_base else None,
        # The library sends an idempotency key with each POST, so its retries never double-create.
        max_network_retries=NETWORK_RETRIES,
        http_client=_StripeHttp(),
    )


def customer_create(*, name: str, email: str, organization_public_id: str) -> str:
    """A Stripe customer for an organization; the idempotency key makes a repeated call return the same one."""
    try:
        customer = _client().v1.customers.create(
            params={"name": name, "email": email, "metadata": {"organization": organization_public_id}},
            options={"idempotency_key": f"customer:{organization_public_id}"},
        )
    except stripe.StripeError as exc:
        logger.warning("Stripe customer creation failed: %s", exc)
        raise BillingError("The payment provider could not be reached. Please try again in a minute.") from exc
    return customer.id


def checkout_session_create(
    *,
    customer_id: str,
    amount_cents: int,
    currency: str,
    product_name: str,
    metadata: dict[str, str],
    success_url: str,
    cancel_url: str,
    idempotency_key: str,
) -> CheckoutSession:
    """A one-time payment page for one credit purchase."""
    params: Any = {  # stripe.checkout.Session.CreateParams
        "mode": "payment",
        "customer": customer_id,
        "client_reference_id": metadata["topup"],
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": currency,
                    "unit_amount": amount_cents,
                    "product_data": {"name": product_name},
                },
            }
        ],
        "metadata": metadata,
        # Charges and refunds carry the payment intent; its metadata lets a refund find the top-up.
        "payment_intent_data": {"metadata": metadata},
        # Checkout then makes a paid invoice: the customer's receipt, linked from the billing page.
        "invoice_creation": {"enabled": True},
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    try:
        session = _client().v1.checkout.sessions.create(params=params, options={"idempotency_key": idempotency_key})
    except stripe.StripeError as exc:
        logger.warning("Stripe Checkout session creation failed: %s", exc)
        raise BillingError("The payment provider could not be reached. Please try again in a minute.") from exc
    return CheckoutSession(id=session.id, url=session.url or "")


def invoice_receipt_url(invoice_id: str) -> str:
    """The Stripe-hosted page of a paid invoice (its receipt, with a PDF download), fetched fresh each time."""
    try:
        invoice = _client().v1.invoices.retrieve(invoice_id)
    except stripe.StripeError as exc:
        logger.warning("Stripe invoice %s could not be retrieved: %s", invoice_id, exc)
        raise BillingError("The receipt could not be fetched from the payment provider. Please try again.") from exc
    url = getattr(invoice, "hosted_invoice_url", None) or ""
    if not url:
        raise BillingError("The payment provider has no receipt page for this payment yet.")
    return str(url)


def webhook_verify(payload: bytes, signature_header: str | None) -> None:
    """Raise stripe.SignatureVerificationError unless Stripe signed this body recently with our endpoint secret."""
    stripe.Webhook.construct_event(payload, signature_header, settings.STRIPE_WEBHOOK_SECRET)
