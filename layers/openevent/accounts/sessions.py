"""Sessions: one per login, carried by rotating refresh tokens; ended together on a change.

Every login (`/auth/session`, `/v1/auth/login`) opens a session (a random `sid`) and answers
an access JWT and a refresh token of it: the web app's auth library (ember-simple-auth-token)
refuses a login without one. A refresh token is a random URL-safe string kept only as its
SHA-256 in the mailed-token table (purpose `refresh-session`), with its owner, expiry, the
password version it was issued under and its session.

- access tokens live `OPENEVENT_JWT_ACCESS_MINUTES` (15) when the login asked `remember-me`
  (the web app then refreshes them before they expire); a login that did not ask — the app
  schedules no refresh then and would end the session at expiry — gets
  `OPENEVENT_JWT_UNREFRESHED_MINUTES` (a day, as Open Event Server). Either is checked
  against the account on every request, so ending the session ends it at once;
- a password change, an email change, the loss of the admin role (`end_sessions`) bump the
  account's `password_version` and keep at most the session that made the change
  (`User.kept_session`): every other session's access and refresh tokens stop working. A
  password reset, an admin's change of someone else's account and a deletion keep none;

- `POST /v1/auth/token/refresh` exchanges a refresh token for a new access token *and* a new
  refresh token; the old one is marked used by a conditional write, so it works once (two
  concurrent refreshes with one token: one wins, the other is 401);
- logging out revokes the token sent;
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


def _new_refresh_token(user: User, session: str) -> str:
    token = new_url_token()
    lifetime = timedelta(days=get_settings().jwt_refresh_days)
    # `email` carries the password version and the session (the table's free field).
    MailToken(token_digest(token), purpose=PURPOSE, user_id=user.id,
              email=f"pwv:{int(user.password_version or 0)};sid:{session}",
              expires_at=now() + lifetime).save()
    return token


def _stamp(record: MailToken) -> tuple[int, str | None]:
    """The password version and session of a refresh token record ("pwv:N;sid:S"; records
    made before sessions had ids read "pwv:N")."""
    version, session = -1, None
    for part in str(record.email or "").split(";"):
        name, _, value = part.partition(":")
        if name == "pwv" and value.lstrip("-").isdigit():
            version = int(value)
        elif name == "sid" and value:
            session = value
    return version, session


def open_session(user: User, *, remember: bool = True,
                 session: str | None = None) -> dict[str, str]:
    """The login answer: an access JWT and a fresh refresh token of a new session (or of
    `session`, on refresh). Records the user's `last-accessed-at` (the admin's "active
    users" list filters on it)."""
    _touch(user)
    settings = get_settings()
    sid = session or new_url_token()[:22]
    minutes = settings.jwt_access_minutes if remember else settings.jwt_unrefreshed_minutes
    return {"access_token": issue_token(user.id, int(user.password_version or 0),
                                        session=sid, minutes=minutes),
            "refresh_token": _new_refresh_token(user, sid)}


def end_actions(keep: str | None) -> list[Any]:
    """The update actions that end every session of an account but `keep` (None: all)."""
    return [User.password_version.add(1),
            User.kept_session.set(keep) if keep else User.kept_session.remove()]


def end_sessions(user: User, keep: str | None = None) -> None:
    """End every session of `user` except `keep` (the caller's own, when it is theirs)."""
    user.update(actions=end_actions(keep))


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
    version, session = _stamp(record)
    if user.deleted_at is not None or not user.accepts_session(version, session):
        raise Unauthorized("Refresh token is no longer valid", parameter=_POINTER)
    try:
        record.update(actions=[MailToken.used_at.set(now())],
                      condition=MailToken.used_at.does_not_exist())
    except UpdateError:
        raise Unauthorized("Refresh token is no longer valid", parameter=_POINTER) from None
    return open_session(user, session=session)


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
