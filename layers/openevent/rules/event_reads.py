"""An event's tickets and codes as a caller may see them, and its Stripe account: reads only.

The wire documents (`openevent.wire`) and the services (`openevent.events`, `openevent.orders`)
share these reads, so they live below both:
- hidden tickets: co-organizers and up see them; anyone else only a ticket they unlocked with
  one of the event's access codes (the recorded grant) or hold a seat of;
- discount codes: who may see a code (and so its id) is `openevent.rules.visibility`'s rule —
  an event-wide code only admins, a ticket code the event's co-organizers and up;
- deleted tickets and codes are never found (staff may read a deleted ticket by id).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from openevent.errors import NotFound
from openevent.models.access_codes import AccessCode
from openevent.models.base import Unique, unique_key
from openevent.models.events import DiscountCode, Event, Ticket
from openevent.models.users import User
from openevent.rules.lookup import with_event
from openevent.rules.permissions import has_event_role

if TYPE_CHECKING:  # the Stripe account's table loads only when asked for
    from openevent.models.event_content import StripeAuthorization


def tickets_of_event(event_id: int) -> list[Ticket]:
    """Every live ticket of the event, hidden ones included (one Query)."""
    return [t for t in Ticket.event_index.query(event_id) if t.deleted_at is None]


def visible_tickets(event: Event, user: User | None) -> list[Ticket]:
    """The event's tickets `user` may see: hidden ones only for co-organizers and up."""
    tickets = tickets_of_event(event.id)
    if any(t.is_hidden for t in tickets) and not has_event_role(user, event.id, "coorganizer"):
        tickets = [t for t in tickets if not t.is_hidden]
    return tickets


def find_ticket(ticket_id: int) -> Ticket | None:
    """A live ticket by id, no permission check (for other services)."""
    try:
        ticket = Ticket.get(ticket_id)
    except Ticket.DoesNotExist:
        return None
    return None if ticket.deleted_at is not None else ticket


def get_tickets(ids: list[int]) -> list[Ticket]:
    """Live tickets by id (BatchGet), in the order asked."""
    wanted = list(dict.fromkeys(int(i) for i in ids))
    if not wanted:
        return []
    found = {t.id: t for t in Ticket.batch_get(wanted) if t.deleted_at is None}
    return [found[i] for i in wanted if i in found]


def get_ticket(ticket_id: int, user: User | None, *, with_deleted: bool = False
               ) -> tuple[Ticket, Event]:
    """The ticket and its event if `user` may see both (404 otherwise). `with_deleted`
    (reads only): a soft-deleted ticket too, for staff (Open Event shows them to admins)."""
    found = find_ticket(ticket_id)
    if found is None and with_deleted and user is not None and user.is_staff:
        found = next(iter(Ticket.batch_get([ticket_id])), None)
    ticket, event = with_event(found, user, "Ticket not found")
    if ticket.is_hidden and not has_event_role(user, event.id, "coorganizer"):
        if not sees_hidden(user, ticket):
            raise NotFound("Ticket not found")
    return ticket, event


def ticket_ids_of(code: AccessCode | DiscountCode) -> list[int]:
    """The code's ticket ids as ints (both kinds store a list of numbers)."""
    return [int(t) for t in cast(list[Any], code.ticket_ids or [])]


def grant_key(event_id: int, user_id: int) -> str:
    return unique_key("access-grant", int(event_id), int(user_id))


def access_codes_of_event(event_id: int) -> list[AccessCode]:
    """Every live code of the event (one Query of its partition: organizers create few)."""
    return [c for c in AccessCode.event_index.query(int(event_id)) if c.deleted_at is None]


def find_access_code(code_id: int) -> AccessCode | None:
    try:
        code = AccessCode.get(int(code_id))
    except AccessCode.DoesNotExist:
        return None
    return None if code.deleted_at is not None else code


def tickets_of(code: AccessCode) -> list[Ticket]:
    return [t for t in get_tickets(ticket_ids_of(code)) if t.deleted_at is None]


def sees_hidden(user: User | None, ticket: Ticket) -> bool:
    """May `user` (not an organizer) see hidden `ticket`: they checked a code of its event
    that unlocks it (the recorded unlock), or they hold a seat of it (their order's page
    shows it). One GetItem, then at most a Query of the user's own attendees."""
    from openevent.models.orders import Attendee

    if user is None or not ticket.is_hidden:
        return False
    try:
        grant = Unique.get(grant_key(int(ticket.event_id), int(user.id)))
        code = find_access_code(int(grant.owner)) if grant.owner and grant.owner.isdigit() else None
        if code is not None and int(code.event_id) == int(ticket.event_id) and \
                int(ticket.id) in ticket_ids_of(code):
            return True
    except Unique.DoesNotExist:
        pass
    return any(a.deleted_at is None for a in Attendee.user_index.query(
        int(user.id), filter_condition=Attendee.ticket_id == int(ticket.id)))


def discount_codes_of_event(event_id: int) -> list[DiscountCode]:
    """Every live code of the event, the event-level one included (one Query)."""
    return [c for c in DiscountCode.event_index.query(event_id) if c.deleted_at is None]


def find_discount_code(code_id: int) -> DiscountCode | None:
    try:
        code = DiscountCode.get(code_id)
    except DiscountCode.DoesNotExist:
        return None
    return None if code.deleted_at is not None else code


def may_see_discount_code(user: User | None, code: DiscountCode) -> bool:
    """Whether `user` may see `code` (and so its id): an event-wide code only admins, a
    ticket code the event's co-organizers and up. `openevent.rules.visibility`'s rule."""
    if code.used_for == "event":
        return user is not None and user.is_staff
    return has_event_role(user, int(code.event_id), "coorganizer")


def stripe_authorization_of(event_id: int) -> StripeAuthorization | None:
    from openevent.models.event_content import StripeAuthorization

    for auth in StripeAuthorization.event_index.query(event_id, limit=1):
        return auth
    return None
