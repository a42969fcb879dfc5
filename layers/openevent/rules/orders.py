"""Who may see and manage an order or an attendee.

- an order: its buyer, co-organizers and up of its event, admins;
- changing an order's status or cancelling it: the event's co-organizers and up, admins;
- an attendee: the holder who created it, the buyer of its order, co-organizers and up,
  admins.
"Organizer" means co-organizer or higher of the event, or staff.
"""

from __future__ import annotations

from openevent.errors import Forbidden
from openevent.models.orders import Attendee, Order
from openevent.models.users import User
from openevent.rules.permissions import has_event_role, require_login


def is_organizer(user: User | None, event_id: float) -> bool:
    """Co-organizer or higher of the event, or staff."""
    return has_event_role(user, int(event_id), "coorganizer")


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
