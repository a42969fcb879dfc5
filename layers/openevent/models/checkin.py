"""Check-in records: one item per scan a device sent (the answer it got, so a retry with the
same scan id gets the same answer) and one per event holding the ticket-signing keys revoked
for that event. Table `checkin`, hash key `key`:
- `scan#<event id>#<user id>#<scan id>`: written with `attribute_not_exists` in the
  transaction that admits (or in the write that answers "already in"), so one scan id has one
  answer;
- `event#<event id>`: `revoked_keys`, the key ids whose tickets this event no longer admits.
Scan records carry `expires` (DynamoDB TTL, `SCAN_RECORD_DAYS`); event records never expire.
"""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from openevent.models.base import IntAttribute, table_meta


class CheckinRecord(Model):
    Meta = table_meta("checkin")
    key = UnicodeAttribute(hash_key=True)
    # scan records
    event_id = IntAttribute(null=True)
    attendee_id = IntAttribute(null=True)
    result = UnicodeAttribute(null=True)  # admitted | already-in
    answer = UnicodeAttribute(null=True)  # the answer as sent, JSON
    # epoch seconds: DynamoDB's TTL clean-up of scan records (SCAN_RECORD_DAYS after the
    # scan, long after any retry); event records have none and stay
    expires = IntAttribute(null=True)
    # event records
    revoked_keys = ListAttribute(of=NumberAttribute, null=True)


SCAN_RECORD_DAYS = 180


def scan_key(event_id: int, user_id: int, scan_id: str) -> str:
    return f"scan#{int(event_id)}#{int(user_id)}#{scan_id}"


def event_key(event_id: int) -> str:
    return f"event#{int(event_id)}"
