"""Provider webhooks for orders: Stripe's and PayPal's signed events, verified, then applied
through `openevent.orders.payments.confirm_payment` (exactly once per payment) or recorded as
refunds made at the provider (each refund id counted once, so replays and reordering change
nothing).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from pynamodb.exceptions import UpdateError

from openevent.errors import (
    BadRequest,
    ServiceUnavailable,
    Unprocessable,
)
from openevent.events import inventory
from openevent.events.inventory import Batch, InventoryConflict
from openevent.models.base import now
from openevent.models.orders import Order, PaymentRecord, payment_key
from openevent.orders.gateways import (
    _unavailable,
    paypal_gateway,
)
from openevent.orders.gateways import attach_payment_url as attach_payment_url
from openevent.orders.gateways import refund_order as refund_order
from openevent.orders.gateways import stripe_gateway as stripe_gateway
from openevent.orders.payments import (
    Payment,
    UnusablePayment,
    _paypal_payment,
    _stripe_payment,
    confirm_payment,
    is_order_account,
)
from openevent.payments import errors as perr
from openevent.payments.money import from_minor_units

log = logging.getLogger("openevent.payments")


# --- webhooks ------------------------------------------------------------------------------

def _order_by_identifier(identifier: Any) -> Order | None:
    if not isinstance(identifier, str) or not identifier or len(identifier) > 64:
        return None
    for order in Order.identifier_index.query(identifier, limit=1):
        return order
    return None


WEBHOOK_TOLERANCE = 300  # seconds: older deliveries are replays (Stripe's own default)


def _webhook_outcome(order: Order, payment: Payment, source: str) -> dict[str, Any]:
    try:
        outcome = confirm_payment(order, payment, source)
    except UnusablePayment as exc:
        log.warning("webhook %s: %s", source, exc.detail)
        return {"received": True, "applied": "unusable"}
    if outcome == "refund_pending":
        # the provider could not refund now: fail the delivery so it is sent again
        raise ServiceUnavailable("A refund is pending at the provider; deliver again later")
    return {"received": True, "applied": outcome}


def stripe_webhook(body: bytes, signature: str | None) -> dict[str, Any]:
    """Verify, re-check with Stripe on the account that sent it, confirm once (or refund).
    400 on a bad signature. Only the event's accounts count — its connection or a former
    one (a replaced connection); a payment on any account that never was the event's is
    ignored."""
    try:
        gateway = stripe_gateway()
        event = gateway.verify_webhook(body, signature)
    except (perr.SignatureError, Unprocessable):
        raise BadRequest("Invalid Stripe signature", parameter="Stripe-Signature") from None
    kind = str(event.get("type", ""))
    obj = (event.get("data") or {}).get("object") or {}
    if not isinstance(obj, dict) or kind not in (
            "checkout.session.completed", "checkout.session.async_payment_succeeded",
            "payment_intent.succeeded", "charge.succeeded", "charge.refunded"):
        return {"received": True, "applied": "ignored"}
    meta = obj.get("metadata") or {}
    order = _order_by_identifier(meta.get("order_identifier") or obj.get("client_reference_id"))
    if order is None:
        return {"received": True, "applied": "unknown order"}
    account = event.get("account")
    if not isinstance(account, str) or not is_order_account(order, account):
        log.warning("stripe event %s from account %s is not for order %s's account",
                    event.get("id"), event.get("account"), order.id)
        return {"received": True, "applied": "foreign account"}
    try:
        if kind.startswith("checkout.session"):
            session = gateway.retrieve_checkout_session(str(obj.get("id")),
                                                        connected_account=account)
            if not session.paid or not session.payment_intent:
                return {"received": True, "applied": "unpaid"}
            paid = gateway.retrieve_payment_intent(session.payment_intent,
                                                   connected_account=account)
        elif kind == "payment_intent.succeeded":
            paid = gateway.retrieve_payment_intent(str(obj.get("id")), connected_account=account)
        else:
            paid = gateway.retrieve_charge(str(obj.get("id")), connected_account=account)
    except perr.PaymentNotFound:
        return {"received": True, "applied": "unknown payment"}
    except perr.PaymentError as exc:
        raise _unavailable(exc) from None  # 503: the provider retries the delivery
    if kind == "charge.refunded":
        ours = (paid.id == order.stripe_charge_id or (
            paid.payment_intent is not None and paid.payment_intent == order.stripe_payment_intent))
        if not ours or not order.transaction_id:
            return {"received": True, "applied": "not this order's payment"}
        return {"received": True, "applied": record_refund_total(
            order, from_minor_units(paid.amount_refunded, paid.currency))}
    if not paid.paid:
        return {"received": True, "applied": "unpaid"}
    return _webhook_outcome(order, _stripe_payment(order, paid, account),
                            f"webhook:{event.get('id')}")


def record_refund_total(order: Order, total: Decimal) -> str:
    """The provider reports `total` refunded so far on the order's payment (Stripe's
    `amount_refunded`): kept if larger than what we know, so reordered deliveries never
    lower it. Fully refunded → `refunded_at`."""
    actions: list[Any] = [Order.refunded_amount.set(total)]
    if total >= Decimal(order.amount):
        actions.append(Order.refunded_at.set(now()))
    try:
        order.update(actions=actions, condition=Order.refunded_amount.does_not_exist()
                     | (Order.refunded_amount < total))
    except UpdateError:
        return "duplicate"
    return "refund recorded"


def _record_refund_delta(order: Order, refund_id: str, amount: Decimal) -> str:
    """PayPal reports each refund on its own: counted once per refund id, in one
    transaction with the order's running total."""
    batch = Batch()
    batch.save("refund", PaymentRecord(
        payment_key("paypal-refund", refund_id), provider="paypal", payment_id=refund_id,
        order_id=int(order.id), order_identifier=order.identifier, outcome="refund",
        amount=amount, currency=order.currency, source="webhook"),
        PaymentRecord.key.does_not_exist())
    total = Decimal(order.refunded_amount or 0) + amount
    actions: list[Any] = [Order.refunded_amount.add(amount)]
    if total >= Decimal(order.amount):
        actions.append(Order.refunded_at.set(now()))
    batch.update("order", Order(order.id), actions)
    try:
        inventory.run(lambda: batch)
    except InventoryConflict:
        return "duplicate"
    return "refund recorded"


def paypal_webhook(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """Verify (within the transmission-time tolerance), re-check with PayPal (capturing an
    approved order), confirm once; refunds update the order's refunded amount."""
    try:
        gateway = paypal_gateway()
        event = gateway.verify_webhook(headers, body, tolerance=WEBHOOK_TOLERANCE)
    except (perr.SignatureError, Unprocessable):
        raise BadRequest("Invalid PayPal signature",
                         parameter="PAYPAL-TRANSMISSION-SIG") from None
    kind = str(event.get("event_type", ""))
    resource = event.get("resource") or {}
    if not isinstance(resource, dict):
        return {"received": True, "applied": "ignored"}
    if kind == "PAYMENT.CAPTURE.REFUNDED":
        return _paypal_refund(resource)
    try:
        if kind == "CHECKOUT.ORDER.APPROVED":
            paypal_order_id = str(resource.get("id", ""))
        elif kind == "PAYMENT.CAPTURE.COMPLETED":
            related = (resource.get("supplementary_data") or {}).get("related_ids") or {}
            paypal_order_id = str(related.get("order_id", ""))
        else:
            return {"received": True, "applied": "ignored"}
        state = gateway.get_order(paypal_order_id)
        order = _order_by_identifier(state.reference_id)
        if order is None:
            return {"received": True, "applied": "unknown order"}
        if state.status == "APPROVED":
            capture = gateway.capture_order(paypal_order_id)
        elif state.status == "COMPLETED" and state.capture_status == "COMPLETED":
            capture = gateway.capture_order(paypal_order_id)  # reports already_captured
        else:
            return {"received": True, "applied": "unpaid"}
    except (perr.PaymentNotFound, perr.InvalidRequest, perr.PaymentDeclined):
        return {"received": True, "applied": "unusable"}
    except perr.PaymentError as exc:
        raise _unavailable(exc) from None
    if capture.status != "COMPLETED":
        return {"received": True, "applied": "unpaid"}
    return _webhook_outcome(order, _paypal_payment(state.reference_id, capture,
                                                   paypal_order_id),
                            f"webhook:{event.get('id')}")


def _paypal_refund(resource: dict[str, Any]) -> dict[str, Any]:
    raw_links = resource.get("links")
    links: list[Any] = raw_links if isinstance(raw_links, list) else []
    up = next((str(link.get("href", "")) for link in links
               if isinstance(link, dict) and link.get("rel") == "up"), "")
    capture_id = up.rstrip("/").rsplit("/", 1)[-1] if "/captures/" in up else ""
    order = _order_by_identifier(resource.get("custom_id"))
    if order is None or not capture_id or order.paypal_capture_id != capture_id:
        return {"received": True, "applied": "not this order's payment"}
    raw_money = resource.get("amount")
    money: dict[str, Any] = raw_money if isinstance(raw_money, dict) else {}
    try:
        amount = Decimal(str(money.get("value")))
    except ArithmeticError:
        return {"received": True, "applied": "unusable"}
    if not amount.is_finite() or amount <= 0 or str(money.get("currency_code", "")).upper() \
            != (order.currency or "").upper():
        return {"received": True, "applied": "unusable"}
    return {"received": True, "applied": _record_refund_delta(order, str(resource.get("id")),
                                                               amount)}
