"""Free seats only for proven accounts (issue 20, item 12), as Open Event Server does.

Anyone can sign up with any address, so an unverified account proves nothing: a script
signing up throwaway addresses could otherwise empty a free event. An order that costs
nothing — free tickets, a zero donation, a paid ticket under a full discount — placed by an
unverified account is refused with Open Event Server's answer (403 "Unverified user cannot
place free orders", pointer `/data/relationships/user`), unless an admin turned on the
`allow-unverified-free-orders` setting (Open Event Server's `ALLOW_UNVERIFIED_FREE_ORDERS`;
off by default). The event's organizers (co-organizer and up) issue their own seats and are
not asked. Paid orders are unaffected: paying is its own proof of intent.
"""

from __future__ import annotations

from decimal import Decimal

from openevent.errors import Forbidden, relationship_pointer
from openevent.models.users import User

UNVERIFIED_FREE_ORDER = "Unverified user cannot place free orders"


def check_free_order(user: User, organizer: bool, amount: Decimal | int | float) -> None:
    """403 for a free order by an unverified non-organizer, unless the admin allows it."""
    if organizer or user.is_verified or Decimal(str(amount)) > 0:
        return
    from openevent.platform.settings import get_system_settings

    if bool(getattr(get_system_settings(), "allow_unverified_free_orders", False)):
        return
    raise Forbidden(UNVERIFIED_FREE_ORDER, relationship_pointer("user"))
