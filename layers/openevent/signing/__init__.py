"""Signed ticket codes: the compact Ed25519-signed code an attendee's QR carries (`codes`), the
key ring that signs them and rotates (`keys`), and an attendee's own code
(`attendee_codes`). Below the order domain: orders put the code into the ticket manifest,
check-in verifies it; neither is needed to verify one.
"""
