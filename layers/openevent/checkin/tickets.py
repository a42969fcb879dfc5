"""Signed tickets of an event: an attendee's code, reissue, the event's keys and revocations,
and what a scanner may download before doors open.

Guarantees:
- `ticket_code(attendee)` signs (event, attendee, ticket, version) with the deployment's
  active key (openevent.signing.keys); it is what the ticket PDF's QR code carries.
- `reissue` raises the attendee's version in a conditional write: every code signed before
  is inadmissible from then on (the scan compares versions), and a new PDF is rendered.
- `revoke_key` makes every code signed with that key inadmissible at this event; the key that
  currently signs can't be revoked (rotate first), so the event always has a way to issue.
- `scanner_list` gives a registrar only names, ticket names, versions and states — no e-mail,
  phone, address, price or order amount.
"""

from __future__ import annotations

from typing import Any, cast

from openevent.errors import Conflict, NotFound, Unprocessable
from openevent.models.checkin import CheckinRecord, event_key
from openevent.models.orders import Attendee, Order
from openevent.orders import figures as order_counts
from openevent.signing import keys
from openevent.signing.attendee_codes import ticket_code as ticket_code
from openevent.signing.attendee_codes import version_of


def revoked_keys(record: CheckinRecord | None) -> set[int]:
    return {int(cast(Any, k)) for k in (record.revoked_keys or [])} if record is not None else set()


def event_record(event_id: int) -> CheckinRecord | None:
    try:
        return CheckinRecord.get(event_key(event_id))
    except CheckinRecord.DoesNotExist:
        return None


def public_keys(event_id: int) -> list[dict[str, Any]]:
    """The ring's public keys as this event sees them (revoked ones marked)."""
    ring = keys.ring()
    revoked = revoked_keys(event_record(event_id))
    return [{"id": kid, "public-key": keys.public_key_text(key), "algorithm": "Ed25519",
             "signs": kid == ring.active, "revoked": kid in revoked}
            for kid, key in sorted(ring.public.items())]


def revoke_key(event_id: int, key_id: int) -> list[dict[str, Any]]:
    ring = keys.ring()
    if key_id not in ring.private:
        raise NotFound("No such ticket key", "/data/id")
    if key_id == ring.active:
        raise Conflict("This key signs new tickets: rotate the deployment's keys first",
                       "/data/id")
    from pynamodb.exceptions import PutError

    record = event_record(event_id)
    revoked = revoked_keys(record)
    if key_id not in revoked:
        stored = record.revoked_keys if record is not None else None
        try:  # conditioned on the list as read: two revocations at once both land
            CheckinRecord(event_key(event_id), event_id=int(event_id),
                          revoked_keys=sorted(revoked | {key_id})).save(
                condition=CheckinRecord.key.does_not_exist() if record is None
                else CheckinRecord.revoked_keys == stored)
        except PutError:
            return revoke_key(event_id, key_id)
    return public_keys(event_id)


def reissue(attendee: Attendee) -> Attendee:
    """A new code for the attendee (the old one no longer admits) and a new ticket PDF."""
    if attendee.order_id is None:
        raise Unprocessable("An attendee without an order has no ticket", "/data")
    current = version_of(attendee)
    condition = Attendee.ticket_version.does_not_exist() if attendee.ticket_version is None \
        else Attendee.ticket_version == current
    from pynamodb.exceptions import UpdateError

    try:
        attendee.update(actions=[Attendee.ticket_version.set(current + 1)],
                        condition=condition & Attendee.deleted_at.does_not_exist())
    except UpdateError:
        raise Conflict("The ticket was reissued meanwhile", "/data") from None
    order = Order.get(int(attendee.order_id))
    if order.status in ("completed", "placed"):
        write_manifest(order)
    return attendee


def write_manifest(order: Order) -> None:
    """The order's manifest again: the renderer draws every ticket with its current code
    (mails already sent are not sent again; the attendee's PDF link stays the same)."""
    from openevent import aws
    from openevent.orders.lifecycle import manifest_json
    from openevent.settings import get_settings

    aws.client("s3").put_object(Bucket=get_settings().documents_bucket,
                                Key=f"manifests/{order.identifier}.json",
                                Body=manifest_json(order).encode(),
                                ContentType="application/json")


# --- what scanners download ----------------------------------------------------------------

SCANNER_FIELDS = ("id", "name", "ticket", "ticket-id", "version", "state", "checked-in",
                  "checked-in-at", "device")


def attendee_state(attendee: Attendee, order: Order | None) -> str:
    """admissible | cancelled | refunded | unpaid (the order is not completed)."""
    if order is None or attendee.deleted_at is not None:
        return "cancelled"
    if order.refunded_at is not None:
        return "refunded"
    if order.status == "completed":
        return "admissible"
    return "cancelled" if order.status in ("cancelled", "expired") else "unpaid"


def scanner_entry(attendee: Attendee, order: Order | None, ticket_names: dict[int, str]
                  ) -> dict[str, Any]:
    from openevent.checkin.state import split

    times = split(attendee.checkin_times)
    devices = split(attendee.device_name_checkin)
    name = " ".join(p for p in (attendee.firstname, attendee.lastname) if p)
    return {"id": str(attendee.id), "name": name,
            "ticket": ticket_names.get(int(attendee.ticket_id), ""),
            "ticket-id": str(attendee.ticket_id), "version": version_of(attendee),
            "state": attendee_state(attendee, order),
            "checked-in": bool(attendee.is_checked_in),
            "checked-in-at": times[-1] if attendee.is_checked_in and times else None,
            "device": devices[-1] if attendee.is_checked_in and devices else None}


def scanner_page(event_id: int, limit: int, cursor: Any) -> tuple[list[dict[str, Any]], Any]:
    """A page of the event's attendees for scanners: one Query of attendees, one
    BatchGetItem of their orders and tickets."""
    from openevent.models.base import batch_get_many
    from openevent.models.events import Ticket

    query = Attendee.event_index.query(int(event_id), limit=limit,
                                       last_evaluated_key=cursor,
                                       filter_condition=Attendee.order_id.exists())
    attendees = [a for a in query if a.deleted_at is None]
    nxt = query.last_evaluated_key
    order_ids = sorted({int(a.order_id) for a in attendees if a.order_id is not None})
    ticket_ids = sorted({int(a.ticket_id) for a in attendees})
    found = batch_get_many([(Order, order_ids), (Ticket, ticket_ids)]) if attendees else {
        Order: [], Ticket: []}
    orders = {int(o.id): o for o in found[Order]}
    names = {int(t.id): str(t.name) for t in found[Ticket]}
    return [scanner_entry(a, orders.get(int(a.order_id)), names) for a in attendees], nxt


def figures(event_id: int) -> dict[str, int]:
    """Checked in now, and sold (the seats of completed orders), from maintained figures."""
    items = order_counts.keys(order_counts.event_figure(event_id))
    from openevent.models.orders import OrderFigure

    shards = list(OrderFigure.batch_get(items))
    sums = order_counts.sums(shards)
    return {"checked-in": sum(int(s.checked_in or 0) for s in shards),
            "sold": int(sums["completed"]["seats"])}
