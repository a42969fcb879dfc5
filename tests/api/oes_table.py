"""What Open Event Server's own API description says, as data.

The description is the API Blueprint in fossasia/open-event-server, `docs/api/blueprint/`, at
commit 071d1595b (the commit matching the web app tested against). Its files on
authentication, users, events, event copy, tickets, discount codes, attendees, orders, Stripe
authorization and settings describe each action by an example request and answer. Below, each
action is one `Action`: its method, path, documented status and the attribute names its answer
documents — facts read from those files, restated here. `test_oes_conformance.py` sends each
one to the real handlers with data made through this API.

Paths use placeholders the test fills from the data it made: {event} (id), {identifier}
(the event's identifier), {ticket}, {code}, {code_text}, {order} (identifier), {attendee},
{user} (the organizer), {buyer}, {stripe}, {tax}, {invite}, {track}, {sponsor},
{microlocation}, {social_link}, {custom_form}, {access_code}.

Where this platform deliberately answers differently, `Action.kept` names the difference
(listed with its reason in docs/frontend-compat.md, "Open Event Server's API description").
The check-in attributes of the attendee are not in this table (they belong to the check-in
work).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# --- attribute names each resource type documents --------------------------------------------

EVENT = (
    "name", "identifier", "description", "starts-at", "ends-at", "timezone", "state",
    "privacy", "location-name", "searchable-location-name", "latitude", "longitude",
    "online", "external-event-url", "logo-url", "original-image-url", "thumbnail-image-url",
    "large-image-url", "icon-image-url", "ical-url", "xcal-url", "pentabarf-url",
    "ticket-url", "owner-name", "owner-description", "has-owner-info", "code-of-conduct",
    "refund-policy", "is-map-shown", "is-sessions-speakers-enabled", "is-sponsors-enabled",
    "is-tax-enabled", "is-stripe-linked", "schedule-published-on", "payment-country",
    "payment-currency", "paypal-email", "can-pay-by-paypal", "can-pay-by-stripe",
    "can-pay-by-cheque", "can-pay-by-bank", "can-pay-onsite", "can-pay-by-omise",
    "cheque-details", "bank-details", "onsite-details", "created-at", "deleted-at",
)
TICKET = (
    "name", "description", "type", "price", "quantity", "position", "is-hidden",
    "is-description-visible", "is-fee-absorbed", "is-checkin-restricted",
    "auto-checkin-enabled", "min-order", "max-order", "sales-starts-at", "sales-ends-at",
    "deleted-at",
)
DISCOUNT_CODE = (
    "code", "discount-url", "value", "type", "is-active", "tickets-number", "min-quantity",
    "max-quantity", "valid-from", "valid-till", "used-for", "created-at", "deleted-at",
)
# The attendee's check-in names (is-checked-in, checkin-times, is-checked-out,
# checkout-times) are documented too; they belong to the check-in work and are left out here.
ATTENDEE = (
    "firstname", "lastname", "email", "address", "city", "state", "country", "phone",
    "company", "job-title", "gender", "birth-date", "blog", "website", "twitter", "facebook",
    "github", "home-address", "billing-address", "shipping-address", "work-address",
    "work-phone", "tax-business-info", "pdf-url", "ticket-id", "attendee-notes",
    "is-registered", "register-times", "deleted-at",
)
ORDER = (
    "identifier", "amount", "status", "payment-mode", "paid-via", "transaction-id",
    "is-billing-enabled", "company", "address", "city", "state", "country", "zipcode",
    "tax-business-info", "order-notes", "cancel-note", "tickets-pdf-url", "discount-code-id",
    "brand", "exp-month", "exp-year", "last4", "completed-at", "created-at",
)
USER = (
    "email", "first-name", "last-name", "avatar-url", "original-image-url",
    "thumbnail-image-url", "small-image-url", "icon-image-url", "details", "contact",
    "facebook-url", "twitter-url", "instagram-url", "google-plus-url", "facebook-id",
    "is-verified", "is-admin", "is-super-admin", "is-sales-admin", "is-marketer",
    "is-user-owner", "is-user-organizer", "is-user-coorganizer", "is-user-track-organizer",
    "is-user-moderator", "is-user-registrar", "was-registered-with-order",
    "last-accessed-at", "created-at", "deleted-at",
)
STRIPE_AUTHORIZATION = ("stripe-publishable-key",)
# Settings: every documented name; the credentials among them are never served (kept).
SETTING = (
    "app-name", "tagline", "app-environment", "frontend-url", "web-app-url", "static-domain",
    "storage-place", "aws-key", "aws-secret", "aws-bucket-name", "aws-region", "gs-key",
    "gs-secret", "gs-bucket-name", "google-client-id", "google-client-secret",
    "fb-client-id", "fb-client-secret", "tw-consumer-key", "tw-consumer-secret",
    "in-client-id", "in-client-secret", "stripe-client-id", "stripe-secret-key",
    "stripe-publishable-key", "is-stripe-activated", "paypal-mode", "paypal-client",
    "paypal-secret", "paypal-sandbox-client", "paypal-sandbox-secret", "is-paypal-activated",
    "omise-mode", "omise-test-public", "omise-test-secret", "omise-live-public",
    "omise-live-secret", "email-service", "email-from", "email-from-name", "sendgrid-key",
    "smtp-host", "smtp-username", "smtp-password", "smtp-port", "smtp-encryption",
    "analytics-key", "google-url", "github-url", "twitter-url", "support-url",
    "facebook-url", "youtube-url", "android-app-url", "cookie-policy", "cookie-policy-link",
    "order-expiry-time",
)
SETTING_SECRETS = frozenset({
    "aws-key", "aws-secret", "gs-key", "gs-secret", "google-client-secret",
    "fb-client-secret", "tw-consumer-secret", "in-client-secret", "stripe-secret-key",
    "paypal-secret", "paypal-sandbox-secret", "omise-test-secret", "omise-live-secret",
    "sendgrid-key", "smtp-password",
})


@dataclass(frozen=True)
class Action:
    """One documented action.

    `shape`: "single" (a JSON:API resource of `rtype`), "list" (a collection of `rtype`,
    checked on its first item, which the test's data makes exist), "meta" (the deletion
    answer), "plain" (a JSON object with the keys `attrs`), "absent" (a resource this
    platform does not have: 404), "never" (a resource this platform has none of, though
    its list exists: 404 naming the resource, not "No route")."""

    source: str
    title: str
    method: str
    path: str
    status: int
    shape: str
    rtype: str | None = None
    attrs: tuple[str, ...] = ()
    caller: str = "organizer"
    body: str | None = None          # a builder name in the test module
    query: str = ""
    kept: str | None = None          # a deliberate difference (see docs/frontend-compat.md)
    kept_status: int | None = None   # the status answered instead, when `kept` is about it
    withheld: frozenset[str] = field(default_factory=frozenset)  # names never served
    needs: tuple[str, ...] = ()      # extra data: "stripe", "paypal", "event_code", ...

    @property
    def expected_status(self) -> int:
        return self.kept_status if self.kept_status is not None else self.status

    def id(self) -> str:
        return f"{self.source}:{self.title}"


def _a(source: str, title: str, method: str, path: str, status: int, shape: str,
       rtype: str | None = None, attrs: tuple[str, ...] = (), **kw: Any) -> Action:
    return Action(source, title, method, path, status, shape, rtype, attrs, **kw)


MISSING_HERE = "no such resource on this platform (out of scope)"

# Open Event's event invoices are its monthly fee bills to organizers; none are issued here.
NO_EVENT_INVOICES = ("this platform issues no organizer invoices: the list is empty and "
                     "every id is 404")

# The files hold 102 documented actions (counting each example of the login and refresh
# variants); every one is in `ACTIONS`.
DOCUMENTED_ACTIONS = 102

ACTIONS: tuple[Action, ...] = (
    # --- authentication ----------------------------------------------------------------------
    _a("authentication", "login", "POST", "/v1/auth/login", 200, "plain",
       attrs=("access_token",), caller="anonymous", body="login"),
    _a("authentication", "login remember-me", "POST", "/v1/auth/login", 200, "plain",
       attrs=("access_token",), caller="anonymous", body="login_remember"),
    _a("authentication", "login remember-me in response", "POST", "/v1/auth/login", 200,
       "plain", attrs=("access_token", "refresh_token"), caller="anonymous",
       body="login_remember_in_response"),
    _a("authentication", "fresh login", "POST", "/v1/auth/fresh-login", 200, "plain",
       attrs=("access_token",), body="login"),
    _a("authentication", "verify password", "POST", "/v1/auth/verify-password", 200, "plain",
       attrs=("result",), body="password"),
    _a("authentication", "refresh for web", "POST", "/v1/auth/token/refresh", 200, "plain",
       attrs=("access_token",), caller="anonymous", body="refresh_in_body",
       kept="refresh token in the body, not a cookie"),
    _a("authentication", "refresh for mobile", "POST", "/v1/auth/token/refresh", 200,
       "plain", attrs=("access_token",), caller="refresh"),
    _a("authentication", "logout", "POST", "/v1/auth/logout", 200, "plain",
       attrs=("success",), caller="anonymous"),
    _a("authentication", "blacklist", "POST", "/v1/auth/blacklist", 200, "plain",
       attrs=("success",)),

    # --- users -------------------------------------------------------------------------------
    _a("users", "list", "GET", "/v1/users", 200, "list", "user", USER, caller="admin"),
    _a("users", "create", "POST", "/v1/users", 201, "single", "user", USER,
       caller="anonymous", body="new_user"),
    _a("users", "details", "GET", "/v1/users/{user}", 200, "single", "user", USER),
    _a("users", "update", "PATCH", "/v1/users/{user}", 200, "single", "user", USER,
       body="user_patch"),
    _a("users", "delete", "DELETE", "/v1/users/{buyer}", 200, "meta", caller="buyer"),
    _a("users", "user of a notification", "GET", "/v1/notifications/1/user", 404, "absent",
       kept=MISSING_HERE),
    _a("users", "user of a speaker", "GET", "/v1/speakers/1/user", 404, "absent",
       kept=MISSING_HERE),
    _a("users", "user of an email notification", "GET", "/v1/email-notifications/1/user",
       404, "absent", kept=MISSING_HERE),
    _a("users", "marketer of a discount code", "GET", "/v1/discount-codes/{code}/marketer",
       200, "single", "user", USER),
    _a("users", "user of an event invoice", "GET", "/v1/event-invoices/1/user", 200, "never",
       kept=NO_EVENT_INVOICES, kept_status=404),
    _a("users", "marketer of an access code", "GET", "/v1/access-codes/{access_code}/marketer",
       200, "single", "user", USER, needs=("access_code",)),
    _a("users", "check email", "POST", "/v1/users/check_email", 200, "plain",
       attrs=("exists",), caller="anonymous", body="check_email"),
    _a("users", "get user id", "GET", "/v1/users/user-details/get-user-id", 200, "plain",
       attrs=("user_id",)),

    # --- events ------------------------------------------------------------------------------
    _a("events", "list", "GET", "/v1/events", 200, "list", "event", EVENT,
       caller="anonymous"),
    _a("events", "create", "POST", "/v1/events", 201, "single", "event", EVENT,
       body="new_event"),
    _a("events", "details", "GET", "/v1/events/{identifier}", 200, "single", "event", EVENT,
       caller="anonymous"),
    _a("events", "update", "PATCH", "/v1/events/{event}", 200, "single", "event", EVENT,
       body="event_patch"),
    _a("events", "delete", "DELETE", "/v1/events/{event}", 200, "meta", caller="admin"),
    _a("events", "upcoming", "GET", "/v1/events/upcoming", 200, "list", "event", EVENT,
       caller="anonymous"),
    _a("events", "events of an event type", "GET", "/v1/event-types/1/events", 404,
       "absent", kept=MISSING_HERE),
    _a("events", "events of an event topic", "GET", "/v1/event-topics/1/events", 404,
       "absent", kept=MISSING_HERE),
    _a("events", "events of an event sub-topic", "GET", "/v1/event-sub-topics/1/events", 404,
       "absent", kept=MISSING_HERE),
    _a("events", "events of a user", "GET", "/v1/users/{user}/events", 200, "list", "event",
       EVENT),
    _a("events", "events of a group", "GET", "/v1/groups/1/events", 404, "absent",
       kept=MISSING_HERE),
    _a("events", "events of a discount code", "GET", "/v1/discount-codes/{code}/events", 200,
       "list", "event", EVENT),
    _a("events", "event of a ticket", "GET", "/v1/tickets/{ticket}/event", 200, "single",
       "event", EVENT),
    _a("events", "event of a microlocation", "GET", "/v1/microlocations/{microlocation}/event",
       200, "single", "event", EVENT),
    _a("events", "event of a social link", "GET", "/v1/social-links/{social_link}/event", 200,
       "single", "event", EVENT),
    _a("events", "event of a sponsor", "GET", "/v1/sponsors/{sponsor}/event", 200, "single",
       "event", EVENT),
    _a("events", "event of a speakers call", "GET", "/v1/speakers-calls/1/event", 404,
       "absent", kept=MISSING_HERE),
    _a("events", "event of a track", "GET", "/v1/tracks/{track}/event", 200, "single",
       "event", EVENT),
    _a("events", "event of a session type", "GET", "/v1/session-types/1/event", 404,
       "absent", kept=MISSING_HERE),
    _a("events", "event of an event copyright", "GET", "/v1/event-copyrights/1/event", 404,
       "absent", kept=MISSING_HERE),
    _a("events", "event of a tax", "GET", "/v1/tax/{tax}/event", 200, "single", "event",
       EVENT),
    _a("events", "event of a discount code", "GET", "/v1/discount-codes/{code}/event", 200,
       "single", "event", EVENT),
    _a("events", "event of a session", "GET", "/v1/sessions/1/event", 404, "absent",
       kept=MISSING_HERE),
    _a("events", "event of a ticket tag", "GET", "/v1/ticket-tags/1/event", 404, "absent",
       kept=MISSING_HERE),
    _a("events", "event of a role invite", "GET", "/v1/role-invites/{invite}/event", 200,
       "single", "event", EVENT),
    _a("events", "event of a speaker", "GET", "/v1/speakers/1/event", 404, "absent",
       kept=MISSING_HERE),
    _a("events", "event of an email notification", "GET", "/v1/email-notifications/1/event",
       404, "absent", kept=MISSING_HERE),
    _a("events", "event of an attendee", "GET", "/v1/attendees/{attendee}/event", 200,
       "single", "event", EVENT),
    _a("events", "event of a custom form", "GET", "/v1/custom-forms/{custom_form}/event", 200,
       "single", "event", EVENT),
    _a("events", "event of a faq", "GET", "/v1/faqs/1/event", 404, "absent",
       kept=MISSING_HERE),
    _a("events", "event of an order", "GET", "/v1/orders/{order}/event", 200, "single",
       "event", EVENT),
    _a("events", "event of an event invoice", "GET", "/v1/event-invoices/1/event", 200,
       "never", kept=NO_EVENT_INVOICES, kept_status=404),
    _a("events", "event of a stripe authorization", "GET",
       "/v1/stripe-authorizations/{stripe}/event", 200, "single", "event", EVENT,
       needs=("stripe",)),

    # --- event copy --------------------------------------------------------------------------
    _a("event_copy", "copy", "POST", "/v1/events/{identifier}/copy", 200, "plain",
       attrs=("copied", "id", "identifier"), body="empty_object"),

    # --- tickets -----------------------------------------------------------------------------
    _a("tickets", "create", "POST", "/v1/tickets", 201, "single", "ticket", TICKET,
       body="new_ticket"),
    _a("tickets", "details", "GET", "/v1/tickets/{ticket}", 200, "single", "ticket", TICKET),
    _a("tickets", "update", "PATCH", "/v1/tickets/{ticket}", 200, "single", "ticket", TICKET,
       body="ticket_patch"),
    _a("tickets", "delete", "DELETE", "/v1/tickets/{spare_ticket}", 200, "meta"),
    _a("tickets", "tickets of an event", "GET", "/v1/events/{identifier}/tickets", 200,
       "list", "ticket", TICKET),
    _a("tickets", "tickets of a ticket tag", "GET", "/v1/ticket-tags/1/tickets", 404,
       "absent", kept=MISSING_HERE),
    _a("tickets", "tickets of a discount code", "GET", "/v1/discount-codes/{code}/tickets",
       200, "list", "ticket", TICKET),
    _a("tickets", "tickets of an order", "GET", "/v1/orders/{order}/tickets", 200, "list",
       "ticket", TICKET),
    _a("tickets", "tickets of an access code", "GET", "/v1/access-codes/{access_code}/tickets",
       200, "list", "ticket", TICKET, needs=("access_code",)),

    # --- discount codes ----------------------------------------------------------------------
    _a("discount_codes", "list all", "GET", "/v1/discount-codes", 200, "list",
       "discount-code", DISCOUNT_CODE, caller="admin", needs=("event_code",)),
    _a("discount_codes", "create event code", "POST", "/v1/discount-codes", 201, "single",
       "discount-code", DISCOUNT_CODE, caller="admin", body="new_event_code"),
    _a("discount_codes", "create ticket code", "POST", "/v1/discount-codes", 201, "single",
       "discount-code", DISCOUNT_CODE, body="new_ticket_code"),
    _a("discount_codes", "codes of an event", "GET", "/v1/events/{identifier}/discount-codes",
       200, "list", "discount-code", DISCOUNT_CODE),
    _a("discount_codes", "details", "GET", "/v1/discount-codes/{code}", 200, "single",
       "discount-code", DISCOUNT_CODE),
    _a("discount_codes", "update", "PATCH", "/v1/discount-codes/{code}", 200, "single",
       "discount-code", DISCOUNT_CODE, body="code_patch"),
    _a("discount_codes", "delete", "DELETE", "/v1/discount-codes/{code}", 200, "meta"),
    _a("discount_codes", "by its code", "GET", "/v1/events/{event}/discount-codes/{code_text}",
       200, "single", "discount-code", DISCOUNT_CODE, caller="buyer",
       kept="the public check by code serves no tickets-number or created-at",
       withheld=frozenset({"tickets-number", "created-at"})),
    _a("discount_codes", "codes of a user", "GET", "/v1/users/{user}/discount-codes", 200,
       "list", "discount-code", DISCOUNT_CODE),
    _a("discount_codes", "codes of a ticket", "GET", "/v1/tickets/{ticket}/discount-codes",
       200, "list", "discount-code", DISCOUNT_CODE),
    _a("discount_codes", "event code of an event", "GET",
       "/v1/events/{identifier}/discount-code", 200, "single", "discount-code",
       DISCOUNT_CODE, caller="admin", needs=("event_code",)),

    # --- attendees ---------------------------------------------------------------------------
    _a("attendees", "send receipt", "POST", "/v1/attendees/send-receipt", 200, "plain",
       attrs=("message",), caller="buyer", body="receipt"),
    _a("attendees", "attendees of an order", "GET", "/v1/orders/{order}/attendees", 200,
       "list", "attendee", ATTENDEE, caller="buyer"),
    _a("attendees", "attendees of an event", "GET", "/v1/events/{event}/attendees", 200,
       "list", "attendee", ATTENDEE),
    _a("attendees", "search attendees of an event", "GET",
       "/v1/events/{event}/attendees/search", 200, "plain", attrs=("attendees",),
       query="name=Ada"),
    _a("attendees", "attendees of a ticket", "GET", "/v1/tickets/{free_ticket}/attendees",
       200, "list", "attendee", ATTENDEE),
    _a("attendees", "details", "GET", "/v1/attendees/{attendee}", 200, "single", "attendee",
       ATTENDEE),
    _a("attendees", "update", "PATCH", "/v1/attendees/{attendee}", 200, "single", "attendee",
       ATTENDEE, body="attendee_patch"),
    _a("attendees", "delete", "DELETE", "/v1/attendees/{held_attendee}", 200, "meta",
       caller="buyer"),
    _a("attendees", "state", "GET", "/v1/states", 200, "plain",
       attrs=("is_registered", "register_times"), query="event_id={event}&attendee_id={attendee}"),

    # --- orders ------------------------------------------------------------------------------
    _a("orders", "list all", "GET", "/v1/orders", 200, "list", "order", ORDER,
       caller="admin"),
    _a("orders", "create order", "POST", "/v1/orders/create-order", 200, "single", "order",
       ORDER, caller="buyer", body="create_order", kept="201 Created for a create",
       kept_status=201),
    _a("orders", "details", "GET", "/v1/orders/{order}", 200, "single", "order", ORDER,
       caller="buyer"),
    _a("orders", "update", "PATCH", "/v1/orders/{paid_order}", 200, "single", "order", ORDER,
       caller="buyer", body="order_patch"),
    _a("orders", "on-site order", "POST", "/v1/orders", 201, "single", "order",
       ORDER + ("payment-url",), body="onsite_order", query="onsite=true"),
    _a("orders", "charge", "POST", "/v1/orders/{paid_order}/charge", 200, "single", "charge",
       ("message", "status"), caller="buyer", body="charge", needs=("stripe",)),
    _a("orders", "orders of an event", "GET", "/v1/events/{identifier}/orders", 200, "list",
       "order", ORDER),
    _a("orders", "orders of a user", "GET", "/v1/users/{buyer}/orders", 200, "list", "order",
       ORDER, caller="buyer"),
    _a("orders", "create paypal payment", "POST", "/v1/orders/{paid_order}/create-paypal-payment",
       200, "plain", attrs=("status", "payment_id", "error"), caller="buyer",
       body="paypal_payment", needs=("paypal",),
       kept="under /v1 like every other route (the description's path lacks it)"),
    _a("orders", "calculate amount", "POST", "/v1/orders/calculate-amount", 200, "plain",
       attrs=("discount", "sub_total", "tax", "tickets", "total"), caller="buyer",
       body="calculate"),

    # --- settings ----------------------------------------------------------------------------
    _a("settings", "show", "GET", "/v1/settings", 200, "single", "setting", SETTING,
       caller="admin", kept="credentials are never served", withheld=SETTING_SECRETS),
    _a("settings", "update", "PATCH", "/v1/settings", 200, "single", "setting", SETTING,
       caller="admin", body="settings_patch", kept="credentials are never served",
       withheld=SETTING_SECRETS),

    # --- stripe authorization ----------------------------------------------------------------
    _a("stripe_authorization", "create", "POST", "/v1/stripe-authorizations", 201, "single",
       "stripe-authorization", STRIPE_AUTHORIZATION, body="stripe_connect",
       needs=("stripe_unconnected",)),
    _a("stripe_authorization", "details", "GET", "/v1/stripe-authorizations/{stripe}", 200,
       "single", "stripe-authorization", STRIPE_AUTHORIZATION, needs=("stripe",)),
    _a("stripe_authorization", "update", "PATCH", "/v1/stripe-authorizations/{stripe}", 200,
       "single", "stripe-authorization", STRIPE_AUTHORIZATION, body="stripe_reconnect",
       needs=("stripe",)),
    _a("stripe_authorization", "delete", "DELETE", "/v1/stripe-authorizations/{stripe}", 200,
       "meta", needs=("stripe",)),
    _a("stripe_authorization", "of an event", "GET",
       "/v1/events/{identifier}/stripe-authorization", 200, "single", "stripe-authorization",
       STRIPE_AUTHORIZATION, needs=("stripe",)),
)
