"""An order's life: finding it, its status machine and transitions, seat holds and the one
transaction every seat change goes through, cancellation, expiry and completion. Placing an
order is `openevent.orders.placing`, changing it `openevent.orders.updates`, attendees one at a
time `openevent.orders.attendees`; they all move an order only through this module:

- `check_payment_mode` — payment modes an event offers; `check_attendees_complete` — the
  attendee details an event requires;
- `_commit` — the one transaction of seats, holds and code uses (sold out: 409/422, a ticket
  changed meanwhile: retried);
- `ALLOWED_FROM` — the status machine. Every transition is one conditional update on the
  current status, in the same transaction as the seat/code releases it implies
  (`openevent.events.inventory`), so concurrent cancels, expiries and payments apply once.

"Organizer" below means co-organizer or higher of the order's event, or staff.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from openevent import aws
from openevent.errors import (
    Conflict,
    NotFound,
    Unprocessable,
    attribute_pointer,
    relationship_pointer,
)
from openevent.events import access_codes, inventory
from openevent.events.inventory import Batch, InventoryConflict, SoldOut
from openevent.mail import send_mail
from openevent.models.base import now
from openevent.models.events import DiscountCode, Event, Ticket
from openevent.models.orders import (
    HOLD_BUCKET,
    HOLDING_STATUSES,
    Attendee,
    HoldCount,
    Order,
    dump_shard_counts,
    hold_count_key,
)
from openevent.models.users import User
from openevent.orders import figures as order_counts
from openevent.orders import pricing
from openevent.platform.settings import get_system_settings, require_module
from openevent.rules.orders import can_manage_attendee as can_manage_attendee
from openevent.rules.orders import can_view_order as can_view_order
from openevent.rules.orders import require_order_manage as require_order_manage
from openevent.rules.orders import require_order_view as require_order_view
from openevent.settings import get_settings

log = logging.getLogger("openevent.orders")

# The status machine: a transition to `key` is allowed only from these statuses.
ALLOWED_FROM: dict[str, frozenset[str]] = {
    "pending": frozenset({"initializing"}),
    "placed": frozenset({"initializing", "pending"}),
    "completed": frozenset({"initializing", "pending", "placed"}),
    "cancelled": frozenset({"initializing", "pending", "placed", "completed"}),
    "expired": frozenset({"initializing", "pending"}),
}
# Transitions that give the order's seats and discount uses back.
RELEASING = frozenset({"cancelled", "expired"})
# Statuses an organizer may give a new order.
CREATE_STATUSES = ("initializing", "pending", "placed", "completed")
MODE_FLAGS = {"stripe": "can_pay_by_stripe", "paypal": "can_pay_by_paypal",
              "onsite": "can_pay_onsite", "bank": "can_pay_by_bank",
              "cheque": "can_pay_by_cheque"}
DEFAULT_REQUIRED = ("firstname", "lastname", "email")
OFFLINE_MODES = ("bank", "cheque", "onsite")
SOLD_OUT = "Ticket sold out"


# --- lookups ----------------------------------------------------------------------------

def find_order(ref: str) -> Order | None:
    """The order named by numeric id or identifier (UUID)."""
    if ref.isdigit() and len(ref) <= 18:
        try:
            return Order.get(int(ref))
        except Order.DoesNotExist:
            return None
    if 0 < len(ref) <= 64:
        for order in Order.identifier_index.query(ref, limit=1):
            return order
    return None


def fresh(order: Order) -> Order:
    """Read-time expiry: an overdue initializing/pending order is expired before anyone sees
    it (the sweeper does the same on schedule; the conditional transition applies once)."""
    if order.status in HOLDING_STATUSES and order.expires_at is not None \
            and order.expires_at <= now():
        expire_order(order)
        return Order.get(order.id)
    return order


def get_order(ref: str) -> Order:
    order = find_order(ref)
    if order is None:
        raise NotFound("Order not found")
    return fresh(order)


def order_attendees(order: Order) -> list[Attendee]:
    return [a for a in Attendee.order_index.query(int(order.id)) if a.deleted_at is None]


def order_tickets(order: Order) -> list[Ticket]:
    return load_tickets(order.seat_counts())


def load_tickets(ids: Iterable[int]) -> list[Ticket]:
    keys = sorted({int(i) for i in ids})
    if not keys:
        return []
    found = {int(t.id): t for t in Ticket.batch_get(keys)}
    return [found[k] for k in keys if k in found]


def get_attendee(attendee_id: int, *, staff_reads_deleted: bool = False) -> Attendee:
    """A live attendee (404 otherwise); with `staff_reads_deleted` a soft-deleted one too
    (the caller has checked that an admin reads it)."""
    try:
        attendee = Attendee.get(attendee_id)
    except Attendee.DoesNotExist:
        raise NotFound("Attendee not found") from None
    if attendee.deleted_at is not None and not staff_reads_deleted:
        raise NotFound("Attendee not found")
    return attendee


def expiry_minutes() -> int:
    return int(get_system_settings().order_expiry_time or 15)


def _hold_until() -> datetime:
    return now() + timedelta(minutes=expiry_minutes())


# --- the rules of POST /v1/orders (API.md §6) -------------------------------------------

def check_payment_mode(event: Event, mode: str, amount: Decimal, pointer: str) -> None:
    """`free` iff the amount is 0; a paid mode must be enabled on the event; paid orders need
    the payment module (403)."""
    if amount > 0:
        require_module("payment_include", pointer)
    if mode == "free" and amount > 0:
        raise Unprocessable("Payment mode 'free' is only for orders with a zero amount", pointer)
    if mode != "free" and amount == 0:
        raise Unprocessable(f"Payment mode '{mode}' needs an amount above zero", pointer)
    flag = MODE_FLAGS.get(mode)
    if flag is not None and not getattr(event, flag, False):
        raise Unprocessable(f"Payment mode '{mode}' is not enabled for this event", pointer)


def required_attendee_fields(event_id: float) -> list[str]:
    """Attendee fields the event's attendee form marks required (default: name and email)."""
    from openevent.wire.orders import ATTENDEE_DETAILS

    try:
        from openevent.models.event_content import CustomForm
    except ImportError:  # pragma: no cover
        return list(DEFAULT_REQUIRED)
    forms = [f for f in CustomForm.event_index.query(int(event_id)) if f.form == "attendee"]
    if not forms:
        return list(DEFAULT_REQUIRED)
    return [str(f.field_identifier) for f in forms
            if f.is_required and str(f.field_identifier) in ATTENDEE_DETAILS]


def check_attendees_complete(order: Order) -> None:
    """422 naming the required attendee fields still empty."""
    required = required_attendee_fields(order.event_id)
    missing: list[str] = []
    for attendee in order_attendees(order):
        for name in required:
            value = getattr(attendee, name, None)
            if value is None or (isinstance(value, str) and not value.strip()):
                missing.append(f"attendee {attendee.id}: {name}")
    if missing:
        raise Unprocessable("Missing required attendee fields: " + ", ".join(missing),
                            relationship_pointer("attendees"))


def _check_sellable(event: Event, tickets: Iterable[Ticket], counts: dict[int, int],
                    pointer: str, *, window: bool = True, per_order: bool = True,
                    unlocked: frozenset[int] = frozenset()) -> None:
    """What a buyer (not the organizer side) may buy: the event sells tickets; hidden tickets
    are sold only when the buyer's access code unlocked them (`unlocked`,
    events/access_codes.py), else they answer like a missing ticket; and, where `window`,
    inside the sales window and, where `per_order`, within min/max-order."""
    if not event.is_ticketing_enabled:
        raise Unprocessable("Ticketing is not enabled for this event", pointer)
    at = now()
    for ticket in tickets:
        n = counts.get(int(ticket.id), 0)
        if n <= 0:
            continue
        if ticket.is_hidden and int(ticket.id) not in unlocked:
            raise Unprocessable(f"Ticket {ticket.id} not found", pointer)
        if window and ticket.sales_starts_at and at < ticket.sales_starts_at:
            raise Unprocessable(f"Sales of '{ticket.name}' have not started", pointer)
        if window and ticket.sales_ends_at and at > ticket.sales_ends_at:
            raise Unprocessable(f"Sales of '{ticket.name}' have ended", pointer)
        if per_order and ticket.min_order and n < int(ticket.min_order):
            raise Unprocessable(f"At least {ticket.min_order} of '{ticket.name}' per order",
                                pointer)
        if per_order and ticket.max_order and n > int(ticket.max_order):
            raise Unprocessable(f"At most {ticket.max_order} of '{ticket.name}' per order",
                                pointer)


def hold_cap(ticket: Ticket) -> int:
    """Seats of `ticket` one user may hold without an order: one order's worth."""
    return int(ticket.max_order or pricing.MAX_SEATS_PER_ORDER)


def _count_hold(batch: Batch, user_id: float, ticket: Ticket) -> None:
    cap = hold_cap(ticket)
    batch.update("holds", HoldCount(hold_count_key(user_id, ticket.id)), [HoldCount.held.add(1)],
                 HoldCount.held.does_not_exist() | (HoldCount.held < cap))


def _counted_is(value: bool) -> Any:
    """Condition: the attendee's hold is (not) counted; attendees older than the count lack
    the attribute and are not counted."""
    if value:
        return Attendee.counted_hold == True  # noqa: E712
    return Attendee.counted_hold.does_not_exist() | (Attendee.counted_hold == False)  # noqa: E712


def _uncount_holds(batch: Batch, attendees: Iterable[Attendee]) -> None:
    """Lower the buyers' hold counts for attendees whose holds were counted (one update per
    user and ticket: a transaction may touch an item once)."""
    counts: dict[str, int] = {}
    for a in attendees:
        if a.counted_hold:
            key = hold_count_key(a.user_id, a.ticket_id)
            counts[key] = counts.get(key, 0) + 1
    for key, n in sorted(counts.items()):
        batch.update(f"holds:{key}", HoldCount(key), [HoldCount.held.add(-n)],
                     HoldCount.held >= n)


# --- transactions ------------------------------------------------------------------------

def _commit(build: Callable[[], Batch], *, sold_out_pointer: str,
            code_pointer: str = relationship_pointer("discount_code"),
            retry_if: Callable[[InventoryConflict], bool] | None = None) -> None:
    """Run an inventory transaction, mapping failures onto the contract's errors:
    a ticket without seats 409, a code without uses 422. A failure caused by a benign
    concurrent change (`retry_if`) is retried after `build` re-reads."""
    for attempt in range(4):
        try:
            inventory.run(build)
            return
        except SoldOut as exc:
            raise Conflict(f"{SOLD_OUT}: {exc.ticket.name}", sold_out_pointer) from None
        except inventory.TooManyItems:
            raise Unprocessable("This order takes more seats and tickets than one transaction "
                                "can hold; order fewer at once", sold_out_pointer) from None
        except InventoryConflict as exc:
            if retry_if is not None and attempt < 3 and retry_if(exc):
                continue
            if exc.failed("holds"):
                raise Unprocessable("You already hold as many seats of this ticket as one "
                                    "order may have; order them or let them go first",
                                    sold_out_pointer) from None
            if exc.failed("ticket:"):
                raise Conflict(SOLD_OUT, sold_out_pointer) from None
            if exc.failed("code:"):
                raise Unprocessable(pricing.EXCEEDED, code_pointer) from None
            if exc.failed("access:"):
                raise Unprocessable(access_codes.EXHAUSTED, "/access-code") from None
            if exc.failed("attendee:"):
                raise Conflict("Attendee already belongs to an order",
                               relationship_pointer("attendees")) from None
            raise Conflict("The order was changed meanwhile; try again", "/data") from None
    raise Conflict("The order was changed meanwhile; try again", "/data")


def _tickets_changed(exc: InventoryConflict) -> bool:
    """True when a failed ticket condition was a quantity edit, not missing seats."""
    ids = [inventory.label_ticket(label) for label in exc.failed("ticket:")]
    if not ids or exc.failed("code:") or exc.failed("attendee:"):
        return False
    tickets = load_tickets(ids)
    taken = inventory.seats_taken(tickets)
    return all(taken[int(t.id)] < int(t.quantity) for t in tickets)


def transition(order: Order, to: str, *, values: dict[str, Any] | None = None,
               allowed_from: Iterable[str] | None = None,
               extra: Callable[[Batch], None] | None = None,
               reacquire: bool = False) -> Order:
    """Move `order` to status `to` with one conditional write (plus the seat and code
    releases it implies, or re-acquisition for a late payment of an expired order).
    Raises InventoryConflict("order") when the status is no longer one it may leave."""
    allowed = frozenset(allowed_from) if allowed_from is not None else ALLOWED_FROM[to]
    values = dict(values or {})
    stamp = {"completed": "completed_at", "cancelled": "cancelled_at", "expired": "expired_at"}
    if to in stamp:
        values.setdefault(stamp[to], now())

    def build() -> Batch:
        current = Order.get(order.id)
        batch = Batch()
        actions = [Order.status.set(to)]
        actions += [getattr(Order, k).set(v) for k, v in values.items()]
        if to not in HOLDING_STATUSES:
            actions.append(Order.hold_bucket.remove())
        counting, counted = order_counts.move(batch, current, to)
        actions += counting
        if current.status in allowed:
            if to in RELEASING:
                inventory.release_seats(batch, current.seat_counts(), current.shard_counts())
                if current.discount_code_id is not None:
                    inventory.release_code(batch, int(current.discount_code_id),
                                           int(current.discount_uses or 0))
                access_codes.release(batch, current.access_code_id, current.access_uses)
            if reacquire:
                tickets = {int(t.id): t for t in order_tickets(current)}
                shards = inventory.acquire_seats(batch, tickets, current.seat_counts())
                stored = dump_shard_counts(shards)
                actions.append(Order.seat_shards.set(stored) if stored
                               else Order.seat_shards.remove())
                if current.discount_code_id is not None and current.discount_uses:
                    code = DiscountCode.get(int(current.discount_code_id))
                    inventory.consume_code(batch, code, int(current.discount_uses))
                access_codes.reacquire(batch, current.access_code_id, current.access_uses)
        batch.update("order", Order(order.id), actions,
                     Order.status.is_in(*allowed) & counted)
        if extra is not None:
            extra(batch)
        return batch

    for attempt in range(3):
        try:
            inventory.run(build)
            break
        except InventoryConflict as exc:
            # the order moved between the read and the write: again while it may still move
            if attempt == 2 or exc.labels != ["order"] or \
                    Order.get(order.id).status not in allowed:
                raise
    return Order.get(order.id)


# --- holds and moves --------------------------------------------------------------------

def _hold_shard(attendee: Attendee) -> inventory.SeatShards | None:
    """Where an attendee's own hold came from, for its release (None: the ticket counter)."""
    if attendee.seat_shard is None:
        return None
    return {int(attendee.ticket_id): {int(attendee.seat_shard): 1}}


def _move(order: Order, to: str, values: dict[str, Any], event: Event) -> Order:
    before = order.status
    try:
        moved = transition(order, to, values=values)
    except InventoryConflict:
        raise Conflict("The order's status changed meanwhile", attribute_pointer("status")
                       ) from None
    if to == "placed" or (to == "completed" and before != "placed"):
        on_order_completed(moved)
    if to == "pending" and moved.payment_mode in ("stripe", "paypal"):
        from openevent.orders import gateways

        gateways.attach_payment_url(moved, event)
        moved = Order.get(order.id)
    return moved


def cancel_order(user: User | None, order: Order, note: str | None) -> Order:
    """Cancel: seats and discount uses released, buyer mailed the note, paid orders refunded
    at the provider first (a failed refund leaves the order as it was: 503, try again).

    The cancel is conditioned on the exact status it was decided from: if a payment
    completes the order meanwhile, the transaction fails and the cancel is decided again —
    now as the cancel of a paid order, which refunds. A paid order is never cancelled
    without its refund."""
    require_order_manage(user, order)
    from openevent.orders import gateways

    for _ in range(4):
        current = Order.get(order.id)
        if current.status not in ALLOWED_FROM["cancelled"]:
            raise Conflict(f"An order that is '{current.status}' can't be cancelled",
                           attribute_pointer("status"))
        if current.transaction_id and current.paid_via in ("stripe", "paypal") and \
                current.refunded_at is None:
            gateways.refund_order(current)
        try:
            cancelled = transition(current, "cancelled", allowed_from=(current.status,),
                                   values={"cancel_note": note} if note else None)
        except InventoryConflict:
            continue  # the status moved (a payment landed, an expiry): decide again
        _mail_cancellation(cancelled, note)
        return cancelled
    raise Conflict("The order's status changed meanwhile", attribute_pointer("status"))


def _mail_cancellation(order: Order, note: str | None) -> None:
    buyer = _user(order.user_id)
    if buyer is None:
        return
    event = Event.get(int(order.event_id))
    text = (f"Your order {order.identifier} for {event.name} has been cancelled.\n\n"
            + (f"Note from the organizer:\n{note}\n" if note else ""))
    if order.refund_id:
        text += f"\nYour payment of {order.amount} {order.currency} has been refunded.\n"
    send_mail(buyer.email, f"Order cancelled: {event.name}", text)


def _user(user_id: float) -> User | None:
    try:
        return User.get(int(user_id))
    except User.DoesNotExist:
        return None


# --- expiry ------------------------------------------------------------------------------

def expire_order(order: Order) -> bool:
    """Expire an overdue hold; True if this call did it (exactly one caller does)."""
    try:
        transition(order, "expired")
        return True
    except InventoryConflict:
        return False


def release_attendee_hold(attendee: Attendee) -> bool:
    """Give back the seat of an attendee that never joined an order; True if this call did."""
    batch = Batch()
    batch.update("attendee", Attendee(int(attendee.id)),
                 [Attendee.holds_seat.set(False), Attendee.hold_bucket.remove(),
                  Attendee.counted_hold.set(False)],
                 Attendee.order_id.does_not_exist() & (Attendee.holds_seat == True)  # noqa: E712
                 & Attendee.hold_bucket.exists()
                 & _counted_is(bool(attendee.counted_hold)))
    inventory.release_seats(batch, {int(attendee.ticket_id): 1}, _hold_shard(attendee))
    _uncount_holds(batch, [attendee])
    try:
        inventory.run(lambda: batch)
        return True
    except InventoryConflict:
        return False


def expire_due_orders(at: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """The sweeper: expire every overdue hold, found through the sparse hold index."""
    at = at or now()
    expired = released = 0
    for order in Order.hold_index.query(HOLD_BUCKET, Order.expires_at <= at, limit=limit):
        if expire_order(order):
            expired += 1
    for attendee in Attendee.hold_index.query(HOLD_BUCKET, Attendee.expires_at <= at,
                                              limit=limit):
        if release_attendee_hold(attendee):
            released += 1
    if expired or released:
        log.info("expired %d orders, released %d attendee holds", expired, released)
    return {"orders": expired, "attendees": released}


# --- completion --------------------------------------------------------------------------

def manifest_json(order: Order) -> str:
    """The order manifest the ticket renderer reads (openevent.documents.manifest)."""
    event = Event.get(int(order.event_id))
    buyer = _user(order.user_id)
    prices = {int(line.ticket_id): Decimal(line.price) - Decimal(line.discount or 0)
              for line in order.lines or []}
    names = {int(t.id): str(t.name) for t in order_tickets(order)}
    purchaser_name = " ".join(p for p in (buyer.first_name, buyer.last_name) if p) \
        if buyer else ""
    from openevent.documents.manifest import (
        ManifestAttendee,
        ManifestEvent,
        ManifestPurchaser,
        OrderManifest,
    )
    from openevent.signing.attendee_codes import ticket_code

    manifest = OrderManifest(
        identifier=order.identifier, status=order.status, amount=Decimal(order.amount),
        currency=order.currency or "USD", payment_mode=order.payment_mode or "free",
        completed_at=order.completed_at,
        event=ManifestEvent(id=str(event.id), identifier=event.identifier, name=event.name,
                            starts_at=event.starts_at, ends_at=event.ends_at,
                            timezone=event.timezone or "UTC",
                            location_name=event.location_name, logo_url=event.logo_url),
        purchaser=ManifestPurchaser(name=purchaser_name or (buyer.email if buyer else ""),
                                    email=buyer.email if buyer else ""),
        attendees=tuple(ManifestAttendee(
            id=str(a.id), firstname=a.firstname or "", lastname=a.lastname or "",
            email=a.email or "", ticket_id=str(a.ticket_id),
            ticket_name=names.get(int(a.ticket_id), ""),
            ticket_price=prices.get(int(a.ticket_id), Decimal(0)),
            ticket_code=ticket_code(a))
            for a in order_attendees(order)),
    )
    return manifest.to_json()


def on_order_completed(order: Order) -> None:
    """The completion hook, called once by whoever won the transition to completed/placed:
    writes the order manifest to S3 (`manifests/<identifier>.json`, which triggers the ticket
    renderer) and mails the purchaser a confirmation. Failures are logged, never raised: the
    order is complete either way."""
    try:
        aws.client("s3").put_object(Bucket=get_settings().documents_bucket,
                         Key=f"manifests/{order.identifier}.json",
                         Body=manifest_json(order).encode(), ContentType="application/json")
    except Exception:  # noqa: BLE001 - the order is complete; the renderer can be re-run
        log.exception("writing the manifest of order %s failed", order.id)
    buyer = _user(order.user_id)
    if buyer is None:
        return
    try:
        event = Event.get(int(order.event_id))
        seats = order.seats
        send_mail(buyer.email, f"Your order for {event.name}",
                  f"Thank you! Your order {order.identifier} for {event.name} is "
                  f"{order.status}.\n\nSeats: {seats}\nAmount: {order.amount} "
                  f"{order.currency}\n\nYour tickets will follow in a separate mail.\n")
    except Exception:  # noqa: BLE001
        log.exception("mailing the confirmation of order %s failed", order.id)
