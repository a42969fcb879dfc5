"""A local Stripe: the endpoints StripeGateway uses, with Stripe's JSON shapes, errors,
Bearer-key auth, `Stripe-Account` scoping, idempotency keys, and real `Stripe-Signature`
webhooks. State is in memory.

    with StripeFake() as fake:
        fake.base_url, fake.secret_key, fake.webhook_secret
        code = fake.create_connect_code()            # what Stripe's OAuth redirect would carry
        fake.complete_checkout(session_id)           # the buyer pays on the Checkout page
        fake.send_webhook(url, "checkout.session.completed", session, account=acct)

PaymentIntents are created with the secret key (and `Stripe-Account`) and confirmed either
server-side or as Stripe.js does, with a publishable key and the intent's `client_secret`.
`GET /v3` serves a Stripe.js stand-in (static/stripe-v3.js) that talks to this fake: point
a browser's https://js.stripe.com/v3 at it.

Guarantees: only the platform's secret key (or, for the calls Stripe.js makes, a publishable
key with the intent's `client_secret`) is accepted; an object is visible only to the account
that owns it (`Stripe-Account`); a replayed idempotency key answers the first answer, and the
same key with other parameters is refused; every webhook carries a real `Stripe-Signature`
(HMAC-SHA256 of `t.body`). Stripe's wire conventions are in `stripe_wire`, the money
objects (PaymentIntents, Charges, Refunds) in `stripe_payments`.

Standalone: `python -m openevent.sandboxes.stripe --port 12111 [--webhook-url URL]`.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import html
import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

from openevent.sandboxes.http_server import FakeHTTPServer, FakeRequest, FakeResponse, random_id
from openevent.sandboxes.stripe_payments import StripePayments
from openevent.sandboxes.stripe_wire import (
    API_VERSION,
    api_error,
    as_int,
    decode_form,
    missing_param,
    not_tens,
)

_STATIC = Path(__file__).with_name("static")
# What the browser may read from the fake's answers to publishable-key calls (Stripe.js runs
# on the shop's origin, the API on another).
_CORS = {"Access-Control-Allow-Origin": "*"}


class StripeFake(StripePayments, FakeHTTPServer):
    """In-memory Stripe API + Connect OAuth + hosted Checkout page on one local port."""

    PLATFORM = "platform"  # the account a request without Stripe-Account acts on

    def __init__(self, port: int = 0, *, secret_key: str | None = None,
                 webhook_secret: str | None = None, webhook_url: str | None = None) -> None:
        super().__init__(port)
        self.secret_key = secret_key or random_id("sk_test_", 32)
        self.publishable_key = random_id("pk_test_", 32)
        self.client_id = random_id("ca_", 32)
        self.webhook_secret = webhook_secret or random_id("whsec_", 32)
        # When set, completing/expiring a checkout or refunding sends the matching event here.
        self.webhook_url = webhook_url
        self.accounts: dict[str, dict[str, Any]] = {}
        self._codes: dict[str, dict[str, Any]] = {}
        self._objects: dict[str, tuple[str, dict[str, Any]]] = {}  # id -> (account, object)
        self._idempotent: dict[tuple[str, str], tuple[str, dict[str, Any], FakeResponse]] = {}
        self._outbox: list[tuple[str, dict[str, Any], str]] = []

    # --- test controls -------------------------------------------------------------------

    def create_connect_code(self, livemode: bool = False) -> str:
        """A fresh connected account and the one-time `ac_...` code Stripe's redirect carries."""
        with self.lock:
            account: dict[str, Any] = {
                "stripe_user_id": random_id("acct_", 16),
                "stripe_publishable_key": random_id("pk_test_", 32),
                "access_token": random_id("sk_test_", 32),
                "refresh_token": random_id("rt_", 32),
                "livemode": livemode,
            }
            self.accounts[account["stripe_user_id"]] = account
            code = random_id("ac_", 32)
            self._codes[code] = {"account": account["stripe_user_id"], "used": False}
            return code

    def get_object(self, object_id: str) -> dict[str, Any]:
        """A copy of any stored object (session, payment intent, charge, refund)."""
        with self.lock:
            return json.loads(json.dumps(self._objects[object_id][1]))

    def account_of(self, object_id: str) -> str:
        with self.lock:
            return self._objects[object_id][0]

    def complete_checkout(self, session_id: str, *, send_webhook: bool | None = None
                          ) -> dict[str, Any]:
        """The buyer pays: a succeeded PaymentIntent and Charge, session `complete`/`paid`.

        Sends `checkout.session.completed` to `webhook_url` when one is set (or when
        `send_webhook` says so). Returns the session.
        """
        with self.lock:
            account, session = self._objects[session_id]
            if session["status"] != "open":
                raise ValueError(f"session {session_id} is {session['status']}")
            pi_data = session.pop("_payment_intent_data", {})
            pi = self._new_payment_intent(account, session["amount_total"], session["currency"],
                                          pi_data.get("metadata") or {},
                                          pi_data.get("description"))
            session.update(status="complete", payment_status="paid", payment_intent=pi["id"])
            result = json.loads(json.dumps(session))
        if send_webhook if send_webhook is not None else bool(self.webhook_url):
            self._deliver("checkout.session.completed", result, account)
        return result

    def expire_checkout(self, session_id: str) -> dict[str, Any]:
        """The session times out unpaid (sends `checkout.session.expired` to `webhook_url`)."""
        with self.lock:
            account, session = self._objects[session_id]
            session.update(status="expired", url=None)
            result = json.loads(json.dumps(session))
        if self.webhook_url:
            self._deliver("checkout.session.expired", result, account)
        return result

    def event(self, event_type: str, obj: dict[str, Any], account: str | None = None
              ) -> dict[str, Any]:
        """A Stripe event envelope around `obj` (as a Connect endpoint receives it)."""
        event: dict[str, Any] = {
            "id": random_id("evt_", 24), "object": "event", "api_version": API_VERSION,
            "created": int(time.time()), "data": {"object": obj}, "livemode": False,
            "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        if account and account != self.PLATFORM:
            event["account"] = account
        return event

    def sign(self, payload: bytes, timestamp: int | None = None, secret: str | None = None
             ) -> str:
        """The `Stripe-Signature` header for `payload`: t=<ts>,v1=HMAC-SHA256(secret, t.body)."""
        ts = int(time.time()) if timestamp is None else timestamp
        key = (secret or self.webhook_secret).encode()
        mac = hmac.new(key, f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
        return f"t={ts},v1={mac}"

    def send_webhook(self, url: str, event_type: str, obj: dict[str, Any],
                     account: str | None = None) -> requests.Response:
        """POST a signed event to `url` the way Stripe delivers it; returns the response."""
        payload = json.dumps(self.event(event_type, obj, account), indent=2).encode()
        return requests.post(url, data=payload, timeout=10, headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": self.sign(payload),
        })

    def _deliver(self, event_type: str, obj: dict[str, Any], account: str) -> None:
        if not self.webhook_url:
            return
        try:
            self.send_webhook(self.webhook_url, event_type, obj, account)
        except requests.RequestException as exc:  # like Stripe: a failed delivery is not fatal
            print(f"stripe fake: webhook to {self.webhook_url} failed: {exc}")

    # --- HTTP ----------------------------------------------------------------------------

    def handle(self, request: FakeRequest) -> FakeResponse:
        response = self._handle(request)
        with self.lock:
            outbox, self._outbox = self._outbox, []
        for event_type, obj, event_account in outbox:
            self._deliver(event_type, obj, event_account)
        return response

    def _handle(self, request: FakeRequest) -> FakeResponse:
        path, method = request.path, request.method
        if path.startswith("/c/pay/"):
            return self._checkout_page(request, path.removeprefix("/c/pay/"))
        if path == "/oauth/authorize" and method == "GET":
            return self._oauth_authorize(request)
        if path in ("/v3", "/v3/") and method == "GET":
            return self._stripe_js()
        if "authorization" not in request.headers:
            publishable = self._publishable_call(request)
            if publishable is not None:
                return publishable
        auth = request.headers.get("authorization", "")
        if auth != f"Bearer {self.secret_key}":
            masked = auth.removeprefix("Bearer ")[-4:]
            return api_error(401, "invalid_request_error",
                             f"Invalid API Key provided: sk_test_****{masked}")
        params = decode_form(request.body) if method == "POST" else {
            k: v[-1] for k, v in request.query.items()}
        if path == "/oauth/token" and method == "POST":
            return self._oauth_token(params)
        account = request.headers.get("stripe-account") or self.PLATFORM
        if account != self.PLATFORM and account not in self.accounts:
            return api_error(403, "invalid_request_error",
                             f"The provided key does not have access to account '{account}' "
                             "(or that account does not exist). Application access may have been "
                             "revoked.", "account_invalid")
        key = request.headers.get("idempotency-key")
        if method == "POST" and key:
            with self.lock:
                seen = self._idempotent.get((account, key))
            if seen:
                seen_path, seen_params, response = seen
                if seen_path != path or seen_params != params:
                    return api_error(400, "idempotency_error",
                                     "Keys for idempotent requests can only be used with the same "
                                     "parameters they were first used with.")
                return FakeResponse(response.status, response.body,
                                    {**response.headers, "Idempotent-Replayed": "true"})
        response = self._route(method, path, params, account)
        if method == "POST" and key and response.status < 500:
            with self.lock:
                self._idempotent[(account, key)] = (path, params, response)
        return response

    def _route(self, method: str, path: str, params: dict[str, Any], account: str
               ) -> FakeResponse:
        routes = {
            ("POST", "/v1/checkout/sessions"): self._create_session,
            ("POST", "/v1/charges"): self._create_charge,
            ("POST", "/v1/refunds"): self._create_refund,
            ("POST", "/v1/payment_intents"): self._create_payment_intent,
        }
        if (method, path) in routes:
            with self.lock:
                return routes[(method, path)](params, account)
        confirm = re.fullmatch(r"/v1/payment_intents/([^/]+)/confirm", path)
        if method == "POST" and confirm:
            with self.lock:
                return self._confirm(confirm.group(1), params, account, None)
        retrieve = re.fullmatch(r"/v1/(checkout/sessions|payment_intents|charges|refunds)/([^/]+)",
                                path)
        if method == "GET" and retrieve:
            kind = {"checkout/sessions": "checkout.session", "payment_intents": "payment_intent",
                    "charges": "charge", "refunds": "refund"}[retrieve.group(1)]
            return self._retrieve(kind, retrieve.group(2), account)
        return api_error(404, "invalid_request_error",
                         f"Unrecognized request URL ({method}: {path}). Please see "
                         "https://stripe.com/docs or we can help at https://support.stripe.com/.")

    def _retrieve(self, kind: str, object_id: str, account: str) -> FakeResponse:
        with self.lock:
            found = self._objects.get(object_id)
            if found is None or found[0] != account or found[1]["object"] != kind:
                param = {"checkout.session": "session", "payment_intent": "intent",
                         "charge": "charge", "refund": "refund"}[kind]
                return api_error(404, "invalid_request_error", f"No such {kind}: '{object_id}'",
                                 "resource_missing", param)
            return FakeResponse.json(200, self._public(found[1]))

    # Stripe.js: the stand-in script and the calls it makes with a publishable key

    def _stripe_js(self) -> FakeResponse:
        """The Stripe.js stand-in (static/stripe-v3.js), bound to this fake's address."""
        script = (_STATIC / "stripe-v3.js").read_text().replace("__STRIPE_API_BASE__",
                                                                 self.base_url)
        return FakeResponse(200, script.encode(), {
            "Content-Type": "application/javascript; charset=utf-8", **_CORS})

    def _account_of_key(self, key: str) -> str | None:
        if key == self.publishable_key:
            return self.PLATFORM
        for account_id, account in self.accounts.items():
            if account["stripe_publishable_key"] == key:
                return account_id
        return None

    def _publishable_call(self, request: FakeRequest) -> FakeResponse | None:
        """What a browser may do with a publishable key (`key=pk_...`, form-encoded as
        Stripe.js sends it, so no CORS preflight): read and confirm a PaymentIntent it holds
        the `client_secret` of. None when the request carries no publishable key."""
        params = decode_form(request.body) if request.method == "POST" else {
            k: v[-1] for k, v in request.query.items()}
        key = str(params.get("key") or "")
        if not key.startswith("pk_"):
            return None
        response = self._publishable_route(request.method, request.path, params, key)
        return FakeResponse(response.status, response.body, {**response.headers, **_CORS})

    def _publishable_route(self, method: str, path: str, params: dict[str, Any], key: str
                           ) -> FakeResponse:
        with self.lock:
            account = self._account_of_key(key)
            if account is None:
                return api_error(401, "invalid_request_error",
                                 f"Invalid API Key provided: {key[:8]}****{key[-4:]}")
            found = re.fullmatch(r"/v1/payment_intents/([^/]+?)(/confirm)?", path)
            if not found or (method == "POST") != bool(found.group(2)):
                return api_error(401, "invalid_request_error",
                                 "This API call cannot be made with a publishable API key. "
                                 "Please use a secret API key.")
            pi_id = found.group(1)
            stored = self._objects.get(pi_id)
            if stored is None or stored[0] != account or stored[1]["object"] != "payment_intent":
                return api_error(404, "invalid_request_error",
                                 f"No such payment_intent: '{pi_id}'", "resource_missing", "intent")
            if params.get("client_secret") != stored[1]["client_secret"]:
                return api_error(400, "invalid_request_error",
                                 "The client_secret provided does not match the client_secret "
                                 "associated with the PaymentIntent.", "parameter_invalid_string",
                                 "client_secret")
            if method == "GET":
                return FakeResponse.json(200, self._public(stored[1]))
            return self._confirm(pi_id, params, account, params.get("return_url"))

    # Connect OAuth

    def _oauth_authorize(self, request: FakeRequest) -> FakeResponse:
        """Stands in for the organizer clicking "Connect": straight back with a fresh code."""
        code = self.create_connect_code()
        query = {"code": code, "scope": "read_write"}
        state = request.query.get("state", [""])[-1]
        if state:
            query["state"] = state
        redirect_uri = request.query.get("redirect_uri", [""])[-1]
        if redirect_uri:
            return FakeResponse.redirect(f"{redirect_uri}?{urlencode(query)}")
        return FakeResponse.html(200, f"<p>Stripe Connect code: <code>{code}</code></p>")

    def _oauth_token(self, params: dict[str, Any]) -> FakeResponse:
        if params.get("grant_type") != "authorization_code":
            return FakeResponse.json(400, {
                "error": "unsupported_grant_type",
                "error_description": f"Unsupported grant type: {params.get('grant_type')}"})
        code = str(params.get("code", ""))
        with self.lock:
            entry = self._codes.get(code)
            if entry is None:
                return FakeResponse.json(400, {
                    "error": "invalid_grant",
                    "error_description": f"Authorization code does not exist: {code}"})
            if entry["used"]:
                return FakeResponse.json(400, {
                    "error": "invalid_grant",
                    "error_description": f"Authorization code already used: {code}"})
            entry["used"] = True
            account = self.accounts[entry["account"]]
        return FakeResponse.json(200, {**account, "token_type": "bearer", "scope": "read_write"})

    # Checkout Sessions

    def _create_session(self, params: dict[str, Any], account: str) -> FakeResponse:
        if params.get("mode") != "payment":
            return missing_param("mode") if "mode" not in params else api_error(
                400, "invalid_request_error", "The fake only supports mode=payment.",
                "parameter_invalid_string", "mode")
        items = params.get("line_items")
        if not isinstance(items, list) or not items:
            return missing_param("line_items")
        if not params.get("success_url"):
            return missing_param("success_url")
        total, currency = 0, None
        for i, item in enumerate(items):
            price = item.get("price_data") or {}
            unit, qty = as_int(price.get("unit_amount")), as_int(item.get("quantity"))
            if unit is None or unit < 0:
                return missing_param(f"line_items[{i}][price_data][unit_amount]")
            if qty is None or qty < 1:
                return missing_param(f"line_items[{i}][quantity]")
            if not price.get("currency"):
                return missing_param(f"line_items[{i}][price_data][currency]")
            if not (price.get("product_data") or {}).get("name"):
                return missing_param(f"line_items[{i}][price_data][product_data][name]")
            refused = not_tens(unit, str(price["currency"]),
                               f"line_items[{i}][price_data][unit_amount]")
            if refused is not None:
                return refused
            currency = price["currency"].lower()
            total += unit * qty
        now = int(time.time())
        session_id = random_id("cs_test_a1", 56)
        session = self._store(account, {
            "id": session_id, "object": "checkout.session", "mode": "payment",
            "amount_subtotal": total, "amount_total": total, "currency": currency,
            "cancel_url": params.get("cancel_url"), "success_url": params["success_url"],
            "client_reference_id": params.get("client_reference_id"),
            "customer_email": params.get("customer_email"),
            "created": now, "expires_at": as_int(params.get("expires_at")) or now + 86400,
            "livemode": False, "metadata": params.get("metadata") or {},
            "payment_intent": None, "payment_method_types": ["card"],
            "payment_status": "unpaid", "status": "open",
            "url": f"{self.base_url}/c/pay/{session_id}",
            "_payment_intent_data": params.get("payment_intent_data") or {},
        })
        return FakeResponse.json(200, self._public(session))

    def _checkout_page(self, request: FakeRequest, session_id: str) -> FakeResponse:
        """The hosted Checkout page, reduced to a Pay button (for the local run)."""
        with self.lock:
            found = self._objects.get(session_id)
        if not found or found[1]["object"] != "checkout.session":
            return FakeResponse.html(404, "<p>No such checkout session.</p>")
        session = found[1]
        if request.method == "POST":
            if session["status"] == "open":
                self.complete_checkout(session_id)
            success = str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session_id)
            return FakeResponse.redirect(success)
        amount = f"{session['amount_total']} {str(session['currency']).upper()} (minor units)"
        cancel = html.escape(str(session.get("cancel_url") or ""))
        return FakeResponse.html(200, (
            f"<h1>Stripe fake checkout</h1><p>Pay {html.escape(amount)}, "
            f"status {html.escape(session['status'])}</p>"
            f'<form method="post"><button type="submit">Pay</button></form>'
            f'<p><a href="{cancel}">Cancel</a></p>'))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the local Stripe fake.")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--secret-key", help="platform secret key to accept (default: random)")
    parser.add_argument("--webhook-secret", help="endpoint secret to sign with (default: random)")
    parser.add_argument("--webhook-url", help="where to deliver events as they happen")
    args = parser.parse_args(argv)
    fake = StripeFake(args.port, secret_key=args.secret_key, webhook_secret=args.webhook_secret,
                      webhook_url=args.webhook_url)
    print(json.dumps({"base_url": fake.base_url, "secret_key": fake.secret_key,
                      "publishable_key": fake.publishable_key, "client_id": fake.client_id,
                      "webhook_secret": fake.webhook_secret,
                      "webhook_url": fake.webhook_url}, indent=2), flush=True)
    fake.serve_forever()


if __name__ == "__main__":
    main()
