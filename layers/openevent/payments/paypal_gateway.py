"""PayPal: REST v2 Orders (create, get, capture), capture refunds, webhook signatures.

Plain `requests` against a configurable base URL; the OAuth2 client-credentials token is
cached until shortly before it expires. Webhooks are verified locally: RSA-SHA256 over
`<transmission id>|<transmission time>|<webhook id>|<crc32 of the raw body>` with the
certificate at PAYPAL-CERT-URL, fetched only from an allow-listed origin and cached.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NoReturn
from urllib.parse import urlsplit

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .errors import (
    AlreadyRefunded,
    InvalidRequest,
    PaymentDeclined,
    PaymentError,
    PaymentNotFound,
    ProviderAuthError,
    ProviderUnavailable,
    SignatureError,
    redact_secrets,
)
from .money import from_paypal_value, to_paypal_value

PROVIDER = "paypal"
LIVE_API_BASE = "https://api-m.paypal.com"
SANDBOX_API_BASE = "https://api-m.sandbox.paypal.com"
# PayPal's cert URLs name api.paypal.com (older) or api-m.paypal.com; both are PayPal's.
LIVE_CERT_ORIGINS = ("https://api.paypal.com", "https://api-m.paypal.com")
SANDBOX_CERT_ORIGINS = ("https://api.sandbox.paypal.com", "https://api-m.sandbox.paypal.com")
_CERT_PATH = "/v1/notifications/certs/"
_CERT_CACHE_SIZE = 16
_TOKEN_MARGIN = 60  # seconds: renew the access token this long before PayPal expires it
_DECLINE_ISSUES = frozenset({
    "INSTRUMENT_DECLINED", "PAYER_CANNOT_PAY", "TRANSACTION_REFUSED",
    "PAYEE_BLOCKED_TRANSACTION", "COMPLIANCE_VIOLATION", "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED",
    "REDIRECT_PAYER_FOR_ALTERNATE_FUNDING",
})
_REFUNDED_ISSUES = frozenset({"CAPTURE_FULLY_REFUNDED"})


@dataclass(frozen=True)
class PayPalSettings:
    """What a PayPalGateway needs. Sandbox: api_base=SANDBOX_API_BASE with
    allowed_cert_origins=SANDBOX_CERT_ORIGINS; tests point both at the fake."""

    client_id: str
    client_secret: str = field(repr=False)
    webhook_id: str | None = None  # id of our webhook registration; part of the signed string
    api_base: str = LIVE_API_BASE
    allowed_cert_origins: tuple[str, ...] = LIVE_CERT_ORIGINS
    timeout: float = 20.0
    brand_name: str | None = None


@dataclass(frozen=True)
class PayPalOrder:
    """An order as PayPal reports it (status CREATED | PAYER_ACTION_REQUIRED | APPROVED |
    COMPLETED | VOIDED | SAVED)."""

    id: str
    status: str
    reference_id: str | None
    amount: Decimal
    currency: str
    approve_url: str | None
    capture_id: str | None  # of the first capture, once captured
    capture_status: str | None
    payer_id: str | None


@dataclass(frozen=True)
class Capture:
    """The outcome of capturing an order. `status` is the capture's (COMPLETED, PENDING,
    DECLINED, ...); `already_captured` says an earlier call had captured it."""

    status: str
    capture_id: str
    amount: Decimal
    currency: str
    reference_id: str | None
    order_id: str
    payer_id: str | None = None
    already_captured: bool = False


@dataclass(frozen=True)
class PayPalRefund:
    """A refund PayPal accepted (status COMPLETED | PENDING | CANCELLED | FAILED)."""

    id: str
    status: str
    amount: Decimal | None
    currency: str | None


class PayPalGateway:
    """PayPal calls for one REST app. Caches its access token and webhook certificates."""

    def __init__(
        self,
        settings: PayPalSettings,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._http = session or requests.Session()
        self._clock = clock
        self._lock = threading.Lock()
        self._token: tuple[str, float] | None = None  # (access token, renew at)
        self._certs: dict[str, x509.Certificate] = {}

    # --- OAuth -------------------------------------------------------------------------

    def access_token(self) -> str:
        """A valid access token, fetched with client credentials only when needed."""
        with self._lock:
            if self._token and self._clock() < self._token[1]:
                return self._token[0]
        response = self._send(
            "POST", "/v1/oauth2/token", data={"grant_type": "client_credentials"},
            auth=(self._settings.client_id, self._settings.client_secret),
            headers={"Accept": "application/json"},
        )
        if response.status_code != 200:
            self._raise_for(response)
        body = response.json()
        expires_in = int(body.get("expires_in", 0))
        renew_at = self._clock() + max(expires_in - _TOKEN_MARGIN, expires_in / 2)
        with self._lock:
            self._token = (str(body["access_token"]), renew_at)
        return str(body["access_token"])

    # --- Orders ------------------------------------------------------------------------

    def create_order(
        self,
        amount: Decimal,
        currency: str,
        reference_id: str,
        return_url: str,
        cancel_url: str,
        *,
        description: str | None = None,
        request_id: str | None = None,
    ) -> tuple[str, str]:
        """Create a CAPTURE-intent order; returns (order id, URL to send the payer to).

        `reference_id` (the order identifier) is the purchase unit's reference_id and
        custom_id, so captures and webhooks name it.
        """
        unit: dict[str, Any] = {
            "reference_id": reference_id,
            "custom_id": reference_id,
            "amount": {"currency_code": currency.upper(),
                       "value": to_paypal_value(amount, currency)},
        }
        if description:
            unit["description"] = description[:127]
        context: dict[str, Any] = {
            "return_url": return_url, "cancel_url": cancel_url,
            "user_action": "PAY_NOW", "shipping_preference": "NO_SHIPPING",
        }
        if self._settings.brand_name:
            context["brand_name"] = self._settings.brand_name
        body = {"intent": "CAPTURE", "purchase_units": [unit],
                "payment_source": {"paypal": {"experience_context": context}}}
        order = self._api("POST", "/v2/checkout/orders", body, request_id or str(uuid.uuid4()))
        approve = _link(order, "payer-action") or _link(order, "approve")
        if not approve:
            raise PaymentError("PayPal order has no approval link", provider=PROVIDER)
        return str(order["id"]), approve

    def get_order(self, order_id: str) -> PayPalOrder:
        """The order's current state, amount and first capture."""
        order = self._api("GET", f"/v2/checkout/orders/{_path_id(order_id)}")
        unit = (order.get("purchase_units") or [{}])[0]
        capture = _first_capture(order)
        amount = unit.get("amount") or {}
        return PayPalOrder(
            id=str(order["id"]), status=str(order["status"]),
            reference_id=unit.get("reference_id"),
            amount=from_paypal_value(amount.get("value", "0")),
            currency=str(amount.get("currency_code", "")),
            approve_url=_link(order, "payer-action") or _link(order, "approve"),
            capture_id=capture.get("id") if capture else None,
            capture_status=capture.get("status") if capture else None,
            payer_id=(order.get("payer") or {}).get("payer_id"),
        )

    def capture_order(self, order_id: str, *, request_id: str | None = None) -> Capture:
        """Capture an approved order. Idempotent: a connection failure is retried with the same
        PayPal-Request-Id (PayPal then replays its first answer), and an order captured by an
        earlier call is reported with `already_captured=True` rather than raised.

        The request id defaults to a fresh one per call, not one derived from the order:
        PayPal may replay a stored *error* for a reused id (e.g. ORDER_NOT_APPROVED from a
        capture tried before the payer approved).
        """
        path = f"/v2/checkout/orders/{_path_id(order_id)}/capture"
        try:
            order = self._api("POST", path, {}, request_id or str(uuid.uuid4()))
        except InvalidRequest as exc:
            if exc.code != "ORDER_ALREADY_CAPTURED":
                raise
            order = self._api("GET", f"/v2/checkout/orders/{_path_id(order_id)}")
            return _capture_of(order, already_captured=True)
        return _capture_of(order, already_captured=False)

    def refund_capture(
        self,
        capture_id: str,
        amount: Decimal | None = None,
        currency: str | None = None,
        *,
        request_id: str | None = None,
    ) -> PayPalRefund:
        """Refund a capture, in full unless `amount` and `currency` are given.

        A capture already refunded in full raises AlreadyRefunded, so repeating a full refund
        is safe; pass a stable `request_id` to make a *partial* refund safe to repeat.
        """
        body: dict[str, Any] = {}
        if amount is not None:
            if currency is None:
                raise ValueError("a partial refund needs its currency")
            body["amount"] = {"currency_code": currency.upper(),
                              "value": to_paypal_value(amount, currency)}
        refund = self._api("POST", f"/v2/payments/captures/{_path_id(capture_id)}/refund",
                           body, request_id or str(uuid.uuid4()))
        money = refund.get("amount") or {}
        return PayPalRefund(
            id=str(refund["id"]), status=str(refund["status"]),
            amount=from_paypal_value(money["value"]) if money.get("value") else None,
            currency=money.get("currency_code"),
        )

    # --- Webhooks ----------------------------------------------------------------------

    def verify_webhook(
        self, headers: Mapping[str, str], body: bytes, tolerance: int | None = None
    ) -> dict[str, Any]:
        """Verify a webhook delivery's PAYPAL-* signature headers over the raw body; return
        the event. `tolerance` (seconds), when given, also rejects stale transmission times.
        Raises SignatureError on any failure."""
        h = {k.lower(): v for k, v in headers.items()}
        names = ("paypal-transmission-id", "paypal-transmission-time", "paypal-transmission-sig",
                 "paypal-cert-url", "paypal-auth-algo")
        missing = [n.upper() for n in names if not h.get(n)]
        if missing:
            raise SignatureError(f"PayPal webhook lacks {', '.join(missing)}", provider=PROVIDER)
        transmission_id, transmission_time, sig_b64, cert_url, algo = (h[n] for n in names)
        if algo != "SHA256withRSA":
            raise SignatureError("PayPal webhook uses an unsupported algorithm",
                                 provider=PROVIDER)
        if not self._settings.webhook_id:
            raise SignatureError("no PayPal webhook id configured", provider=PROVIDER)
        if tolerance is not None:
            sent = _parse_time(transmission_time)
            if abs(self._clock() - sent) > tolerance:
                raise SignatureError("PayPal webhook transmission time is stale",
                                     provider=PROVIDER)
        try:
            signature = base64.b64decode(sig_b64, validate=True)
        except (binascii.Error, ValueError):
            raise SignatureError("PayPal webhook signature is not base64",
                                 provider=PROVIDER) from None
        signed = (f"{transmission_id}|{transmission_time}|{self._settings.webhook_id}|"
                  f"{zlib.crc32(body)}").encode()
        key = self._certificate(cert_url).public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise SignatureError("PayPal webhook certificate is not RSA", provider=PROVIDER)
        try:
            key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise SignatureError("PayPal webhook signature did not verify",
                                 provider=PROVIDER) from None
        try:
            event = json.loads(body)
        except ValueError:
            raise SignatureError("PayPal webhook body is not JSON", provider=PROVIDER) from None
        if not isinstance(event, dict):
            raise SignatureError("PayPal webhook body is not an event", provider=PROVIDER)
        return event

    def _certificate(self, url: str) -> x509.Certificate:
        """The signing certificate at `url`: allow-listed origin only, fetched once."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        allowed = {o.rstrip("/").lower() for o in self._settings.allowed_cert_origins}
        if (origin not in allowed or not parts.path.startswith(_CERT_PATH)
                or parts.query or parts.fragment or ".." in parts.path):
            raise SignatureError("PayPal webhook cert URL is not on the allow-list",
                                 provider=PROVIDER)
        with self._lock:
            cert = self._certs.get(url)
        if cert is None:
            try:
                response = self._http.get(url, timeout=self._settings.timeout,
                                          allow_redirects=False)
            except requests.RequestException:
                raise SignatureError("PayPal webhook cert could not be fetched",
                                     provider=PROVIDER) from None
            if response.status_code != 200:
                raise SignatureError(f"PayPal webhook cert fetch answered "
                                     f"{response.status_code}", provider=PROVIDER)
            try:
                cert = x509.load_pem_x509_certificate(response.content)
            except ValueError:
                raise SignatureError("PayPal webhook cert is not a PEM certificate",
                                     provider=PROVIDER) from None
            with self._lock:
                if len(self._certs) >= _CERT_CACHE_SIZE:
                    self._certs.pop(next(iter(self._certs)))
                self._certs[url] = cert
        now = datetime.fromtimestamp(self._clock(), UTC)
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise SignatureError("PayPal webhook cert is expired or not yet valid",
                                 provider=PROVIDER)
        return cert

    # --- HTTP ----------------------------------------------------------------------------

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            return self._http.request(method, self._settings.api_base.rstrip("/") + path,
                                      timeout=self._settings.timeout, **kwargs)
        except requests.RequestException as exc:
            raise ProviderUnavailable(f"PayPal unreachable ({type(exc).__name__})",
                                      provider=PROVIDER) from None

    def _api(self, method: str, path: str, body: Any = None,
             request_id: str | None = None) -> dict[str, Any]:
        """An authenticated JSON call. Renews the token once if PayPal rejects it, and retries
        once after a connection failure when a PayPal-Request-Id makes that safe."""
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self.access_token()}",
                       "Accept": "application/json", "Prefer": "return=representation"}
            if request_id:
                headers["PayPal-Request-Id"] = request_id
            kwargs: dict[str, Any] = {"headers": headers}
            if body is not None:
                kwargs["json"] = body
            try:
                response = self._send(method, path, **kwargs)
            except ProviderUnavailable:
                if attempt == 2 or (method != "GET" and not request_id):
                    raise
                continue
            if response.status_code == 401 and attempt == 1:
                with self._lock:
                    self._token = None
                continue
            if response.status_code >= 400:
                self._raise_for(response)
            result: dict[str, Any] = response.json()
            return result
        raise AssertionError("unreachable")

    @staticmethod
    def _raise_for(response: requests.Response) -> NoReturn:
        status = response.status_code
        try:
            err = response.json()
        except ValueError:
            err = {}
        if not isinstance(err, dict):
            err = {}
        # Two shapes: OAuth's {"error", "error_description"} and the REST {"name", "details"}.
        name = str(err.get("name") or err.get("error") or f"HTTP_{status}")
        details = err.get("details") or []
        issue = str(details[0].get("issue")) if details and isinstance(details[0], dict) else None
        description = (details[0].get("description") if issue else None) or err.get("message") \
            or err.get("error_description") or ""
        message = redact_secrets(f"PayPal {name}" + (f"/{issue}" if issue else "")
                                 + (f": {description}" if description else ""))
        code = issue or name
        if status in (401, 403):
            raise ProviderAuthError(f"PayPal rejected our credentials ({name}, HTTP {status})",
                                    provider=PROVIDER, code=code, http_status=status)
        if status == 429 or status >= 500:
            raise ProviderUnavailable(message, provider=PROVIDER, code=code, http_status=status)
        if status == 404:
            raise PaymentNotFound(message, provider=PROVIDER, code=code, http_status=status)
        if issue in _DECLINE_ISSUES:
            raise PaymentDeclined(message, provider=PROVIDER, code=code, http_status=status,
                                  user_message="PayPal declined the payment.")
        if issue in _REFUNDED_ISSUES:
            raise AlreadyRefunded(message, provider=PROVIDER, code=code, http_status=status)
        raise InvalidRequest(message, provider=PROVIDER, code=code, http_status=status)


def _path_id(value: str) -> str:
    """PayPal ids are alphanumeric; refuse anything that could change the URL path."""
    if not value or not value.replace("-", "").isalnum():
        raise InvalidRequest("malformed PayPal id", provider=PROVIDER, code="INVALID_RESOURCE_ID")
    return value


def _link(obj: Mapping[str, Any], rel: str) -> str | None:
    for link in obj.get("links") or []:
        if link.get("rel") == rel:
            return str(link["href"])
    return None


def _first_capture(order: Mapping[str, Any]) -> dict[str, Any] | None:
    for unit in order.get("purchase_units") or []:
        captures = (unit.get("payments") or {}).get("captures") or []
        if captures:
            return dict(captures[0])
    return None


def _capture_of(order: Mapping[str, Any], *, already_captured: bool) -> Capture:
    capture = _first_capture(order)
    if capture is None:
        raise PaymentError(f"PayPal order {order.get('id')} has no capture", provider=PROVIDER)
    unit = (order.get("purchase_units") or [{}])[0]
    money = capture.get("amount") or unit.get("amount") or {}
    return Capture(
        status=str(capture["status"]), capture_id=str(capture["id"]),
        amount=from_paypal_value(money.get("value", "0")),
        currency=str(money.get("currency_code", "")),
        reference_id=unit.get("reference_id"), order_id=str(order["id"]),
        payer_id=(order.get("payer") or {}).get("payer_id"),
        already_captured=already_captured,
    )


def _parse_time(value: str) -> float:
    try:
        sent = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SignatureError("PayPal webhook transmission time is malformed",
                             provider=PROVIDER) from None
    if sent.tzinfo is None:  # PayPal sends UTC; never read it as local time
        sent = sent.replace(tzinfo=UTC)
    return sent.timestamp()
