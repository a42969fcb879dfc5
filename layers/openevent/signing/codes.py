"""Signed ticket codes: what an attendee's QR code carries, verifiable with a public key alone.

A code is `OE` + RFC 4648 base32 (no padding) of

    format (1 byte, = 1) | key id (1 byte) | event id | attendee id | ticket id | version
    | Ed25519 signature (64 bytes)

the four numbers as unsigned LEB128 varints. The signature covers the domain tag
`openevent-ticket:` followed by every byte before it, so a code for one event, attendee,
ticket or version cannot be turned into another, and no other signature the platform might
make can pass for a ticket. Upper-case base32 is inside the QR alphanumeric alphabet (5.5 bits
a character instead of 8): a code is ~146 characters, a version 6 QR code at error level M.

Guarantees: `sign` and `verify` are inverses; `verify` accepts a code only when its signature
checks against the public key of its key id and every byte is as signed; anything else
(another shape, a flipped bit, an unknown key) is a `BadCode`, never an exception of another
kind. Whether the ticket is admissible (order state, current version, revoked keys) is the
caller's decision (openevent.checkin.scans), not this module's.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PREFIX = "OE"
FORMAT = 1
DOMAIN = b"openevent-ticket:"
SIGNATURE_BYTES = 64
MAX_CODE_CHARS = 200  # longer input is refused before any decoding


class BadCode(ValueError):
    """Not a ticket code of this platform, or its signature does not check."""


@dataclass(frozen=True, slots=True)
class TicketClaim:
    """What a code says: the key that signed it and the ticket it names."""

    key_id: int
    event_id: int
    attendee_id: int
    ticket_id: int
    version: int


def _varint(value: int) -> bytes:
    if value < 0:
        raise ValueError("ticket code numbers are unsigned")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    for n in range(10):  # 64-bit numbers at most
        if at + n >= len(data):
            raise BadCode("truncated code")
        byte = data[at + n]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if n and byte == 0:
                raise BadCode("non-canonical number")  # one value, one encoding
            return value, at + n + 1
        shift += 7
    raise BadCode("number too long")


def _body(claim: TicketClaim) -> bytes:
    if not 0 <= claim.key_id <= 255:
        raise ValueError("key id is one byte")
    return bytes([FORMAT, claim.key_id]) + b"".join(
        _varint(n) for n in (claim.event_id, claim.attendee_id, claim.ticket_id, claim.version))


def sign(claim: TicketClaim, key: Ed25519PrivateKey) -> str:
    """The code of `claim`, signed with `key` (the private key of `claim.key_id`)."""
    body = _body(claim)
    signature = key.sign(DOMAIN + body)
    return PREFIX + base64.b32encode(body + signature).decode("ascii").rstrip("=")


def parse(code: str) -> tuple[TicketClaim, bytes, bytes]:
    """The claim, the signed bytes and the signature of `code`, unverified."""
    if not isinstance(code, str) or len(code) > MAX_CODE_CHARS:
        raise BadCode("not a ticket code")
    text = code.strip().upper()
    if not text.startswith(PREFIX):
        raise BadCode("not a ticket code")
    text = text[len(PREFIX):]
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        raise BadCode("not a ticket code") from None
    if len(raw) < 2 + 4 + SIGNATURE_BYTES or raw[0] != FORMAT:
        raise BadCode("not a ticket code")
    body, signature = raw[:-SIGNATURE_BYTES], raw[-SIGNATURE_BYTES:]
    numbers = []
    at = 2
    for _ in range(4):
        value, at = _read_varint(body, at)
        numbers.append(value)
    if at != len(body):
        raise BadCode("trailing bytes")
    claim = TicketClaim(body[1], *numbers)
    if _body(claim) != body:
        raise BadCode("non-canonical code")
    return claim, body, signature


def verify(code: str, public_keys: dict[int, Ed25519PublicKey]) -> TicketClaim:
    """The claim of `code` when its signature checks against `public_keys[key id]`."""
    claim, body, signature = parse(code)
    key = public_keys.get(claim.key_id)
    if key is None:
        raise BadCode("unknown signing key")
    try:
        key.verify(signature, DOMAIN + body)
    except InvalidSignature:
        raise BadCode("bad signature") from None
    return claim
