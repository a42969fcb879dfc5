"""Who may read which resource — the rule a related resource is shown by.

A resource reached through a relationship (`include=`, a relationship's linkage, a related
link such as `/v1/discount-codes/<id>/marketer`) is shown only to a caller its own endpoint
would show it to. One table, per resource type:

| type | readable by |
|---|---|
| user | the user themself, admins; as an order's buyer, co-organizer+ of that order's event |
| order | its buyer, co-organizer+ of its event, admins |
| attendee | the holder who created it, the order's buyer, co-organizer+, admins |
| discount-code | co-organizer+ of its event (event-level codes: admins) |
| access-code | co-organizer+ of its event |
| event | anyone when published; co-organizer+ when draft; deleted: admins |
| ticket | who sees its event; hidden: co-organizer+, holders of a code or a seat of it |
| users-events-role | the user holding it, co-organizer+ |
| role-invite | the invited address's verified account, co-organizer+ |
| stripe-authorization | organizer+ |
| tax, track, sponsor, microlocation, social-link, custom-form, tag | who sees the event |
| ticket-fee, user-permission, custom-system-role, panel-permission | anyone logged in |

A type not in the table, or a resource built without its model, is not readable: a new
relationship leaks nothing until its rule is written here. The web layer installs
`reader(<caller>)` as `openevent.jsonapi.document.READ_CHECK` for every request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openevent.errors import Forbidden
from openevent.jsonapi.document import Resource
from openevent.models.users import User
from openevent.rules.event_reads import may_see_discount_code, sees_hidden
from openevent.rules.orders import can_manage_attendee, can_view_order
from openevent.rules.permissions import can_see_event, has_event_role, proves_email

Rule = Callable[[User | None, Any], bool]


def _event_visible(viewer: User | None, event_id: Any) -> bool:
    from openevent.rules.lookup import find_event

    event = find_event(str(event_id))
    return event is not None and can_see_event(viewer, event)


def _user(viewer: User | None, user: Any) -> bool:
    return viewer is not None and (viewer.is_staff or int(viewer.id) == int(user.id))


def _order(viewer: User | None, order: Any) -> bool:
    return can_view_order(viewer, order)


def _attendee(viewer: User | None, attendee: Any) -> bool:
    return viewer is not None and can_manage_attendee(viewer, attendee)


def _ticket(viewer: User | None, ticket: Any) -> bool:
    if ticket.is_hidden:
        return has_event_role(viewer, int(ticket.event_id), "coorganizer") or \
            sees_hidden(viewer, ticket)
    return _event_visible(viewer, ticket.event_id)


def _event_role(viewer: User | None, role: Any) -> bool:
    return viewer is not None and (int(role.user_id) == int(viewer.id)
                                   or has_event_role(viewer, int(role.event_id), "coorganizer"))


def _role_invite(viewer: User | None, invite: Any) -> bool:
    return proves_email(viewer, invite.email) or has_event_role(viewer, int(invite.event_id),
                                                                 "coorganizer")


def _of_event(viewer: User | None, item: Any) -> bool:
    return _event_visible(viewer, item.event_id)


RULES: dict[str, Rule] = {
    "user": _user,
    "order": _order,
    "attendee": _attendee,
    "discount-code": may_see_discount_code,
    "access-code": lambda viewer, code: has_event_role(viewer, int(code.event_id),
                                                       "coorganizer"),
    "event": can_see_event,
    "ticket": _ticket,
    "users-events-role": _event_role,
    "role-invite": _role_invite,
    "stripe-authorization": lambda viewer, auth: has_event_role(viewer, int(auth.event_id),
                                                                "organizer"),
    **{kind: _of_event for kind in ("tax", "track", "sponsor", "microlocation",
                                    "social-link", "custom-form", "tag")},
    # Admin-managed system records: readable by anyone logged in, as their lists are.
    **{kind: (lambda viewer, _: viewer is not None)
       for kind in ("ticket-fee", "user-permission", "custom-system-role",
                    "panel-permission")},
}


def _buyer_to_organizer(viewer: User | None, resource: Resource) -> bool:
    """An order's buyer, reached through that order, is shown to the order's organizers: they
    sold to them (Open Event's organizer order lists show the buyer)."""
    order, user = resource.via, resource.source
    return (resource.schema.type == "user" and order is not None and user is not None
            and type(order).__name__ == "Order" and order.user_id is not None
            and int(order.user_id) == int(user.id)
            and has_event_role(viewer, int(order.event_id), "coorganizer"))


def can_read(viewer: User | None, resource: Resource) -> bool:
    """May `viewer` (None: anonymous) read `resource` as a related resource?"""
    rule = RULES.get(resource.schema.type)
    if rule is None or resource.source is None:
        return False
    return bool(rule(viewer, resource.source)) or _buyer_to_organizer(viewer, resource)


def reader(viewer: Callable[[], User | None]) -> Callable[[Resource], bool]:
    """The read check of one request; the caller is resolved on first use (most requests
    include nothing) and verdicts are cached per resource."""
    cache: dict[tuple[str, str], bool] = {}
    resolved: list[User | None] = []

    def check(resource: Resource) -> bool:
        key = resource.key()
        if key not in cache:
            if not resolved:
                resolved.append(viewer())
            cache[key] = can_read(resolved[0], resource)
        return cache[key]

    return check


def require_readable(viewer: User | None, resource: Resource) -> Resource:
    """A related link that answers a single resource (`/v1/events/<id>/owner`): 403 unless
    the resource's own endpoint would show it to `viewer`."""
    if not can_read(viewer, resource):
        raise Forbidden(f"You can't see this {resource.schema.type}")
    return resource
