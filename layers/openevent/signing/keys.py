"""The deployment's ticket-signing keys (Ed25519): where they live, which one signs, rotation.

The key ring is a JSON document `{"active": <key id>, "keys": {"<key id>": {"private":
"<base64 of the 32-byte seed>", "created": "<ISO time>"}}}`, with key ids 1–255. It lives
- locally in the data directory (`<data dir>/ticket-keys.json`, mode 0600, generated at the
  first start; `OPENEVENT_TICKET_KEYS_FILE` names it), and
- in AWS in the deployment secret (Secrets Manager, `OPENEVENT_SECRETS_ARN`), key
  `ticket_keys`, generated inside AWS at deploy like the JWT secret.
Keys are random (never derived from another secret). Without a ring, signing refuses
(`MissingTicketKeys`); tickets are never issued unsigned.

Rotation (`python -m openevent.signing.keys rotate --file PATH | --secret-arn ARN`) adds a new
key and makes it the one that signs; the old keys stay in the ring, so tickets signed with them
stay valid until an event's organizer revokes the old key for that event
(openevent.checkin.event_keys). A running container sees a rotation within
`RELOAD_SECONDS` (a changed file at once).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

KEYS_FILE_ENV = "OPENEVENT_TICKET_KEYS_FILE"
SECRET_NAME = "ticket_keys"
RELOAD_SECONDS = 300.0


class MissingTicketKeys(RuntimeError):
    """No ticket-signing key ring is configured."""


@dataclass(frozen=True)
class KeyRing:
    active: int
    private: dict[int, Ed25519PrivateKey]

    @property
    def public(self) -> dict[int, Ed25519PublicKey]:
        return {kid: key.public_key() for kid, key in self.private.items()}

    def signing_key(self) -> tuple[int, Ed25519PrivateKey]:
        return self.active, self.private[self.active]


def public_key_text(key: Ed25519PublicKey) -> str:
    """The 32 raw bytes of a public key, base64url without padding (what scanners load)."""
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def new_document() -> dict[str, Any]:
    return add_key({"active": 0, "keys": {}})


def add_key(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with a new random key that is now the active one."""
    keys = dict(document.get("keys") or {})
    kid = max((int(k) for k in keys), default=0) + 1
    if kid > 255:
        raise ValueError("the key ring is full (255 keys): start a new one")
    keys[str(kid)] = {"private": base64.b64encode(secrets.token_bytes(32)).decode(),
                      "created": datetime.now(UTC).isoformat(timespec="seconds")}
    return {"active": kid, "keys": keys}


def parse(text: str) -> KeyRing:
    document = json.loads(text)
    private = {int(kid): Ed25519PrivateKey.from_private_bytes(base64.b64decode(entry["private"]))
               for kid, entry in document["keys"].items()}
    active = int(document["active"])
    if active not in private or not all(1 <= kid <= 255 for kid in private):
        raise ValueError("ticket key ring: bad key ids")
    return KeyRing(active, private)


def ensure_file(path: Path) -> None:
    """Create the local key ring (mode 0600) unless it exists; a damaged one is an error."""
    if path.exists():
        parse(path.read_text())
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(new_document()))
    tmp.chmod(0o600)
    os.replace(tmp, path)


_lock = threading.Lock()
_cache: dict[str, Any] = {}


def _stamp() -> tuple[Any, ...]:
    """Where the ring is and its version: (path, mtime, size) of the file, or ("secret",
    arn, the current RELOAD_SECONDS period)."""
    path = os.environ.get(KEYS_FILE_ENV)
    if path:
        found = Path(path).stat()
        return path, found.st_mtime_ns, found.st_size
    arn = os.environ.get("OPENEVENT_SECRETS_ARN")
    if not arn:
        raise MissingTicketKeys(f"No ticket-signing keys: set {KEYS_FILE_ENV} or the "
                                f"deployment secret's {SECRET_NAME}")
    return "secret", arn, int(time.monotonic() // RELOAD_SECONDS)


def ring() -> KeyRing:
    """The current key ring (re-read when the file changes or every RELOAD_SECONDS)."""
    try:
        stamp = _stamp()
    except FileNotFoundError:
        raise MissingTicketKeys(f"The ticket key file {os.environ.get(KEYS_FILE_ENV)} is "
                                "missing") from None
    with _lock:
        if _cache.get("stamp") == stamp:
            return _cache["ring"]  # type: ignore[no-any-return]
    if stamp[0] == "secret":
        from openevent import aws

        raw = aws.client("secretsmanager").get_secret_value(SecretId=stamp[1])["SecretString"]
        text = json.loads(raw).get(SECRET_NAME)
        if not text:
            raise MissingTicketKeys(f"The deployment secret has no {SECRET_NAME}: run "
                                    "python -m openevent.signing.keys rotate --secret-arn ARN")
        text = text if isinstance(text, str) else json.dumps(text)
    else:
        text = Path(stamp[0]).read_text()
    loaded = parse(text)
    with _lock:
        _cache.update(stamp=stamp, ring=loaded)
    return loaded


def reset_cache() -> None:
    with _lock:
        _cache.clear()


# --- rotation (an operator's command) ------------------------------------------------------

def rotate_file(path: Path) -> int:
    document = json.loads(path.read_text()) if path.exists() else {"active": 0, "keys": {}}
    updated = add_key(document)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(updated))
    tmp.chmod(0o600)
    os.replace(tmp, path)
    return int(updated["active"])


def rotate_secret(arn: str, client: Any = None) -> int:
    if client is None:
        import boto3

        client = boto3.client("secretsmanager")
    document = json.loads(client.get_secret_value(SecretId=arn)["SecretString"])
    current = document.get(SECRET_NAME)
    ring_doc = json.loads(current) if isinstance(current, str) else (current or
                                                                     {"active": 0, "keys": {}})
    updated = add_key(ring_doc)
    document[SECRET_NAME] = json.dumps(updated)
    client.put_secret_value(SecretId=arn, SecretString=json.dumps(document))
    return int(updated["active"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m openevent.signing.keys",
                                     description="List or rotate the ticket-signing keys.")
    parser.add_argument("command", choices=("list", "rotate"))
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--file", type=Path, help="the local key ring (<data dir>/ticket-keys.json)")
    where.add_argument("--secret-arn", help="the deployment secret in AWS")
    args = parser.parse_args(argv)
    if args.command == "rotate":
        kid = rotate_file(args.file) if args.file else rotate_secret(args.secret_arn)
        print(f"key {kid} now signs new tickets; older keys still verify until revoked")
        return 0
    if args.file:
        os.environ[KEYS_FILE_ENV] = str(args.file)
    loaded = ring()
    for kid, key in sorted(loaded.public.items()):
        mark = " (signs)" if kid == loaded.active else ""
        print(f"{kid}\t{public_key_text(key)}{mark}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
