"""Orders, attendees and payment records.

An order holds seats (`Ticket.seats_taken`) from the moment it is created until it is paid,
cancelled or expires; which orders currently hold *releasable* seats is visible through the
sparse `hold-index` (`hold_bucket`, `expires_at`): the attribute is set only while an order is
`initializing`/`pending` (or an attendee holds a seat without an order), so the expiry sweeper
Queries exactly the due holds — never a Scan. See docs/concurrency.md.
"""

from __future__ import annotations

import json
from decimal import Decimal

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex
from pynamodb.models import Model

from openevent.models.base import DecimalAttribute, IntAttribute, index_meta, now, table_meta

# The value of `hold_bucket` while a hold can expire. One partition is plenty for the number of
# simultaneously open checkouts; shard it (`hold#0..n`) if that ever becomes hot.
HOLD_BUCKET = "hold"


def _zero() -> Decimal:
    return Decimal(0)


ORDER_STATUSES = ("initializing", "pending", "placed", "completed", "cancelled", "expired")
# Statuses whose seats are held until payment and which expire.
HOLDING_STATUSES = ("initializing", "pending")
# Statuses whose seats count as taken (held or sold).
SEAT_STATUSES = ("initializing", "pending", "placed", "completed")
PAYMENT_MODES = ("free", "stripe", "paypal", "onsite", "bank", "cheque")


class OrderIdentifierIndex(GlobalSecondaryIndex["Order"]):
    Meta = index_meta("identifier-index")
    identifier = UnicodeAttribute(hash_key=True)


class OrderEventIndex(GlobalSecondaryIndex["Order"]):
    Meta = index_meta("event-index")
    event_id = IntAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


class OrderEventStatusIndex(GlobalSecondaryIndex["Order"]):
    """An event's orders in one status (`event_status` = "<event id>#<status>"): the
    organizer's order tabs page here, reading their page, not the event's every order."""

    Meta = index_meta("event-status-index")
    event_status = UnicodeAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


class OrderUserIndex(GlobalSecondaryIndex["Order"]):
    Meta = index_meta("user-index")
    user_id = IntAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


class OrderKindIndex(GlobalSecondaryIndex["Order"]):
    """Every order in id order: the admin list Queries it (no Scan)."""

    Meta = index_meta("kind-index")
    kind = UnicodeAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


class OrderHoldIndex(GlobalSecondaryIndex["Order"]):
    """Sparse: only orders whose seats are held until `expires_at`."""

    Meta = index_meta("hold-index")
    hold_bucket = UnicodeAttribute(hash_key=True)
    expires_at = UTCDateTimeAttribute(range_key=True)


class OrderLine(MapAttribute):  # type: ignore[type-arg]
    """Seats of one ticket in an order, priced when the order was made."""

    ticket_id = IntAttribute()
    quantity = IntAttribute()
    price = DecimalAttribute()  # unit price before discount
    discount = DecimalAttribute(default=_zero)  # per seat
    discounted = BooleanAttribute(default=False)  # the order's code applies to this ticket
    # This ticket's share of an admin's change of the order's amount (the whole line, not per
    # seat; on the ticket's first line): its sales figure counts it (orders/figures.py)
    adjustment = DecimalAttribute(null=True)


class Order(Model):
    Meta = table_meta("orders")
    extra = UnicodeAttribute(null=True)  # Open Event attributes (jsonapi/compat.py), JSON
    id = IntAttribute(hash_key=True)
    kind = UnicodeAttribute(default="order")
    identifier = UnicodeAttribute()
    event_id = IntAttribute()
    user_id = IntAttribute()
    status = UnicodeAttribute(default="pending")
    # "<event id>#<status>", written with `status` (event_status_key); an order is counted in
    # its event's per-status figure (orders/figures.py) exactly when this is set.
    event_status = UnicodeAttribute(null=True)
    amount = DecimalAttribute(default=_zero)
    currency = UnicodeAttribute(default="USD")
    # unset (None) on a paid checkout order until the buyer chooses at the payment step
    payment_mode = UnicodeAttribute(null=True, default_for_new="free")
    payment_url = UnicodeAttribute(null=True)
    paid_via = UnicodeAttribute(null=True)
    transaction_id = UnicodeAttribute(null=True)
    cancel_note = UnicodeAttribute(null=True)
    order_notes = UnicodeAttribute(null=True)
    # billing
    is_billing_enabled = BooleanAttribute(default=False)
    company = UnicodeAttribute(null=True)
    address = UnicodeAttribute(null=True)
    city = UnicodeAttribute(null=True)
    state = UnicodeAttribute(null=True)
    country = UnicodeAttribute(null=True)
    zipcode = UnicodeAttribute(null=True)
    tax_business_info = UnicodeAttribute(null=True)
    # seats and discount
    lines = ListAttribute(of=OrderLine, default=list)
    attendee_ids = ListAttribute(of=IntAttribute, default=list)
    # Which seat shards the seats of sharded tickets came from, JSON
    # `{"<ticket id>": {"<shard>": n}}` (releases return them there); absent when unsharded.
    seat_shards = UnicodeAttribute(null=True)
    discount_code_id = IntAttribute(null=True)
    # The sales roll-up groups the order is counted in (orders/sales_rollups.py), JSON,
    # fixed when it is first counted and changed only by a regrouping that moves its figures.
    rollups = UnicodeAttribute(null=True)
    # Seats of the order the code was applied to (and consumed for); 0 when only recorded.
    discount_uses = IntAttribute(default=0)
    # The access code that unlocked hidden tickets of the order, and the seats it used
    # (openevent.events.access_codes).
    access_code_id = IntAttribute(null=True)
    access_uses = IntAttribute(null=True)
    # the hold: set while initializing/pending, removed by the transition that ends it
    hold_bucket = UnicodeAttribute(null=True)
    expires_at = UTCDateTimeAttribute(null=True)
    # provider ids
    stripe_session_id = UnicodeAttribute(null=True)
    stripe_payment_intent = UnicodeAttribute(null=True)
    stripe_charge_id = UnicodeAttribute(null=True)
    stripe_account = UnicodeAttribute(null=True)
    paypal_order_id = UnicodeAttribute(null=True)
    paypal_capture_id = UnicodeAttribute(null=True)
    refund_id = UnicodeAttribute(null=True)
    refunded_at = UTCDateTimeAttribute(null=True)
    refunded_amount = DecimalAttribute(null=True)  # refunds so far (partial or full)
    tickets_pdf_url = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute(default=now)
    completed_at = UTCDateTimeAttribute(null=True)
    cancelled_at = UTCDateTimeAttribute(null=True)
    expired_at = UTCDateTimeAttribute(null=True)

    identifier_index = OrderIdentifierIndex()
    event_index = OrderEventIndex()
    event_status_index = OrderEventStatusIndex()
    user_index = OrderUserIndex()
    kind_index = OrderKindIndex()
    hold_index = OrderHoldIndex()

    def seat_counts(self) -> dict[int, int]:
        """Seats per ticket id."""
        counts: dict[int, int] = {}
        for line in self.lines or []:
            counts[int(line.ticket_id)] = counts.get(int(line.ticket_id), 0) + int(line.quantity)
        return counts

    @property
    def seats(self) -> int:
        return sum(self.seat_counts().values())

    def shard_counts(self) -> dict[int, dict[int, int]]:
        """Seats per ticket id per shard, for the order's sharded tickets."""
        if not self.seat_shards:
            return {}
        raw = json.loads(self.seat_shards)
        return {int(t): {int(s): int(n) for s, n in shards.items()} for t, shards in raw.items()}


class OrderFigureRollupIndex(GlobalSecondaryIndex["OrderFigure"]):
    """Sparse: the shards of the sales roll-ups (orders/sales_rollups.py) of one kind, by
    figure name — the admin's by-organizer/location/marketer/discount pages Query a page."""

    Meta = index_meta("rollup-index")
    rollup = UnicodeAttribute(hash_key=True)
    figure = UnicodeAttribute(range_key=True)


class OrderFigure(Model):
    """One shard of an event's or a ticket's order figures (orders/figures.py): per
    order status, how many orders, their seats and their sales; for an event also its live
    attendees. `figure` is "event:<id>" or "ticket:<id>"; the shards of a figure add up.
    A sales roll-up (orders/sales_rollups.py) is "<kind>:<currency>:<group>" with `rollup`
    = its kind set, so it is listed in `rollup_index`."""

    Meta = table_meta("order-figures")
    figure = UnicodeAttribute(hash_key=True)
    shard = IntAttribute(range_key=True)
    attendees = IntAttribute(null=True)
    orders_initializing = IntAttribute(null=True)
    seats_initializing = IntAttribute(null=True)
    sales_initializing = DecimalAttribute(null=True)
    orders_pending = IntAttribute(null=True)
    seats_pending = IntAttribute(null=True)
    sales_pending = DecimalAttribute(null=True)
    orders_placed = IntAttribute(null=True)
    seats_placed = IntAttribute(null=True)
    sales_placed = DecimalAttribute(null=True)
    orders_completed = IntAttribute(null=True)
    seats_completed = IntAttribute(null=True)
    sales_completed = DecimalAttribute(null=True)
    orders_cancelled = IntAttribute(null=True)
    seats_cancelled = IntAttribute(null=True)
    sales_cancelled = DecimalAttribute(null=True)
    orders_expired = IntAttribute(null=True)
    seats_expired = IntAttribute(null=True)
    sales_expired = DecimalAttribute(null=True)
    # attendees checked in now (openevent.checkin.state), on the shard attendee id % SHARDS
    checked_in = IntAttribute(null=True)
    rollup = UnicodeAttribute(null=True)  # the roll-up kind, on roll-up shards only

    rollup_index = OrderFigureRollupIndex()


def event_status_key(event_id: int, status: str) -> str:
    return f"{int(event_id)}#{status}"


def dump_shard_counts(counts: dict[int, dict[int, int]]) -> str | None:
    live = {str(t): {str(s): n for s, n in sorted(shards.items()) if n}
            for t, shards in sorted(counts.items())}
    live = {t: shards for t, shards in live.items() if shards}
    return json.dumps(live, separators=(",", ":")) if live else None


class AttendeeOrderIndex(GlobalSecondaryIndex["Attendee"]):
    Meta = index_meta("order-index")
    order_id = IntAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


class AttendeeEventIndex(GlobalSecondaryIndex["Attendee"]):
    Meta = index_meta("event-index")
    event_id = IntAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


class AttendeeTicketIndex(GlobalSecondaryIndex["Attendee"]):
    Meta = index_meta("ticket-index")
    ticket_id = IntAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


class AttendeeUserIndex(GlobalSecondaryIndex["Attendee"]):
    Meta = index_meta("user-index")
    user_id = IntAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


class AttendeeHoldIndex(GlobalSecondaryIndex["Attendee"]):
    """Sparse: attendees holding a seat without an order, until `expires_at`."""

    Meta = index_meta("hold-index")
    hold_bucket = UnicodeAttribute(hash_key=True)
    expires_at = UTCDateTimeAttribute(range_key=True)


class Attendee(Model):
    """A ticket holder: one seat of one ticket."""

    Meta = table_meta("attendees")
    extra = UnicodeAttribute(null=True)  # Open Event attributes (jsonapi/compat.py), JSON
    id = IntAttribute(hash_key=True)
    event_id = IntAttribute()
    ticket_id = IntAttribute()
    user_id = IntAttribute()  # who created it (the buyer in both checkout flows)
    order_id = IntAttribute(null=True)
    firstname = UnicodeAttribute(null=True)
    lastname = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    address = UnicodeAttribute(null=True)
    city = UnicodeAttribute(null=True)
    state = UnicodeAttribute(null=True)
    country = UnicodeAttribute(null=True)
    job_title = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    company = UnicodeAttribute(null=True)
    pdf_url = UnicodeAttribute(null=True)
    # Check-in (Open Event's fields, kept consistent by openevent.checkin.state): times are
    # comma-separated ISO-8601, one device name per check-in time.
    is_checked_in = BooleanAttribute(null=True, default=False)
    is_checked_out = BooleanAttribute(null=True, default=False)
    checkin_times = UnicodeAttribute(null=True)
    checkout_times = UnicodeAttribute(null=True)
    device_name_checkin = UnicodeAttribute(null=True)
    # The version signed into the ticket's code (openevent.signing.codes); a reissue raises it
    # and so makes the old code inadmissible. Unset = 1.
    ticket_version = IntAttribute(null=True)
    # True while this attendee's seat is counted in Ticket.seats_taken (or a seat shard).
    holds_seat = BooleanAttribute(default=False)
    # The shard of a sharded ticket this attendee's own hold (no order yet) came from.
    seat_shard = IntAttribute(null=True)
    # True while this attendee's hold (no order yet) is counted in its buyer's HoldCount.
    counted_hold = BooleanAttribute(default=False)
    hold_bucket = UnicodeAttribute(null=True)
    expires_at = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute(default=now)
    deleted_at = UTCDateTimeAttribute(null=True)

    order_index = AttendeeOrderIndex()
    event_index = AttendeeEventIndex()
    ticket_index = AttendeeTicketIndex()
    user_index = AttendeeUserIndex()
    hold_index = AttendeeHoldIndex()


class HoldCount(Model):
    """Seats one user holds of one ticket without an order (`POST /v1/attendees`), keyed
    `<user id>#<ticket id>`: raised under a cap and lowered in the same transactions that
    take and give back the seats, so no burst of requests holds more than the cap."""

    Meta = table_meta("hold-counts")
    key = UnicodeAttribute(hash_key=True)
    held = IntAttribute(default=0)


def hold_count_key(user_id: float, ticket_id: float) -> str:
    return f"{int(user_id)}#{int(ticket_id)}"


class PaymentRetryIndex(GlobalSecondaryIndex["PaymentRecord"]):
    """Sparse: refunds owed but not yet confirmed by the provider, for the retry job."""

    Meta = index_meta("retry-index")
    retry_bucket = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class PaymentRecord(Model):
    """One provider payment applied to an order, keyed `<provider>#<payment id>`.

    Written with `attribute_not_exists` in the same transaction as the order's status change,
    so a replayed or concurrent confirmation of the same payment is applied once.
    """

    Meta = table_meta("payment-records")
    key = UnicodeAttribute(hash_key=True)
    provider = UnicodeAttribute()
    payment_id = UnicodeAttribute()
    order_id = IntAttribute()
    order_identifier = UnicodeAttribute()
    # completed | refund_pending (owed, the provider has not confirmed yet) | refunded
    outcome = UnicodeAttribute()
    amount = DecimalAttribute(null=True)
    currency = UnicodeAttribute(null=True)
    source = UnicodeAttribute(null=True)  # charge | verify | webhook:<event id>
    created_at = UTCDateTimeAttribute(default=now)
    reason = UnicodeAttribute(null=True)  # why a payment is refunded
    refund_id = UnicodeAttribute(null=True)
    retry_bucket = UnicodeAttribute(null=True)  # set while outcome is refund_pending
    # what the refund needs: the provider's references for this payment
    payment_intent = UnicodeAttribute(null=True)
    charge_id = UnicodeAttribute(null=True)
    account = UnicodeAttribute(null=True)

    retry_index = PaymentRetryIndex()


def payment_key(provider: str, payment_id: str) -> str:
    return f"{provider}#{payment_id}"
