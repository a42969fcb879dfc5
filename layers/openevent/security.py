"""Credentials: JWT access/refresh tokens, password hashing, single-use mailed tokens.

- JWTs are HS256 with the algorithm pinned on decode (no `alg: none`, no key confusion) and
  carry `identity` (the user id), `exp`, `iat`, a `type` (access/refresh) and the user's
  `pwv` (password version) and the `sid` of the session (login) it belongs to: changing the
  password, the email or a role bumps the version, so tokens minted before stop working —
  except the one session the change carried over (`User.accepts_session`).
- Passwords use argon2id (~19 MiB per hash): at most one hash per CPU core runs at a time,
  so a burst of logins queues for a core instead of multiplying the memory.
- Mailed tokens (verify email, reset password, role invites) are URL-safe random strings;
  only their SHA-256 is stored, so a database leak does not leak usable links.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from openevent.errors import Unauthorized
from openevent.settings import get_settings


@dataclass(frozen=True)
class TokenClaims:
    identity: int
    token_type: str
    password_version: int
    session: str | None = None


def _secret() -> str:
    from openevent.secrets import secret as deployment_secret

    secret = str(deployment_secret("jwt_secret", str(get_settings().jwt_secret)))
    if not secret:
        # Refusing to sign with an empty key is safer than minting forgeable tokens.
        raise RuntimeError("OPENEVENT_JWT_SECRET is not set")
    return secret


def issue_token(user_id: int, password_version: int, token_type: str = "access", *,
                session: str | None = None, minutes: int | None = None) -> str:
    """Sign a JWT for `user_id` (`access` or `refresh`), of session `session` when given;
    `minutes` overrides the configured lifetime of an access token."""
    settings = get_settings()
    now = int(time.time())
    lifetime = (
        (minutes if minutes is not None else settings.jwt_access_minutes) * 60
        if token_type == "access"
        else settings.jwt_refresh_days * 86400
    )
    payload: dict[str, Any] = {
        "identity": user_id,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "type": token_type,
        "pwv": password_version,
    }
    if session is not None:
        payload["sid"] = session
    import jwt  # PyJWT pulls in cryptography (~40 ms): only on paths that handle tokens

    return jwt.encode(payload, _secret(), algorithm=settings.jwt_algorithm)


def decode_token(token: str, expected_type: str = "access") -> TokenClaims:
    """Verify signature, expiry and type; raise 401 `Unauthorized` on any problem."""
    import jwt

    try:
        payload = jwt.decode(
            token,
            _secret(),
            algorithms=[get_settings().jwt_algorithm],
            options={"require": ["exp", "identity", "type"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("Token has expired", parameter="Authorization") from None
    except jwt.PyJWTError:
        raise Unauthorized("Invalid token", parameter="Authorization") from None
    if payload.get("type") != expected_type:
        raise Unauthorized("Wrong token type", parameter="Authorization")
    identity = payload.get("identity")
    if isinstance(identity, bool) or not isinstance(identity, int | str):
        raise Unauthorized("Invalid token", parameter="Authorization")
    try:
        user_id = int(identity)
    except ValueError:
        raise Unauthorized("Invalid token", parameter="Authorization") from None
    pwv = payload.get("pwv", 0)
    sid = payload.get("sid")
    return TokenClaims(user_id, expected_type, pwv if isinstance(pwv, int) else -1,
                       sid if isinstance(sid, str) and 0 < len(sid) <= 64 else None)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: JWT <t>` or `Bearer <t>` header, or None if absent."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() not in {"jwt", "bearer"} or not token.strip():
        raise Unauthorized("Authorization header must be 'JWT <token>'", parameter="Authorization")
    return token.strip()


@lru_cache(maxsize=1)
def _hasher() -> Any:
    from argon2 import PasswordHasher

    # Modest cost: login must stay fast on a small Lambda while still being memory-hard.
    return PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


@lru_cache(maxsize=1)
def _hash_slots() -> threading.BoundedSemaphore:
    """One argon2 computation per core: more only adds memory, not throughput."""
    return threading.BoundedSemaphore(max(1, len(os.sched_getaffinity(0))
                                          if hasattr(os, "sched_getaffinity")
                                          else os.cpu_count() or 1))


def hash_password(password: str) -> str:
    with _hash_slots():
        return str(_hasher().hash(password))


def verify_password(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        with _hash_slots():
            return bool(_hasher().verify(password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# A real hash to verify against when the user does not exist, so that login takes the
# same time whether or not the email is registered.
@lru_cache(maxsize=1)
def dummy_password_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def new_url_token() -> str:
    """A mailed-link token: URL-safe alphabet only (letters, digits, '-', '_'), no padding."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
