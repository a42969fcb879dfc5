"""Orders and attendees: creation (classic and checkout), status transitions, completion,
cancellation and expiry. Every rule of API.md §6 lives here, once:

- `check_payment_mode` — payment modes; `decide_status` — who may choose a status;
  `decide_amount` — the server's amount unless an organizer sets one; discount checks in
  `openevent.services.pricing.check_discount_code`.
- `ALLOWED_FROM` — the status machine. Every transition is one conditional update on the
  current status, in the same transaction as the seat/code releases it implies
  (`openevent.services.inventory`), so concurrent cancels, expiries and payments apply once.

"Organizer" below means co-organizer or higher of the order's event, or staff.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pynamodb.exceptions import UpdateError

from openevent import aws
from openevent.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unprocessable,
    attribute_pointer,
    relationship_pointer,
)
from openevent.mail import send_mail
from openevent.models.base import Unique, get_many, next_id, now, retry_id_clash
from openevent.models.event_content import tax_claim_key
from openevent.models.events import DiscountCode, Event, EventRole, Ticket
from openevent.models.orders import (
    HOLD_BUCKET,
    HOLDING_STATUSES,
    Attendee,
    HoldCount,
    Order,
    OrderLine,
    dump_shard_counts,
    hold_count_key,
)
from openevent.models.users import User
from openevent.payments.money import amount_exponent, fits_currency
from openevent.permissions import has_event_role, require_login, role_satisfies
from openevent.services import access_codes, inventory, order_counts, pricing, sales_rollups
from openevent.services.free_orders import check_free_order
from openevent.services.inventory import Batch, InventoryConflict, SoldOut
from openevent.services.system import get_system_settings, require_module
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

def is_organizer(user: User | None, event_id: float) -> bool:
    """Co-organizer or higher of the event, or staff."""
    return has_event_role(user, int(event_id), "coorganizer")


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


# --- permissions ------------------------------------------------------------------------

def can_view_order(user: User | None, order: Order) -> bool:
    return user is not None and (user.is_staff or int(order.user_id) == int(user.id)
                                 or is_organizer(user, order.event_id))


def require_order_view(user: User | None, order: Order) -> User:
    user = require_login(user)
    if not can_view_order(user, order):
        raise Forbidden("You can only see your own orders")
    return user


def require_order_manage(user: User | None, order: Order) -> User:
    """Organizer of the order's event or admin (update status, cancel)."""
    user = require_login(user)
    if not is_organizer(user, order.event_id):
        raise Forbidden("Only the event's organizers can change this order")
    return user


def can_manage_attendee(user: User, attendee: Attendee) -> bool:
    if user.is_staff or int(attendee.user_id) == int(user.id):
        return True
    if is_organizer(user, attendee.event_id):
        return True
    if attendee.order_id is not None:
        try:
            return int(Order.get(int(attendee.order_id)).user_id) == int(user.id)
        except Order.DoesNotExist:
            return False
    return False


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


def decide_status(organizer: bool, requested: str | None, amount: Decimal) -> str:
    """Only organizers choose a status; everyone else gets `pending`, or `completed` when
    nothing is owed."""
    if organizer and requested is not None:
        if requested not in CREATE_STATUSES:
            raise Unprocessable(f"A new order can't be '{requested}'",
                                attribute_pointer("status"))
        return requested
    return "completed" if amount == 0 else "pending"


def decide_amount(organizer: bool, requested: Decimal | None, computed: Decimal,
                  currency: str | None = None) -> Decimal:
    """The server's amount, unless an organizer sets one (in the currency's minor units)."""
    if organizer and requested is not None:
        if not fits_currency(requested, currency):
            raise Unprocessable(f"An amount in {(currency or 'USD').upper()} has at most "
                                f"{amount_exponent(currency)} decimals",
                                attribute_pointer("amount"))
        return requested
    return computed


def required_attendee_fields(event_id: float) -> list[str]:
    """Attendee fields the event's attendee form marks required (default: name and email)."""
    from openevent.schemas.orders import ATTENDEE_DETAILS

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


def _code_for(code_ref: Any, pointer: str, event: Event | None = None) -> DiscountCode:
    """The discount code a buyer names: its text (for `event`), or its id — ids are 53 random
    bits, so only someone who was given the code (or looked it up by its text) has one.
    Anything else is 422 "Invalid Discount Code", the same answer for every wrong guess."""
    from openevent.services.discount_codes import find_code, find_code_by_text

    code: DiscountCode | None = None
    if isinstance(code_ref, int) and not isinstance(code_ref, bool) and 0 < code_ref < 2**53:
        code = find_code(code_ref)
    elif isinstance(code_ref, str) and 0 < len(code_ref.strip()) <= 100:
        text = code_ref.strip()
        if event is not None:
            code = find_code_by_text(event, text)
        if code is None and text.isdigit() and len(text) <= 16:
            code = find_code(int(text))
    if code is None or code.deleted_at is not None or (
            event is not None and int(code.event_id) != int(event.id)):
        raise Unprocessable(pricing.INVALID, pointer)
    return code


def _lines(quote: pricing.Quote) -> list[OrderLine]:
    return [OrderLine(ticket_id=int(line.ticket.id), quantity=line.quantity, price=line.price,
                      discount=line.discount, discounted=line.discounted)
            for line in quote.lines]


def _check_sellable(event: Event, tickets: Iterable[Ticket], counts: dict[int, int],
                    pointer: str, *, window: bool = True, per_order: bool = True,
                    unlocked: frozenset[int] = frozenset()) -> None:
    """What a buyer (not the organizer side) may buy: the event sells tickets; hidden tickets
    are sold only when the buyer's access code unlocked them (`unlocked`,
    services/access_codes.py), else they answer like a missing ticket; and, where `window`,
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


# --- attendees ---------------------------------------------------------------------------

@retry_id_clash
def create_attendee(user: User, event: Event, ticket_ref: str | None,
                    values: dict[str, Any]) -> Attendee:
    """A seat holder without an order: holds one seat until the order expiry time. A buyer
    holds only what they could order — inside the sales window, never a hidden ticket, and
    at most `hold_cap` seats of a ticket at once (counted in the same transaction)."""
    require_module("ticket_include")
    pointer = relationship_pointer("ticket")
    if ticket_ref is None:
        raise Unprocessable("'ticket' is required", pointer)
    if not ticket_ref.isdigit() or len(ticket_ref) > 18:
        raise NotFound("Ticket not found", pointer)
    try:
        ticket = Ticket.get(int(ticket_ref))
    except Ticket.DoesNotExist:
        raise NotFound("Ticket not found", pointer) from None
    if ticket.deleted_at is not None:
        raise NotFound("Ticket not found", pointer)
    if int(ticket.event_id) != int(event.id):
        raise Unprocessable("Ticket does not belong to this event", pointer)
    organizer = is_organizer(user, event.id)
    if not organizer:
        _check_sellable(event, [ticket], {int(ticket.id): 1}, pointer, per_order=False)
    attendee = Attendee(next_id("attendee"), event_id=int(event.id), ticket_id=int(ticket.id),
                        user_id=int(user.id), holds_seat=True, hold_bucket=HOLD_BUCKET,
                        expires_at=_hold_until(), counted_hold=not organizer, **values)

    def build() -> Batch:
        batch = Batch()
        current = Ticket.get(int(ticket.id))
        shards = inventory.acquire_seats(batch, {int(current.id): current},
                                         {int(current.id): 1})
        attendee.seat_shard = next(iter(shards[int(current.id)])) if shards else None
        batch.create("attendee", attendee)
        order_counts.attendees_added(batch, int(event.id), 1, attendee.seat_shard)
        if not organizer:
            _count_hold(batch, user.id, current)
        return batch

    _commit(build, sold_out_pointer=pointer, retry_if=_tickets_changed)
    return attendee


def update_attendee(user: User, attendee: Attendee, values: dict[str, Any]) -> Attendee:
    """Details change while the attendee has no order or its order is initializing;
    organizers may always change them."""
    if not can_manage_attendee(user, attendee):
        raise Forbidden("You can't change this attendee")
    if not is_organizer(user, attendee.event_id) and attendee.order_id is not None:
        order = Order.get(int(attendee.order_id))
        if order.status != "initializing":
            raise Forbidden("Attendee details can't be changed after checkout")
    if values:
        attendee.update(actions=[getattr(Attendee, k).set(v) if v is not None
                                 else getattr(Attendee, k).remove() for k, v in values.items()],
                        condition=Attendee.deleted_at.does_not_exist())
    return attendee


def delete_attendee(user: User, attendee: Attendee) -> None:
    """Soft-delete an attendee without an order, giving its seat back (same transaction)."""
    if not can_manage_attendee(user, attendee):
        raise Forbidden("You can't delete this attendee")
    if attendee.order_id is not None:
        raise Conflict("The attendee belongs to an order; cancel the order instead",
                       relationship_pointer("order"))

    def build() -> Batch:
        current = Attendee.get(int(attendee.id))
        batch = Batch()
        batch.update("attendee", Attendee(int(attendee.id)),
                     [Attendee.deleted_at.set(now()), Attendee.holds_seat.set(False),
                      Attendee.hold_bucket.remove(), Attendee.counted_hold.set(False)],
                     Attendee.order_id.does_not_exist() & Attendee.deleted_at.does_not_exist()
                     & (Attendee.holds_seat == bool(current.holds_seat))
                     & _counted_is(bool(current.counted_hold)))
        order_counts.attendees_added(batch, int(current.event_id), -1, current.seat_shard)
        if current.holds_seat:
            inventory.release_seats(batch, {int(current.ticket_id): 1}, _hold_shard(current))
            _uncount_holds(batch, [current])
        return batch

    try:
        inventory.run(build)
    except InventoryConflict:
        raise Conflict("The attendee changed meanwhile; try again", "/data") from None


# --- orders: creation --------------------------------------------------------------------

@retry_id_clash
def create_order(user: User, event: Event, attendee_refs: list[str], code_ref: Any,
                 values: dict[str, Any]) -> Order:
    """The classic flow: attendees first, then the order that takes them over."""
    require_module("ticket_include")
    apointer = relationship_pointer("attendees")
    cpointer = relationship_pointer("discount_code")
    if not attendee_refs:
        raise Unprocessable("An order needs at least one attendee", apointer)
    if len(attendee_refs) > pricing.MAX_SEATS_PER_ORDER or len(set(attendee_refs)) != len(
            attendee_refs):
        raise Unprocessable(f"1 to {pricing.MAX_SEATS_PER_ORDER} distinct attendees", apointer)
    organizer = is_organizer(user, event.id)
    ids = []
    for ref in attendee_refs:
        if not ref.isdigit() or len(ref) > 18:
            raise NotFound(f"Attendee {ref} not found", apointer)
        ids.append(int(ref))
    attendees = _attendees_by_id(ids, apointer)
    for a in attendees:
        if int(a.event_id) != int(event.id):
            raise Unprocessable(f"Attendee {a.id} is for another event", apointer)
        if a.order_id is not None:
            raise Conflict(f"Attendee {a.id} already belongs to an order", apointer)
        if not organizer and int(a.user_id) != int(user.id):
            raise Forbidden(f"Attendee {a.id} was created by someone else", apointer)
    if len({int(a.ticket_id) for a in attendees}) > pricing.MAX_TICKETS_PER_ORDER:
        raise Unprocessable(f"At most {pricing.MAX_TICKETS_PER_ORDER} different tickets "
                            "per order", apointer)
    counts: dict[int, int] = {}
    for a in attendees:
        counts[int(a.ticket_id)] = counts.get(int(a.ticket_id), 0) + 1
    tickets = {int(t.id): t for t in load_tickets(counts)}
    requests = [pricing.SeatRequest(tickets[tid], n) for tid, n in sorted(counts.items())
                if tid in tickets]
    if len(requests) != len(counts):
        raise Unprocessable("An attendee's ticket no longer exists", apointer)
    if not organizer:
        _check_sellable(event, tickets.values(), counts, apointer)
    code, uses = _discount_for(organizer, code_ref, event, counts, tickets, cpointer)
    quote = pricing.quote(event, requests, None if organizer else code)
    amount = decide_amount(organizer, values.get("amount"), quote.total,
                           event.payment_currency)
    check_free_order(user, organizer, amount)
    mode = values.get("payment_mode") or "free"
    check_payment_mode(event, mode, amount, attribute_pointer("payment_mode"))
    status = decide_status(organizer, values.get("status"), amount)
    order = _new_order(user, event, quote, amount, mode, status, code, uses, values)
    order.attendee_ids = ids  # type: ignore[assignment]

    def build() -> Batch:
        batch = Batch()
        batch.create("order", order)
        current = _attendees_by_id(ids, apointer)
        need: dict[int, int] = {}
        shards: inventory.SeatShards = {}
        for a in current:
            if not a.holds_seat:
                need[int(a.ticket_id)] = need.get(int(a.ticket_id), 0) + 1
            elif a.seat_shard is not None:  # the order takes over the attendee's shard seat
                per = shards.setdefault(int(a.ticket_id), {})
                per[int(a.seat_shard)] = per.get(int(a.seat_shard), 0) + 1
        if need:
            taken = inventory.acquire_seats(
                batch, {int(t.id): t for t in load_tickets(need)}, need)
            for tid, per_shard in taken.items():
                for shard, k in per_shard.items():
                    per = shards.setdefault(tid, {})
                    per[shard] = per.get(shard, 0) + k
        order.seat_shards = dump_shard_counts(shards)
        order_counts.add_new(batch, order)  # on the seat shard the order holds
        for a in current:
            batch.update(f"attendee:{a.id}", Attendee(int(a.id)),
                         [Attendee.order_id.set(int(order.id)), Attendee.holds_seat.set(True),
                          Attendee.hold_bucket.remove(), Attendee.expires_at.remove(),
                          Attendee.counted_hold.set(False)],
                         Attendee.order_id.does_not_exist()
                         & Attendee.deleted_at.does_not_exist()
                         & (Attendee.holds_seat == bool(a.holds_seat))
                         & _counted_is(bool(a.counted_hold)))

        _uncount_holds(batch, [a for a in current if a.holds_seat])
        if code is not None and uses:
            inventory.consume_code(batch, code, uses)
        return batch

    def benign(exc: InventoryConflict) -> bool:
        # an attendee's own hold expired meanwhile (then its seat is re-taken on retry)
        if exc.failed("attendee:"):
            return all(a.order_id is None for a in _attendees_by_id(ids, apointer))
        return _tickets_changed(exc)

    _commit(build, sold_out_pointer=apointer, code_pointer=cpointer, retry_if=benign)
    return _after_create(order, event)


def _hold_shard(attendee: Attendee) -> inventory.SeatShards | None:
    """Where an attendee's own hold came from, for its release (None: the ticket counter)."""
    if attendee.seat_shard is None:
        return None
    return {int(attendee.ticket_id): {int(attendee.seat_shard): 1}}


def _attendees_by_id(ids: list[int], pointer: str) -> list[Attendee]:
    found = {int(a.id): a for a in Attendee.batch_get(ids)}
    out: list[Attendee] = []
    for i in ids:
        a = found.get(i)
        if a is None or a.deleted_at is not None:
            raise NotFound(f"Attendee {i} not found", pointer)
        out.append(a)
    return out


def _discount_for(organizer: bool, code_ref: Any, event: Event, counts: dict[int, int],
                  tickets: dict[int, Ticket], pointer: str) -> tuple[DiscountCode | None, int]:
    """The code and the uses to consume. An organizer's coupon is recorded, not consumed
    (and not applied: an organizer's order is priced without it)."""
    if code_ref is None:
        return None, 0
    code = _code_for(code_ref, pointer, event)
    if organizer:
        return code, 0
    return code, pricing.check_discount_code(code, event, counts, tickets, pointer)


def _new_order(user: User, event: Event, quote: pricing.Quote, amount: Decimal, mode: str | None,
               status: str, code: DiscountCode | None, uses: int, values: dict[str, Any]
               ) -> Order:
    order = Order(next_id("order"), identifier=str(uuid.uuid4()), event_id=int(event.id),
                  user_id=int(user.id), status=status, amount=amount,
                  currency=str(event.payment_currency or "USD").upper(), payment_mode=mode,
                  lines=_lines(quote), discount_code_id=int(code.id) if code else None,
                  discount_uses=uses, rollups=sales_rollups.groups_for(event, code))
    for key in ("order_notes", "is_billing_enabled", "company", "address", "city", "state",
                "country", "zipcode", "tax_business_info"):
        if values.get(key) is not None:
            setattr(order, key, values[key])
    if status in HOLDING_STATUSES:
        order.hold_bucket = HOLD_BUCKET
        order.expires_at = _hold_until()
    if status == "completed":
        order.completed_at = now()
    return order


def _after_create(order: Order, event: Event) -> Order:
    if order.status in ("completed", "placed"):
        on_order_completed(order)
    elif order.status == "pending" and order.payment_mode in ("stripe", "paypal"):
        from openevent.services import payments

        payments.attach_payment_url(order, event)
    return order


def parse_ticket_requests(body: dict[str, Any]) -> list[tuple[int, int, Decimal | None]]:
    """`{"tickets": [{"id", "quantity", "price"?}]}` → (ticket id, quantity, donation)."""
    pointer = "/tickets"
    raw = body.get("tickets")
    if not isinstance(raw, list) or not raw:
        raise Unprocessable("'tickets' must be a non-empty list", pointer)
    if len(raw) > pricing.MAX_TICKETS_PER_ORDER:
        raise Unprocessable(f"At most {pricing.MAX_TICKETS_PER_ORDER} tickets", pointer)
    out: list[tuple[int, int, Decimal | None]] = []
    seen: set[int] = set()
    for i, item in enumerate(raw):
        at = f"{pointer}/{i}"
        if not isinstance(item, dict):
            raise Unprocessable("Each ticket must be an object", at)
        tid, qty, price = item.get("id"), item.get("quantity", 1), item.get("price")
        if isinstance(tid, bool) or not (isinstance(tid, int) or (
                isinstance(tid, str) and tid.isdigit() and len(tid) <= 18)):
            raise Unprocessable("'id' must be a ticket id", f"{at}/id")
        if isinstance(qty, bool) or not isinstance(qty, int) or not 0 <= qty <= \
                pricing.MAX_SEATS_PER_ORDER:
            raise Unprocessable(f"'quantity' must be 0..{pricing.MAX_SEATS_PER_ORDER}",
                                f"{at}/quantity")
        donation = None
        if price is not None:
            if isinstance(price, bool) or not isinstance(price, int | float | str):
                raise Unprocessable("'price' must be a number", f"{at}/price")
            try:
                donation = Decimal(str(price))
            except ArithmeticError:
                raise Unprocessable("'price' must be a number", f"{at}/price") from None
            if not donation.is_finite() or donation < 0 or donation > Decimal("100000000"):
                raise Unprocessable("'price' must be a non-negative number", f"{at}/price")
        if int(tid) in seen:
            raise Unprocessable("Each ticket may appear once", f"{at}/id")
        seen.add(int(tid))
        out.append((int(tid), qty, donation))
    if sum(q for _, q, _ in out) > pricing.MAX_SEATS_PER_ORDER:
        raise Unprocessable(f"At most {pricing.MAX_SEATS_PER_ORDER} seats per order", pointer)
    return out


@dataclass
class _Basket:
    """What pricing a basket needs, read in two round trips: the tickets, then the event, the
    caller's role in it and the event's tax claim together (plus the tax, if it has one)."""

    event: Event
    requests: list[pricing.SeatRequest]
    tickets: dict[int, Ticket]
    organizer: bool
    tax: pricing.TaxInfo | None


def _priced_request(user: User | None, body: dict[str, Any]) -> _Basket:
    wanted = parse_ticket_requests(body)
    tickets = {int(t.id): t for t in load_tickets(t for t, _, _ in wanted)}
    requests: list[pricing.SeatRequest] = []
    event_ids: set[int] = set()
    for i, (tid, qty, donation) in enumerate(wanted):
        ticket = tickets.get(tid)
        if ticket is None or ticket.deleted_at is not None:
            raise Unprocessable(f"Ticket {tid} not found", f"/tickets/{i}/id")
        event_ids.add(int(ticket.event_id))
        if donation is not None and ticket.type != "donation":
            donation = None  # a price is only taken for donation tickets
        requests.append(pricing.SeatRequest(ticket, qty, donation))
    if len(event_ids) != 1:
        raise Unprocessable("All tickets must belong to one event", "/tickets")
    event_id = event_ids.pop()
    found = get_many([(Event, event_id, None), (Unique, tax_claim_key(event_id), None)]
                     + ([(EventRole, event_id, int(user.id))] if user is not None else []))
    event, claim = found[0], found[1]
    if not isinstance(event, Event):
        raise Unprocessable("The tickets' event does not exist", "/tickets")
    role = found[2] if len(found) > 2 else None
    organizer = user is not None and (user.is_staff or role_satisfies(
        str(role.role) if isinstance(role, EventRole) else None, "coorganizer"))
    visible = bool(user is not None and user.is_staff) if event.deleted_at is not None \
        else event.state == "published" or organizer  # can_see_event, role already read
    if not visible:
        raise Unprocessable("The tickets' event does not exist", "/tickets")
    for i, request in enumerate(requests):
        pricing.unit_price(request.ticket, request.price, f"/tickets/{i}/price",
                           event.payment_currency)
    tax = pricing.event_tax(event_id) if isinstance(claim, Unique) else None
    return _Basket(event, requests, tickets, organizer, tax)


def _access_ref(body: dict[str, Any]) -> Any:
    return body.get("access-code", body.get("access_code"))


def calculate_amount(user: User | None, body: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/orders/calculate-amount: the price of a basket, nothing written — priced as
    create-order would price it for this caller (an organizer's coupon is not applied)."""
    basket = _priced_request(user, body)
    event, requests, tickets = basket.event, basket.requests, basket.tickets
    code_ref = body.get("discount-code", body.get("discount_code"))
    counts = {int(r.ticket.id): r.quantity for r in requests if r.quantity > 0}
    organizer = basket.organizer
    if not organizer:
        unlock = access_codes.unlock_for_order(user, event, _access_ref(body), tickets.values(),
                                               counts)
        _check_sellable(event, tickets.values(), counts, "/tickets", window=False,
                        unlocked=unlock.ticket_ids)
    code, _ = _discount_for(organizer, code_ref, event, counts, tickets, "/discount-code")
    quote = pricing.quote(event, requests, None if organizer else code, tax=basket.tax,
                          load_tax=False).to_json()
    if not isinstance(code_ref, str) or code is None or code_ref.strip().lower() != \
            str(code.code).lower():
        for line in quote["tickets"]:  # the buyer did not type the code: don't reveal it
            if line["discount"] is not None:
                line["discount"]["code"] = None
    return quote


@retry_id_clash
def create_checkout_order(user: User, body: dict[str, Any]) -> Order:
    """POST /v1/orders/create-order: blank attendees and an `initializing` order holding the
    seats, in one transaction."""
    require_module("ticket_include")
    basket = _priced_request(user, body)
    event, tickets = basket.event, basket.tickets
    requests = [r for r in basket.requests if r.quantity > 0]
    if not requests:
        raise Unprocessable("Choose at least one seat", "/tickets")
    counts = {int(r.ticket.id): r.quantity for r in requests}
    organizer = basket.organizer
    unlock = access_codes.NONE
    if not organizer:
        unlock = access_codes.unlock_for_order(user, event, _access_ref(body), tickets.values(),
                                               counts)
        _check_sellable(event, tickets.values(), counts, "/tickets", unlocked=unlock.ticket_ids)
    code_ref = body.get("discount-code", body.get("discount_code"))
    code, uses = _discount_for(organizer, code_ref, event, counts, tickets, "/discount-code")
    for r in requests:  # fail fast, before ids are allocated; the transaction decides races
        if not inventory.is_sharded(r.ticket) and \
                int(r.ticket.seats_taken or 0) + r.quantity > int(r.ticket.quantity):
            raise Conflict(f"{SOLD_OUT}: {r.ticket.name}", "/tickets")
    quote = pricing.quote(event, requests, None if organizer else code, tax=basket.tax,
                          load_tax=False)
    check_free_order(user, organizer, quote.total)
    mode = body.get("payment-mode", body.get("payment_mode"))
    if mode is not None:
        if mode not in MODE_FLAGS and mode != "free":
            raise Unprocessable("Unknown payment mode", "/payment-mode")
        check_payment_mode(event, mode, quote.total, "/payment-mode")
    elif quote.total == 0:
        mode = "free"
    # else: a paid order's mode stays unset until the buyer chooses it at the payment step
    order = _new_order(user, event, quote, quote.total, mode, "initializing", code, uses, {})
    if unlock.code is not None:
        order.access_code_id, order.access_uses = int(unlock.code.id), unlock.uses
    attendees = []
    for r in requests:
        for _ in range(r.quantity):
            attendees.append(Attendee(next_id("attendee"), event_id=int(event.id),
                                      ticket_id=int(r.ticket.id), user_id=int(user.id),
                                      order_id=int(order.id), holds_seat=True))
    order.attendee_ids = [int(a.id) for a in attendees]  # type: ignore[misc]

    current = dict(tickets)

    def build() -> Batch:
        # the tickets just read, until a quantity edit made the transaction fail (reread)
        batch = Batch()
        shards = inventory.acquire_seats(batch, current, counts)
        order.seat_shards = dump_shard_counts(shards)
        order_counts.add_new(batch, order, attendees=len(attendees))
        batch.create("order", order)
        for a in attendees:
            batch.create(f"attendee:{a.id}", a)
        if code is not None and uses:
            inventory.consume_code(batch, code, uses)
        access_codes.consume(batch, unlock)
        return batch

    def reread(exc: InventoryConflict) -> bool:
        if not _tickets_changed(exc):
            return False
        current.update({int(t.id): t for t in load_tickets(counts)})
        return True

    _commit(build, sold_out_pointer="/tickets", code_pointer="/discount-code",
            retry_if=reread)
    return order


# --- orders: updates ---------------------------------------------------------------------

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
    from openevent.schemas.orders import CHECKOUT_FIELDS

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
        from openevent.services import payments

        payments.attach_payment_url(moved, event)
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
    from openevent.services import payments

    for _ in range(4):
        current = Order.get(order.id)
        if current.status not in ALLOWED_FROM["cancelled"]:
            raise Conflict(f"An order that is '{current.status}' can't be cancelled",
                           attribute_pointer("status"))
        if current.transaction_id and current.paid_via in ("stripe", "paypal") and \
                current.refunded_at is None:
            payments.refund_order(current)
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
    from openevent.checkin.tickets import ticket_code
    from openevent.documents.manifest import (
        ManifestAttendee,
        ManifestEvent,
        ManifestPurchaser,
        OrderManifest,
    )

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
