"""Wire resources of the auth group: user, setting, module, role-invite, users-events-roles."""

from __future__ import annotations

from openevent.jsonapi.compat import item_values, with_extras
from openevent.jsonapi.document import Rel, RelSpec, Resource, Schema
from openevent.jsonapi.fields import Boolean, Choice, DateTime, Email, Integer, String, Url
from openevent.models.events import EventRole, RoleInvite
from openevent.models.system import Modules, SystemSettings
from openevent.models.users import User
from openevent.permissions import EVENT_ROLES

USER = Schema(
    type="user",
    path="users",
    fields=with_extras("user", {
        "email": Email(required=True, nullable=False),
        "password": String(required=True, write_only=True, nullable=False, max_length=1024),
        "first_name": String(max_length=255),
        "last_name": String(max_length=255),
        "public_name": String(max_length=255),
        "avatar_url": Url(),
        "is_verified": Boolean(admin_only=True, default=False, nullable=False),
        "is_admin": Boolean(admin_only=True, default=False, nullable=False),
        "is_super_admin": Boolean(admin_only=True, default=False, nullable=False),
        "was_registered_with_order": Boolean(read_only=True),
        "created_at": DateTime(read_only=True),
        "deleted_at": DateTime(read_only=True),
    }),
)


# Open Event relationships of a user outside this API's scope (their links answer empty).
USER_EMPTY_RELATIONSHIPS = (
    ("followed-groups", "user-follow-group"), ("notifications", "notification"),
    ("email-notifications", "email-notification"), ("groups", "group"),
    ("sessions", "session"), ("speakers", "speaker"), ("event-invoices", "event-invoice"),
    ("feedbacks", "feedback"), ("favourites", "user-favourite-session"),
    ("access-codes", "access-code"), ("discount-codes", "discount-code"),
)


def user_resource(user: User) -> Resource:
    values = item_values(USER, user)
    values.pop("password", None)
    base = f"/v1/users/{user.id}"

    def orders() -> list[Resource]:
        from openevent.models.orders import Order
        from openevent.schemas.orders import ORDER

        # Linkage only (type and id): the full documents live behind links.related.
        return [Resource(ORDER, o.identifier, {}, source=o)
                for o in Order.user_index.query(user.id)]

    def events() -> list[Resource]:
        from openevent.models.events import Event
        from openevent.permissions import event_ids_with_role
        from openevent.schemas.events import EVENT

        ids = list(event_ids_with_role(user, "any"))
        return [Resource(EVENT, e.id, {}, source=e) for e in Event.batch_get(ids)
                if e.deleted_at is None]

    return Resource(
        USER,
        user.id,
        values,
        {
            "orders": Rel("order", None, f"{base}/orders", include_data=False, many=True,
                          loader=orders),
            "events": Rel("event", None, f"{base}/events", include_data=False, many=True,
                          loader=events),
            **{name.replace("-", "_"): Rel(rtype, None, f"{base}/{name}", include_data=False,
                                           many=True)
               for name, rtype in USER_EMPTY_RELATIONSHIPS},
        },
        source=user,
    )


SETTING = Schema(
    type="setting",
    path="settings",
    fields=with_extras("setting", {
        "app_name": String(max_length=255, nullable=False),
        "frontend_url": Url(),
        "order_expiry_time": Integer(minimum=1, maximum=60, nullable=False),
        "is_stripe_activated": Boolean(nullable=False),
        "is_paypal_activated": Boolean(nullable=False),
        "stripe_client_id": String(max_length=255),
        "stripe_publishable_key": String(max_length=255),
        "stripe_secret_key": String(max_length=255, write_only=True),
        "stripe_webhook_secret": String(max_length=255, write_only=True),
        "paypal_mode": Choice(["sandbox", "live"], nullable=False),
        "paypal_client": String(max_length=255),
        "paypal_secret": String(max_length=255, write_only=True),
        "paypal_webhook_id": String(max_length=255, write_only=True),
    }),
)


def setting_resource(settings: SystemSettings) -> Resource:
    from openevent.services.system import frontend_url

    values = item_values(SETTING, settings)
    # the URL in effect (the deployment's default until an admin sets one): the web app
    # builds Stripe's return_url from it
    values["frontend_url"] = values.get("frontend_url") or frontend_url() or None
    # The admin settings form requires these and refuses to save without them: serve the
    # values in effect until an admin sets their own (the API is on the app's origin; mail
    # goes from the deployment's sender).
    from openevent.settings import get_settings

    values["static_domain"] = values.get("static_domain") or values["frontend_url"]
    values["email_from"] = values.get("email_from") or get_settings().mail_sender
    values["email_from_name"] = values.get("email_from_name") or values.get("app_name")
    values["tagline"] = values.get("tagline") or DEFAULT_TAGLINE
    return Resource(SETTING, "1", values, link="/v1/settings")


DEFAULT_TAGLINE = "Event management and ticketing"


MODULE = Schema(
    type="module",
    path="modules",
    fields={
        "ticket_include": Boolean(nullable=False),
        "payment_include": Boolean(nullable=False),
        "donation_include": Boolean(nullable=False),
    },
)


def module_resource(modules: Modules) -> Resource:
    return Resource(MODULE, "1", {n: bool(getattr(modules, n)) for n in MODULE.fields},
                    link="/v1/modules")


ROLE_INVITE = Schema(
    type="role-invite",
    path="role-invites",
    fields={
        "email": Email(required=True, nullable=False),
        "role_name": Choice(EVENT_ROLES[1:], required=True, nullable=False),
        "status": String(read_only=True),
        "created_at": DateTime(read_only=True),
    },
    relationships={"event": RelSpec("event")},
)


def role_invite_resource(invite: RoleInvite) -> Resource:
    values = {"email": invite.email, "role_name": invite.role, "status": invite.status,
              "created_at": invite.created_at}
    return Resource(ROLE_INVITE, invite.id, values, {
        "event": Rel("event", invite.event_id, f"/v1/events/{invite.event_id}"),
    }, source=invite)


USERS_EVENTS_ROLE = Schema(
    type="users-events-role",
    path="users-events-roles",
    fields={
        "role_name": String(read_only=True),
        "created_at": DateTime(read_only=True),
    },
)


def role_wire_id(role: EventRole) -> str:
    """Role records are keyed by (event, user); the wire id keeps both so reads stay GetItems."""
    return f"{role.event_id}.{role.user_id}"


def users_events_role_resource(role: EventRole) -> Resource:
    return Resource(USERS_EVENTS_ROLE, role_wire_id(role),
                    {"role_name": role.role, "created_at": role.created_at}, {
        "user": Rel("user", role.user_id, f"/v1/users/{role.user_id}"),
        "event": Rel("event", role.event_id, f"/v1/events/{role.event_id}"),
    }, source=role)
