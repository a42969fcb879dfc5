"""Access codes: organizers hand out a code that unlocks hidden tickets of their event.

Guarantees:
- Co-organizers and up create, list, edit and delete an event's codes; nobody else sees a
  code's settings (its uses, marketer, validity) except through the public check.
- A code unlocks only hidden tickets of its own event (422 naming `tickets` otherwise).
- The public check by text (`GET /v1/events/<ref>/access-codes/<code>`) answers a usable
  code (active, inside valid-from/valid-till, not deleted): 404 unknown, 405 unusable. A
  logged-in caller's check also records the unlock (a `Unique` item
  `access-grant#<event>#<user>` naming the code): the web app sends no code with its order,
  so that is how create-order knows this buyer typed it. Anyone else still cannot see or
  order the hidden tickets.
- An order may take unlocked hidden tickets while the code is usable: at most
  `max-quantity` (at least `min-quantity`) of them per order, and never more seats in all
  than `tickets-number` (max uses): the uses are added in the order's own transaction under
  the condition `used_count + seats <= tickets-number`, given back when the order is
  cancelled or expires (`release`), so concurrent buyers never pass the limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from openevent.errors import (
    Conflict,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    Unprocessable,
    attribute_pointer,
    relationship_pointer,
)
from openevent.models.access_codes import AccessCode
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
from openevent.models.events import Event, Ticket
from openevent.models.users import User
from openevent.rules import event_reads
from openevent.rules.event_reads import find_access_code as find_code
from openevent.rules.event_reads import grant_key as grant_key
from openevent.rules.event_reads import sees_hidden as sees_hidden
from openevent.rules.event_reads import ticket_ids_of as ticket_ids_of
from openevent.rules.event_reads import tickets_of as tickets_of
from openevent.rules.lookup import with_event
from openevent.rules.permissions import has_event_role, require_event_role, require_login

# Reads shared with the wire documents live in `openevent.rules.event_reads`.
codes_of_event = event_reads.access_codes_of_event

MAX_TICKETS_PER_CODE = 500
EXHAUSTED = "The access code has no uses left for these seats"


def claim_key(event_id: int, text: str) -> str:
    return unique_key("access-code", event_id, text.strip())


# --- reads -----------------------------------------------------------------------------

def find_by_text(event: Event, text: str) -> AccessCode | None:
    if not text or len(text) > 100:
        return None
    try:
        claim = Unique.get(claim_key(int(event.id), text))
    except Unique.DoesNotExist:
        return None
    code = find_code(int(claim.owner)) if claim.owner and claim.owner.isdigit() else None
    if code is None or int(code.event_id) != int(event.id):
        return None
    return code


def usable_now(code: AccessCode) -> bool:
    moment = now()
    return (bool(code.is_active) and code.deleted_at is None
            and (code.valid_from is None or moment >= code.valid_from)
            and (code.valid_till is None or moment <= code.valid_till))


def get_code(code_id: int, user: User | None) -> tuple[AccessCode, Event]:
    """A code and its event for a co-organizer and up of the event (401/403/404)."""
    require_login(user)
    code, event = with_event(find_code(code_id), user, "Access code not found")
    require_event_role(user, event, "coorganizer")
    return code, event


def get_code_for_holder(code_id: int, user: User | None) -> tuple[AccessCode, Event, bool]:
    """A code, its event and whether the caller manages it. Anyone else who can see the
    event (the holder of the code, whom the public check gave its id) reads its event and
    tickets while the code is usable; otherwise 401/403 as for `get_code`."""
    code, event = with_event(find_code(code_id), user, "Access code not found")
    if has_event_role(user, int(event.id), "coorganizer"):
        return code, event, True
    if usable_now(code):
        return code, event, False
    require_login(user)
    raise Forbidden("You need the coorganizer role")


def check_public(event: Event, text: str, user: User | None) -> AccessCode:
    """The check by code text: 404 unknown, 405 inactive or outside its window. A logged-in
    caller's successful check records that they hold the code for this event."""
    code = find_by_text(event, text)
    if code is None:
        raise NotFound("Access code not found")
    if not code.is_active:
        raise MethodNotAllowed("Access code is not active")
    if not usable_now(code):
        raise MethodNotAllowed("Access code is not valid at this time")
    if user is not None:
        Unique(grant_key(int(event.id), int(user.id)), owner=str(code.id)).save()
    return code


# --- validation and writes -------------------------------------------------------------

def _merged(values: dict[str, Any], code: AccessCode | None) -> dict[str, Any]:
    names = ("min_quantity", "max_quantity", "valid_from", "valid_till", "tickets_number")
    out = {n: getattr(code, n) for n in names} if code is not None else dict.fromkeys(names)
    out.update({k: v for k, v in values.items() if k in names})
    return out


def check_code(event: Event, values: dict[str, Any], ticket_ids: list[int] | None,
               code: AccessCode | None = None) -> list[int]:
    """Open Event's rules on the code as it will be; returns the checked ticket ids."""
    from openevent.events.tickets import get_tickets

    c = _merged(values, code)
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
    if len(ids) > MAX_TICKETS_PER_CODE:
        raise Unprocessable("Too many tickets", relationship_pointer("tickets"))
    tickets = [t for t in get_tickets(ids) if t.deleted_at is None]
    if len(tickets) != len(set(ids)):
        raise Unprocessable("Unknown ticket", relationship_pointer("tickets"))
    for ticket in tickets:
        if int(ticket.event_id) != int(event.id):
            raise Unprocessable("Tickets must belong to the code's event",
                                relationship_pointer("tickets"))
        if not ticket.is_hidden:
            raise Unprocessable(f"Ticket {ticket.id} is public: an access code unlocks hidden "
                                "tickets only", relationship_pointer("tickets"))
    return [int(t.id) for t in tickets]


def create_code(user: User | None, event: Event, values: dict[str, Any],
                ticket_ids: list[int] | None, marketer_id: int | None) -> AccessCode:
    user = require_login(user)
    require_event_role(user, event, "coorganizer")
    ids = check_code(event, values, ticket_ids or [])
    code = AccessCode(next_id("access-code"), event_id=int(event.id), ticket_ids=ids,
                      marketer_id=marketer_id, created_by=int(user.id), used_count=0, **values)
    try:
        with TransactWrite(connection=db_connection()) as tx:
            tx.save(Unique(claim_key(int(event.id), code.code), owner=str(code.id)),
                    condition=Unique.key.does_not_exist())
            tx.save(code, condition=AccessCode.id.does_not_exist())
    except TransactWriteError as exc:
        if 0 in failed_positions(exc):
            raise Conflict("This access code already exists in the event",
                           attribute_pointer("code")) from None
        raise Conflict("The access code could not be created; try again") from None
    return code


def update_code(user: User | None, code: AccessCode, event: Event, values: dict[str, Any],
                ticket_ids: list[int] | None, marketer: tuple[bool, int | None]) -> AccessCode:
    require_event_role(user, event, "coorganizer")
    ids = check_code(event, values, ticket_ids, code)
    actions = [getattr(AccessCode, n).remove() if v is None else getattr(AccessCode, n).set(v)
               for n, v in values.items()]
    if ticket_ids is not None:
        actions.append(AccessCode.ticket_ids.set(ids))  # type: ignore[arg-type]
    if marketer[0]:
        actions.append(AccessCode.marketer_id.remove() if marketer[1] is None
                       else AccessCode.marketer_id.set(marketer[1]))
    if not actions:
        return code
    condition = AccessCode.deleted_at.does_not_exist()
    if values.get("tickets_number") is not None:
        condition &= AccessCode.used_count <= values["tickets_number"]
    new_claim = claim_key(int(event.id), values["code"]) if "code" in values else None
    try:
        update_moving_claim(code, actions, condition, owner=str(code.id),
                            old_claim=claim_key(int(event.id), code.code), new_claim=new_claim)
    except ClaimTaken:
        raise Conflict("This access code already exists in the event",
                       attribute_pointer("code")) from None
    except TransactWriteError:
        if values.get("tickets_number") is not None:
            raise Unprocessable("'tickets-number' cannot be lower than the uses so far",
                                attribute_pointer("tickets_number")) from None
        raise Conflict("The access code changed concurrently; try again") from None
    return AccessCode.get(int(code.id))


def delete_code(user: User | None, code: AccessCode, event: Event) -> None:
    """Soft delete (orders keep naming it) and free the code text."""
    require_event_role(user, event, "coorganizer")
    try:
        with TransactWrite(connection=db_connection()) as tx:
            tx.update(code, actions=[AccessCode.deleted_at.set(now())],
                      condition=AccessCode.deleted_at.does_not_exist())
            tx.delete(Unique(claim_key(int(event.id), code.code)))
    except TransactWriteError:
        raise Conflict("The access code changed concurrently; try again") from None


# --- orders ----------------------------------------------------------------------------

@dataclass
class Unlock:
    """What an order may take because its buyer holds a code: the hidden tickets unlocked
    and the seats of them the order uses."""

    code: AccessCode | None = None
    ticket_ids: frozenset[int] = field(default_factory=frozenset)
    uses: int = 0


NONE = Unlock()


def _ref_code(event: Event, ref: Any, pointer: str) -> AccessCode:
    code = None
    if isinstance(ref, int) and not isinstance(ref, bool):
        code = find_code(ref)
    elif isinstance(ref, str) and ref.strip():
        code = find_code(int(ref)) if ref.isdigit() and len(ref) <= 18 else None
        code = code or find_by_text(event, ref)
    if code is None or int(code.event_id) != int(event.id):
        raise Unprocessable("Unknown access code", pointer)
    return code


def unlock_for_order(user: User | None, event: Event, ref: Any, tickets: Iterable[Ticket],
                     counts: dict[int, int], pointer: str = "/access-code") -> Unlock:
    """The unlock a buyer's order of `counts` seats may use: the code named in the request
    (`access-code`: id or text), else the one the buyer's own public check recorded. Only
    asked when the order has hidden tickets; unusable codes and limits answer 422."""
    hidden = {int(t.id) for t in tickets if t.is_hidden and counts.get(int(t.id), 0) > 0}
    if not hidden or user is None:
        return NONE
    if ref is not None:
        code: AccessCode | None = _ref_code(event, ref, pointer)
    else:
        try:
            grant = Unique.get(grant_key(int(event.id), int(user.id)))
        except Unique.DoesNotExist:
            return NONE
        code = find_code(int(grant.owner)) if grant.owner and grant.owner.isdigit() else None
        if code is None or int(code.event_id) != int(event.id):
            return NONE
    assert code is not None
    if not usable_now(code):
        raise Unprocessable("The access code is not valid at this time", pointer)
    unlocked = frozenset(ticket_ids_of(code)) & hidden
    uses = sum(counts.get(t, 0) for t in unlocked)
    if not uses:
        return NONE
    if code.min_quantity is not None and uses < int(code.min_quantity):
        raise Unprocessable(f"At least {code.min_quantity} seats with this access code",
                            pointer)
    if code.max_quantity is not None and uses > int(code.max_quantity):
        raise Unprocessable(f"At most {code.max_quantity} seats with this access code",
                            pointer)
    if code.tickets_number is not None and \
            int(code.used_count or 0) + uses > int(code.tickets_number):
        raise Unprocessable(EXHAUSTED, pointer)
    return Unlock(code, unlocked, uses)


def consume(batch: Any, unlock: Unlock) -> None:
    """Use the unlock's seats of its code inside the order's transaction (`batch`)."""
    code = unlock.code
    if code is None or unlock.uses <= 0:
        return
    condition = (AccessCode.is_active == True) & AccessCode.deleted_at.does_not_exist()  # noqa: E712
    if code.tickets_number is not None:
        limit = int(code.tickets_number)
        condition &= (AccessCode.tickets_number == limit) & (
            AccessCode.used_count.does_not_exist()
            | (AccessCode.used_count <= limit - unlock.uses))
    else:
        condition &= AccessCode.tickets_number.does_not_exist()
    batch.update(f"access:{code.id}", AccessCode(int(code.id)),
                 [AccessCode.used_count.add(unlock.uses)], condition)


def release(batch: Any, code_id: int | None, uses: int | None) -> None:
    """Give back an order's uses (it was cancelled or expired) inside its transaction."""
    if code_id is not None and uses:
        batch.update(f"access:{code_id}", AccessCode(int(code_id)),
                     [AccessCode.used_count.add(-int(uses))], AccessCode.used_count >= int(uses))


def reacquire(batch: Any, code_id: int | None, uses: int | None) -> None:
    """Count an order's uses again (a late payment revives an expired order, whose seats
    were paid for: counted even past the limit or after the code was switched off)."""
    if code_id is not None and uses:
        batch.update(f"access:{code_id}", AccessCode(int(code_id)),
                     [AccessCode.used_count.add(int(uses))])
