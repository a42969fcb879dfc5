"""An attendee's check-in fields, kept consistent with each other as Open Event Server did.

Fields (Open Event's names): `checkin-times` and `checkout-times` (comma-separated ISO-8601
times, append-only history), `device-name-checkin` (one device name per check-in time, `-`
when none was given), `is-checked-in`, `is-checked-out`. The rule, after every change:

    is-checked-in  = more check-in times than check-out times
    is-checked-out = not checked in, and at least one check-out time

so the web app's toggle (which PATCHes only `checkin-times` or `checkout-times`, the old
value with the new time appended) sets `is-checked-in` too, and a client that PATCHes
`is-checked-in: true` (Open Event's scanner app) gets a check-in time of now. Only the
event's organizers (co-organizer and up) and staff change these fields through the attendee
(never the buyer); registrars check in through the scan endpoint (openevent.checkin.scans).
Each change is one conditional write on the times as read, together with the event's
checked-in figure (`OrderFigure.checked_in`), so the figure follows the flag exactly.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from openevent.errors import Conflict, Forbidden, Unprocessable, attribute_pointer
from openevent.events import inventory
from openevent.events.inventory import Batch, InventoryConflict
from openevent.models.base import now
from openevent.models.orders import Attendee, Order, OrderFigure
from openevent.models.users import User
from openevent.orders import figures as order_counts

FIELDS = ("is_checked_in", "is_checked_out", "checkin_times", "checkout_times",
          "device_name_checkin")
MAX_ENTRIES = 500  # per list: a person checking in and out twice a day for months


def split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def stamp(at: datetime) -> str:
    """A time as stored: UTC ISO-8601 with milliseconds, like the web app sends."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Unprocessable(f"'{name}' holds '{text[:40]}', not an ISO-8601 time",
                            attribute_pointer(name)) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def derived(checkins: list[str], checkouts: list[str]) -> tuple[bool, bool]:
    """(is_checked_in, is_checked_out) of these histories."""
    inside = len(checkins) > len(checkouts)
    return inside, (not inside and bool(checkouts))


def figure_shard(attendee_id: int) -> int:
    return int(attendee_id) % order_counts.SHARDS


def figure_update(batch: Batch, event_id: int, attendee_id: int, delta: int) -> None:
    if delta:
        batch.update("count:checked-in", OrderFigure(order_counts.event_figure(event_id),
                                                     figure_shard(attendee_id)),
                     [OrderFigure.checked_in.add(delta)])


def _appended(stored: list[str], sent: str | None, name: str) -> list[str]:
    """The times `sent` adds to `stored` (the app sends the old list with one appended)."""
    new = [t for t in split(sent) if t not in stored]
    for text in new:
        parse_time(text, name)
    if len(stored) + len(new) > MAX_ENTRIES:
        raise Unprocessable(f"'{name}' holds at most {MAX_ENTRIES} times",
                            attribute_pointer(name))
    return new


def require_may_change(user: User, attendee: Attendee) -> None:
    from openevent.rules.permissions import has_event_role

    if not has_event_role(user, int(attendee.event_id), "coorganizer"):
        raise Forbidden("Only the event's organizers check attendees in or out",
                        attribute_pointer("is-checked-in"))


def apply(user: User, attendee: Attendee, values: dict[str, Any]) -> Attendee:
    """Apply a PATCH's check-in values (already reduced to what changes) consistently; a
    value that changes nothing (an echo) needs no permission."""
    stored_in, stored_out = split(attendee.checkin_times), split(attendee.checkout_times)
    devices = split(attendee.device_name_checkin)
    new_in = _appended(stored_in, values.get("checkin_times"), "checkin_times")
    new_out = _appended(stored_out, values.get("checkout_times"), "checkout_times")
    inside, _ = derived(stored_in, stored_out)
    wanted = values.get("is_checked_in")
    if wanted is None and values.get("is_checked_out") is not None:
        wanted = not values["is_checked_out"]
    if wanted is True and not new_in and not inside:
        new_in = [stamp(now())]
    if wanted is False and not new_out and inside:
        new_out = [stamp(now())]
    device = values.get("device_name_checkin")
    if device is not None and not new_in:
        raise Unprocessable("'device-name-checkin' needs a check-in time",
                            attribute_pointer("device_name_checkin"))
    names = [d.strip() or "-" for d in (device or "").split(",")] if device else []
    new_devices = [names[i] if i < len(names) else (names[-1] if names else "-")
                   for i in range(len(new_in))]
    checkins, checkouts = stored_in + new_in, stored_out + new_out
    is_in, is_out = derived(checkins, checkouts)
    delta = int(is_in) - int(bool(attendee.is_checked_in))
    if not new_in and not new_out and is_in == bool(attendee.is_checked_in):
        return attendee
    require_may_change(user, attendee)
    if new_in:
        _require_admissible(attendee)
    batch = Batch()
    condition = (Attendee.deleted_at.does_not_exist()
                 & _same(Attendee.checkin_times, attendee.checkin_times)
                 & _same(Attendee.checkout_times, attendee.checkout_times))
    batch.update("attendee", Attendee(int(attendee.id)), [
        Attendee.checkin_times.set(",".join(checkins)) if checkins
        else Attendee.checkin_times.remove(),
        Attendee.checkout_times.set(",".join(checkouts)) if checkouts
        else Attendee.checkout_times.remove(),
        Attendee.device_name_checkin.set(",".join(devices + new_devices)) if devices or new_devices
        else Attendee.device_name_checkin.remove(),
        Attendee.is_checked_in.set(is_in), Attendee.is_checked_out.set(is_out)], condition)
    figure_update(batch, int(attendee.event_id), int(attendee.id), delta)
    try:
        inventory.run(lambda: batch, attempts=3)
    except InventoryConflict:
        raise Conflict("The attendee was checked in or out meanwhile; reload and try again",
                       "/data/attributes/checkin-times") from None
    return Attendee.get(int(attendee.id))


def _same(attribute: Any, value: Any) -> Any:
    return attribute.does_not_exist() if value is None else attribute == value


def _require_admissible(attendee: Attendee) -> None:
    if attendee.order_id is None:
        raise Unprocessable("An attendee without an order can't be checked in",
                            attribute_pointer("checkin_times"))
    order = Order.get(int(attendee.order_id))
    if order.status != "completed" or order.refunded_at is not None:
        raise Unprocessable(f"The attendee's order is '{order.status}'"
                            f"{' and refunded' if order.refunded_at else ''}: only a completed "
                            "order's attendees can be checked in",
                            attribute_pointer("checkin_times"))
