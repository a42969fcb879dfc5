"""Access codes (Open Event Server's `access-code`): a code an organizer hands out that
unlocks hidden tickets of one event for whoever holds it.

Keyed by a 53-bit random id (`next_id("access-code")`, unguessable like discount codes:
the web app follows the code's links by id); an `event-index` GSI (event_id, id) lists an
event's codes in one Query; the code text is unique per event through a `Unique` claim
`access-code#<event>#<code>`, which is also the key-only lookup of the public check by text.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex
from pynamodb.models import Model

from openevent.models.base import IntAttribute, index_meta, now, table_meta


class AccessCodeEventIndex(GlobalSecondaryIndex["AccessCode"]):
    Meta = index_meta("event-index")
    event_id = IntAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


class AccessCode(Model):
    Meta = table_meta("access-codes")
    id = IntAttribute(hash_key=True)
    event_id = IntAttribute()
    code = UnicodeAttribute()
    access_url = UnicodeAttribute(null=True)
    is_active = BooleanAttribute(default=True)
    tickets_number = IntAttribute(null=True)  # max uses: seats the code may unlock in all
    min_quantity = IntAttribute(null=True)  # seats of its tickets per order
    max_quantity = IntAttribute(null=True)
    valid_from = UTCDateTimeAttribute(null=True)
    valid_till = UTCDateTimeAttribute(null=True)
    ticket_ids = ListAttribute(of=IntAttribute, default=list)
    marketer_id = IntAttribute(null=True)
    created_by = IntAttribute(null=True)
    # Seats of live orders the code unlocked; conditional writes keep it <= tickets_number.
    used_count = IntAttribute(default=0)
    created_at = UTCDateTimeAttribute(default=now)
    deleted_at = UTCDateTimeAttribute(null=True)

    event_index = AccessCodeEventIndex()
