"""Finding events by numeric id or identifier: every path segment naming an event accepts
either (`/v1/events/12/tickets` = `/v1/events/3fa9c1d2/tickets`)."""

from __future__ import annotations

from typing import TypeVar

from openevent import request_memo
from openevent.errors import NotFound
from openevent.models.events import Event
from openevent.models.users import User
from openevent.rules.permissions import can_see_event

T = TypeVar("T")


def find_event(ref: str) -> Event | None:
    """The event named by `ref` (numeric id or identifier), deleted or not; None if none.
    Read once per request (`openevent.request_memo`): the read rules of included resources
    ask for the same event again."""
    return request_memo.get(("event", ref), lambda: _load_event(ref))


def _load_event(ref: str) -> Event | None:
    if ref.isdigit() and len(ref) <= 18:
        try:
            event = Event.get(int(ref))
            return event
        except Event.DoesNotExist:
            pass
    if 0 < len(ref) <= 64:
        for event in Event.identifier_index.query(ref, limit=1):
            request_memo.put(("event", str(event.id)), event)
            return event
    return None


def get_event(ref: str, user: User | None) -> Event:
    """The event if `user` may see it; 404 otherwise (drafts hide below co-organizer)."""
    event = find_event(ref)
    if event is None or not can_see_event(user, event):
        raise NotFound("Event not found")
    return event


def event_ids(event: Event) -> tuple[str, ...]:
    """The strings a request may use to name `event` (for `data.id` checks)."""
    return (str(event.id), event.identifier)


def with_event(item: T | None, user: User | None, not_found: str) -> tuple[T, Event]:
    """`item` (anything with an `event_id`) and its event, if `user` may see the event. A
    missing item, or one whose event the caller may not see, is the same 404 `not_found`: an
    item of a hidden event is not revealed."""
    if item is None:
        raise NotFound(not_found)
    try:
        return item, get_event(str(item.event_id), user)  # type: ignore[attr-defined]
    except NotFound:
        raise NotFound(not_found) from None
