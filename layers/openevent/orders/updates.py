"""Changing an order after it is placed: the buyer's own changes (attendee details, choosing
a payment mode, placing an offline order) and the organizer's (status, amount, notes).
Every status change is a transition of `openevent.orders.lifecycle` (one conditional update
on the current status), so concurrent changes apply once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pynamodb.exceptions import UpdateError

from openevent.errors import (
    Conflict,
    Forbidden,
    Unprocessable,
    attribute_pointer,
)
from openevent.events import inventory
from openevent.events.inventory import Batch, InventoryConflict
from openevent.models.events import Event
from openevent.models.orders import (
    Order,
)
from openevent.models.users import User
from openevent.orders import figures as order_counts
from openevent.orders.lifecycle import (
    ALLOWED_FROM,
    OFFLINE_MODES,
    _move,
    cancel_order,
    check_attendees_complete,
    check_payment_mode,
)
from openevent.rules.orders import is_organizer
from openevent.rules.permissions import require_login


def update_order(user: User | None, order: Order, values: dict[str, Any]) -> Order:
    """PATCH /v1/orders/<x>: admin every field; organizer `status` only (the rest is kept);
    the buyer checks out their own `initializing` order, or completes a zero-amount one."""
    user = require_login(user)
    if user.is_staff:
        return _apply(user, order, values, every_field=True)
    if is_organizer(user, order.event_id):
        kept = {k: v for k, v in values.items() if k == "status"}
        if values.get("status") == "cancelled" and "cancel_note" in values:
            kept["cancel_note"] = values["cancel_note"]
        return _apply(user, order, kept, every_field=False)
    if int(order.user_id) != int(user.id):
        raise Forbidden("You can't change this order")
    return _buyer_update(user, order, values)


def _buyer_update(user: User, order: Order, values: dict[str, Any]) -> Order:
    from openevent.wire.orders import CHECKOUT_FIELDS

    status = values.get("status")
    others = {k: v for k, v in values.items() if k != "status"}
    if order.status == "pending" and status in (None, "pending") and set(others) == {
            "payment_mode"}:
        return choose_payment_mode(order, others["payment_mode"])
    if order.status == "pending" and status == "placed" and set(others) <= {"payment_mode"}:
        return place_offline(order, others.get("payment_mode", order.payment_mode))
    if order.status != "initializing":
        zero_completion = (status == "completed" and not others and order.amount == 0
                           and order.status == "pending")
        if not zero_completion:
            raise Forbidden("You can't change this order", attribute_pointer("status")
                            if status else None)
    for key in others:
        if key not in CHECKOUT_FIELDS:
            raise Forbidden(f"You can't change '{key.replace('_', '-')}'",
                            attribute_pointer(key))
    if "payment_mode" in others:
        check_chosen_mode(Event.get(int(order.event_id)), others["payment_mode"], order.amount)
    if others:
        order.update(actions=[getattr(Order, k).set(v) for k, v in others.items()],
                     condition=Order.status == "initializing")
    if status is None or status == order.status:
        return Order.get(order.id)
    event = Event.get(int(order.event_id))
    if status == "completed":
        if order.amount > 0:
            raise Forbidden("A paid order is completed by its payment",
                            attribute_pointer("status"))
        check_attendees_complete(order)
        return _move(order, "completed", {}, event)
    if status == "pending":
        if order.amount == 0:
            raise Unprocessable("Nothing is owed: complete the order instead",
                                attribute_pointer("status"))
        current = Order.get(order.id)
        if current.payment_mode is not None:  # unset: chosen on the payment step
            check_payment_mode(event, current.payment_mode, current.amount,
                               attribute_pointer("payment_mode"))
        check_attendees_complete(current)
        return _move(current, "pending", {}, event)
    raise Forbidden(f"You can't set the status '{status}'", attribute_pointer("status"))


def place_offline(order: Order, mode: Any) -> Order:
    """The web app's payment step for bank, cheque and onsite: the buyer places their pending
    order, to be paid outside the platform — only in a mode the event accepts, and never
    completed by the buyer (an organizer marks it completed when the money arrives, as in
    Open Event). The order stops expiring; the organizer can cancel it."""
    if mode not in OFFLINE_MODES:
        raise Forbidden("Only orders paid by bank, cheque or on site are placed by the buyer",
                        attribute_pointer("status"))
    event = Event.get(int(order.event_id))
    check_chosen_mode(event, mode, order.amount)
    check_attendees_complete(order)
    return _move(order, "placed", {"payment_mode": str(mode)}, event)


def check_chosen_mode(event: Event, mode: Any, amount: Decimal) -> None:
    """A buyer's choice of payment mode: one the event accepts for this amount (never back
    to unset)."""
    if mode is None:
        raise Unprocessable("Choose a payment mode", attribute_pointer("payment_mode"))
    check_payment_mode(event, str(mode), Decimal(amount), attribute_pointer("payment_mode"))


def choose_payment_mode(order: Order, mode: Any) -> Order:
    """The web app's payment step: the buyer picks (or switches) how to pay a `pending` order.
    Only the mode changes; the order is paid only by a confirmed payment, whatever the mode
    (a second payment for a completed order is refunded)."""
    check_chosen_mode(Event.get(int(order.event_id)), mode, order.amount)
    try:
        order.update(actions=[Order.payment_mode.set(str(mode))],
                     condition=(Order.status == "pending") & Order.transaction_id.does_not_exist())
    except UpdateError:
        raise Conflict("The order changed meanwhile", attribute_pointer("status")) from None
    return Order.get(order.id)


def _apply(user: User, order: Order, values: dict[str, Any], *, every_field: bool) -> Order:
    status = values.pop("status", None)
    note = values.pop("cancel_note", None)
    if every_field and values:
        actions = [getattr(Order, k).set(v) if v is not None else getattr(Order, k).remove()
                   for k, v in values.items()]
        if "amount" in values:
            _set_amount(order, actions, Decimal(values["amount"] or 0))
        else:
            order.update(actions=actions)
    if status is None or status == order.status:
        return Order.get(order.id)
    if status == "cancelled":
        return cancel_order(user, order, note)
    if status not in ALLOWED_FROM or status == "expired":
        raise Unprocessable(f"The status can't be set to '{status}'",
                            attribute_pointer("status"))
    if order.status not in ALLOWED_FROM[status]:
        raise Unprocessable(f"An order that is '{order.status}' can't become '{status}'",
                            attribute_pointer("status"))
    return _move(order, status, {}, Event.get(int(order.event_id)))


def _set_amount(order: Order, actions: list[Any], amount: Decimal) -> None:
    """An admin's change of the amount: with the sales figure of the order's status, in one
    transaction conditioned on the status and amount it read."""
    def build() -> Batch:
        current = Order.get(order.id)
        batch = Batch()
        condition, lines = order_counts.amount_changed(batch, current, amount)
        batch.update("order", Order(order.id), actions + lines, condition)
        return batch

    for attempt in range(3):
        try:
            inventory.run(build)
            return
        except InventoryConflict:
            if attempt == 2:
                raise Conflict("The order changed meanwhile",
                               attribute_pointer("amount")) from None
