"""An attendee's signed ticket code: the claim (event, attendee, ticket, version) signed with
the key ring's active key. What the ticket PDF's QR code carries and the door's scanner
verifies offline with the public keys alone (`openevent.signing.codes`). A reissue raises the
attendee's `ticket_version`, so every older code of that attendee stops passing.
"""

from __future__ import annotations

from typing import Any

from openevent.signing import codes, keys


def version_of(attendee: Any) -> int:
    return int(attendee.ticket_version or 1)


def ticket_code(attendee: Any) -> str:
    kid, key = keys.ring().signing_key()
    return codes.sign(codes.TicketClaim(kid, int(attendee.event_id), int(attendee.id),
                                        int(attendee.ticket_id), version_of(attendee)), key)
