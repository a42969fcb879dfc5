"""Event roles and role invites.

Only an event's owner or organizers (or staff) invite; an invite names an email and a role
below owner, is mailed as a single-use link, and is accepted by the logged-in user with that
email. Accepting never lowers a role the user already holds.
"""

from __future__ import annotations

from urllib.parse import quote

from pynamodb.exceptions import UpdateError

from openevent.errors import Conflict, Forbidden, NotFound, Unprocessable, attribute_pointer
from openevent.mail import send_mail
from openevent.models.base import next_id
from openevent.models.events import Event, EventRole, RoleInvite
from openevent.models.users import User
from openevent.platform import statistics
from openevent.platform.settings import frontend_url
from openevent.rules.permissions import INVITABLE_ROLES, has_event_role, role_satisfies
from openevent.security import new_url_token, token_digest


def grant_role(event_id: int, user_id: int, role: str) -> EventRole:
    """Give `user_id` `role` in the event, keeping a higher role they already hold."""
    try:
        current = EventRole.get(event_id, user_id)
        if role_satisfies(current.role, role):
            return current
        previous = str(current.role)
        current.update(actions=[EventRole.role.set(role)])
        statistics.role_granted(role, previous)
        return current
    except EventRole.DoesNotExist:
        record = EventRole(event_id, user_id, id=next_id("event-role"), role=role)
        record.save()
        statistics.role_granted(role)
        return record


def event_roles(event_id: int) -> list[EventRole]:
    return list(EventRole.query(event_id))


def create_invite(inviter: User, event: Event, email: str, role: str) -> RoleInvite:
    if role not in INVITABLE_ROLES:
        raise Unprocessable(f"role must be one of {', '.join(INVITABLE_ROLES)}",
                            attribute_pointer("role_name"))
    if not has_event_role(inviter, event.id, "organizer"):
        raise Forbidden("Only the owner and organizers can invite")
    token = new_url_token()
    invite = RoleInvite(next_id("role-invite"), event_id=event.id, email=email.lower(),
                        role=role, token_hash=token_digest(token))
    invite.save()
    link = (f"{frontend_url()}/e/{event.identifier}/role-invites"
            f"?token={quote(token)}")
    send_mail(
        email,
        f"Invitation to be {role} of {event.name}",
        f"You have been invited to be {role} of the event '{event.name}'.\n\n"
        f"Accept the invitation here:\n{link}\n",
    )
    return invite


def readable_invite(user: User, invite_id: int, needed: str) -> tuple[RoleInvite, Event]:
    """An invite and its event, for the invitee (who proves the invited email) or the event's
    `needed` role and up; 404 for an unknown invite."""
    from openevent.rules.lookup import get_event
    from openevent.rules.permissions import proves_email, require_event_role

    try:
        invite = RoleInvite.get(invite_id)
    except RoleInvite.DoesNotExist:
        raise NotFound("Role invite not found") from None
    event = get_event(str(invite.event_id), user)
    if not proves_email(user, invite.email):
        require_event_role(user, event, needed)
    return invite, event


def accept_invite(user: User, token: object) -> tuple[RoleInvite, Event]:
    if not isinstance(token, str) or not token or len(token) > 512:
        raise NotFound("Role invite not found", "/data/token")
    invite = next(iter(RoleInvite.token_index.query(token_digest(token), limit=1)), None)
    if invite is None:
        raise NotFound("Role invite not found", "/data/token")
    if invite.email != user.email.lower():
        raise Forbidden("This invite was sent to another email address", "/data/token")
    try:
        invite.update(actions=[RoleInvite.status.set("accepted")],
                      condition=RoleInvite.status == "pending")
    except UpdateError:
        raise Conflict("Role invite was already used", "/data/token") from None
    try:
        event = Event.get(invite.event_id)
    except Event.DoesNotExist:
        raise NotFound("Event not found", "/data/token") from None
    grant_role(event.id, user.id, invite.role)
    return invite, event
