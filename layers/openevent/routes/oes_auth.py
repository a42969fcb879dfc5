"""Auth-group routes of Open Event Server's API description (registered by
functions/auth/app.py): re-authentication, password check and token blacklist, and the role
invite's event lookup.

- `POST /v1/auth/fresh-login` `{"email","password"}` with the caller's JWT: a new access
  token, only when the credentials are the caller's own (401 otherwise, as a wrong password
  is: a stolen token cannot be upgraded with someone else's password).
- `POST /v1/auth/verify-password` `{"password"}`: `{"result": true|false}` for the caller's
  own password; 400 without one. Each check costs one password hash, like a login.
- `POST /v1/auth/blacklist`: every token the caller holds stops working — access and refresh
  tokens issued before (it moves the account's token version, the mechanism a password reset
  uses, `accounts/sessions.py`); a refresh token sent in the body is revoked as at logout.
"""

from __future__ import annotations

from typing import Any

from openevent import web
from openevent.errors import BadRequest, Unauthorized
from openevent.routes import Routes
from openevent.rules.permissions import require_login

routes = Routes()


@routes.route("/v1/auth/fresh-login", methods=["POST"])
def fresh_login(app: Any) -> Any:
    from openevent.accounts import users as accounts
    from openevent.security import issue_token

    caller = require_login(web.current_user(app))
    body = web.json_body(app)
    email, password = body.get("email", body.get("username")), body.get("password")
    if not email or not password:
        raise BadRequest("'email' and 'password' are required", pointer="/email")
    user = accounts.authenticate(email, password)
    if int(user.id) != int(caller.id):
        raise Unauthorized("Invalid Credentials", body={"error": "Invalid Credentials"})
    return web.plain({"access_token": issue_token(user.id, user.password_version)})


@routes.route("/v1/auth/verify-password", methods=["POST"])
def verify_password(app: Any) -> Any:
    from openevent.security import verify_password as check

    user = require_login(web.current_user(app))
    password = web.json_body(app).get("password")
    if not isinstance(password, str) or not password or len(password) > 1024:
        raise BadRequest("'password' is required", pointer="/password")
    return web.plain({"result": check(user.password_hash, password)})


@routes.route("/v1/auth/blacklist", methods=["POST"])
def blacklist(app: Any) -> Any:
    from openevent import container_cache
    from openevent.accounts import sessions
    from openevent.models.users import User

    user = require_login(web.current_user(app))
    if web.raw_body(app).strip():
        sessions.revoke(web.json_body(app).get("refresh_token"))
    user.update(actions=[User.password_version.add(1)])
    container_cache.invalidate(("User", user.id))
    return web.plain({"success": True})


@routes.route("/v1/role-invites/{invite_id}/event")
def role_invite_event(app: Any, invite_id: str) -> Any:
    """The invite's event: for its co-organizers and up, or the invitee (proven email)."""
    from openevent.accounts import roles
    from openevent.wire.events import event_resource

    user = require_login(web.current_user(app))
    _, event = roles.readable_invite(user, web.parse_int_id(invite_id, "Role invite"),
                                     "coorganizer")
    return web.jsonapi(web.resource_document(app, event_resource(event, user)))


@routes.route("/v1/users/{user_id}/discount-codes")
def user_discount_codes(app: Any, user_id: str) -> Any:
    """The live codes whose marketer the user is: the user themself or staff."""
    from openevent.errors import Forbidden
    from openevent.jsonapi.query import ListSource, collection_document
    from openevent.models.events import DiscountCode
    from openevent.rules.permissions import is_self_or_staff
    from openevent.wire.events import DISCOUNT_CODE, discount_code_resource

    user = require_login(web.current_user(app))
    uid = web.parse_int_id(user_id, "User")
    if not is_self_or_staff(user, uid):
        raise Forbidden("You can only see your own discount codes")
    found = [c for c in DiscountCode.marketer_index.query(uid) if c.deleted_at is None]
    return web.jsonapi(collection_document(
        ListSource(found), lambda c: discount_code_resource(c, user), DISCOUNT_CODE,
        f"/v1/users/{uid}/discount-codes", web.query(app)))
