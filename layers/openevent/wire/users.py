"""Wire resources of the auth group: user, setting, module, role-invite, users-events-roles."""

from __future__ import annotations

from openevent.jsonapi.compat import item_values, with_extras
from openevent.jsonapi.document import Rel, RelSpec, Resource, Schema
from openevent.jsonapi.fields import Boolean, Choice, DateTime, Email, Integer, String, Url
from openevent.models.events import EventRole, RoleInvite
from openevent.models.system import Modules, SystemSettings
from openevent.models.users import User
from openevent.rules.permissions import EVENT_ROLES

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


# A user's orders and events are linked by type and id only; their documents are served at the
# related links and built by `openevent.wire.orders` / `.events`, which link back to users.
_ORDER_LINKAGE = Schema(type="order", path="orders", fields={})
_EVENT_LINKAGE = Schema(type="event", path="events", fields={})


def user_resource(user: User) -> Resource:
    values = item_values(USER, user)
    values.pop("password", None)
    base = f"/v1/users/{user.id}"

    def orders() -> list[Resource]:
        from openevent.models.orders import Order

        # Linkage only (type and id): the full documents live behind links.related.
        return [Resource(_ORDER_LINKAGE, o.identifier, {}, source=o)
                for o in Order.user_index.query(user.id)]

    def events() -> list[Resource]:
        from openevent.models.events import Event
        from openevent.rules.permissions import event_ids_with_role

        ids = list(event_ids_with_role(user, "any"))
        return [Resource(_EVENT_LINKAGE, e.id, {}, source=e) for e in Event.batch_get(ids)
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
        "allow_unverified_free_orders": Boolean(nullable=False),  # admins only (not public)
    }),
)


# What anyone (anonymous callers included) reads of the settings: what the web app's public
# pages and checkout read — Open Event Server's public setting schema without its admin
# billing contact (issue 20, item 4). Everything else (mail server, billing contact, storage
# buckets, environment) is for admins.
PUBLIC_SETTINGS = frozenset({
    "app_name", "tagline", "frontend_url", "order_expiry_time", "start_pg_event_id",
    "start_pg_enabled", "analytics_key", "fb_client_id", "google_url", "github_url",
    "twitter_url", "support_url", "facebook_url", "instagram_url", "patreon_url", "gitter_url",
    "telegram_url", "youtube_url", "weblate_url", "rocket_chat_url", "android_app_url",
    "web_app_url", "cookie_policy", "cookie_policy_link", "is_stripe_activated",
    "is_paypal_activated", "is_paytm_activated", "is_omise_activated", "is_alipay_activated",
    "is_billing_paypal_activated", "stripe_client_id", "stripe_publishable_key",
    "stripe_test_client_id", "stripe_test_publishable_key", "stripe_mode", "paypal_mode",
    "paypal_client", "paypal_sandbox_client", "omise_mode", "omise_test_public",
    "omise_live_public", "alipay_publishable_key", "paytm_mode", "paytm_live_merchant",
    "paytm_sandbox_merchant", "logo_size", "image_size", "slide_size",
    "is_google_recaptcha_enabled", "google_recaptcha_site",
})

PUBLIC_SETTING = Schema(
    type="setting",
    path="settings",
    fields={name: spec for name, spec in SETTING.fields.items() if name in PUBLIC_SETTINGS},
)


def setting_resource(settings: SystemSettings, admin: bool = False) -> Resource:
    """The settings: every non-secret one for an admin, the public list for anyone else."""
    from openevent.platform.settings import frontend_url

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
    return Resource(SETTING if admin else PUBLIC_SETTING, "1", values, link="/v1/settings")


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
