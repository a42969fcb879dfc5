"""Stripe: Connect OAuth, Checkout Sessions, PaymentIntents and token charges on an organizer's
account, refunds, webhook signatures.

Payments are direct charges on the organizer's connected account: the platform's secret key
plus the `Stripe-Account` header, so a card token made with the organizer's publishable key
(the Open Event frontend's card flow) is charged where it was created.

Importing this module imports the `stripe` SDK; only the orders/events code paths that talk to
Stripe should import it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NoReturn

import stripe
from stripe.oauth_error import OAuthError

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
from .money import from_minor_units, to_minor_units

PROVIDER = "stripe"
DEFAULT_API_BASE = "https://api.stripe.com"
DEFAULT_CONNECT_BASE = "https://connect.stripe.com"


class _RedactStripeLog(logging.Filter):
    """The SDK logs response bodies at DEBUG, which for /oauth/token hold the organizer's
    access and refresh tokens; scrub every record of the `stripe` logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_secrets(record.getMessage())
        record.args = None
        return True


_stripe_logger = logging.getLogger("stripe")
if not any(isinstance(f, _RedactStripeLog) for f in _stripe_logger.filters):
    _stripe_logger.addFilter(_RedactStripeLog())


@dataclass(frozen=True)
class StripeSettings:
    """What a StripeGateway needs. Point `api_base`/`connect_base` at a fake in tests."""

    secret_key: str = field(repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    client_id: str | None = None  # Connect platform client id (ca_...), for authorize URLs
    api_base: str = DEFAULT_API_BASE
    connect_base: str = DEFAULT_CONNECT_BASE
    timeout: float = 20.0
    max_network_retries: int = 2


@dataclass(frozen=True)
class ConnectAccount:
    """An organizer's Stripe account as returned by the Connect OAuth code exchange."""

    stripe_user_id: str
    publishable_key: str
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    livemode: bool
    scope: str | None = None


@dataclass(frozen=True)
class CheckoutSession:
    """A freshly created Checkout Session: send the buyer to `url`."""

    id: str
    url: str
    status: str  # open | complete | expired
    amount: int  # minor units
    currency: str  # lower case, as Stripe sends it
    expires_at: int | None


@dataclass(frozen=True)
class StripePayment:
    """State of a Checkout Session, PaymentIntent or Charge, normalized.

    `paid` is True only when the money has been collected: session `payment_status` "paid",
    PaymentIntent "succeeded", or a captured, succeeded Charge.
    """

    id: str
    object: str  # checkout.session | payment_intent | charge
    status: str  # the provider's own status string
    paid: bool
    amount: int  # minor units (amount_total for a session)
    currency: str
    metadata: dict[str, str]
    payment_intent: str | None = None
    charge: str | None = None
    amount_refunded: int = 0

    @property
    def amount_decimal(self) -> Decimal:
        """`amount` as a Decimal in the currency's major unit."""
        return from_minor_units(self.amount, self.currency)


@dataclass(frozen=True)
class PaymentIntent:
    """A PaymentIntent as the buyer's browser needs it: Stripe.js confirms it with the
    connected account's publishable key and `client_secret`."""

    id: str
    status: str  # requires_payment_method | requires_action | processing | succeeded | ...
    amount: int  # minor units
    currency: str
    client_secret: str = field(repr=False)
    metadata: dict[str, str]
    livemode: bool = False

    def for_client(self) -> dict[str, Any]:
        """The fields Stripe.js works with (what Stripe shows a publishable key)."""
        return {"id": self.id, "object": "payment_intent", "amount": self.amount,
                "currency": self.currency, "status": self.status,
                "client_secret": self.client_secret, "livemode": self.livemode}


@dataclass(frozen=True)
class StripeRefund:
    """A refund Stripe accepted."""

    id: str
    status: str  # succeeded | pending | requires_action | failed | canceled
    amount: int
    currency: str
    charge: str | None
    payment_intent: str | None


def verify_webhook(
    payload: bytes, signature_header: str | None, secret: str, tolerance: int = 300
) -> dict[str, Any]:
    """Check a `Stripe-Signature: t=..,v1=..` header over the raw body; return the event dict.

    Raises SignatureError when the header is missing or malformed, no v1 signature matches
    HMAC-SHA256(secret, "<t>.<body>"), or `t` is more than `tolerance` seconds old.
    """
    try:
        stripe.WebhookSignature.verify_header(payload, signature_header, secret, tolerance)
    except stripe.SignatureVerificationError:
        # The SDK's message can echo the header; ours says only what failed.
        raise SignatureError("Stripe webhook signature did not verify", provider=PROVIDER) from None
    except (UnicodeDecodeError, ValueError):
        raise SignatureError("Stripe webhook header or body malformed", provider=PROVIDER) from None
    try:
        event = json.loads(payload)
    except ValueError:
        raise SignatureError("Stripe webhook body is not JSON", provider=PROVIDER) from None
    if not isinstance(event, dict):
        raise SignatureError("Stripe webhook body is not an event", provider=PROVIDER)
    return event


def _raise_translated(exc: stripe.StripeError) -> NoReturn:
    """Map an SDK error onto ours: our own message, provider text redacted, no chained cause
    (the SDK's exception text can quote a masked API key)."""
    status = exc.http_status
    err = getattr(exc, "error", None)
    code = exc.code or (getattr(err, "code", None) if err else None)
    detail = redact_secrets(exc.user_message or "") if exc.user_message else ""
    if isinstance(exc, stripe.CardError):
        decline_code = getattr(err, "decline_code", None) if err else None
        raise PaymentDeclined(
            f"Stripe declined the card ({code}, {decline_code})",
            provider=PROVIDER, code=code, http_status=status,
            user_message=detail or "Your card was declined.", decline_code=decline_code,
        ) from None
    if isinstance(exc, OAuthError):
        raise InvalidRequest(
            f"Stripe Connect rejected the authorization code ({exc.code})",
            provider=PROVIDER, code=exc.code, http_status=status,
        ) from None
    if isinstance(exc, (stripe.AuthenticationError, stripe.PermissionError)):
        raise ProviderAuthError(
            f"Stripe rejected our credentials or account access (HTTP {status}, {code})",
            provider=PROVIDER, code=code, http_status=status,
        ) from None
    if isinstance(exc, (stripe.APIConnectionError, stripe.RateLimitError)) or (
        isinstance(exc, stripe.APIError) and not isinstance(exc, stripe.InvalidRequestError)
    ):
        raise ProviderUnavailable(
            f"Stripe unavailable ({type(exc).__name__}, HTTP {status})",
            provider=PROVIDER, code=code, http_status=status,
        ) from None
    if code == "resource_missing" or status == 404:
        raise PaymentNotFound(
            f"Stripe object not found: {detail}", provider=PROVIDER, code=code, http_status=status
        ) from None
    if code == "charge_already_refunded":
        raise AlreadyRefunded(
            f"Stripe payment already refunded: {detail}",
            provider=PROVIDER, code=code, http_status=status,
        ) from None
    if isinstance(exc, (stripe.InvalidRequestError, stripe.IdempotencyError)):
        raise InvalidRequest(
            f"Stripe rejected the request ({code}): {detail}",
            provider=PROVIDER, code=code, http_status=status,
        ) from None
    raise PaymentError(
        f"Stripe error ({type(exc).__name__}, HTTP {status}, {code})",
        provider=PROVIDER, code=code, http_status=status,
    ) from None


def _metadata(obj: Any) -> dict[str, str]:
    meta = obj.get("metadata") or {}
    return {str(k): str(v) for k, v in meta.items()}


def _id_of(value: Any) -> str | None:
    """An expandable field: either an id string or an expanded object."""
    if value is None or isinstance(value, str):
        return value
    return str(value.get("id"))


class StripeGateway:
    """Stripe calls on behalf of the platform. Build one per settings; it holds no other state."""

    def __init__(self, settings: StripeSettings) -> None:
        self._settings = settings
        http_client = stripe.RequestsClient(timeout=settings.timeout)
        self._client = stripe.StripeClient(
            settings.secret_key,
            client_id=settings.client_id,
            base_addresses={"api": settings.api_base, "connect": settings.connect_base},
            max_network_retries=settings.max_network_retries,
            http_client=http_client,
        )

    # --- Connect -------------------------------------------------------------------------

    def connect_authorize_url(self, state: str, redirect_uri: str | None = None) -> str:
        """The URL that sends an organizer to Stripe to connect their account (read_write)."""
        params: dict[str, Any] = {"scope": "read_write", "state": state}
        if redirect_uri:
            params["redirect_uri"] = redirect_uri
        try:
            return self._client.oauth.authorize_url(params)  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            _raise_translated(exc)

    def exchange_connect_code(self, code: str) -> ConnectAccount:
        """Trade the `code` from Stripe's Connect redirect for the organizer's account keys."""
        try:
            token = self._client.oauth.token(
                {"grant_type": "authorization_code", "code": code}
            ).to_dict()
        except stripe.StripeError as exc:
            _raise_translated(exc)
        return ConnectAccount(
            stripe_user_id=str(token["stripe_user_id"]),
            publishable_key=str(token["stripe_publishable_key"]),
            access_token=str(token["access_token"]),
            refresh_token=token.get("refresh_token"),
            livemode=bool(token.get("livemode", False)),
            scope=token.get("scope"),
        )

    # --- Payments --------------------------------------------------------------------------

    def create_checkout_session(
        self,
        *,
        connected_account: str,
        order_identifier: str,
        amount: Decimal,
        currency: str,
        description: str,
        success_url: str,
        cancel_url: str,
        customer_email: str | None = None,
        application_fee: Decimal | None = None,
        expires_at: int | None = None,
        idempotency_key: str | None = None,
    ) -> CheckoutSession:
        """A `payment`-mode Checkout Session for the order's total on the organizer's account.

        The order identifier travels as `client_reference_id` and as `order_identifier`
        metadata on both the session and its PaymentIntent, so every webhook names the order.
        """
        meta = {"order_identifier": order_identifier}
        payment_intent_data: dict[str, Any] = {"metadata": meta, "description": description}
        if application_fee is not None:
            payment_intent_data["application_fee_amount"] = to_minor_units(
                application_fee, currency
            )
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [{
                "quantity": 1,
                "price_data": {
                    "currency": currency.lower(),
                    "unit_amount": to_minor_units(amount, currency),
                    "product_data": {"name": description},
                },
            }],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": order_identifier,
            "metadata": meta,
            "payment_intent_data": payment_intent_data,
        }
        if customer_email:
            params["customer_email"] = customer_email
        if expires_at is not None:
            params["expires_at"] = expires_at
        session = self._call(
            self._client.v1.checkout.sessions.create, params,
            connected_account, idempotency_key,
        )
        return CheckoutSession(
            id=session["id"],
            url=session["url"],
            status=session["status"],
            amount=int(session["amount_total"]),
            currency=session["currency"],
            expires_at=session.get("expires_at"),
        )

    def retrieve_checkout_session(
        self, session_id: str, *, connected_account: str
    ) -> StripePayment:
        """Current state of a Checkout Session (paid once `payment_status` is "paid")."""
        s = self._call_retrieve(self._client.v1.checkout.sessions.retrieve, session_id,
                                connected_account)
        return StripePayment(
            id=s["id"], object="checkout.session", status=s["status"],
            paid=s.get("payment_status") == "paid", amount=int(s.get("amount_total") or 0),
            currency=s["currency"], metadata=_metadata(s),
            payment_intent=_id_of(s.get("payment_intent")),
        )

    def retrieve_payment_intent(
        self, payment_intent_id: str, *, connected_account: str
    ) -> StripePayment:
        """Current state of a PaymentIntent (paid once "succeeded")."""
        pi = self._call_retrieve(self._client.v1.payment_intents.retrieve, payment_intent_id,
                                 connected_account)
        return StripePayment(
            id=pi["id"], object="payment_intent", status=pi["status"],
            paid=pi["status"] == "succeeded", amount=int(pi["amount"]),
            currency=pi["currency"], metadata=_metadata(pi), payment_intent=pi["id"],
            charge=_id_of(pi.get("latest_charge")),
        )

    def create_payment_intent(
        self,
        *,
        connected_account: str,
        order_identifier: str,
        amount: Decimal,
        currency: str,
        description: str,
        idempotency_key: str | None = None,
    ) -> PaymentIntent:
        """A PaymentIntent for the order's total, a direct charge on the organizer's account,
        for the Payment Element (Stripe.js) to confirm; its metadata names the order."""
        params = {
            "amount": to_minor_units(amount, currency),
            "currency": currency.lower(),
            "description": description,
            "metadata": {"order_identifier": order_identifier},
            "automatic_payment_methods": {"enabled": True},
        }
        pi = self._call(self._client.v1.payment_intents.create, params, connected_account,
                        idempotency_key)
        return self._intent(pi)

    def retrieve_intent(self, payment_intent_id: str, *, connected_account: str
                        ) -> PaymentIntent:
        """A PaymentIntent with its `client_secret` (to hand an open one to the buyer again)."""
        pi = self._call_retrieve(self._client.v1.payment_intents.retrieve, payment_intent_id,
                                 connected_account)
        return self._intent(pi)

    @staticmethod
    def _intent(pi: dict[str, Any]) -> PaymentIntent:
        return PaymentIntent(
            id=pi["id"], status=pi["status"], amount=int(pi["amount"]),
            currency=pi["currency"], client_secret=str(pi.get("client_secret") or ""),
            metadata=_metadata(pi), livemode=bool(pi.get("livemode", False)))

    def retrieve_charge(self, charge_id: str, *, connected_account: str) -> StripePayment:
        """Current state of a Charge."""
        ch = self._call_retrieve(self._client.v1.charges.retrieve, charge_id, connected_account)
        return self._charge_payment(ch)

    def charge_token(
        self,
        *,
        connected_account: str,
        token: str,
        amount: Decimal,
        currency: str,
        order_identifier: str,
        description: str,
        idempotency_key: str | None = None,
    ) -> StripePayment:
        """Charge a Stripe.js card token (`tok_...`) on the organizer's account.

        A decline raises PaymentDeclined with Stripe's buyer-facing message.
        """
        params = {
            "amount": to_minor_units(amount, currency),
            "currency": currency.lower(),
            "source": token,
            "description": description,
            "metadata": {"order_identifier": order_identifier},
        }
        ch = self._call(self._client.v1.charges.create, params, connected_account,
                        idempotency_key)
        return self._charge_payment(ch)

    def refund(
        self,
        *,
        connected_account: str,
        payment_intent: str | None = None,
        charge: str | None = None,
        amount: Decimal | None = None,
        currency: str | None = None,
        reason: str = "requested_by_customer",
        idempotency_key: str | None = None,
    ) -> StripeRefund:
        """Refund a PaymentIntent or Charge, in full unless `amount` (with `currency`) is given.

        A payment already refunded in full raises AlreadyRefunded.
        """
        if (payment_intent is None) == (charge is None):
            raise ValueError("pass exactly one of payment_intent or charge")
        params: dict[str, Any] = {"reason": reason}
        if payment_intent:
            params["payment_intent"] = payment_intent
        if charge:
            params["charge"] = charge
        if amount is not None:
            if currency is None:
                raise ValueError("a partial refund needs its currency")
            params["amount"] = to_minor_units(amount, currency)
        r = self._call(self._client.v1.refunds.create, params, connected_account,
                       idempotency_key)
        return StripeRefund(
            id=r["id"], status=r["status"], amount=int(r["amount"]), currency=r["currency"],
            charge=_id_of(r.get("charge")), payment_intent=_id_of(r.get("payment_intent")),
        )

    # --- Webhooks --------------------------------------------------------------------------

    def verify_webhook(
        self, payload: bytes, signature_header: str | None, tolerance: int = 300
    ) -> dict[str, Any]:
        """verify_webhook() with the configured endpoint secret."""
        if not self._settings.webhook_secret:
            raise SignatureError("no Stripe webhook secret configured", provider=PROVIDER)
        return verify_webhook(payload, signature_header, self._settings.webhook_secret, tolerance)

    # --- internals -------------------------------------------------------------------------

    @staticmethod
    def _options(connected_account: str, idempotency_key: str | None = None) -> dict[str, Any]:
        options: dict[str, Any] = {"stripe_account": connected_account}
        if idempotency_key:
            options["idempotency_key"] = idempotency_key
        return options

    def _call(self, method: Any, params: Mapping[str, Any], connected_account: str,
              idempotency_key: str | None) -> dict[str, Any]:
        try:
            obj = method(dict(params), self._options(connected_account, idempotency_key))
        except stripe.StripeError as exc:
            _raise_translated(exc)
        return obj.to_dict()

    def _call_retrieve(self, method: Any, object_id: str, connected_account: str
                       ) -> dict[str, Any]:
        try:
            obj = method(object_id, None, self._options(connected_account))
        except stripe.StripeError as exc:
            _raise_translated(exc)
        return obj.to_dict()

    @staticmethod
    def _charge_payment(ch: Any) -> StripePayment:
        return StripePayment(
            id=ch["id"], object="charge", status=ch["status"],
            paid=bool(ch.get("paid")) and bool(ch.get("captured"))
            and ch["status"] == "succeeded",
            amount=int(ch["amount"]), currency=ch["currency"], metadata=_metadata(ch),
            payment_intent=_id_of(ch.get("payment_intent")), charge=ch["id"],
            amount_refunded=int(ch.get("amount_refunded") or 0),
        )
