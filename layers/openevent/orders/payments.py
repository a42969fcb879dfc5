"""Payments applied to orders: charge, verify, webhooks, refunds of what cannot be applied.
The providers themselves (gateways, payment URLs, full refunds) are in `openevent.orders.gateways`.

Payments are confirmed only by asking the provider (a verified webhook is re-checked with the
provider too), never by trusting the client. `confirm_payment()` applies a confirmation once:
a `PaymentRecord` keyed by the provider's payment id is put with `attribute_not_exists` in
the same transaction as the order's conditional status change, so replays and concurrent
deliveries of the same payment complete the order (and send its mails) exactly once.

A payment for an order that expired meanwhile is accepted if the seats (and discount uses)
can be taken again, in the same transaction; otherwise it is refunded. A payment for a
cancelled order, or a second payment for a completed one, is refunded. See docs/concurrency.md.

The Stripe SDK and `requests` load only on these paths (`openevent.payments.*_gateway`).
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from openevent.errors import (
    Conflict,
    Unprocessable,
    attribute_pointer,
)
from openevent.events.inventory import Batch, InventoryConflict, SoldOut
from openevent.mail import send_mail
from openevent.models.orders import Order, PaymentRecord, payment_key
from openevent.orders.gateways import (
    _unavailable,
    connected_account,
    paypal_gateway,
    refund_payment,
)
from openevent.orders.gateways import attach_payment_url as attach_payment_url
from openevent.orders.gateways import refund_order as refund_order
from openevent.orders.gateways import stripe_gateway as stripe_gateway
from openevent.payments import errors as perr
from openevent.payments.money import fits_currency

log = logging.getLogger("openevent.payments")
_lock = threading.Lock()
_gateways: dict[tuple[Any, ...], Any] = {}


# --- confirmation, exactly once ------------------------------------------------------------

@dataclass(frozen=True)
class Payment:
    """A payment the provider says has been collected."""

    provider: str
    payment_id: str  # the idempotency key: PaymentIntent/charge id, PayPal capture id
    order_identifier: str | None
    amount: Decimal
    currency: str
    transaction_id: str
    charge_id: str | None = None
    payment_intent: str | None = None
    account: str | None = None


def _record(batch: Batch, order: Order, payment: Payment, outcome: str, source: str) -> None:
    batch.save("record", PaymentRecord(
        payment_key(payment.provider, payment.payment_id), provider=payment.provider,
        payment_id=payment.payment_id, order_id=int(order.id),
        order_identifier=order.identifier, outcome=outcome, amount=payment.amount,
        currency=payment.currency, source=source[:200]),
        PaymentRecord.key.does_not_exist())


def _paid_values(payment: Payment) -> dict[str, Any]:
    values: dict[str, Any] = {"paid_via": payment.provider,
                              "transaction_id": payment.transaction_id}
    if payment.provider == "stripe":
        if payment.payment_intent:
            values["stripe_payment_intent"] = payment.payment_intent
        if payment.charge_id:
            values["stripe_charge_id"] = payment.charge_id
        if payment.account:
            values["stripe_account"] = payment.account
    else:
        values["paypal_capture_id"] = payment.payment_id
    return values


class UnusablePayment(Unprocessable):
    """A payment that can never be applied to this order: it names no order or another one,
    went to an account that never was the event's, or was already used for another order.
    Nothing is recorded and nothing is refunded: the platform made no such payment (it makes
    an order's payments only on its event's accounts), so it is not the platform's to touch."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, "/data/attributes")


def expected_account(order: Order) -> str | None:
    """The Stripe account an order's money must land in: the one its checkout was created
    on, else the event's Stripe authorization."""
    return order.stripe_account or connected_account(order.event_id)


def is_order_account(order: Order, account: object) -> bool:
    """`account` is, or was, the connected account of the order's event (a replaced
    connection included: the money is this event's either way)."""
    from openevent.events.stripe_connect import is_event_account

    return is_event_account(int(order.event_id), account, (order.stripe_account,))


def check_destination(order: Order, payment: Payment) -> None:
    """A payment counts for `order` only if it names this order and (Stripe) was collected
    on an account of the order's event, its current or a former connection — never one an
    attacker connected to an event of their own with metadata naming someone else's order.
    A payment that passes is applied or, if it cannot be, refunded on its account."""
    if payment.order_identifier != order.identifier:
        raise UnusablePayment("The payment does not name this order" if
                              payment.order_identifier is None else
                              "The payment is for another order")
    if payment.provider == "stripe" and not is_order_account(order, payment.account):
        raise UnusablePayment("The payment was not made to this event's Stripe account")


def confirm_payment(order: Order, payment: Payment, source: str) -> str:
    """Apply a collected payment to `order` once. Returns the outcome: `completed`,
    `duplicate` (already applied), or `refunded` (amount mismatch, order cancelled or
    already paid, or expired with its seats gone)."""
    from openevent.orders import lifecycle as order_service

    check_destination(order, payment)
    for _ in range(3):
        try:
            seen = PaymentRecord.get(payment_key(payment.provider, payment.payment_id))
        except PaymentRecord.DoesNotExist:
            seen = None
        if seen is not None:
            if int(seen.order_id) != int(order.id):
                raise UnusablePayment("This payment was already used for another order")
            if seen.outcome == "refund_pending":
                return retry_refund(seen)
            return "duplicate"
        current = Order.get(order.id)
        if payment.currency.upper() != (current.currency or "").upper() or \
                payment.amount != Decimal(current.amount):
            return _refund_unapplied(current, payment, source, "the amount paid differs")
        allowed: tuple[str, ...]
        if current.status in ("initializing", "pending", "placed"):
            allowed, reacquire = ("initializing", "pending", "placed"), False
        elif current.status == "expired":
            allowed, reacquire = ("expired",), True
        elif current.status == "completed" and current.transaction_id == payment.transaction_id:
            return "duplicate"
        else:
            return _refund_unapplied(current, payment, source, f"the order is {current.status}")
        try:
            def record(batch: Batch, current: Order = current) -> None:
                _record(batch, current, payment, "completed", source)

            before = current.status
            done = order_service.transition(
                current, "completed", values=_paid_values(payment), allowed_from=allowed,
                extra=record, reacquire=reacquire)
        except SoldOut:
            return _refund_unapplied(current, payment, source, "its seats were sold meanwhile")
        except InventoryConflict as exc:
            if exc.failed("record"):
                continue  # recorded meanwhile: decide from what the record says
            if reacquire and (exc.failed("ticket:") or exc.failed("code:")):
                return _refund_unapplied(current, payment, source,
                                         "its seats were sold meanwhile")
            continue  # the status changed meanwhile: look again
        if before != "placed":
            order_service.on_order_completed(done)
        return "completed"
    raise Conflict("The order changed meanwhile; try again", "/data")


RETRY_BUCKET = "refund"


def _refund_unapplied(order: Order, payment: Payment, source: str, why: str) -> str:
    """A collected payment that can't be applied is owed back. The debt is recorded once
    (`refund_pending`, a replay finds it), then the provider is asked; only its answer makes
    it `refunded` and mails the buyer. A failed refund stays pending for the next delivery
    or the scheduled retry."""
    record = PaymentRecord(
        payment_key(payment.provider, payment.payment_id), provider=payment.provider,
        payment_id=payment.payment_id, order_id=int(order.id),
        order_identifier=order.identifier, outcome="refund_pending", amount=payment.amount,
        currency=payment.currency, source=source[:200], reason=why[:200],
        retry_bucket=RETRY_BUCKET, payment_intent=payment.payment_intent,
        charge_id=payment.charge_id, account=payment.account)
    try:
        record.save(PaymentRecord.key.does_not_exist())
    except PutError:
        seen = PaymentRecord.get(record.key)
        return retry_refund(seen) if seen.outcome == "refund_pending" else "duplicate"
    log.info("refund owed for payment %s of order %s: %s", payment.payment_id, order.id, why)
    return retry_refund(record)


def retry_refund(record: PaymentRecord) -> str:
    """Ask the provider to refund a pending record (idempotent there by its key); returns
    `refunded`, or `refund_pending` when the provider could not be reached or refused."""
    order = Order.get(int(record.order_id))
    try:
        refund_id = refund_payment(
            str(record.provider), order, payment_intent=record.payment_intent,
            charge=record.charge_id, capture=record.payment_id,
            account=record.account, key=f"refund-{record.payment_id}")
    except perr.AlreadyRefunded:
        refund_id = "already-refunded"
    except perr.PaymentError as exc:
        log.error("refund of payment %s failed (%s); it stays pending", record.payment_id,
                  type(exc).__name__)
        return "refund_pending"
    try:
        record.update(actions=[PaymentRecord.outcome.set("refunded"),
                               PaymentRecord.refund_id.set(refund_id),
                               PaymentRecord.retry_bucket.remove()],
                      condition=PaymentRecord.outcome == "refund_pending")
    except UpdateError:
        return "refunded"  # a concurrent retry confirmed it (and mailed)
    from openevent.orders.lifecycle import _user

    buyer = _user(order.user_id)
    if buyer is not None:
        send_mail(buyer.email, "Your payment has been refunded",
                  f"We received a payment of {record.amount} {record.currency} for order "
                  f"{order.identifier}, but could not accept it because {record.reason}. "
                  "It has been refunded in full.\n")
    return "refunded"


def retry_pending_refunds(limit: int = 100) -> dict[str, int]:
    """The scheduled job: retry every refund still owed (sparse index, no Scan)."""
    done = pending = 0
    for record in PaymentRecord.retry_index.query(RETRY_BUCKET, limit=limit):
        if retry_refund(record) == "refunded":
            done += 1
        else:
            pending += 1
    return {"refunded": done, "pending": pending}


def create_paypal_payment(order: Order, return_url: str, cancel_url: str) -> dict[str, Any]:
    """POST /v1/orders/<x>/create-paypal-payment."""
    _require_payable(order, "paypal")
    try:
        paypal_id, url = paypal_gateway().create_order(
            Decimal(order.amount), order.currency, order.identifier, return_url, cancel_url)
    except perr.PaymentError as exc:
        return {"status": False, "payment_id": None, "error": exc.user_message}
    except Unprocessable as exc:
        return {"status": False, "payment_id": None, "error": exc.detail}
    order.update(actions=[Order.paypal_order_id.set(paypal_id), Order.payment_url.set(url)])
    return {"status": True, "payment_id": paypal_id, "error": None}


# --- charge and verify ---------------------------------------------------------------------

def _require_payable(order: Order, mode: str | None = None) -> None:
    if order.status in ("cancelled", "expired", "completed"):
        raise Conflict(f"The order is {order.status}", attribute_pointer("status"))
    if order.payment_mode == "free" or Decimal(order.amount) == 0:
        raise Conflict("The order is free: nothing to pay", attribute_pointer("payment_mode"))
    if order.payment_mode is None:
        raise Unprocessable("Choose a payment mode first (PATCH the order's payment-mode)",
                            attribute_pointer("payment_mode"))
    if mode is not None and order.payment_mode != mode:
        raise Unprocessable(f"The order is paid by {order.payment_mode}",
                            attribute_pointer("payment_mode"))
    if not fits_currency(Decimal(order.amount), order.currency):
        # written before amounts were kept in minor units; no provider can take it
        raise Unprocessable(f"The amount {order.amount} cannot be paid in {order.currency}; "
                            "the organizer must correct it", attribute_pointer("amount"))


def charge(order: Order, attributes: dict[str, Any]) -> tuple[bool, str]:
    """POST /v1/orders/<x>/charge: `stripe` (token, PaymentIntent or Checkout Session id) or
    `paypal-payer-id` + `paypal-payment-id`. Returns (status, message).

    A stripe order charged without `stripe` is the web app's Payment Element step: the
    message is the order's PaymentIntent (JSON, with its `client_secret`) for Stripe.js to
    confirm; the order is completed later by the verified webhook or by `verify`.

    A charge naming the very payment that already completed the order (its webhook came
    first, as PayPal's approval webhook often does) answers success again."""
    if order.status == "completed" and _already_paid_by(order, attributes):
        return _outcome_message("duplicate")
    _require_payable(order)
    stripe_ref = attributes.get("stripe")
    payer = attributes.get("paypal_payer_id")
    paypal_id = attributes.get("paypal_payment_id")
    if order.payment_mode == "paypal":
        for name, value in (("paypal_payer_id", payer), ("paypal_payment_id", paypal_id)):
            if not isinstance(value, str) or not value.strip() or len(value) > 128:
                raise Unprocessable(f"'{name.replace('_', '-')}' is required",
                                    attribute_pointer(name))
        return _charge_paypal(order, str(paypal_id))
    if order.payment_mode == "stripe":
        if stripe_ref is None:
            return True, json.dumps(payment_intent_for(order).for_client())
        if not isinstance(stripe_ref, str) or not stripe_ref.strip() or len(stripe_ref) > 255:
            raise Unprocessable("'stripe' (a token or PaymentIntent id) is required",
                                attribute_pointer("stripe"))
        return _charge_stripe(order, stripe_ref.strip())
    raise Conflict(f"Orders paid by {order.payment_mode} are not charged online",
                   attribute_pointer("payment_mode"))


def _already_paid_by(order: Order, attributes: dict[str, Any]) -> bool:
    ref = attributes.get("stripe")
    if order.paid_via == "stripe" and isinstance(ref, str) and ref.startswith("pi_"):
        return ref in (order.stripe_payment_intent, order.transaction_id)
    paypal_id = attributes.get("paypal_payment_id")
    return (order.paid_via == "paypal" and isinstance(paypal_id, str)
            and bool(order.paypal_order_id) and paypal_id == order.paypal_order_id)


OPEN_INTENT = ("requires_payment_method", "requires_confirmation", "requires_action",
               "processing")


def payment_intent_for(order: Order) -> Any:
    """The order's PaymentIntent on the event's connected account (a direct charge) for its
    exact amount: the one made before while it is open and still for this amount and
    currency, else a new one (Stripe's idempotency key is the order and amount, so racing
    requests get the same intent). Its metadata names the order; completing it is the
    webhook's or `verify`'s business, after Stripe confirms it."""
    from openevent.payments.money import to_minor_units

    # the event's connection now (an organizer who replaced it wants the money there); a
    # stale intent on the former account, paid anyway, is applied or refunded there
    account = connected_account(order.event_id) or order.stripe_account
    if account is None:
        raise Unprocessable("The event has no Stripe authorization",
                            attribute_pointer("payment_mode"))
    gateway = stripe_gateway()
    amount, currency = Decimal(order.amount), str(order.currency)
    minor = to_minor_units(amount, currency)
    try:
        if order.stripe_payment_intent and order.stripe_payment_intent.startswith("pi_") \
                and order.stripe_account == account:
            try:
                known = gateway.retrieve_intent(order.stripe_payment_intent,
                                                connected_account=account)
            except perr.PaymentNotFound:
                known = None
            if known is not None and known.status in OPEN_INTENT and known.amount == minor \
                    and known.currency.upper() == currency.upper() \
                    and known.metadata.get("order_identifier") == order.identifier:
                return known
        intent = gateway.create_payment_intent(
            connected_account=account, order_identifier=order.identifier, amount=amount,
            currency=currency, description=f"Order {order.identifier}",
            idempotency_key=f"intent-{order.identifier}-{minor}-{currency.lower()}")
    except perr.InvalidRequest as exc:  # e.g. below Stripe's minimum charge
        raise Unprocessable(f"Stripe refused this payment ({exc.code or 'invalid request'})",
                            attribute_pointer("amount")) from None
    except perr.PaymentError as exc:
        raise _unavailable(exc) from None
    try:
        # never over the payment of an order completed meanwhile (its refunds use this id)
        order.update(actions=[Order.stripe_payment_intent.set(intent.id),
                              Order.stripe_account.set(account)],
                     condition=Order.status.is_in("initializing", "pending")
                     & Order.transaction_id.does_not_exist())
    except UpdateError:
        raise Conflict("The order changed meanwhile", attribute_pointer("status")) from None
    return intent


def _stripe_payment(order: Order, paid: Any, account: str) -> Payment:
    return Payment(provider="stripe", payment_id=paid.payment_intent or paid.charge or paid.id,
                   order_identifier=paid.metadata.get("order_identifier"),
                   amount=paid.amount_decimal, currency=paid.currency.upper(),
                   transaction_id=paid.payment_intent or paid.charge or paid.id,
                   charge_id=paid.charge, payment_intent=paid.payment_intent, account=account)


def _outcome_message(outcome: str) -> tuple[bool, str]:
    if outcome in ("completed", "duplicate"):
        return True, "Charge successful"
    if outcome == "refund_pending":
        return False, ("The payment could not be applied to this order; its refund has been "
                       "requested and will be retried until the provider confirms it")
    return False, "The payment could not be applied to this order and has been refunded"


def _charge_stripe(order: Order, ref: str) -> tuple[bool, str]:
    account = order.stripe_account or connected_account(order.event_id)
    if account is None:
        raise Unprocessable("The event has no Stripe authorization",
                            attribute_pointer("payment_mode"))
    gateway = stripe_gateway()
    try:
        if ref.startswith("pi_"):
            paid = gateway.retrieve_payment_intent(ref, connected_account=account)
        elif ref.startswith("cs_"):
            paid = gateway.retrieve_checkout_session(ref, connected_account=account)
        else:
            paid = gateway.charge_token(
                connected_account=account, token=ref, amount=Decimal(order.amount),
                currency=order.currency, order_identifier=order.identifier,
                description=f"Order {order.identifier}",
                idempotency_key=f"charge-{order.identifier}-{ref}"[:255])
    except perr.PaymentDeclined as exc:
        return False, exc.user_message
    except (perr.PaymentNotFound, perr.InvalidRequest):
        raise Unprocessable("Stripe does not know this payment", attribute_pointer("stripe")
                            ) from None
    except perr.PaymentError as exc:
        raise _unavailable(exc) from None
    if not paid.paid:
        return False, "The payment has not been completed"
    if paid.object == "checkout.session":
        # A session's amount is its total; its PaymentIntent is the payment.
        paid = gateway.retrieve_payment_intent(paid.payment_intent, connected_account=account)
    return _outcome_message(confirm_payment(order, _stripe_payment(order, paid, account),
                                            "charge"))


def _paypal_payment(order_ref: str | None, capture: Any, paypal_order_id: str) -> Payment:
    return Payment(provider="paypal", payment_id=str(capture.capture_id),
                   order_identifier=order_ref, amount=Decimal(capture.amount),
                   currency=str(capture.currency).upper(), transaction_id=str(capture.capture_id))


def _charge_paypal(order: Order, paypal_order_id: str) -> tuple[bool, str]:
    gateway = paypal_gateway()
    try:
        state = gateway.get_order(paypal_order_id)
        if state.reference_id != order.identifier:
            raise Unprocessable("The PayPal payment is for another order",
                                attribute_pointer("paypal_payment_id"))
        capture = gateway.capture_order(paypal_order_id)
    except perr.PaymentDeclined as exc:
        return False, exc.user_message
    except (perr.PaymentNotFound, perr.InvalidRequest) as exc:
        if exc.code == "ORDER_NOT_APPROVED":
            return False, "The payer has not approved the payment yet"
        raise Unprocessable("PayPal does not know this payment",
                            attribute_pointer("paypal_payment_id")) from None
    except perr.PaymentError as exc:
        raise _unavailable(exc) from None
    if capture.status != "COMPLETED":
        return False, f"PayPal reports the capture as {capture.status.lower()}"
    payment = _paypal_payment(capture.reference_id, capture, paypal_order_id)
    return _outcome_message(confirm_payment(order, payment, "charge"))


def verify(order: Order) -> str:
    """POST /v1/orders/<x>/verify: ask Stripe about the order's payment; the order status."""
    if order.payment_mode == "stripe" and order.status in ("initializing", "pending",
                                                            "expired"):
        account = order.stripe_account or connected_account(order.event_id)
        ref = order.stripe_payment_intent or order.stripe_session_id
        if account and ref:
            gateway = stripe_gateway()
            try:
                if ref.startswith("cs_"):
                    session = gateway.retrieve_checkout_session(ref, connected_account=account)
                    paid = gateway.retrieve_payment_intent(
                        session.payment_intent, connected_account=account) \
                        if session.paid and session.payment_intent else session
                else:
                    paid = gateway.retrieve_payment_intent(ref, connected_account=account)
            except perr.PaymentError as exc:
                raise _unavailable(exc) from None
            if paid.paid:
                confirm_payment(order, _stripe_payment(order, paid, account), "verify")
    return str(Order.get(order.id).status)
