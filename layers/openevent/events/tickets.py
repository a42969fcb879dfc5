"""Tickets (API.md §4).

Rules, all checked here:
- name unique per event: a `Unique` claim `ticket-name#<event>#<name>` is written in the same
  transaction as the ticket (and moved in one transaction on rename), 409;
- `paid` needs price > 0, `free` no price, `donation` a min-price ≤ max-price range;
- min-order ≤ max-order; sales-starts-at < sales-ends-at ≤ the event's ends-at (422);
- paid and donation tickets need a payment method on the event (422);
- modules: ticket-include off → creating tickets 403; donation-include off → donation 403;
- hidden tickets are visible to co-organizers and up only (404 for others);
- quantity may not drop below `seats_taken` (a conditional update, so a concurrent hold cannot
  slip between the check and the write: 422);
- seats split over `seat-shards` counters (docs/scale.md): a new ticket gets
  `inventory.default_shards(quantity)` unless the organizer sets `seat-shards`; the shard
  count changes only while no seat is held or sold; a quantity edit moves the shards' free
  seats in the ticket's own transaction (and never takes more than they have free);
- DELETE of a ticket with seats taken is 409; otherwise the ticket is soft-deleted (orders keep
  resolving it) and its name claim released so the name can be reused.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from openevent.errors import Conflict, NotFound, Unprocessable, attribute_pointer
from openevent.events import inventory
from openevent.events.lifecycle import PAYMENT_FLAGS
from openevent.jsonapi.compat import core_and_extra, dump_extra
from openevent.models.base import (
    ClaimTaken,
    Unique,
    db_connection,
    next_id,
    now,
    raise_if_clashed,
    retry_id_clash,
    unique_key,
    update_moving_claim,
)
from openevent.models.events import Event, SeatShard, Ticket
from openevent.models.users import User
from openevent.payments import currencies
from openevent.payments.money import amount_exponent, fits_currency
from openevent.platform.settings import require_module
from openevent.rules.event_reads import find_ticket as find_ticket
from openevent.rules.event_reads import get_ticket as get_ticket
from openevent.rules.event_reads import get_tickets as get_tickets
from openevent.rules.event_reads import tickets_of_event as tickets_of_event
from openevent.rules.event_reads import visible_tickets as visible_tickets
from openevent.rules.permissions import require_event_role


def name_claim_key(event_id: int, name: str) -> str:
    return unique_key("ticket-name", event_id, name.strip())


# --- reads -----------------------------------------------------------------------------

def availability(event: Event, user: User | None) -> list[dict[str, Any]]:
    """`[{"id","name","quantity","available"}]`; available never negative."""
    tickets = visible_tickets(event, user)
    taken = inventory.seats_taken(tickets)
    return [
        {"id": t.id, "name": t.name, "quantity": int(t.quantity),
         "available": max(0, int(t.quantity) - taken[int(t.id)])}
        for t in tickets
    ]


# --- validation ------------------------------------------------------------------------

def _merged(values: dict[str, Any], ticket: Ticket | None) -> dict[str, Any]:
    names = ("type", "price", "min_price", "max_price", "quantity", "min_order", "max_order",
             "sales_starts_at", "sales_ends_at")
    out = {n: getattr(ticket, n) for n in names} if ticket is not None else {
        "type": "free", "price": None, "min_price": None, "max_price": None, "quantity": 100,
        "min_order": 1, "max_order": 10, "sales_starts_at": None, "sales_ends_at": None}
    out.update({k: v for k, v in values.items() if k in names})
    return out


def check_ticket(event: Event, values: dict[str, Any], ticket: Ticket | None = None) -> None:
    """Every §4 rule on the ticket as it will be after this write."""
    t = _merged(values, ticket)
    kind = t["type"]
    price: Decimal | None = t["price"]
    if kind == "paid" and (price is None or price <= 0):
        raise Unprocessable("A paid ticket needs a price greater than 0",
                            attribute_pointer("price"))
    if kind == "free" and price is not None and price > 0:
        raise Unprocessable("A free ticket cannot have a price", attribute_pointer("price"))
    currency = event.payment_currency
    for name in ("price", "min_price", "max_price"):
        amount = t[name]
        if amount is not None and not fits_currency(Decimal(amount), currency):
            raise Unprocessable(f"A price in {(currency or 'USD').upper()} has at most "
                                f"{amount_exponent(currency)} decimals",
                                attribute_pointer(name))
    if kind == "donation":
        if "type" in values or ticket is None:
            require_module("donation_include", attribute_pointer("type"))
        low, high = t["min_price"], t["max_price"]
        if low is not None and high is not None and low > high:
            raise Unprocessable("'min-price' must not exceed 'max-price'",
                                attribute_pointer("max_price"))
    if t["min_order"] > t["max_order"]:
        raise Unprocessable("'min-order' must not exceed 'max-order'",
                            attribute_pointer("min_order"))
    starts: datetime | None = t["sales_starts_at"]
    ends: datetime | None = t["sales_ends_at"]
    if starts is not None and ends is not None and starts >= ends:
        raise Unprocessable("'sales-starts-at' must be before 'sales-ends-at'",
                            attribute_pointer("sales_starts_at"))
    if ends is not None and ends > event.ends_at:
        raise Unprocessable("'sales-ends-at' must not be after the event ends",
                            attribute_pointer("sales_ends_at"))
    if kind in ("paid", "donation") and not any(getattr(event, f) for f in PAYMENT_FLAGS):
        raise Unprocessable("Paid and donation tickets need a payment method on the event",
                            attribute_pointer("type"))
    if kind in ("paid", "donation") and (ticket is None or "type" in values):
        # an event stored before the currency rule (payments/currencies.py) sells nothing
        # its own payment methods would refuse
        refused = currencies.refusal(event.payment_currency, {
            flag: getattr(event, flag) for flag in currencies.ONLINE_METHODS})
        if refused is not None:
            raise Unprocessable(f"The event's currency cannot be paid: {refused[1]}",
                                "/data/relationships/event")


# --- writes ----------------------------------------------------------------------------

@retry_id_clash
def create_ticket(user: User | None, event: Event, values: dict[str, Any]) -> Ticket:
    require_event_role(user, event, "coorganizer")
    require_module("ticket_include")
    check_ticket(event, values)
    values, extra = core_and_extra("ticket", values)
    shards = values.pop("seat_shards", None) or inventory.default_shards(
        int(values.get("quantity", 100)))
    ticket = Ticket(next_id("ticket"), event_id=event.id, extra=dump_extra("ticket", None, extra),
                    seat_shards=shards if shards > 1 else None, **values)
    if ticket.type == "free":
        ticket.price = Decimal("0.00")
    try:
        with TransactWrite(connection=db_connection()) as tx:
            tx.save(Unique(name_claim_key(event.id, ticket.name), owner=str(ticket.id)),
                    condition=Unique.key.does_not_exist())
            tx.save(ticket, condition=Ticket.id.does_not_exist())
            if shards > 1:
                for shard in inventory.shard_items(int(ticket.id), int(ticket.quantity),
                                                   shards):
                    tx.save(shard)
    except TransactWriteError:
        raise_if_clashed([ticket])  # the ticket's id was drawn elsewhere too: draw again
        raise Conflict("A ticket with this name already exists in the event",
                       attribute_pointer("name")) from None
    return ticket


def update_ticket(user: User | None, ticket: Ticket, event: Event,
                  values: dict[str, Any]) -> Ticket:
    require_event_role(user, event, "coorganizer")
    check_ticket(event, values, ticket)
    if not values:
        return ticket
    values, extra = core_and_extra("ticket", values)
    wanted = int(values.pop("seat_shards", None) or 1) if "seat_shards" in values \
        else ticket.shard_count
    actions = [getattr(Ticket, n).remove() if v is None else getattr(Ticket, n).set(v)
               for n, v in values.items()]
    if extra:
        stored = dump_extra("ticket", ticket.extra, extra)
        actions.append(Ticket.extra.set(stored) if stored else Ticket.extra.remove())
    new_claim = name_claim_key(event.id, values["name"]) if "name" in values else None
    old_claim = name_claim_key(event.id, ticket.name)
    if wanted != ticket.shard_count or (inventory.is_sharded(ticket) and "quantity" in values):
        _reshape(ticket, actions, values.get("quantity", int(ticket.quantity)), wanted,
                 old_claim, new_claim)
        return Ticket.get(ticket.id)
    if not actions:
        return ticket
    # Never below the seats already held or sold; the condition makes this race-free against
    # the inventory service's conditional increments.
    condition = Ticket.deleted_at.does_not_exist() & _same_shards(ticket)
    if "quantity" in values:
        condition &= Ticket.seats_taken <= values["quantity"]
    try:
        update_moving_claim(ticket, actions, condition, owner=str(ticket.id),
                            old_claim=old_claim, new_claim=new_claim)
    except ClaimTaken:
        raise Conflict("A ticket with this name already exists in the event",
                       attribute_pointer("name")) from None
    except TransactWriteError:
        if "quantity" in values:
            raise Unprocessable("'quantity' cannot be lower than the seats already taken",
                                attribute_pointer("quantity")) from None
        raise Conflict("The ticket changed concurrently; try again") from None
    return Ticket.get(ticket.id)


def _reshape(ticket: Ticket, actions: list[Any], quantity: int, wanted: int,
             old_claim: str, new_claim: str | None) -> None:
    """A quantity or shard-count change of a sharded (or to-be-sharded) ticket: the ticket,
    its name claim and every shard it touches in one transaction, re-read and retried when
    buyers took seats meanwhile."""
    for _ in range(5):
        current = Ticket.get(int(ticket.id), consistent_read=True)
        if current.deleted_at is not None:
            raise NotFound("Ticket not found")
        shards = inventory.read_shards(int(ticket.id)) if inventory.is_sharded(current) else {}
        batch = inventory.Batch()
        try:
            ops = inventory.reshape_shards(batch, current, shards, quantity, wanted)
        except inventory.ShardsInUse:
            raise Unprocessable("'seat-shards' can only change while no seat is held or sold",
                                attribute_pointer("seat_shards")) from None
        except inventory.BelowTaken:
            raise Unprocessable("'quantity' cannot be lower than the seats already taken",
                                attribute_pointer("quantity")) from None
        batch.update("ticket", Ticket(int(ticket.id)), actions + ops,
                     (Ticket.quantity == int(current.quantity))
                     & Ticket.deleted_at.does_not_exist() & _same_shards(current)
                     & (Ticket.seats_taken.does_not_exist()
                        | (Ticket.seats_taken == int(current.seats_taken or 0))))
        if new_claim is not None and new_claim != old_claim:
            batch.save("claim", Unique(new_claim, owner=str(ticket.id)),
                       Unique.key.does_not_exist())
            batch.delete("old-claim", Unique(old_claim))
        try:
            inventory.run(lambda batch=batch: batch)  # type: ignore[misc]
            return
        except inventory.InventoryConflict as exc:
            if exc.failed("claim"):
                raise Conflict("A ticket with this name already exists in the event",
                               attribute_pointer("name")) from None
            continue  # seats moved meanwhile: read again
    raise Conflict("The ticket changed concurrently; try again")


def delete_ticket(user: User | None, ticket: Ticket, event: Event) -> None:
    """409 while seats are held or sold; otherwise soft-delete and free the name."""
    require_event_role(user, event, "coorganizer")
    shards = inventory.read_shards(int(ticket.id)) if inventory.is_sharded(ticket) else {}
    if any(int(s.taken or 0) for s in shards.values()):
        raise Conflict("The ticket has seats held or sold and cannot be deleted")
    try:
        with TransactWrite(connection=db_connection()) as tx:
            tx.update(ticket, actions=[Ticket.deleted_at.set(now())],
                      condition=(Ticket.seats_taken == 0) & Ticket.deleted_at.does_not_exist()
                      & _same_shards(ticket))
            tx.delete(Unique(name_claim_key(event.id, ticket.name)))
            for shard in shards.values():  # no seat can be taken once they are gone
                tx.delete(shard, condition=SeatShard.taken == 0)
    except (TransactWriteError, UpdateError):
        raise Conflict("The ticket has seats held or sold and cannot be deleted") from None


def _same_shards(ticket: Ticket) -> Any:
    if ticket.seat_shards is None:
        return Ticket.seat_shards.does_not_exist()
    return Ticket.seat_shards == int(ticket.seat_shards)
