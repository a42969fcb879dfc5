"""Who may open a live stream: the JWT checked once when the WebSocket connects.

Browsers cannot set headers on a WebSocket, and a token in a URL ends up in logs, so the
console offers it as a subprotocol: ``new WebSocket(url, ["openevent-lab.v1",
"jwt." + token])``. The server answers with ``openevent-lab.v1`` (never echoing the token).
Python clients may send ``Authorization: JWT <token>`` instead. The same check runs in the
local runtime and in the API Gateway ``$connect`` route; it gives the user id and the token's
expiry, at which the stream's connection is closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from openevent.errors import Unauthorized

SUBPROTOCOL = "openevent-lab.v1"
_TOKEN_PREFIX = "jwt."


@dataclass(frozen=True)
class StreamUser:
    user_id: str
    expires_at: float


def token_from_headers(headers: Mapping[str, str]) -> str | None:
    """The token offered in ``Sec-WebSocket-Protocol`` (``jwt.<token>``) or in
    ``Authorization``; None if neither has one."""
    lower = {k.lower(): v for k, v in headers.items()}
    for item in (lower.get("sec-websocket-protocol") or "").split(","):
        item = item.strip()
        if item.startswith(_TOKEN_PREFIX) and len(item) > len(_TOKEN_PREFIX):
            return item[len(_TOKEN_PREFIX):]
    from openevent.security import bearer_token

    return bearer_token(lower.get("authorization"))


def authenticate(token: str | None) -> StreamUser:
    """Verify ``token`` as ``current_user`` does (signature, expiry, type, user still there,
    password unchanged); raise Unauthorized otherwise."""
    if not token:
        raise Unauthorized("A login token is required", parameter="Sec-WebSocket-Protocol")
    import jwt

    from openevent.models.users import User
    from openevent.security import decode_token

    claims = decode_token(token)
    try:
        user = User.get(claims.identity)
    except User.DoesNotExist:
        raise Unauthorized("User not found", parameter="Authorization") from None
    if user.deleted_at is not None or claims.password_version != user.password_version:
        raise Unauthorized("Token is no longer valid", parameter="Authorization")
    # decode_token verified the signature and required exp: read exp back from the payload.
    exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    return StreamUser(str(user.id), float(exp))
