"""Who may download a ticket document — the one rule both download routes consult.

- The order's buyer, the organizer side of its event (co-organizer and up) and admins: every
  document of the order.
- The attendee: their own ticket, when logged in with an account whose *verified* email is
  the attendee's. An unverified account proves nothing: anyone can sign up with any address.
- Anyone holding the mailed signed link of that document (checked by the route through
  `pipeline.check_download_token`, before anything is looked up).
"""

from __future__ import annotations

from openevent.models.orders import Attendee, Order
from openevent.models.users import User
from openevent.rules.permissions import proves_email


def can_download_attendee_ticket(user: User, attendee: Attendee) -> bool:
    from openevent.orders.lifecycle import can_manage_attendee

    return proves_email(user, attendee.email) or can_manage_attendee(user, attendee)


def can_download_order_tickets(user: User, order: Order) -> bool:
    from openevent.orders.lifecycle import can_view_order

    return can_view_order(user, order)
