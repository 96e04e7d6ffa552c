"""A loopback stand-in for the parts of Stripe's API we call, and the events Stripe would send.

It speaks Stripe's wire format: form-encoded requests with bracketed keys
(`line_items[0][price_data][unit_amount]=1000`), JSON responses, Bearer
secret keys, Idempotency-Key replays and Stripe's error shape. Every request
is recorded so tests can check what the product asked Stripe to do.

Webhook payloads are signed like Stripe signs them:
`Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

API_KEY = "sk_test_emulator"


def signature_header(payload: str, secret: str, timestamp: int | None = None) -> str:
    """Stripe's v1 webhook signature, computed independently of the stripe library."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def decode_form(body: str) -> dict[str, Any]:
    """Stripe's bracket notation into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _lists(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


@dataclass
class RecordedRequest:
    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]


@dataclass
class StripeEmulator:
    api_key: str = API_KEY
    requests: list[RecordedRequest] = field(default_factory=list)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    _replies: dict[tuple[str, str], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    # --- server ---------------------------------------------------------------

    def start(self) -> StripeEmulator:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                emulator._handle(self, "GET")

            def do_POST(self) -> None:
                emulator._handle(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode() if length else ""
        url = urlsplit(handler.path)
        params = decode_form(body if method == "POST" else url.query)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            self.requests.append(RecordedRequest(method, url.path, params, headers))
            status, reply = self._respond(method, url.path, params, headers)
        data = json.dumps(reply).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Request-Id", _new_id("req"))
        handler.end_headers()
        handler.wfile.write(data)

    def _respond(
        self, method: str, path: str, params: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return 401, _error("invalid_request_error", "Invalid API Key provided.")
        key = headers.get("idempotency-key")
        if method == "POST" and key and (path, key) in self._replies:
            return self._replies[(path, key)]
        reply = self._route(method, path, params)
        if method == "POST" and key:
            self._replies[(path, key)] = reply
        return reply

    def _route(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "POST" and path == "/v1/customers":
            return 200, self._customer_create(params)
        if method == "POST" and path == "/v1/checkout/sessions":
            return self._session_create(params)
        found = re.fullmatch(r"/v1/(customers|checkout/sessions|invoices)/([\w]+)", path)
        if method == "GET" and found:
            stores = {"customers": self.customers, "checkout/sessions": self.sessions, "invoices": self.invoices}
            store = stores[found.group(1)]
            if found.group(2) in store:
                return 200, store[found.group(2)]
            return 404, _error("invalid_request_error", f"No such object: '{found.group(2)}'", code="resource_missing")
        return 404, _error("invalid_request_error", f"Unrecognized request URL ({method}: {path}).")

    def _customer_create(self, params: dict[str, Any]) -> dict[str, Any]:
        customer = {
            "id": _new_id("cus"),
            "object": "customer",
            "name": params.get("name"),
            "email": params.get("email"),
            "metadata": params.get("metadata", {}),
            "livemode": False,
            "created": int(time.time()),
        }
        self.customers[customer["id"]] = customer
        return customer

    def _session_create(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        for required in ("mode", "line_items", "success_url"):
            if required not in params:
                return 400, _error("invalid_request_error", f"Missing required param: {required}.", param=required)
        items = params["line_items"]
        currencies = {item["price_data"]["currency"] for item in items}
        total = sum(int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1)) for item in items)
        session_id = _new_id("cs_test")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": params["mode"],
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": total,
            "amount_subtotal": total,
            "currency": currencies.pop(),
            "customer": params.get("customer"),
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata", {}),
            "payment_intent": None,
            "success_url": params["success_url"],
            "cancel_url": params.get("cancel_url"),
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
            "livemode": False,
            "created": int(time.time()),
            "_payment_intent_metadata": params.get("payment_intent_data", {}).get("metadata", {}),
            "_invoice_creation": params.get("invoice_creation", {}).get("enabled") == "true",
            "invoice": None,
        }
        self.sessions[session_id] = session
        return 200, _public(session)

    # --- what Stripe would send to our webhook -----------------------------------

    def event(self, type: str, obj: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": _new_id("evt"),
            "object": "event",
            "api_version": "2025-01-27.acacia",
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type,
            "data": {"object": obj},
        }

    def session_complete(self, session_id: str, *, payment_status: str = "paid", **overrides: Any) -> dict[str, Any]:
        """The buyer finished Checkout; overrides let a test tamper with the amount or currency."""
        with self._lock:
            session = self.sessions[session_id]
            session.update(status="complete", payment_status=payment_status)
            session["payment_intent"] = session["payment_intent"] or _new_id("pi")
            if session["_invoice_creation"] and payment_status == "paid" and not session["invoice"]:
                # Like Checkout with invoice_creation: a paid invoice with a hosted page (the receipt).
                invoice_id = _new_id("in")
                self.invoices[invoice_id] = {
                    "id": invoice_id,
                    "object": "invoice",
                    "status": "paid",
                    "amount_paid": session["amount_total"],
                    "currency": session["currency"],
                    "customer": session["customer"],
                    "hosted_invoice_url": f"https://invoice.stripe.com/i/acct_test/{invoice_id}",
                    "invoice_pdf": f"https://pay.stripe.com/invoice/acct_test/{invoice_id}/pdf",
                }
                session["invoice"] = invoice_id
            obj = {**_public(session), **overrides}
        return self.event("checkout.session.completed", obj)

    def session_async_succeeded(self, session_id: str) -> dict[str, Any]:
        """A delayed payment method (bank debit) settled."""
        with self._lock:
            session = self.sessions[session_id]
            session["payment_status"] = "paid"
            obj = _public(session)
        return self.event("checkout.session.async_payment_succeeded", obj)

    def charge_refund(self, session_id: str, amount_cents: int) -> dict[str, Any]:
        """Refund part or all of a session's charge; like Stripe, amount_refunded is cumulative."""
        with self._lock:
            session = self.sessions[session_id]
            payment_intent = session["payment_intent"]
            charge = self.charges.setdefault(
                payment_intent,
                {
                    "id": _new_id("ch"),
                    "object": "charge",
                    "amount": session["amount_total"],
                    "amount_refunded": 0,
                    "currency": session["currency"],
                    "customer": session["customer"],
                    "payment_intent": payment_intent,
                    "metadata": {},
                    "paid": True,
                    "refunded": False,
                },
            )
            charge["amount_refunded"] += amount_cents
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
            obj = dict(charge)
        return self.event("charge.refunded", obj)


def _public(session: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in session.items() if not k.startswith("_")}


def _error(type: str, message: str, *, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"type": type, "message": message, "code": code, "param": param}}
