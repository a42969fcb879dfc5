"""A local PayPal: OAuth2 client credentials, v2 Orders (create, get, capture), capture refunds,
PayPal's error bodies, PayPal-Request-Id idempotency, and webhooks signed the way PayPal signs
them (SHA256withRSA, cert served at this fake's own /v1/notifications/certs/<name>).

    with PayPalFake() as fake:
        fake.base_url, fake.client_id, fake.client_secret, fake.webhook_id, fake.cert_url
        fake.approve_order(order_id)                 # the payer clicks "Pay" at PayPal
        fake.send_webhook(url, "PAYMENT.CAPTURE.COMPLETED", capture)

Standalone: `python -m openevent.sandboxes.paypal --port 12112 [--webhook-url URL]`.
"""

from __future__ import annotations

import argparse
import base64
import copy
import datetime as dt
import html
import json
import re
import string
import threading
import time
import uuid
import zlib
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from openevent.sandboxes.http_server import FakeHTTPServer, FakeRequest, FakeResponse, random_id

_UPPER_ALNUM = string.ascii_uppercase + string.digits
_ZERO_DECIMAL = {"HUF", "JPY", "TWD"}
# PayPal's REST currency codes (developer.paypal.com/api/rest/reference/currency-codes/): the
# only currencies it takes. The sandbox keeps its own copy of the published list: it stands in
# for PayPal, so a regression of the platform's rules (payments/currencies.py) is caught here.
CURRENCIES = frozenset(
    "AUD BRL CAD CNY CZK DKK EUR HKD HUF ILS JPY MYR MXN TWD NZD NOK PHP PLN GBP SGD SEK CHF "
    "THB USD".split())
_signing_material: tuple[rsa.RSAPrivateKey, bytes] | None = None
_signing_lock = threading.Lock()


def _paypal_id() -> str:
    return random_id("", 17, _UPPER_ALNUM)


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def signing_material() -> tuple[rsa.RSAPrivateKey, bytes]:
    """One RSA key and self-signed PEM cert per process (2048-bit keygen is not free)."""
    global _signing_material
    with _signing_lock:
        if _signing_material is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            name = x509.Name([
                x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "PayPal, Inc. (fake)"),
                x509.NameAttribute(NameOID.COMMON_NAME, "messageverificationcerts.paypal.com"),
            ])
            now = dt.datetime.now(dt.UTC)
            cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                    .public_key(key.public_key()).serial_number(x509.random_serial_number())
                    .not_valid_before(now - dt.timedelta(days=1))
                    .not_valid_after(now + dt.timedelta(days=365))
                    .sign(key, hashes.SHA256()))
            _signing_material = (key, cert.public_bytes(serialization.Encoding.PEM))
        return _signing_material


def _error(status: int, name: str, message: str, issue: str | None = None,
           description: str | None = None, field: str | None = None) -> FakeResponse:
    body: dict[str, Any] = {"name": name, "message": message, "debug_id": random_id("", 13,
                                                                                    "0123456789abcdef")}
    if issue:
        detail: dict[str, Any] = {"issue": issue, "description": description or issue}
        if field:
            detail.update(field=field, location="body")
        body["details"] = [detail]
        body["links"] = [{"href": f"https://developer.paypal.com/docs/api/orders/v2/#error-{issue}",
                          "rel": "information_link", "method": "GET"}]
    return FakeResponse.json(status, body, {"Paypal-Debug-Id": body["debug_id"]})


def _unprocessable(issue: str, description: str) -> FakeResponse:
    return _error(422, "UNPROCESSABLE_ENTITY",
                  "The requested action could not be performed, semantically incorrect, or "
                  "failed business validation.", issue, description)


def _not_found(field: str) -> FakeResponse:
    return FakeResponse.json(404, {
        "name": "RESOURCE_NOT_FOUND", "message": "The specified resource does not exist.",
        "debug_id": random_id("", 13, "0123456789abcdef"),
        "details": [{"field": field, "location": "path", "issue": "INVALID_RESOURCE_ID",
                     "description": "Specified resource ID does not exist. Please check the "
                                    "resource ID and try again."}]})


def _invalid(field: str, issue: str = "MISSING_REQUIRED_PARAMETER",
             description: str = "A required field / parameter is missing.") -> FakeResponse:
    return _error(400, "INVALID_REQUEST", "Request is not well-formed, syntactically incorrect, "
                  "or violates schema.", issue, description, field)


class PayPalFake(FakeHTTPServer):
    """In-memory PayPal REST API + approval page + certificate endpoint on one local port."""

    def __init__(self, port: int = 0, *, client_id: str | None = None,
                 client_secret: str | None = None, webhook_id: str | None = None,
                 webhook_url: str | None = None, token_ttl: int = 32400) -> None:
        super().__init__(port)
        self.client_id = client_id or random_id("A", 79)
        self.client_secret = client_secret or random_id("E", 79)
        self.webhook_id = webhook_id or _paypal_id()
        self.webhook_url = webhook_url  # when set, events are delivered as things happen
        self.token_ttl = token_ttl
        self.cert_name = f"CERT-360caa42-fca2a594-{random_id('', 8, '0123456789abcdef')}"
        self.cert_url = f"{self.base_url}/v1/notifications/certs/{self.cert_name}"
        self._key, self._cert_pem = signing_material()
        self._tokens: dict[str, float] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.captures: dict[str, dict[str, Any]] = {}  # capture id -> capture (with refunds)
        self._declining: set[str] = set()
        self._idempotent: dict[tuple[str, str], FakeResponse] = {}
        self._outbox: list[tuple[str, dict[str, Any]]] = []

    # --- test controls -------------------------------------------------------------------

    def approve_order(self, order_id: str, payer_id: str | None = None, *,
                      instrument_declined: bool = False) -> dict[str, Any]:
        """The payer approves at PayPal. With `instrument_declined`, the capture will fail
        with INSTRUMENT_DECLINED as a declined funding source does."""
        with self.lock:
            order = self.orders[order_id]
            if order["status"] not in ("PAYER_ACTION_REQUIRED", "CREATED", "APPROVED"):
                raise ValueError(f"order {order_id} is {order['status']}")
            payer = payer_id or random_id("", 13, _UPPER_ALNUM)
            order["status"] = "APPROVED"
            order["payer"] = {"name": {"given_name": "John", "surname": "Doe"},
                              "email_address": "buyer@example.com", "payer_id": payer,
                              "address": {"country_code": "US"}}
            order["payment_source"] = {"paypal": {"email_address": "buyer@example.com",
                                                  "account_id": payer,
                                                  "account_status": "VERIFIED"}}
            order["links"] = [self._self_link(order_id), {
                "href": f"{self.base_url}/v2/checkout/orders/{order_id}/capture",
                "rel": "capture", "method": "POST"}]
            if instrument_declined:
                self._declining.add(order_id)
            result = copy.deepcopy(self._public_order(order))
        if self.webhook_url:
            self._deliver("CHECKOUT.ORDER.APPROVED", result)
        return result

    def event(self, event_type: str, resource: dict[str, Any]) -> dict[str, Any]:
        """A PayPal webhook event envelope around `resource`."""
        event_id = f"WH-{_paypal_id()}-{_paypal_id()}"
        resource_type = ("refund" if event_type.endswith("REFUNDED")
                         else "capture" if event_type.startswith("PAYMENT.CAPTURE")
                         else "checkout-order")
        return {
            "id": event_id, "event_version": "1.0", "create_time": _now_iso(),
            "resource_type": resource_type,
            "resource_version": "2.0", "event_type": event_type,
            "summary": f"{event_type.replace('.', ' ').title()}", "resource": resource,
            "links": [{"href": f"{self.base_url}/v1/notifications/webhooks-events/{event_id}",
                       "rel": "self", "method": "GET"}],
        }

    def signed_headers(self, body: bytes, *, transmission_time: str | None = None,
                       webhook_id: str | None = None, cert_url: str | None = None
                       ) -> dict[str, str]:
        """The PAYPAL-* headers PayPal would send with `body`."""
        transmission_id = str(uuid.uuid1())
        ttime = transmission_time or _now_iso()
        message = f"{transmission_id}|{ttime}|{webhook_id or self.webhook_id}|{zlib.crc32(body)}"
        signature = self._key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
        return {
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": ttime,
            "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode(),
            "PAYPAL-CERT-URL": cert_url or self.cert_url,
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        }

    def send_webhook(self, url: str, event_type: str, resource: dict[str, Any]
                     ) -> requests.Response:
        """POST a signed event to `url` the way PayPal delivers it; returns the response."""
        body = json.dumps(self.event(event_type, resource)).encode()
        return requests.post(url, data=body, timeout=10, headers={
            "Content-Type": "application/json", "User-Agent": "PayPal/AUHD-214.0-58844436",
            **self.signed_headers(body)})

    def _deliver(self, event_type: str, resource: dict[str, Any]) -> None:
        if not self.webhook_url:
            return
        try:
            self.send_webhook(self.webhook_url, event_type, resource)
        except requests.RequestException as exc:  # like PayPal: a failed delivery is not fatal
            print(f"paypal fake: webhook to {self.webhook_url} failed: {exc}")

    # --- HTTP ----------------------------------------------------------------------------

    def handle(self, request: FakeRequest) -> FakeResponse:
        path, method = request.path, request.method
        if path == f"/v1/notifications/certs/{self.cert_name}" and method == "GET":
            return FakeResponse(200, self._cert_pem, {"Content-Type": "application/x-pem-file"})
        if path == "/checkoutnow":
            return self._approval_page(request)
        if path in ("/smart/button", "/webapps/hermes/button") and method == "GET":
            page = (Path(__file__).with_name("static") / "paypal-button.html").read_bytes()
            return FakeResponse(200, page, {"Content-Type": "text/html; charset=utf-8"})
        if path == "/v1/oauth2/token" and method == "POST":
            return self._token(request)
        auth = request.headers.get("authorization", "")
        with self.lock:
            expires = self._tokens.get(auth.removeprefix("Bearer "))
        if not auth.startswith("Bearer ") or expires is None or expires < time.time():
            return FakeResponse.json(401, {"error": "invalid_token",
                                           "error_description": "Token signature verification "
                                                                "failed"})
        request_id = request.headers.get("paypal-request-id")
        if method == "POST" and request_id:
            with self.lock:
                seen = self._idempotent.get((path, request_id))
            if seen:
                return seen
        response = self._route(request)
        # Only successes are replayed: whether PayPal replays stored errors is not documented,
        # and the gateway must not depend on it either way.
        if method == "POST" and request_id and response.status < 400:
            with self.lock:
                self._idempotent[(path, request_id)] = response
        with self.lock:
            outbox, self._outbox = self._outbox, []
        for event_type, resource in outbox:
            self._deliver(event_type, resource)
        return response

    def _route(self, request: FakeRequest) -> FakeResponse:
        path, method = request.path, request.method
        if path == "/v2/checkout/orders" and method == "POST":
            try:
                body = request.json()
            except ValueError:
                return _invalid("/", "MALFORMED_REQUEST_JSON", "The request JSON is not well "
                                "formed.")
            with self.lock:
                return self._create_order(body)
        match = re.fullmatch(r"/v2/checkout/orders/([A-Z0-9]+)(/capture)?", path)
        if match and method == "GET" and not match.group(2):
            with self.lock:
                order = self.orders.get(match.group(1))
                return (FakeResponse.json(200, self._public_order(order)) if order
                        else _not_found("order_id"))
        if match and method == "POST" and match.group(2):
            with self.lock:
                return self._capture(match.group(1))
        match = re.fullmatch(r"/v2/payments/captures/([A-Z0-9]+)(/refund)?", path)
        if match and method == "GET" and not match.group(2):
            with self.lock:
                capture = self.captures.get(match.group(1))
                return (FakeResponse.json(200, self._public_capture(capture)) if capture
                        else _not_found("capture_id"))
        if match and method == "POST" and match.group(2):
            try:
                body = request.json()
            except ValueError:
                body = {}
            with self.lock:
                return self._refund(match.group(1), body)
        return FakeResponse.json(404, {"name": "NOT_FOUND", "message": "Not Found",
                                       "debug_id": random_id("", 13, "0123456789abcdef")})

    def _token(self, request: FakeRequest) -> FakeResponse:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return FakeResponse.json(401, {"error": "invalid_client",
                                           "error_description": "Client Authentication failed"})
        if b"grant_type=client_credentials" not in request.body:
            return FakeResponse.json(400, {"error": "unsupported_grant_type",
                                           "error_description": "Grant Type is NULL"})
        token = random_id("A21AA", 92, string.ascii_letters + string.digits + "-_")
        with self.lock:
            self._tokens[token] = time.time() + self.token_ttl
        return FakeResponse.json(200, {
            "scope": "https://uri.paypal.com/services/payments/payment "
                     "https://uri.paypal.com/services/payments/refund",
            "access_token": token, "token_type": "Bearer", "app_id": "APP-80W284485P519543T",
            "expires_in": self.token_ttl, "nonce": f"{_now_iso()}{random_id('', 43)}"})

    def expire_tokens(self) -> None:
        """Make every issued access token invalid (as PayPal may before `expires_in`)."""
        with self.lock:
            self._tokens.clear()

    def _self_link(self, order_id: str) -> dict[str, str]:
        return {"href": f"{self.base_url}/v2/checkout/orders/{order_id}", "rel": "self",
                "method": "GET"}

    def _create_order(self, body: dict[str, Any]) -> FakeResponse:
        if body.get("intent") != "CAPTURE":
            return _invalid("/intent") if "intent" not in body else _invalid(
                "/intent", "INVALID_PARAMETER_VALUE", "The fake supports intent CAPTURE only.")
        units = body.get("purchase_units")
        if not isinstance(units, list) or len(units) != 1:
            return _invalid("/purchase_units")
        amount = units[0].get("amount") or {}
        currency, value = amount.get("currency_code"), amount.get("value")
        if not currency or value is None:
            return _invalid("/purchase_units/@reference_id=='default'/amount")
        if str(currency) not in CURRENCIES:
            return _error(422, "UNPROCESSABLE_ENTITY",
                          "The requested action could not be performed, semantically incorrect, "
                          "or failed business validation.", "CURRENCY_NOT_SUPPORTED",
                          "Currency code is not currently supported. Please refer "
                          "https://developer.paypal.com/api/rest/reference/currency-codes/ for "
                          "list of supported currency codes.",
                          "/purchase_units/@reference_id=='default'/amount/currency_code")
        try:
            decimal_value = Decimal(str(value))
        except InvalidOperation:
            return _invalid("/purchase_units/@reference_id=='default'/amount/value",
                            "INVALID_PARAMETER_SYNTAX", "The value of a field does not conform "
                            "to the expected format.")
        places = -decimal_value.as_tuple().exponent  # type: ignore[operator]
        if places > (0 if currency in _ZERO_DECIMAL else 2):
            return _unprocessable("DECIMAL_PRECISION", "If the currency supports decimals, only "
                                  "two decimal place precision is supported.")
        context = ((body.get("payment_source") or {}).get("paypal") or {}).get(
            "experience_context") or body.get("application_context") or {}
        order_id = _paypal_id()
        unit = {"reference_id": units[0].get("reference_id") or "default",
                "amount": {"currency_code": currency, "value": value},
                "payee": {"email_address": "merchant@example.com",
                          "merchant_id": "C7CYMKZDG8D6E"}}
        for key in ("custom_id", "description", "invoice_id"):
            if key in units[0]:
                unit[key] = units[0][key]
        order: dict[str, Any] = {
            "id": order_id, "intent": "CAPTURE", "status": "PAYER_ACTION_REQUIRED",
            "payment_source": {"paypal": {}}, "purchase_units": [unit],
            "create_time": _now_iso(),
            "links": [self._self_link(order_id), {
                "href": f"{self.base_url}/checkoutnow?token={order_id}", "rel": "payer-action",
                "method": "GET"}],
            "_return_url": context.get("return_url"), "_cancel_url": context.get("cancel_url"),
        }
        self.orders[order_id] = order
        return FakeResponse.json(201, self._public_order(order))

    @staticmethod
    def _public_order(order: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in order.items() if not k.startswith("_")}

    @staticmethod
    def _public_capture(capture: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in capture.items() if not k.startswith("_")}

    def _capture(self, order_id: str) -> FakeResponse:
        order = self.orders.get(order_id)
        if order is None:
            return _not_found("order_id")
        if order["status"] == "COMPLETED":
            return _unprocessable("ORDER_ALREADY_CAPTURED", "Order already captured.If "
                                  "'intent=CAPTURE' only one capture per order is allowed.")
        if order["status"] != "APPROVED":
            return _unprocessable("ORDER_NOT_APPROVED", "Payer has not yet approved the Order "
                                  "for payment. Please redirect the payer to the 'rel':'approve' "
                                  "url returned as part of the HATEOAS links within the Create "
                                  "Order call or provide a valid payment_source in the request.")
        if order_id in self._declining:
            return _unprocessable("INSTRUMENT_DECLINED", "The instrument presented  was either "
                                  "declined by the processor or bank, or it can't be used for "
                                  "this payment.")
        unit = order["purchase_units"][0]
        capture_id = _paypal_id()
        now = _now_iso()
        capture: dict[str, Any] = {
            "id": capture_id, "status": "COMPLETED", "amount": dict(unit["amount"]),
            "final_capture": True,
            "seller_protection": {"status": "ELIGIBLE", "dispute_categories": [
                "ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"]},
            "seller_receivable_breakdown": {"gross_amount": dict(unit["amount"])},
            "links": [
                {"href": f"{self.base_url}/v2/payments/captures/{capture_id}", "rel": "self",
                 "method": "GET"},
                {"href": f"{self.base_url}/v2/payments/captures/{capture_id}/refund",
                 "rel": "refund", "method": "POST"},
                {"href": f"{self.base_url}/v2/checkout/orders/{order_id}", "rel": "up",
                 "method": "GET"}],
            "create_time": now, "update_time": now,
            "supplementary_data": {"related_ids": {"order_id": order_id}},
            "_refunded": "0",
        }
        if "custom_id" in unit:
            capture["custom_id"] = unit["custom_id"]
        self.captures[capture_id] = capture
        order["status"] = "COMPLETED"
        unit["payments"] = {"captures": [self._public_capture(capture)]}
        order["links"] = [self._self_link(order_id)]
        if self.webhook_url:
            self._outbox.append(("PAYMENT.CAPTURE.COMPLETED", self._public_capture(capture)))
        return FakeResponse.json(201, self._public_order(order))

    def _refund(self, capture_id: str, body: dict[str, Any]) -> FakeResponse:
        capture = self.captures.get(capture_id)
        if capture is None:
            return _not_found("capture_id")
        gross = Decimal(capture["amount"]["value"])
        refunded = Decimal(capture["_refunded"])
        remaining = gross - refunded
        if remaining <= 0:
            return _unprocessable("CAPTURE_FULLY_REFUNDED",
                                  "The capture has already been fully refunded")
        currency = capture["amount"]["currency_code"]
        amount = body.get("amount")
        value = Decimal(str(amount["value"])) if amount else remaining
        if amount and amount.get("currency_code") != currency:
            return _unprocessable("REFUND_CURRENCY_MISMATCH", "Refund must be in the same "
                                  "currency as the capture.")
        if value > remaining:
            return _unprocessable("REFUND_AMOUNT_EXCEEDED", "The refund amount must be less "
                                  "than or equal to the capture amount that has not yet been "
                                  "refunded.")
        capture["_refunded"] = str(refunded + value)
        capture["status"] = "REFUNDED" if refunded + value == gross else "PARTIALLY_REFUNDED"
        order = self.orders[capture["supplementary_data"]["related_ids"]["order_id"]]
        order["purchase_units"][0]["payments"]["captures"] = [self._public_capture(capture)]
        refund_id = _paypal_id()
        now = _now_iso()
        refund = {
            "id": refund_id, "amount": {"currency_code": currency, "value": str(value)},
            "status": "COMPLETED", "create_time": now, "update_time": now,
            "links": [
                {"href": f"{self.base_url}/v2/payments/refunds/{refund_id}", "rel": "self",
                 "method": "GET"},
                {"href": f"{self.base_url}/v2/payments/captures/{capture_id}", "rel": "up",
                 "method": "GET"}],
        }
        if "custom_id" in capture:
            refund["custom_id"] = capture["custom_id"]
        if self.webhook_url:
            self._outbox.append(("PAYMENT.CAPTURE.REFUNDED", refund))
        return FakeResponse.json(201, refund)

    def _approval_page(self, request: FakeRequest) -> FakeResponse:
        """PayPal's approval page, reduced to an Approve button (for the local run)."""
        order_id = request.query.get("token", [""])[-1]
        with self.lock:
            order = self.orders.get(order_id)
        if order is None:
            return FakeResponse.html(404, "<p>No such order.</p>")
        if request.method == "POST":
            if order["status"] in ("PAYER_ACTION_REQUIRED", "CREATED"):
                self.approve_order(order_id)
            if request.query.get("format", [""])[-1] == "json":  # the sandbox button page
                return FakeResponse.json(200, {"token": order_id, "PayerID": order["payer"][
                    "payer_id"], "return_url": order.get("_return_url")})
            query = urlencode({"token": order_id, "PayerID": order["payer"]["payer_id"]})
            return FakeResponse.redirect(f"{order['_return_url']}?{query}")
        amount = order["purchase_units"][0]["amount"]
        cancel = html.escape(f"{order.get('_cancel_url') or ''}?token={order_id}")
        return FakeResponse.html(200, (
            f"<h1>PayPal fake checkout</h1><p>Pay {html.escape(amount['value'])} "
            f"{html.escape(amount['currency_code'])}, status {html.escape(order['status'])}</p>"
            f'<form method="post"><button type="submit">Approve</button></form>'
            f'<p><a href="{cancel}">Cancel</a></p>'))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the local PayPal fake.")
    parser.add_argument("--port", type=int, default=12112)
    parser.add_argument("--client-id", help="REST app client id to accept (default: random)")
    parser.add_argument("--client-secret", help="REST app secret to accept (default: random)")
    parser.add_argument("--webhook-id", help="webhook id to sign with (default: random)")
    parser.add_argument("--webhook-url", help="where to deliver events as they happen")
    args = parser.parse_args(argv)
    fake = PayPalFake(args.port, client_id=args.client_id, client_secret=args.client_secret,
                      webhook_id=args.webhook_id, webhook_url=args.webhook_url)
    print(json.dumps({"base_url": fake.base_url, "client_id": fake.client_id,
                      "client_secret": fake.client_secret, "webhook_id": fake.webhook_id,
                      "cert_url": fake.cert_url, "webhook_url": fake.webhook_url}, indent=2),
          flush=True)
    fake.serve_forever()


if __name__ == "__main__":
    main()
