"""Auth group: accounts, sessions, password flows, roles and invites, settings, modules.

Handlers are thin: parse the request, call the domain packages (`openevent.accounts`, ...),
serialize.
"""

from __future__ import annotations

from typing import Any

from openevent import web
from openevent.accounts import roles, sessions
from openevent.accounts import users as accounts
from openevent.errors import Forbidden, NotFound, Unprocessable
from openevent.jsonapi.compat import core_and_extra, dump_extra, item_values
from openevent.jsonapi.document import meta_document, relationship_document
from openevent.jsonapi.query import ListSource, collection_document
from openevent.jsonapi.request import parse_document
from openevent.models.users import User
from openevent.platform import settings as system
from openevent.routes import oes_auth
from openevent.rules.lookup import get_event
from openevent.rules.permissions import (
    has_event_role,
    is_self_or_staff,
    require_event_role,
    require_login,
    require_staff,
    require_user_manage,
)
from openevent.wire import users as schemas

app = web.create_app("openevent-auth")
route = web.route

oes_auth.routes.register(app)  # the described routes kept outside this file


# --- users -----------------------------------------------------------------------------

@route(app, "/v1/users", methods=["POST"])
def create_user() -> Any:
    caller = web.current_user(app)
    is_admin = bool(caller and caller.is_staff)
    payload = parse_document(web.raw_body(app), web.content_type(app), schemas.USER,
                             create=True, is_admin=is_admin)
    if payload.attributes.get("is_super_admin") and not (caller and caller.is_super_admin):
        raise Unprocessable("'is-super-admin' can only be set by a super admin",
                            "/data/attributes/is-super-admin")
    values, extra = core_and_extra("user", dict(payload.attributes))
    user = accounts.create_user(values)
    if extra:
        user.update(actions=[User.extra.set(dump_extra("user", None, extra))])
    return web.created(web.resource_document(app, schemas.user_resource(user)),
                       f"/v1/users/{user.id}")


@route(app, "/v1/users")
def list_users() -> Any:
    require_staff(web.current_user(app))
    return web.jsonapi(collection_document(accounts.user_list_source(), schemas.user_resource,
                                           schemas.USER, "/v1/users", web.query(app)))


def _target_user(user_id: str) -> Any:
    caller = require_login(web.current_user(app))
    uid = web.parse_int_id(user_id, "User")
    if not is_self_or_staff(caller, uid):
        raise Forbidden("You can only access your own account")
    return caller, accounts.get_user(uid, include_deleted=caller.is_staff)


@route(app, "/v1/users/{user_id}")
def get_user(user_id: str) -> Any:
    _, user = _target_user(user_id)
    return web.jsonapi(web.resource_document(app, schemas.user_resource(user)))


@route(app, "/v1/users/{user_id}/relationships/{name}")
def user_relationship(user_id: str, name: str) -> Any:
    _, user = _target_user(user_id)
    return web.jsonapi(relationship_document(schemas.user_resource(user), name))


@route(app, "/v1/users/{user_id}", methods=["PATCH"])
def update_user(user_id: str) -> Any:
    caller, user = _target_user(user_id)
    require_user_manage(caller, user)
    current = item_values(schemas.USER, user)
    current.pop("password", None)
    payload = parse_document(web.raw_body(app), web.content_type(app), schemas.USER,
                             url_ids=(str(user.id),), is_admin=caller.is_staff, current=current)
    values = dict(payload.attributes)
    if "is_super_admin" in values and values["is_super_admin"] != user.is_super_admin \
            and not caller.is_super_admin:
        raise Unprocessable("'is-super-admin' can only be set by a super admin",
                            "/data/attributes/is-super-admin")
    # A change of the password, the email or a role lost ends every other session of the
    # account; the caller's own session goes on when the account is theirs.
    keep = web.current_session(app) if int(caller.id) == int(user.id) else None
    lost_role = (values.get("is_admin") is False and bool(user.is_admin)) or (
        values.get("is_super_admin") is False and bool(user.is_super_admin))
    if values.get("is_super_admin") is False:
        accounts.demote_super_admin(user, "/data/attributes/is-super-admin")
    if "password" in values:
        if not caller.is_staff:
            raise Unprocessable("Use /v1/auth/change-password to change your password",
                                "/data/attributes/password")
        password = values.pop("password")
        accounts.check_password_length(password, "/data/attributes/password")
        accounts.set_password(user, password, revoke_sessions=True, keep=keep)
    if "email" in values:
        accounts.change_email(user, values.pop("email"), keep)
    values, extra = core_and_extra("user", values)
    if extra:
        values["extra"] = dump_extra("user", user.extra, extra)
    for key, value in values.items():
        setattr(user, key, value)
    if values:
        user.save()
    if lost_role:
        sessions.end_sessions(user, keep)
    return web.jsonapi(web.resource_document(app, schemas.user_resource(user)))


@route(app, "/v1/users/{user_id}", methods=["DELETE"])
def delete_user(user_id: str) -> Any:
    caller, user = _target_user(user_id)
    require_user_manage(caller, user)
    accounts.soft_delete(user)
    return web.jsonapi(meta_document("Object successfully deleted"))


@route(app, "/v1/users/user-details/get-user-id")
def get_user_id() -> Any:
    user = require_login(web.current_user(app))
    return web.plain({"user_id": user.id})


@route(app, "/v1/users/check_email", methods=["POST"])
def check_email() -> Any:
    body = web.json_body(app)
    email = body.get("email")
    if not isinstance(email, str) or not email.strip() or len(email) > 320:
        raise Unprocessable("'email' is required", "/email")
    return web.plain({"exists": accounts.find_by_email(email) is not None})


# Open Event user sub-collections outside this API's scope: empty lists, never 404.
USER_EMPTY_COLLECTIONS = ("followed-groups", "notifications", "email-notifications", "groups",
                          "sessions", "speakers", "event-invoices", "feedbacks",
                          "favourites", "user-favourite-sessions", "access-codes",
                          "video-streams", "user-follow-groups")


def _check_collection_query(name: str) -> None:
    """An empty list still refuses a bad query as a real one would (400 naming it)."""
    from openevent.jsonapi.filtering import compile_filter
    from openevent.jsonapi.query import parse_params

    params = parse_params(web.query(app))
    if params.filter is not None:
        from openevent.openapi import collection_schema

        schema = collection_schema(name)
        if schema is not None:
            compile_filter(params.filter, schema)


def _register_user_empty_collections() -> None:
    for name in USER_EMPTY_COLLECTIONS:
        def view(user_id: str, name: str = name) -> Any:
            _target_user(user_id)
            _check_collection_query(name)
            path = f"/v1/users/{user_id}/{name}"
            return web.jsonapi({"data": [], "links": {"self": path}, "meta": {"count": 0},
                                "jsonapi": {"version": "1.0"}})

        view.__name__ = "empty_user_" + name.replace("-", "_")
        route(app, f"/v1/users/{{user_id}}/{name}")(view)


_register_user_empty_collections()


# --- sessions and password flows -------------------------------------------------------

def _login() -> Any:
    body = web.json_body(app)
    email = body.get("email", body.get("username"))
    user = accounts.authenticate(email, body.get("password"))
    # Every login gets a refresh token: the web app's auth library requires one. Only a
    # `remember-me` login refreshes (the app's choice): its access token lives 15 minutes.
    remember = body.get("remember-me", body.get("remember_me")) in (True, "true")
    return web.plain(sessions.open_session(user, remember=remember))


@route(app, "/v1/auth/login", methods=["POST"])
def login() -> Any:
    return _login()


@route(app, "/auth/session", methods=["POST"])
def session() -> Any:
    return _login()


@route(app, "/v1/auth/logout", methods=["POST"])
def logout() -> Any:
    # Access tokens are short-lived JWTs the client drops; a refresh token sent is revoked.
    req = web.request_of(app)
    if req.raw_body:
        sessions.revoke(web.json_body(app).get("refresh_token"))
    return web.plain({"success": True})


@route(app, "/v1/auth/token/refresh", methods=["POST"])
def refresh() -> Any:
    """Rotate a refresh token: `{"refresh_token"}` (or `Authorization: JWT <refresh token>`)
    → `{"access_token", "refresh_token"}`; the token sent stops working."""
    from openevent.security import bearer_token

    req = web.request_of(app)
    token = bearer_token(req.headers.get("authorization"))
    if req.raw_body:
        sent = web.json_body(app).get("refresh_token")
        token = sent if sent is not None else token
    return web.plain(sessions.refresh(token))


def _data(body: dict[str, Any]) -> dict[str, Any]:
    data = body.get("data")
    if not isinstance(data, dict):
        raise Unprocessable("'data' must be an object", "/data")
    return data


@route(app, "/v1/auth/verify-email", methods=["POST"])
def verify_email() -> Any:
    accounts.verify_email(_data(web.json_body(app)).get("token"))
    return web.plain({"message": "Email Verified"})


@route(app, "/v1/auth/resend-verification-email", methods=["POST"])
def resend_verification() -> Any:
    user = require_login(web.current_user(app))
    if not user.is_verified:
        accounts.send_verification_mail(user)
    return web.plain({"message": "Verification email resent"})


@route(app, "/v1/auth/reset-password", methods=["POST"])
def request_reset() -> Any:
    accounts.request_password_reset(_data(web.json_body(app)).get("email"))
    return web.plain({"message": "If the account exists, a reset link has been mailed"})


@route(app, "/v1/auth/reset-password", methods=["PATCH"])
def reset_password() -> Any:
    data = _data(web.json_body(app))
    user = accounts.reset_password(data.get("token"), data.get("password"))
    name = " ".join(p for p in (user.first_name, user.last_name) if p) or user.public_name
    return web.plain({"id": user.id, "email": user.email, "name": name})


@route(app, "/v1/auth/change-password", methods=["POST"])
def change_password() -> Any:
    user = require_login(web.current_user(app))
    data = _data(web.json_body(app))
    accounts.change_password(user, data.get("old-password", data.get("old_password")),
                             data.get("new-password", data.get("new_password")),
                             keep=web.current_session(app))
    name = " ".join(p for p in (user.first_name, user.last_name) if p) or user.public_name
    return web.plain({"id": user.id, "email": user.email, "name": name,
                      "password-changed": True})


# --- settings and modules --------------------------------------------------------------

@route(app, "/v1/settings")
def get_settings() -> Any:
    caller = web.current_user(app)
    resource = schemas.setting_resource(system.get_system_settings(),
                                        admin=caller is not None and caller.is_staff)
    return web.jsonapi(web.resource_document(app, resource))


@route(app, "/v1/settings", methods=["PATCH"])
def update_settings() -> Any:
    return _update_settings()


@route(app, "/v1/settings/{setting_id}")
def get_settings_by_id(setting_id: str) -> Any:
    if setting_id != "1":
        raise NotFound("Settings are the single resource '1'", parameter="id")
    return get_settings()


@route(app, "/v1/settings/{setting_id}", methods=["PATCH"])
def update_settings_by_id(setting_id: str) -> Any:
    if setting_id != "1":
        raise NotFound("Settings are the single resource '1'", parameter="id")
    return _update_settings()


def _update_settings() -> Any:
    require_staff(web.current_user(app))
    payload = parse_document(web.raw_body(app), web.content_type(app), schemas.SETTING,
                             url_ids=("1",), is_admin=True)
    # Credentials are never served, so the settings page echoes them as null: keep them.
    values = {k: v for k, v in payload.attributes.items()
              if not (v is None and schemas.SETTING.fields[k].write_only)}
    updated = system.update_system_settings(values)
    return web.jsonapi(web.resource_document(app, schemas.setting_resource(updated, admin=True)))


@route(app, "/v1/modules")
def get_modules() -> Any:
    return web.jsonapi(web.resource_document(app, schemas.module_resource(system.get_modules())))


@route(app, "/v1/modules", methods=["PATCH"])
def update_modules() -> Any:
    require_staff(web.current_user(app))
    payload = parse_document(web.raw_body(app), web.content_type(app), schemas.MODULE,
                             url_ids=("1",), is_admin=True)
    modules = system.update_modules(payload.attributes)
    return web.jsonapi(web.resource_document(app, schemas.module_resource(modules)))


# --- role invites and event roles ------------------------------------------------------

@route(app, "/v1/role-invites", methods=["POST"])
def create_role_invite() -> Any:
    user = require_login(web.current_user(app))
    payload = parse_document(web.raw_body(app), web.content_type(app), schemas.ROLE_INVITE,
                             create=True)
    event_ref = payload.relationships.get("event")
    if event_ref is None:
        raise Unprocessable("'event' is required", "/data/relationships/event")
    event = get_event(event_ref, user)
    invite = roles.create_invite(user, event, payload.attributes["email"],
                                 payload.attributes["role_name"])
    return web.created(web.resource_document(app, schemas.role_invite_resource(invite)),
                       f"/v1/role-invites/{invite.id}")


def _invite_for(invite_id: str, needed: str) -> Any:
    user = require_login(web.current_user(app))
    return roles.readable_invite(user, web.parse_int_id(invite_id, "Role invite"), needed)[0]


@route(app, "/v1/role-invites/{invite_id}")
def get_role_invite(invite_id: str) -> Any:
    invite = _invite_for(invite_id, "coorganizer")
    return web.jsonapi(web.resource_document(app, schemas.role_invite_resource(invite)))


@route(app, "/v1/role-invites/{invite_id}", methods=["DELETE"])
def delete_role_invite(invite_id: str) -> Any:
    invite = _invite_for(invite_id, "organizer")
    invite.delete()
    return web.jsonapi(meta_document("Object successfully deleted"))


@route(app, "/v1/events/{event_ref}/role-invites")
def list_role_invites(event_ref: str) -> Any:
    from openevent.models.events import RoleInvite

    user = web.current_user(app)
    event = get_event(event_ref, user)
    require_event_role(user, event, "coorganizer")
    items = list(RoleInvite.event_index.query(event.id))
    return web.jsonapi(collection_document(ListSource(items), schemas.role_invite_resource,
                                           schemas.ROLE_INVITE,
                                           f"/v1/events/{event_ref}/role-invites",
                                           web.query(app)))


def _accept_invite() -> Any:
    user = require_login(web.current_user(app))
    invite, event = roles.accept_invite(user, _data(web.json_body(app)).get("token"))
    name = " ".join(p for p in (user.first_name, user.last_name) if p) or user.email
    return web.plain({"email": user.email, "event": event.id, "event_identifier":
                      event.identifier, "name": name, "role": invite.role})


@route(app, "/v1/role_invites/accept-invite", methods=["POST"])
def accept_invite() -> Any:
    return _accept_invite()


@route(app, "/v1/role-invites/accept-invite", methods=["POST"])
def accept_invite_dashed() -> Any:
    return _accept_invite()


@route(app, "/v1/events/{event_ref}/users-events-roles")
def list_event_roles(event_ref: str) -> Any:
    user = web.current_user(app)
    event = get_event(event_ref, user)
    require_event_role(user, event, "coorganizer")
    return web.jsonapi(collection_document(
        ListSource(roles.event_roles(event.id)), schemas.users_events_role_resource,
        schemas.USERS_EVENTS_ROLE, f"/v1/events/{event_ref}/users-events-roles",
        web.query(app)))


def _role_by_wire_id(role_id: str) -> Any:
    from openevent.models.events import EventRole

    event_part, _, user_part = role_id.partition(".")
    if not (event_part.isdigit() and user_part.isdigit()):
        raise NotFound("Role not found")
    try:
        return EventRole.get(int(event_part), int(user_part))
    except EventRole.DoesNotExist:
        raise NotFound("Role not found") from None


@route(app, "/v1/users-events-roles/{role_id}")
def get_event_role(role_id: str) -> Any:
    user = require_login(web.current_user(app))
    record = _role_by_wire_id(role_id)
    if record.user_id != user.id:
        require_event_role(user, get_event(str(record.event_id), user), "coorganizer")
    return web.jsonapi(web.resource_document(app, schemas.users_events_role_resource(record)))


@route(app, "/v1/users-events-roles/{role_id}", methods=["DELETE"])
def delete_event_role(role_id: str) -> Any:
    user = require_login(web.current_user(app))
    record = _role_by_wire_id(role_id)
    event = get_event(str(record.event_id), user)
    if record.role == "owner":
        raise Forbidden("The owner's role cannot be removed")
    if record.user_id != user.id and not has_event_role(user, event.id, "organizer"):
        require_event_role(user, event, "organizer")
    record.delete()
    return web.jsonapi(meta_document("Object successfully deleted"))


# --- admin: statistics and system records ----------------------------------------------

@route(app, "/v1/admin/sales/{name}")
def admin_sales(name: str) -> Any:
    """Sales per event and fees per event, from the order figures (orders/admin_sales.py);
    per organizer, location, marketer and code from the roll-ups
    (orders/sales_rollup_documents.py)."""
    from openevent.events import lists as event_lists
    from openevent.jsonapi.query import collection_document, parse_params
    from openevent.orders import sales_documents as sales
    from openevent.orders import sales_rollup_documents as rollups

    user = require_staff(web.current_user(app))
    if name in rollups.PAGES:  # by-organizers, by-location, by-marketer, discounted
        return web.jsonapi(rollups.document(name, web.query(app)))
    kinds = {"by-events": (sales.BY_EVENTS, sales.fill_by_events),
             "fees": (sales.FEES, sales.fill_fees)}
    if name not in kinds:
        raise NotFound(f"No sales page named '{name}'", parameter="name")
    schema, fill = kinds[name]
    query = web.query(app)
    if name == "fees":  # the Revenue page asks one page, unsorted: the newest events first
        query.setdefault("sort", "-created-at")
    params = parse_params(query)
    doc = collection_document(event_lists.event_list_source(user, params.filter),
                              lambda e: sales.event_row(schema, e), schema,
                              f"/v1/admin/sales/{name}", query, params)
    return web.jsonapi(fill(doc))


@route(app, "/v1/admin/statistics/{name}")
def admin_statistics(name: str) -> Any:
    from openevent.platform import statistics
    from openevent.wire.admin import STATISTICS, statistics_document

    require_staff(web.current_user(app))
    if name not in STATISTICS:
        raise NotFound(f"No statistics named '{name}'", parameter="name")
    figures = {"events": statistics.event_statistics, "users": statistics.user_statistics,
               "mails": statistics.mail_statistics, "sessions": statistics.session_statistics,
               "groups": statistics.group_statistics}[name]()
    return web.jsonapi(statistics_document(name, figures))


def _kind(kind: str) -> Any:
    from openevent.wire.admin import KINDS

    if kind not in KINDS:
        raise NotFound(f"No route for /v1/{kind}", parameter="path")
    return KINDS[kind]


def _register_system_records() -> None:
    from openevent.platform import records
    from openevent.wire.admin import KINDS, LINKS, record_resource

    def make(kind: str) -> None:
        schema = _kind(kind)
        links = LINKS.get(kind, {})
        slug = kind.replace("-", "_")

        def list_view() -> Any:
            require_login(web.current_user(app))
            return web.jsonapi(collection_document(
                ListSource(records.list_records(kind)),
                lambda r: record_resource(schema, r), schema, f"/v1/{kind}", web.query(app)))

        def create_view() -> Any:
            require_staff(web.current_user(app))
            payload = parse_document(web.raw_body(app), web.content_type(app), schema,
                                     create=True, is_admin=True)
            record = records.create_record(kind, payload.attributes, links,
                                           payload.relationships)
            return web.created(web.resource_document(app, record_resource(schema, record)),
                               f"/v1/{kind}/{record.id}")

        def read_view(item_id: str) -> Any:
            require_login(web.current_user(app))
            record = records.get_record(kind, web.parse_int_id(item_id, schema.type))
            return web.jsonapi(web.resource_document(app, record_resource(schema, record)))

        def update_view(item_id: str) -> Any:
            require_staff(web.current_user(app))
            record = records.get_record(kind, web.parse_int_id(item_id, schema.type))
            payload = parse_document(web.raw_body(app), web.content_type(app), schema,
                                     url_ids=(str(record.id),), is_admin=True)
            record = records.update_record(record, payload.attributes, links,
                                           payload.relationships)
            return web.jsonapi(web.resource_document(app, record_resource(schema, record)))

        def delete_view(item_id: str) -> Any:
            require_staff(web.current_user(app))
            records.delete_record(records.get_record(kind, web.parse_int_id(item_id,
                                                                             schema.type)))
            return web.jsonapi(meta_document("Object successfully deleted"))

        for view, path, method in (
            (list_view, f"/v1/{kind}", "GET"), (create_view, f"/v1/{kind}", "POST"),
            (read_view, f"/v1/{kind}/{{item_id}}", "GET"),
            (update_view, f"/v1/{kind}/{{item_id}}", "PATCH"),
            (delete_view, f"/v1/{kind}/{{item_id}}", "DELETE"),
        ):
            view.__name__ = f"{view.__name__}_{slug}"
            route(app, path, methods=[method])(view)

    for kind in KINDS:
        make(kind)


_register_system_records()


# --- API description -------------------------------------------------------------------

@route(app, "/v1/openapi.json")
def openapi() -> Any:
    from openevent.openapi import load_spec

    return web.plain(load_spec())


@route(app, "/v1/docs")
def api_docs() -> Any:
    """The API reference page (ReDoc over /v1/openapi.json, `openevent.apidocs`)."""
    from chalice import Response
    from openevent import apidocs

    return Response(body=apidocs.page(), status_code=200,
                    headers={"Content-Type": "text/html; charset=utf-8",
                             "Cache-Control": "no-cache",
                             "Content-Security-Policy": apidocs.CSP})


@route(app, "/v1/docs/{name}")
def api_docs_asset(name: str) -> Any:
    from chalice import Response
    from openevent import apidocs
    from openevent.errors import NotFound

    found = apidocs.asset(name)
    if found is None:
        raise NotFound("No such file")
    body, content_type = found
    return Response(body=body.decode("utf-8"), status_code=200,
                    headers={"Content-Type": content_type, "Cache-Control": "max-age=3600"})
