"""Placing an order: the classic flow (POST /v1/orders naming held attendees) and the checkout
flow (POST /v1/orders/create-order and calculate-order-amount naming tickets and quantities).

The rules of API.md §6, once: who may choose a status (`decide_status`) and an amount
(`decide_amount`: the server's price unless an organizer sets one), which codes apply
(`_discount_for`, `openevent.orders.pricing`), which seats are sellable. The order, its seats,
holds and code uses are written in one transaction (`openevent.orders.lifecycle._commit`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from openevent.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unprocessable,
    attribute_pointer,
    relationship_pointer,
)
from openevent.events import access_codes, inventory
from openevent.events.inventory import Batch, InventoryConflict
from openevent.models.base import Unique, get_many, next_id, now, retry_id_clash
from openevent.models.events import DiscountCode, Event, EventRole, Ticket
from openevent.models.orders import (
    HOLD_BUCKET,
    HOLDING_STATUSES,
    Attendee,
    Order,
    OrderLine,
    dump_shard_counts,
)
from openevent.models.users import User
from openevent.orders import figures as order_counts
from openevent.orders import pricing, sales_rollups
from openevent.orders.free_orders import check_free_order
from openevent.orders.lifecycle import (
    CREATE_STATUSES,
    MODE_FLAGS,
    SOLD_OUT,
    _check_sellable,
    _commit,
    _counted_is,
    _hold_until,
    _tickets_changed,
    _uncount_holds,
    check_payment_mode,
    load_tickets,
    on_order_completed,
)
from openevent.payments.money import amount_exponent, fits_currency
from openevent.platform.settings import require_module
from openevent.rules.orders import is_organizer
from openevent.rules.permissions import role_satisfies


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


def _code_for(code_ref: Any, pointer: str, event: Event | None = None) -> DiscountCode:
    """The discount code a buyer names: its text (for `event`), or its id — ids are 53 random
    bits, so only someone who was given the code (or looked it up by its text) has one.
    Anything else is 422 "Invalid Discount Code", the same answer for every wrong guess."""
    from openevent.events.discount_codes import find_code, find_code_by_text

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
        from openevent.orders import gateways

        gateways.attach_payment_url(order, event)
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
    from openevent.models.event_content import tax_claim_key

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
