"""The payment providers as orders use them: each gateway built once per configuration, the
event's connected Stripe account, an order's payment URL, and full refunds (idempotent: the
refund's idempotency key is the order's, and a refunded payment counts as done).

Provider errors become 503 (`_unavailable`), never a 500. The Stripe SDK and `requests` load
only when a gateway is first built (`openevent.payments.*_gateway`).
"""

from __future__ import annotations

import logging
import threading
import time
from decimal import Decimal
from typing import Any

from openevent.errors import (
    ServiceUnavailable,
    Unprocessable,
    attribute_pointer,
)
from openevent.models.base import now
from openevent.models.events import Event
from openevent.models.orders import Order
from openevent.payments import errors as perr
from openevent.platform.settings import get_system_settings
from openevent.settings import get_settings

log = logging.getLogger("openevent.payments")
_lock = threading.Lock()
_gateways: dict[tuple[Any, ...], Any] = {}



# --- gateways ------------------------------------------------------------------------------

def stripe_gateway() -> Any:
    """A StripeGateway for the platform keys in SystemSettings (cached per configuration)."""
    from openevent.payments.stripe_gateway import (
        DEFAULT_API_BASE,
        DEFAULT_CONNECT_BASE,
        StripeGateway,
        StripeSettings,
    )

    system, env = get_system_settings(), get_settings()
    if not system.stripe_secret_key:
        raise Unprocessable("Stripe is not configured by the administrator",
                            attribute_pointer("payment_mode"))
    key = ("stripe", system.stripe_secret_key, system.stripe_webhook_secret,
           env.stripe_api_base, env.stripe_connect_base)
    with _lock:
        gateway = _gateways.get(key)
        if gateway is None:
            gateway = StripeGateway(StripeSettings(
                secret_key=system.stripe_secret_key,
                webhook_secret=system.stripe_webhook_secret,
                client_id=system.stripe_client_id,
                api_base=env.stripe_api_base or DEFAULT_API_BASE,
                connect_base=env.stripe_connect_base or DEFAULT_CONNECT_BASE,
                timeout=15, max_network_retries=1))
            _gateways[key] = gateway
    return gateway


def paypal_gateway() -> Any:
    """A PayPalGateway for the REST app in SystemSettings (cached: it caches its token)."""
    from openevent.payments.paypal_gateway import (
        LIVE_API_BASE,
        LIVE_CERT_ORIGINS,
        SANDBOX_API_BASE,
        SANDBOX_CERT_ORIGINS,
        PayPalGateway,
        PayPalSettings,
    )

    system, env = get_system_settings(), get_settings()
    if not system.paypal_client or not system.paypal_secret:
        raise Unprocessable("PayPal is not configured by the administrator",
                            attribute_pointer("payment_mode"))
    live = system.paypal_mode == "live"
    base = env.paypal_api_base or (LIVE_API_BASE if live else SANDBOX_API_BASE)
    origins: tuple[str, ...] = tuple(LIVE_CERT_ORIGINS if live else SANDBOX_CERT_ORIGINS)
    if env.paypal_api_base:
        origins = (env.paypal_api_base,)
    key = ("paypal", system.paypal_client, system.paypal_secret, system.paypal_webhook_id, base)
    with _lock:
        gateway = _gateways.get(key)
        if gateway is None:
            gateway = PayPalGateway(PayPalSettings(
                client_id=system.paypal_client, client_secret=system.paypal_secret,
                webhook_id=system.paypal_webhook_id, api_base=base,
                allowed_cert_origins=tuple(origins), timeout=15))
            _gateways[key] = gateway
    return gateway


def connected_account(event_id: float) -> str | None:
    """The Stripe account id the event's payments go to (the organizer's Connect account)."""
    from openevent.events.stripe_connect import connected_account_for

    found = connected_account_for(int(event_id))
    return found[0] if found else None


def _unavailable(exc: perr.PaymentError) -> ServiceUnavailable:
    log.warning("%s call failed: %s (%s)", exc.provider, type(exc).__name__, exc.code)
    return ServiceUnavailable(f"The payment provider could not be reached ({exc.provider}); "
                              "try again later")


# --- payment URLs --------------------------------------------------------------------------

def _return_urls(order: Order) -> tuple[str, str]:
    front = (get_system_settings().frontend_url or get_settings().frontend_url).rstrip("/")
    return (f"{front}/orders/{order.identifier}/view",
            f"{front}/orders/{order.identifier}/pending")


def attach_payment_url(order: Order, event: Event) -> Order:
    """Create the provider checkout for a pending stripe/paypal order and store its URL:
    a Checkout Session on the event's connected account, or a PayPal order approval link.
    A provider failure leaves the order pending without a URL (charge still works)."""
    success, cancel = _return_urls(order)
    description = f"{event.name} — order {order.identifier}"[:200]
    try:
        if order.payment_mode == "stripe":
            account = connected_account(event.id)
            if account is None:
                log.warning("event %s has no Stripe authorization", event.id)
                return order
            expires = int(order.expires_at.timestamp()) if order.expires_at else None
            # Stripe wants a Checkout Session to live at least 30 minutes.
            min_expiry = int(time.time()) + 31 * 60
            session = stripe_gateway().create_checkout_session(
                connected_account=account, order_identifier=order.identifier,
                amount=Decimal(order.amount), currency=order.currency,
                description=description, success_url=success, cancel_url=cancel,
                expires_at=max(expires, min_expiry) if expires else None,
                idempotency_key=f"checkout-{order.identifier}")
            order.update(actions=[Order.payment_url.set(session.url),
                                  Order.stripe_session_id.set(session.id),
                                  Order.stripe_account.set(account)])
        elif order.payment_mode == "paypal":
            paypal_id, url = paypal_gateway().create_order(
                Decimal(order.amount), order.currency, order.identifier, success, cancel,
                description=description, request_id=f"create-{order.identifier}")
            order.update(actions=[Order.payment_url.set(url),
                                  Order.paypal_order_id.set(paypal_id)])
    except (perr.PaymentError, Unprocessable, ValueError) as exc:
        log.warning("payment url for order %s failed: %s", order.id, type(exc).__name__)
    return order


# --- refunds -------------------------------------------------------------------------------

def refund_payment(provider: str, order: Order, *, payment_intent: str | None, charge: str | None,
            capture: str | None, account: str | None, key: str) -> str:
    if provider == "stripe":
        acct = account or order.stripe_account or connected_account(order.event_id)
        if acct is None:
            raise perr.InvalidRequest("no connected account", provider="stripe")
        refund = stripe_gateway().refund(
            connected_account=acct, payment_intent=payment_intent,
            charge=None if payment_intent else charge, idempotency_key=key)
        return str(refund.id)
    if capture is None:
        raise perr.InvalidRequest("no capture to refund", provider="paypal")
    return str(paypal_gateway().refund_capture(capture, request_id=key).id)


def refund_order(order: Order) -> None:
    """Refund a paid order in full at its provider (idempotent: a refunded payment is done)."""

    try:
        refund_id = refund_payment(
            str(order.paid_via), order, payment_intent=order.stripe_payment_intent,
            charge=order.stripe_charge_id, capture=order.paypal_capture_id,
            account=order.stripe_account, key=f"refund-{order.identifier}")
    except perr.AlreadyRefunded:
        refund_id = order.refund_id or "already-refunded"
    except perr.PaymentError as exc:
        raise _unavailable(exc) from None
    order.update(actions=[Order.refund_id.set(refund_id), Order.refunded_at.set(now()),
                          Order.refunded_amount.set(Decimal(order.amount))])
