"""The permission model, in one place (API.md §2).

System roles are flags on the user: super admin and admin ("staff") pass every event check.
Event roles form a hierarchy: owner > organizer > coorganizer > {track_organizer, moderator,
registrar}. Holding a higher role implies every lower one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pynamodb.models import Model

from openevent import request_memo
from openevent.errors import Forbidden, NotFound, Unauthorized
from openevent.models.base import batch_get_many
from openevent.models.events import Event, EventRole
from openevent.models.users import User

EVENT_ROLES = ("owner", "organizer", "coorganizer", "track_organizer", "moderator", "registrar")
_RANK = {"owner": 4, "organizer": 3, "coorganizer": 2, "track_organizer": 1, "moderator": 1,
         "registrar": 1}
INVITABLE_ROLES = ("organizer", "coorganizer", "track_organizer", "moderator", "registrar")


def role_satisfies(held: str | None, needed: str) -> bool:
    """Does holding `held` grant `needed`? (same-rank leaf roles grant only themselves)."""
    if held is None:
        return False
    if held == needed:
        return True
    return _RANK.get(held, 0) > _RANK.get(needed, 99)


def event_role(user: User | None, event_id: int) -> str | None:
    """The role `user` holds in the event (read once per request: `openevent.request_memo`)."""
    if user is None:
        return None

    def load() -> str | None:
        try:
            return str(EventRole.get(event_id, user.id).role)
        except EventRole.DoesNotExist:
            return None

    return request_memo.get(("event-role", int(event_id), int(user.id)), load)


def get_with_event_role(user: User | None, event_id: int,
                        wanted: list[tuple[type[Model], list[Any]]]
                        ) -> dict[type[Model], list[Any]]:
    """The items of `wanted` (`models.base.batch_get_many`) and, in the same BatchGetItem,
    `user`'s role in the event, kept for the role checks of the rest of the request."""
    reads_role = user is not None and not user.is_staff
    if reads_role:
        wanted = [*wanted, (EventRole, [(int(event_id), int(user.id))])]  # type: ignore[union-attr]
    found = batch_get_many(wanted)
    if reads_role:
        roles = found.pop(EventRole)
        request_memo.put(("event-role", int(event_id), int(user.id)),  # type: ignore[union-attr]
                         str(roles[0].role) if roles else None)
    return found


def has_event_role(user: User | None, event_id: int, needed: str) -> bool:
    """True for staff, and for users holding `needed` or a higher role in the event."""
    if user is None:
        return False
    if user.is_staff:
        return True
    return role_satisfies(event_role(user, event_id), needed)


def require_login(user: User | None) -> User:
    if user is None:
        raise Unauthorized("Authentication is required", parameter="Authorization")
    return user


def require_staff(user: User | None) -> User:
    user = require_login(user)
    if not user.is_staff:
        raise Forbidden("Admin access is required")
    return user


def require_event_role(user: User | None, event: Event, needed: str = "coorganizer") -> User:
    """401 for guests; 404 for a draft the caller cannot see; 403 otherwise."""
    user = require_login(user)
    if has_event_role(user, event.id, needed):
        return user
    if event.state != "published" and not has_event_role(user, event.id, "coorganizer"):
        raise NotFound("Event not found")
    raise Forbidden(f"You need the {needed} role in this event")


def can_see_event(user: User | None, event: Event) -> bool:
    """Published events are public; drafts are visible from co-organizer up (API.md §1)."""
    if event.deleted_at is not None:
        return bool(user and user.is_staff)
    if event.state == "published":
        return True
    return has_event_role(user, event.id, "coorganizer")


def proves_email(user: User | None, email: str | None) -> bool:
    """Is `user` proven to own `email`? Only by a verified account with that address:
    anyone can sign up with any address, so an unverified one proves nothing."""
    return bool(user is not None and user.is_verified and email and user.email
                and user.email.strip().lower() == email.strip().lower())


def is_self_or_staff(user: User | None, user_id: int) -> bool:
    return user is not None and (user.is_staff or user.id == user_id)


def require_user_manage(caller: User, target: User) -> None:
    """Changing or deleting an account: the user themself or staff — and a super admin's
    account only by a super admin (an admin must not take over the root account)."""
    if caller.id == target.id:
        return
    if target.is_super_admin and not caller.is_super_admin:
        raise Forbidden("Only a super admin can change a super admin")
    if not caller.is_staff:
        raise Forbidden("You can only access your own account")


def require_marketer_assignable(caller: User, marketer_id: int, pointer: str) -> None:
    """A code's `marketer` is the caller themself; naming anyone else is for admins (it would
    otherwise tie a stranger's account to the caller's code)."""
    if marketer_id != caller.id and not caller.is_staff:
        raise Forbidden("Only an admin can name another user as marketer", pointer)


def marketer_of(payload: Any, caller: User) -> tuple[bool, int | None]:
    """(sent, user id) of a code's `marketer` relationship in a parsed document: the caller
    themself, anyone for admins (403 otherwise), 422 for an unknown user."""
    from openevent.errors import Unprocessable, relationship_pointer

    if "marketer" not in payload.relationships:
        return False, None
    raw = payload.relationships["marketer"]
    if raw is None:
        return True, None
    pointer = relationship_pointer("marketer")
    if not raw.isdigit() or len(raw) > 18:
        raise Unprocessable("Unknown user", pointer)
    require_marketer_assignable(caller, int(raw), pointer)
    try:
        User.get(int(raw))
    except User.DoesNotExist:
        raise Unprocessable("Unknown user", pointer) from None
    return True, int(raw)


def event_ids_with_role(user: User, needed: str = "track_organizer") -> Iterable[int]:
    """Ids of the events in which `user` holds any role granting `needed`."""
    for role in EventRole.user_index.query(user.id):
        if role_satisfies(role.role, needed) or needed == "any":
            yield int(role.event_id)
