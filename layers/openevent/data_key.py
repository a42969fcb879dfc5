"""Encryption at rest for secrets the platform stores: organizers' Stripe tokens and the
platform's Stripe/PayPal secrets (Fernet: AES-128-CBC + HMAC-SHA256).

The key exists only in the secret store: in AWS the `data_key` of the deployment secret
(`OPENEVENT_SECRETS_ARN`, generated at deploy), locally a key file the runtime generates in
its data directory and passes as `OPENEVENT_DATA_KEY`. It is never derived from another value
or defaulted: without a key, encryption refuses, and a Lambda container refuses to start
(`require_in_aws`).
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

DATA_KEY_ENV = "OPENEVENT_DATA_KEY"
PREFIX = "enc:v1:"  # marks values written encrypted (older plaintext rows lack it)


class MissingDataKey(RuntimeError):
    """No data-encryption key is configured."""


def _key() -> str:
    from openevent.secrets import secret

    return str(secret("data_key", os.environ.get(DATA_KEY_ENV, "").strip())).strip()


@lru_cache(maxsize=1)
def fernet() -> Any:
    from cryptography.fernet import Fernet

    key = _key()
    if not key:
        raise MissingDataKey(f"No data-encryption key: set {DATA_KEY_ENV} or the deployment "
                             "secret's data_key")
    return Fernet(key.encode())


def encrypt(text: str) -> str:
    return PREFIX + str(fernet().encrypt(text.encode()).decode())


def decrypt(token: str) -> str:
    body = token.removeprefix(PREFIX)
    return str(fernet().decrypt(body.encode()).decode())


def seal(value: str | None) -> str | None:
    """A secret as stored: encrypted (None and "" stay as they are)."""
    return encrypt(value) if value else value


def unseal(value: str | None) -> str | None:
    """A stored secret in clear; rows written before encryption are read as they are."""
    if not value or not value.startswith(PREFIX):
        return value
    return decrypt(value)


def require_in_aws() -> None:
    """In a Lambda container, refuse to start without the key (checked once, at import)."""
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and not _key():
        raise MissingDataKey("Refusing to start: the deployment secret has no data_key")
