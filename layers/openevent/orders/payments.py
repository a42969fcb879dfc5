"""Provider glue for orders: payment URLs, charge, verify, webhooks, refunds.

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
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from openevent.errors import (
    BadRequest,
    Conflict,
    ServiceUnavailable,
    Unprocessable,
    attribute_pointer,
)
from openevent.events import inventory
from openevent.events.inventory import Batch, InventoryConflict, SoldOut
from openevent.mail import send_mail
from openevent.models.base import now
from openevent.models.events import Event
from openevent.models.orders import Order, PaymentRecord, payment_key
from openevent.payments import errors as perr
from openevent.payments.money import fits_currency, from_minor_units
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
        refund_id = _refund(str(record.provider), order, payment_intent=record.payment_intent,
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


# --- refunds -------------------------------------------------------------------------------

def _refund(provider: str, order: Order, *, payment_intent: str | None, charge: str | None,
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
    from openevent.models.base import now

    try:
        refund_id = _refund(str(order.paid_via), order, payment_intent=order.stripe_payment_intent,
                            charge=order.stripe_charge_id, capture=order.paypal_capture_id,
                            account=order.stripe_account, key=f"refund-{order.identifier}")
    except perr.AlreadyRefunded:
        refund_id = order.refund_id or "already-refunded"
    except perr.PaymentError as exc:
        raise _unavailable(exc) from None
    order.update(actions=[Order.refund_id.set(refund_id), Order.refunded_at.set(now()),
                          Order.refunded_amount.set(Decimal(order.amount))])


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
