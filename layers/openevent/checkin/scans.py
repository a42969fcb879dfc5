"""The scan at the door: a device sends a ticket's QR text and its own scan id; the answer is
admitted, already in (when and on which device) or refused (why).

Guarantees:
- Only the event's registrars, its organizers (co-organizer and up) and staff scan (403 for
  anyone else, the ticket's own buyer included); the answer names the attendee and the
  ticket, never contact data or money.
- A code is admitted only when its Ed25519 signature checks with the deployment's key of its
  key id, that key is not revoked for this event, it names this event, the attendee exists
  with the same ticket and the same version (a reissue changes it), and the attendee's order
  is completed and not refunded — the order's state is a condition of the admitting
  transaction itself, so a cancel or refund that lands first is never overtaken.
- Admits once: the transaction sets `is-checked-in` on the condition that it is not set, so of
  any number of devices scanning one ticket at the same instant exactly one is admitted; the
  others are answered "already in" with that admission's time and device.
- Idempotent by scan id: the answer is stored (`CheckinRecord`, `attribute_not_exists`) in the
  same transaction that admits, or in the write that answers "already in"; the same scan id
  sent again (a retry, an offline queue synced twice) gets the stored answer. Refusals are
  not stored: their causes (a bad signature, a cancelled or refunded order, an old version)
  never turn back into an admission.
- DynamoDB calls: an admission is one BatchGetItem (caller's role, attendee, ticket, the scan
  id's record, the event's revoked keys) and one TransactWriteItems (attendee, order
  condition, scan record, the checked-in figure): 2. "Already in" is 2 as well, a retry 1.
  Only a lost race or a refusal for the order's state reads once more.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError

from openevent.checkin import state, tickets
from openevent.errors import BadRequest, Forbidden
from openevent.events import inventory
from openevent.events.inventory import Batch, InventoryConflict
from openevent.models.base import now
from openevent.models.checkin import SCAN_RECORD_DAYS, CheckinRecord, event_key, scan_key
from openevent.models.events import Ticket
from openevent.models.orders import Attendee, Order
from openevent.models.users import User
from openevent.rules.permissions import get_with_event_role, has_event_role
from openevent.signing import codes, keys

SCAN_ID = re.compile(r"[A-Za-z0-9_.:-]{8,80}")
OFFLINE_WINDOW = timedelta(days=7)  # how old an offline scan's time may be


def _input(body: Any) -> tuple[str, str, str, datetime | None]:
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object", "/")
    code = body.get("code")
    if not isinstance(code, str) or not code.strip() or len(code) > codes.MAX_CODE_CHARS:
        raise BadRequest(f"'code' must be the ticket's QR text (at most "
                         f"{codes.MAX_CODE_CHARS} characters)", "/code")
    scan_id = body.get("scan-id")
    if not isinstance(scan_id, str) or not SCAN_ID.fullmatch(scan_id):
        raise BadRequest("'scan-id' must be 8-80 letters, digits or _.:-", "/scan-id")
    device = body.get("device", "")
    if not isinstance(device, str) or len(device) > 64:
        raise BadRequest("'device' must be a name of at most 64 characters", "/device")
    device = re.sub(r"[,\s]+", " ", device).strip() or "-"  # stored comma-separated
    at = body.get("scanned-at")
    scanned: datetime | None = None
    if at is not None:
        if not isinstance(at, str):
            raise BadRequest("'scanned-at' must be an ISO-8601 time", "/scanned-at")
        try:
            scanned = state.parse_time(at, "scanned-at")
        except Exception:  # noqa: BLE001 - Unprocessable → a 400 naming the field
            raise BadRequest("'scanned-at' must be an ISO-8601 time", "/scanned-at") from None
    return code.strip(), scan_id, device, scanned


def _when(scanned: datetime | None) -> datetime:
    """The check-in time: the device's (an offline scan synced later) when plausible."""
    current = now()
    if scanned is None or scanned > current + timedelta(minutes=2) \
            or scanned < current - OFFLINE_WINDOW:
        return current
    return scanned


def _refused(reason: str, message: str, attendee: dict[str, Any] | None = None
             ) -> dict[str, Any]:
    return {"result": "refused", "reason": reason, "message": message, "attendee": attendee}


def _person(attendee: Attendee, ticket: Ticket | None) -> dict[str, Any]:
    name = " ".join(p for p in (attendee.firstname, attendee.lastname) if p)
    return {"id": str(attendee.id), "name": name,
            "ticket": str(ticket.name) if ticket is not None else ""}


def _already(attendee: Attendee, person: dict[str, Any]) -> dict[str, Any]:
    times = state.split(attendee.checkin_times)
    devices = state.split(attendee.device_name_checkin)
    return {"result": "already-in", "reason": "already-in",
            "message": "Already checked in", "attendee": person,
            "checked-in-at": times[-1] if times else None,
            "device": devices[-1] if devices else None}


def scan(user: User | None, event_id: int, body: Any) -> dict[str, Any]:
    """The answer to one scan (see the module docstring)."""
    if user is None:
        from openevent.errors import Unauthorized

        raise Unauthorized("Authentication is required", parameter="Authorization")
    code, scan_id, device, scanned = _input(body)
    try:
        claim: codes.TicketClaim | None = codes.verify(code, keys.ring().public)
    except codes.BadCode:
        claim = None
    record_key = scan_key(event_id, int(user.id), scan_id)
    wanted: list[tuple[Any, list[Any]]] = [(CheckinRecord, [record_key, event_key(event_id)])]
    if claim is not None and claim.event_id == int(event_id):
        wanted += [(Attendee, [claim.attendee_id]), (Ticket, [claim.ticket_id])]
    found = get_with_event_role(user, int(event_id), wanted)  # 1 call
    if not has_event_role(user, int(event_id), "registrar"):
        raise Forbidden("Only the event's registrars and organizers check tickets in")
    records = {str(r.key): r for r in found.get(CheckinRecord, [])}
    if record_key in records and records[record_key].answer:
        return json.loads(str(records[record_key].answer))  # the same scan id: same answer
    if claim is None:
        return _refused("invalid", "Not a valid ticket of this platform (forged or damaged)")
    if claim.event_id != int(event_id):
        return _refused("other-event", "This ticket is for another event")
    if claim.key_id in tickets.revoked_keys(records.get(event_key(event_id))):
        return _refused("revoked-key", "This ticket was signed with a revoked key; the "
                        "attendee needs a reissued ticket")
    attendee = next(iter(found.get(Attendee, [])), None)
    ticket = next(iter(found.get(Ticket, [])), None)
    if attendee is None or attendee.deleted_at is not None \
            or int(attendee.event_id) != int(event_id) or attendee.order_id is None:
        return _refused("cancelled", "This ticket no longer exists")
    if int(attendee.ticket_id) != claim.ticket_id:
        return _refused("invalid", "Not a valid ticket of this platform (forged or damaged)")
    person = _person(attendee, ticket)
    if tickets.version_of(attendee) != claim.version:
        return _refused("reissued", "This ticket was reissued: only the newest one admits",
                        person)
    if attendee.is_checked_in:
        return _store_already(record_key, attendee, person)
    return _admit(record_key, attendee, claim.version, person, device, _when(scanned))


def _store(record_key: str, attendee: Attendee, answer: dict[str, Any]) -> CheckinRecord:
    return CheckinRecord(record_key, event_id=int(attendee.event_id),
                         attendee_id=int(attendee.id), result=answer["result"],
                         answer=json.dumps(answer, separators=(",", ":")),
                         expires=int((now() + timedelta(days=SCAN_RECORD_DAYS)).timestamp()))


def _stored(record_key: str) -> dict[str, Any]:
    return json.loads(str(CheckinRecord.get(record_key, consistent_read=True).answer))


def _store_already(record_key: str, attendee: Attendee, person: dict[str, Any]
                   ) -> dict[str, Any]:
    answer = _already(attendee, person)
    try:
        _store(record_key, attendee, answer).save(condition=CheckinRecord.key.does_not_exist())
    except PutError:
        return _stored(record_key)  # the same scan id, answered meanwhile
    return answer


def _admit(record_key: str, attendee: Attendee, version: int, person: dict[str, Any],
           device: str, at: datetime) -> dict[str, Any]:
    checkins = state.split(attendee.checkin_times) + [state.stamp(at)]
    devices = state.split(attendee.device_name_checkin)
    devices += ["-"] * (len(checkins) - 1 - len(devices)) + [device]
    is_in, is_out = state.derived(checkins, state.split(attendee.checkout_times))
    answer = {"result": "admitted", "reason": None, "message": "Admitted", "attendee": person,
              "checked-in-at": checkins[-1], "device": device}
    batch = Batch()
    version_condition = Attendee.ticket_version.does_not_exist() if version == 1 \
        else Attendee.ticket_version == version
    if version == 1:
        version_condition = version_condition | (Attendee.ticket_version == 1)
    batch.update("attendee", Attendee(int(attendee.id)), [
        Attendee.checkin_times.set(",".join(checkins)),
        Attendee.device_name_checkin.set(",".join(devices)),
        Attendee.is_checked_in.set(is_in), Attendee.is_checked_out.set(is_out)],
        Attendee.deleted_at.does_not_exist() & version_condition
        & (Attendee.is_checked_in.does_not_exist() | (Attendee.is_checked_in == False))  # noqa: E712
        & (Attendee.order_id == int(attendee.order_id)))
    batch.check("order", Order(int(attendee.order_id)),
                (Order.status == "completed") & Order.refunded_at.does_not_exist())
    batch.save("scan", _store(record_key, attendee, answer), CheckinRecord.key.does_not_exist())
    state.figure_update(batch, int(attendee.event_id), int(attendee.id), 1)
    try:
        inventory.run(lambda: batch)  # 1 call (retried only on a transaction conflict)
    except InventoryConflict as exc:
        if exc.failed("order"):
            order = Order.get(int(attendee.order_id))
            why = tickets.attendee_state(attendee, order)
            return _refused(why, {"refunded": "This ticket's order was refunded",
                                  "unpaid": "This ticket's order is not paid"}.get(
                why, "This ticket's order was cancelled"), person)
        if exc.failed("scan"):
            return _stored(record_key)
        current = Attendee.get(int(attendee.id), consistent_read=True)
        if current.deleted_at is not None:
            return _refused("cancelled", "This ticket no longer exists")
        if tickets.version_of(current) != version:
            return _refused("reissued", "This ticket was reissued: only the newest one admits",
                            person)
        if current.is_checked_in:
            return _store_already(record_key, current, person)  # another device was first
        raise
    return answer
