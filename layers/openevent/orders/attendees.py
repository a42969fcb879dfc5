"""Attendees one at a time (Open Event's classic flow: POST /v1/attendees, then an order
naming them): each attendee holds one seat of its ticket from creation, counted against the
buyer's hold cap, in the same transaction as the seat; deleting an attendee releases both.
Changes that touch seats go through `openevent.orders.lifecycle._commit` (sold-out and
changed-ticket conflicts retried or answered 409/422)."""

from __future__ import annotations

from typing import Any

from openevent.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unprocessable,
    relationship_pointer,
)
from openevent.events import inventory
from openevent.events.inventory import Batch, InventoryConflict
from openevent.models.base import next_id, now, retry_id_clash
from openevent.models.events import Event, Ticket
from openevent.models.orders import (
    HOLD_BUCKET,
    Attendee,
    Order,
)
from openevent.models.users import User
from openevent.orders import figures as order_counts
from openevent.orders.lifecycle import (
    _check_sellable,
    _commit,
    _count_hold,
    _counted_is,
    _hold_shard,
    _hold_until,
    _tickets_changed,
    _uncount_holds,
)
from openevent.platform.settings import require_module
from openevent.rules.orders import can_manage_attendee, is_organizer


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
