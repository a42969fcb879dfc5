"""Refresh tokens: opaque, stored hashed, rotating and revocable.

Every login (`/auth/session`, `/v1/auth/login`) answers an access JWT and a refresh token: the
web app's auth library (ember-simple-auth-token) refuses a login without one. A refresh token
is a random URL-safe string kept only as its SHA-256 in the mailed-token table (purpose
`refresh-session`), with its owner, expiry and the password version it was issued under.

- `POST /v1/auth/token/refresh` exchanges a refresh token for a new access token *and* a new
  refresh token; the old one is marked used by a conditional write, so it works once (two
  concurrent refreshes with one token: one wins, the other is 401);
- logging out revokes the token sent; changing or resetting the password bumps
  `password_version`, which revokes every refresh token issued before;
- expiry: `OPENEVENT_JWT_REFRESH_DAYS` (30 days).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import UpdateError

from openevent.errors import BadRequest, Unauthorized
from openevent.models.base import now
from openevent.models.users import MailToken, User
from openevent.security import issue_token, new_url_token, token_digest
from openevent.settings import get_settings

log = logging.getLogger("openevent.sessions")
PURPOSE = "refresh-session"
_POINTER = "refresh_token"


def _new_refresh_token(user: User) -> str:
    token = new_url_token()
    lifetime = timedelta(days=get_settings().jwt_refresh_days)
    # `email` carries the password version the session belongs to (the table's free field).
    MailToken(token_digest(token), purpose=PURPOSE, user_id=user.id,
              email=f"pwv:{int(user.password_version or 0)}",
              expires_at=now() + lifetime).save()
    return token


def open_session(user: User) -> dict[str, str]:
    """The login answer: an access JWT and a fresh refresh token. Records the user's
    `last-accessed-at` (the admin's "active users" list filters on it)."""
    _touch(user)
    return {"access_token": issue_token(user.id, user.password_version),
            "refresh_token": _new_refresh_token(user)}


def _touch(user: User) -> None:
    from openevent.jsonapi.compat import dump_extra

    stored = dump_extra("user", user.extra, {"last_accessed_at": now()})
    if stored is None:
        return
    try:
        user.update(actions=[User.extra.set(stored)])
    except Exception as exc:  # noqa: BLE001 - a login never fails for its bookkeeping
        log.warning("last-accessed-at not recorded: %s", type(exc).__name__)


def _valid_record(token: Any) -> MailToken:
    if not isinstance(token, str) or not token or len(token) > 512:
        raise BadRequest("A refresh token is required", parameter=_POINTER)
    try:
        record = MailToken.get(token_digest(token), consistent_read=True)
    except MailToken.DoesNotExist:
        raise Unauthorized("Invalid refresh token", parameter=_POINTER) from None
    if record.purpose != PURPOSE or record.used_at is not None or record.expires_at <= now():
        raise Unauthorized("Refresh token is no longer valid", parameter=_POINTER)
    return record


def refresh(token: Any) -> dict[str, str]:
    """Rotate: the token sent is used up; a new access and refresh token are returned."""
    record = _valid_record(token)
    try:
        user = User.get(int(record.user_id))
    except User.DoesNotExist:
        raise Unauthorized("Refresh token is no longer valid", parameter=_POINTER) from None
    if user.deleted_at is not None or record.email != f"pwv:{int(user.password_version or 0)}":
        raise Unauthorized("Refresh token is no longer valid", parameter=_POINTER)
    try:
        record.update(actions=[MailToken.used_at.set(now())],
                      condition=MailToken.used_at.does_not_exist())
    except UpdateError:
        raise Unauthorized("Refresh token is no longer valid", parameter=_POINTER) from None
    return open_session(user)


def revoke(token: Any) -> None:
    """Log out: the refresh token stops working (unknown or used tokens are ignored)."""
    if not isinstance(token, str) or not token or len(token) > 512:
        return
    try:
        record = MailToken.get(token_digest(token), consistent_read=True)
    except MailToken.DoesNotExist:
        return
    if record.purpose == PURPOSE and record.used_at is None:
        record.update(actions=[MailToken.used_at.set(now())])
