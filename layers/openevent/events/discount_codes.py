"""Discount codes (API.md §5).

Two kinds:
- ticket codes (`used-for: ticket`): created by co-organizers and up, any number per event;
- event codes (`used-for: event`): admins only, at most one per event — creating one sets
  `event.discount_code_id` under the condition that it is unset, in the same transaction.
Both kinds hold a `Unique` claim `discount-code#<event>#<code>` (codes are unique per event,
case-insensitively), which doubles as the key-only lookup for the public check by code.

Value rules: percent 0..100; an amount no higher than each ticket's price; never on free
tickets; tickets of the same event. `tickets-number` may not drop below `used_count` (a
conditional update against the inventory service's conditional increments: 422).
The usage counter itself is changed only by openevent.events.inventory.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from openevent.errors import (
    Conflict,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    Unauthorized,
    Unprocessable,
    attribute_pointer,
    relationship_pointer,
)
from openevent.events.tickets import get_tickets
from openevent.models.base import (
    ClaimTaken,
    Unique,
    db_connection,
    failed_positions,
    next_id,
    now,
    unique_key,
    update_moving_claim,
)
from openevent.models.events import DiscountCode, Event
from openevent.models.users import User
from openevent.payments.money import amount_exponent, fits_currency
from openevent.rules import event_reads
from openevent.rules.event_reads import find_discount_code as find_code
from openevent.rules.event_reads import ticket_ids_of as ticket_ids_of
from openevent.rules.lookup import with_event
from openevent.rules.permissions import require_event_role, require_login, require_staff

# Reads shared with the wire documents live in `openevent.rules.event_reads`.
codes_of_event = event_reads.discount_codes_of_event
may_see = event_reads.may_see_discount_code

MAX_TICKETS_PER_CODE = 500


def code_claim_key(event_id: int, code: str) -> str:
    return unique_key("discount-code", event_id, code.strip())


# --- reads -----------------------------------------------------------------------------

def find_code_by_text(event: Event, code_text: str) -> DiscountCode | None:
    """The live code of `event` whose text is `code_text` (case-insensitive): one GetItem on
    its uniqueness claim, one on the code."""
    if not code_text or len(code_text) > 100:
        return None
    try:
        claim = Unique.get(code_claim_key(event.id, code_text))
    except Unique.DoesNotExist:
        return None
    code = find_code(int(claim.owner)) if claim.owner and claim.owner.isdigit() else None
    if code is None or int(code.event_id) != int(event.id):
        return None
    return code


def require_code_access(user: User | None, code: DiscountCode, event: Event) -> None:
    """Co-organizer+ for ticket codes, staff for event codes."""
    if code.used_for == "event":
        require_staff(user)
    else:
        require_event_role(user, event, "coorganizer")


def get_code(code_id: int, user: User | None, *, with_deleted: bool = False
             ) -> tuple[DiscountCode, Event]:
    """A code and its event, for a caller allowed to manage it (401/403/404). `with_deleted`
    (reads only): a soft-deleted code too, for staff (Open Event shows them to admins)."""
    user = require_login(user)
    found = find_code(code_id)
    if found is None and with_deleted and user.is_staff:
        found = next(iter(DiscountCode.batch_get([code_id])), None)
    code, event = with_event(found, user, "Discount code not found")
    require_code_access(user, code, event)
    return code, event


def usable_now(code: DiscountCode) -> bool:
    """A ticket code a buyer can apply right now: active and inside its validity window."""
    moment = now()
    return (code.used_for != "event" and bool(code.is_active)
            and (code.valid_from is None or moment >= code.valid_from)
            and (code.valid_till is None or moment <= code.valid_till))


def get_code_for_buyer(code_id: int, user: User | None) -> tuple[DiscountCode, Event, bool]:
    """A code, its event and whether the caller manages it. Those who manage it get it as
    `get_code` does; anyone else (anonymous too) only while it is usable — what a buyer who
    typed it needs to apply it (its event, its visible tickets) — else 403 as before. The
    id is 53 random bits, learned from the public check by code text (issue 23, item 3)."""
    code, event = with_event(find_code(code_id), user, "Discount code not found")
    try:
        require_login(user)
        require_code_access(user, code, event)
        return code, event, True
    except (Forbidden, Unauthorized):
        if usable_now(code):
            return code, event, False
        raise


def event_level_code(event: Event) -> DiscountCode | None:
    if event.discount_code_id is None:
        return None
    return find_code(int(event.discount_code_id))


def check_public_code(event: Event, code_text: str) -> DiscountCode:
    """The public check by code: 404 unknown, 405 inactive or outside its validity window."""
    code = find_code_by_text(event, code_text)
    if code is None:
        raise NotFound("Discount code not found")
    moment = now()
    if not code.is_active:
        raise MethodNotAllowed("Discount code is not active")
    if (code.valid_from is not None and moment < code.valid_from) or (
            code.valid_till is not None and moment > code.valid_till):
        raise MethodNotAllowed("Discount code is not valid at this time")
    return code


# --- validation ------------------------------------------------------------------------

def _merged(values: dict[str, Any], code: DiscountCode | None) -> dict[str, Any]:
    names = ("value", "type", "min_quantity", "max_quantity", "valid_from", "valid_till",
             "used_for", "tickets_number")
    out = {n: getattr(code, n) for n in names} if code is not None else {
        n: None for n in names}
    out.update({k: v for k, v in values.items() if k in names})
    return out


def check_code(event: Event, values: dict[str, Any], ticket_ids: list[int] | None,
               code: DiscountCode | None = None) -> list[int]:
    """The §5 value rules on the code as it will be; returns the checked ticket ids."""
    c = _merged(values, code)
    value: Decimal = c["value"] if c["value"] is not None else Decimal(0)
    if c["type"] == "percent" and value > 100:
        raise Unprocessable("A percent discount must be between 0 and 100",
                            attribute_pointer("value"))
    if c["type"] == "amount" and not fits_currency(value, event.payment_currency):
        raise Unprocessable(f"An amount in {(event.payment_currency or 'USD').upper()} has at "
                            f"most {amount_exponent(event.payment_currency)} decimals",
                            attribute_pointer("value"))
    if (c["min_quantity"] is not None and c["max_quantity"] is not None
            and c["min_quantity"] > c["max_quantity"]):
        raise Unprocessable("'min-quantity' must not exceed 'max-quantity'",
                            attribute_pointer("min_quantity"))
    start: datetime | None = c["valid_from"]
    end: datetime | None = c["valid_till"]
    if start is not None and end is not None and start >= end:
        raise Unprocessable("'valid-from' must be before 'valid-till'",
                            attribute_pointer("valid_till"))
    ids = ticket_ids_of(code) if ticket_ids is None and code is not None else (ticket_ids or [])
    if c["used_for"] == "event":
        if ids:
            raise Unprocessable("An event discount code applies to no tickets",
                                relationship_pointer("tickets"))
        return []
    if len(ids) > MAX_TICKETS_PER_CODE:
        raise Unprocessable("Too many tickets", relationship_pointer("tickets"))
    tickets = get_tickets(ids)
    if len(tickets) != len(set(ids)):
        raise Unprocessable("Unknown ticket", relationship_pointer("tickets"))
    for ticket in tickets:
        if ticket.event_id != event.id:
            raise Unprocessable("Tickets must belong to the code's event",
                                relationship_pointer("tickets"))
        if ticket.type == "free":
            raise Unprocessable("Discount codes cannot apply to free tickets",
                                relationship_pointer("tickets"))
        if c["type"] == "amount" and ticket.price is not None and value > ticket.price:
            raise Unprocessable("The discount amount exceeds the price of a ticket",
                                attribute_pointer("value"))
    return [t.id for t in tickets]


# --- writes ----------------------------------------------------------------------------

def create_code(user: User | None, event: Event, values: dict[str, Any],
                ticket_ids: list[int] | None, marketer_id: int | None) -> DiscountCode:
    user = require_login(user)
    used_for = values.get("used_for", "ticket")
    if used_for == "event":
        require_staff(user)
    else:
        require_event_role(user, event, "coorganizer")
    ids = check_code(event, values, ticket_ids or [])
    code = DiscountCode(next_id("discount-code"), event_id=event.id, ticket_ids=ids,
                        marketer_id=marketer_id, created_by=user.id, used_count=0, **values)
    try:
        with TransactWrite(connection=db_connection()) as tx:
            tx.save(Unique(code_claim_key(event.id, code.code), owner=str(code.id)),
                    condition=Unique.key.does_not_exist())
            tx.save(code, condition=DiscountCode.id.does_not_exist())
            if used_for == "event":
                tx.update(event, actions=[Event.discount_code_id.set(code.id)],
                          condition=Event.discount_code_id.does_not_exist())
    except TransactWriteError as exc:
        if 0 in failed_positions(exc):
            raise Conflict("This code already exists in the event",
                           attribute_pointer("code")) from None
        raise Conflict("This event already has an event discount code",
                       attribute_pointer("used_for")) from None
    return code


def update_code(user: User | None, code: DiscountCode, event: Event, values: dict[str, Any],
                ticket_ids: list[int] | None, marketer: tuple[bool, int | None]) -> DiscountCode:
    require_code_access(user, code, event)
    if "used_for" in values and values["used_for"] != code.used_for:
        raise Unprocessable("'used-for' cannot change", attribute_pointer("used_for"))
    ids = check_code(event, values, ticket_ids, code)
    actions = [getattr(DiscountCode, n).remove() if v is None else getattr(DiscountCode, n).set(v)
               for n, v in values.items()]
    if ticket_ids is not None:
        actions.append(DiscountCode.ticket_ids.set(ids))  # type: ignore[arg-type]
    if marketer[0]:
        actions.append(DiscountCode.marketer_id.remove() if marketer[1] is None
                       else DiscountCode.marketer_id.set(marketer[1]))
    if not actions:
        return code
    condition = DiscountCode.deleted_at.does_not_exist()
    if values.get("tickets_number") is not None:
        condition &= DiscountCode.used_count <= values["tickets_number"]
    new_claim = code_claim_key(event.id, values["code"]) if "code" in values else None
    try:
        update_moving_claim(code, actions, condition, owner=str(code.id),
                            old_claim=code_claim_key(event.id, code.code), new_claim=new_claim)
    except ClaimTaken:
        raise Conflict("This code already exists in the event",
                       attribute_pointer("code")) from None
    except TransactWriteError:
        if values.get("tickets_number") is not None:
            raise Unprocessable("'tickets-number' cannot be lower than the uses so far",
                                attribute_pointer("tickets_number")) from None
        raise Conflict("The discount code changed concurrently; try again") from None
    return DiscountCode.get(code.id)


def delete_code(user: User | None, code: DiscountCode, event: Event) -> None:
    """Soft-delete (orders keep resolving it), free the code text, unlink an event code."""
    require_code_access(user, code, event)
    try:
        with TransactWrite(connection=db_connection()) as tx:
            tx.update(code, actions=[DiscountCode.deleted_at.set(now())],
                      condition=DiscountCode.deleted_at.does_not_exist())
            tx.delete(Unique(code_claim_key(event.id, code.code)))
            if code.used_for == "event" and event.discount_code_id == code.id:
                tx.update(event, actions=[Event.discount_code_id.remove()],
                          condition=Event.discount_code_id == code.id)
    except TransactWriteError:
        raise Conflict("The discount code changed concurrently; try again") from None


def require_admin_event_code(user: User | None) -> User:
    """The event-level code endpoint is admin only."""
    user = require_login(user)
    if not user.is_staff:
        raise Forbidden("Admin access is required")
    return user
