"""Events, event roles and role invites, tickets and discount codes.

Inventory lives on the items themselves and only changes by conditional writes:
`Ticket.seats_taken` (seats held by pending orders plus seats sold) never exceeds
`Ticket.quantity` (for a ticket split over `SeatShard`s, every shard's `left` stays ≥ 0
and the shards' `left` plus `taken` add up to the quantity), and `DiscountCode.used_count`
never exceeds `tickets_number`
(see openevent/events/inventory.py, docs/concurrency.md).
"""

from __future__ import annotations

from decimal import Decimal

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex
from pynamodb.models import Model

from openevent.models.base import DecimalAttribute, IntAttribute, index_meta, now, table_meta
from openevent.request_memo import MemoDroppingModel


class IdentifierIndex(GlobalSecondaryIndex["Event"]):
    Meta = index_meta("identifier-index")
    identifier = UnicodeAttribute(hash_key=True)


class EventStateIndex(GlobalSecondaryIndex["Event"]):
    """Events by state in id order: the public list queries `state = published`."""

    Meta = index_meta("state-index")
    state = UnicodeAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


class EventEndsIndex(GlobalSecondaryIndex["Event"]):
    """Events by state in order of their end. "Not ended yet" (the home page's filter,
    `/v1/events/upcoming`) is a key condition here, so those lists read the events that end
    after now — never the past ones the table accumulates."""

    Meta = index_meta("ends-index")
    state = UnicodeAttribute(hash_key=True)
    ends_at = UTCDateTimeAttribute(range_key=True)


class EventKindIndex(GlobalSecondaryIndex["Event"]):
    """Every event in id order, for staff lists."""

    Meta = index_meta("kind-index")
    kind = UnicodeAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


class Event(MemoDroppingModel, Model):
    Meta = table_meta("events")
    extra = UnicodeAttribute(null=True)  # Open Event attributes (jsonapi/compat.py), JSON
    id = IntAttribute(hash_key=True)
    kind = UnicodeAttribute(default="event")
    identifier = UnicodeAttribute()
    owner_id = IntAttribute()
    name = UnicodeAttribute()
    starts_at = UTCDateTimeAttribute()
    ends_at = UTCDateTimeAttribute()
    timezone = UnicodeAttribute(default="UTC")
    state = UnicodeAttribute(default="draft")
    privacy = UnicodeAttribute(default="public")
    description = UnicodeAttribute(null=True)
    location_name = UnicodeAttribute(null=True)
    logo_url = UnicodeAttribute(null=True)
    original_image_url = UnicodeAttribute(null=True)
    payment_currency = UnicodeAttribute(default="USD")
    payment_country = UnicodeAttribute(null=True)
    paypal_email = UnicodeAttribute(null=True)
    can_pay_by_stripe = BooleanAttribute(default=False)
    can_pay_by_paypal = BooleanAttribute(default=False)
    can_pay_onsite = BooleanAttribute(default=False)
    can_pay_by_bank = BooleanAttribute(default=False)
    can_pay_by_cheque = BooleanAttribute(default=False)
    is_donation_enabled = BooleanAttribute(default=False)
    is_ticketing_enabled = BooleanAttribute(default=True)
    discount_code_id = IntAttribute(null=True)  # the event-level (admin) code
    # Has a Stripe authorization: set in the transactions that create and delete one, so a
    # list page answers `is-stripe-linked` without a read per event. None: an event written
    # before the flag existed (looked up instead).
    stripe_linked = BooleanAttribute(null=True)
    created_at = UTCDateTimeAttribute(default=now)
    deleted_at = UTCDateTimeAttribute(null=True)

    identifier_index = IdentifierIndex()
    state_index = EventStateIndex()
    ends_index = EventEndsIndex()
    kind_index = EventKindIndex()


class UserRolesIndex(GlobalSecondaryIndex["EventRole"]):
    """The events a user holds a role in."""

    Meta = index_meta("user-index")
    user_id = IntAttribute(hash_key=True)
    event_id = IntAttribute(range_key=True)


class EventRole(MemoDroppingModel, Model):
    """One user's role in one event (one item per pair; the highest role wins)."""

    Meta = table_meta("event-roles")
    event_id = IntAttribute(hash_key=True)
    user_id = IntAttribute(range_key=True)
    id = IntAttribute()
    role = UnicodeAttribute()
    created_at = UTCDateTimeAttribute(default=now)

    user_index = UserRolesIndex()


class InviteTokenIndex(GlobalSecondaryIndex["RoleInvite"]):
    Meta = index_meta("token-index")
    token_hash = UnicodeAttribute(hash_key=True)


class InviteEventIndex(GlobalSecondaryIndex["RoleInvite"]):
    Meta = index_meta("event-index")
    event_id = IntAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


class RoleInvite(Model):
    Meta = table_meta("role-invites")
    id = IntAttribute(hash_key=True)
    event_id = IntAttribute()
    email = UnicodeAttribute()
    role = UnicodeAttribute()
    status = UnicodeAttribute(default="pending")  # pending | accepted | declined
    token_hash = UnicodeAttribute()
    created_at = UTCDateTimeAttribute(default=now)

    token_index = InviteTokenIndex()
    event_index = InviteEventIndex()


class TicketEventIndex(GlobalSecondaryIndex["Ticket"]):
    Meta = index_meta("event-index")
    event_id = IntAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


class Ticket(Model):
    Meta = table_meta("tickets")
    extra = UnicodeAttribute(null=True)  # Open Event attributes (jsonapi/compat.py), JSON
    id = IntAttribute(hash_key=True)
    event_id = IntAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    type = UnicodeAttribute(default="free")  # free | paid | donation
    price = DecimalAttribute(null=True)
    min_price = DecimalAttribute(null=True)
    max_price = DecimalAttribute(null=True)
    quantity = IntAttribute(default=100)
    min_order = IntAttribute(default=1)
    max_order = IntAttribute(default=10)
    sales_starts_at = UTCDateTimeAttribute(null=True)
    sales_ends_at = UTCDateTimeAttribute(null=True)
    is_hidden = BooleanAttribute(default=False)
    position = IntAttribute(default=0)
    # Seats held by unexpired pending orders plus seats sold. Conditional writes keep
    # seats_taken <= quantity.
    seats_taken = IntAttribute(default=0)
    # Set (> 1) when the seats live in that many `SeatShard` items instead of `seats_taken`
    # (a hot on-sale: buyers' transactions spread over shards instead of one item).
    seat_shards = IntAttribute(null=True)
    # Set only by a transaction that saw every shard at left = 0, removed by every
    # transaction that gives a shard seats back: buyers of a sold-out sharded ticket are
    # answered from the ticket they read, without trying a shard.
    shards_empty = BooleanAttribute(null=True)
    created_at = UTCDateTimeAttribute(default=now)
    deleted_at = UTCDateTimeAttribute(null=True)

    event_index = TicketEventIndex()

    @property
    def shard_count(self) -> int:
        return int(self.seat_shards or 1)


class SeatShard(Model):
    """One share of a sharded ticket's seats: `left` seats still free and `taken` held or
    sold. Buyers take from `left` with the condition `left >= n` (no read needed), releases
    give back to the shard the seats came from (`taken >= n`); a quantity edit moves `left`
    of the shards in one transaction with the ticket."""

    Meta = table_meta("seat-shards")
    ticket_id = IntAttribute(hash_key=True)
    shard = IntAttribute(range_key=True)
    left = IntAttribute(default=0)
    taken = IntAttribute(default=0)


class CodeEventIndex(GlobalSecondaryIndex["DiscountCode"]):
    Meta = index_meta("event-index")
    event_id = IntAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


class CodeMarketerIndex(GlobalSecondaryIndex["DiscountCode"]):
    """Sparse: codes with a marketer (`/v1/users/<id>/discount-codes`)."""

    Meta = index_meta("marketer-index")
    marketer_id = IntAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


class CodeUseIndex(GlobalSecondaryIndex["DiscountCode"]):
    """Codes by `used_for`: the admin's list Queries the "event" partition."""

    Meta = index_meta("used-for-index")
    used_for = UnicodeAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


class DiscountCode(Model):
    Meta = table_meta("discount-codes")
    id = IntAttribute(hash_key=True)
    event_id = IntAttribute()
    code = UnicodeAttribute()
    discount_url = UnicodeAttribute(null=True)
    value = DecimalAttribute(default=lambda: Decimal("0"))
    type = UnicodeAttribute(default="amount")  # amount | percent
    is_active = BooleanAttribute(default=True)
    tickets_number = IntAttribute(null=True)  # total seats the code may be applied to
    min_quantity = IntAttribute(null=True)
    max_quantity = IntAttribute(null=True)
    valid_from = UTCDateTimeAttribute(null=True)
    valid_till = UTCDateTimeAttribute(null=True)
    used_for = UnicodeAttribute(default="ticket")  # ticket | event
    ticket_ids = ListAttribute(of=IntAttribute, default=list)
    marketer_id = IntAttribute(null=True)
    created_by = IntAttribute(null=True)
    # Seats the code has been applied to; conditional writes keep it <= tickets_number.
    used_count = IntAttribute(default=0)
    created_at = UTCDateTimeAttribute(default=now)
    deleted_at = UTCDateTimeAttribute(null=True)

    event_index = CodeEventIndex()
    marketer_index = CodeMarketerIndex()
    used_for_index = CodeUseIndex()
