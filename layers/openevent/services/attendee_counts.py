"""How many live (not deleted) attendees an event has: the `meta.count` of the organizer's
"all" attendee tab (`GET /v1/events/<id>/attendees` without a filter), maintained in the
transactions that create and delete attendees — never counted from the event's attendees.

Attendees are created by `POST /v1/attendees` (a hold, +1) and by create-order (+1 each) and
soft-deleted only by `DELETE /v1/attendees/<id>` (a hold without an order, -1, conditioned on
not being deleted yet, so once). An order's attendees are never deleted (the order is
cancelled instead), so the attendees of an event's orders in one status are that status's
`seats` figure (`openevent.services.order_counts`).

Sharded like the list counts (`openevent.services.list_counts`).
"""

from __future__ import annotations

from collections import Counter

from openevent.models.system import Statistic
from openevent.services import list_counts
from openevent.services.inventory import Batch

MIGRATED = "migrations#attendee-counts"


def figure(event_id: int) -> str:
    return f"attendees#event:{int(event_id)}"


def add(batch: Batch, event_id: int, delta: int) -> None:
    """Add `delta` live attendees of the event inside `batch` (the attendees' transaction)."""
    if delta:
        batch.update("count:attendees", list_counts.shard(figure(event_id)),
                     [Statistic.value.add(delta)])


def backfill() -> int:
    """Migration, once (a marker item records it), before traffic: the live attendees of every
    event stored before the figure was kept, as each event's unsharded item (kept if one is
    there already). The one Scan of the attendees table there is: it runs once per data
    directory or deployment, never on a request. Returns the events written."""
    from pynamodb.exceptions import PutError

    from openevent.models.orders import Attendee

    if list(Statistic.batch_get([MIGRATED])):
        return 0
    live = Counter(int(a.event_id) for a in Attendee.scan(Attendee.deleted_at.does_not_exist()))
    written = 0
    for event_id, count in sorted(live.items()):
        try:
            Statistic(figure(event_id), value=count).save(
                condition=Statistic.name.does_not_exist())
            written += 1
        except PutError:
            continue
    try:
        Statistic(MIGRATED, value=written).save(condition=Statistic.name.does_not_exist())
    except PutError:
        pass
    return written
