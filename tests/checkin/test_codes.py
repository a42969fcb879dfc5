"""Ticket codes: signed, compact, and refused on any change (openevent.signing.codes)."""

from __future__ import annotations

import base64

import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from openevent.signing import codes

KEY = Ed25519PrivateKey.generate()
PUBLIC = {7: KEY.public_key()}
CLAIM = codes.TicketClaim(7, 118_000_000_000_123, 118_000_000_004_567, 118_000_000_000_890, 3)


def test_round_trip_and_size():
    code = codes.sign(CLAIM, KEY)
    assert codes.verify(code, PUBLIC) == CLAIM
    assert codes.verify(code.lower(), PUBLIC) == CLAIM  # typed in lower case
    assert len(code) <= 150
    qr = segno.make(code, error="m", mask=0, micro=False)
    assert qr.mode == "alphanumeric" and qr.version <= 6


def _flip(code: str, at: int) -> str:
    raw = bytearray(base64.b32decode(code[2:] + "=" * (-len(code[2:]) % 8)))
    raw[at] ^= 1
    return "OE" + base64.b32encode(bytes(raw)).decode().rstrip("=")


@pytest.mark.parametrize("at", [1, 2, 5, 12, 20, 30, -1, -40])
def test_any_flipped_bit_is_refused(at):
    with pytest.raises(codes.BadCode):
        codes.verify(_flip(codes.sign(CLAIM, KEY), at), PUBLIC)


def test_other_key_and_unknown_key_are_refused():
    forged = codes.sign(CLAIM, Ed25519PrivateKey.generate())  # valid shape, wrong signature
    with pytest.raises(codes.BadCode, match="signature"):
        codes.verify(forged, PUBLIC)
    with pytest.raises(codes.BadCode, match="unknown"):
        codes.verify(codes.sign(codes.TicketClaim(8, 1, 2, 3, 1), KEY), PUBLIC)


@pytest.mark.parametrize("text", ["", "OE", "hello", "OE!!!!", "OE" + "A" * 300,
                                  "7b97b4f0-786b-41a5-9812-657714c50317-378623761172737"])
def test_garbage_is_bad_code(text):
    with pytest.raises(codes.BadCode):
        codes.verify(text, PUBLIC)
