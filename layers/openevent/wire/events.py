"""Wire resources of the events group: event, ticket, discount-code, tax, track, sponsor,
microlocation, social-link, custom-form, stripe-authorization.

Builders (`event_resource`, `ticket_resource`, `discount_code_resource`, ...) turn a model into
a `Resource` whose relationships all carry a `links.related` URL that answers, and whose
`include=` loaders read by key only. The orders group imports the first three for its includes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, cast

from pynamodb.models import Model

from openevent.jsonapi import links
from openevent.jsonapi.compat import item_values, with_extras
from openevent.jsonapi.document import Rel, RelSpec, Resource, Schema
from openevent.jsonapi.fields import (
    Boolean,
    Choice,
    DateTime,
    Email,
    Integer,
    Money,
    Number,
    String,
    Timezone,
    Url,
)
from openevent.models.events import DiscountCode, Event, Ticket
from openevent.models.users import User


class Coordinate(Number):
    """A latitude/longitude: Number's input rules at micro-degree precision (~0.1 m)."""

    def convert(self, value: Any, name: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.fail(name, "must be a number")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise self.fail(name, "must be a number") from None
        if not number.is_finite():
            raise self.fail(name, "must be a finite number")
        if (self.minimum is not None and number < self.minimum) or number > self.maximum:
            raise self.fail(name, f"must be between {self.minimum} and {self.maximum}")
        return number.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)

    def dump(self, value: Any) -> Any:
        return None if value is None else float(value)


# Every relationship an event document carries (filterable with has/any and `ne null`).
EVENT_RELATIONSHIPS = (
    "owner", "tickets", "tax", "tracks", "sponsors", "microlocations", "social_links",
    "custom_forms", "discount_codes", "discount_code", "stripe_authorization", "roles",
    "role_invites", "orders", "attendees", "speakers", "sessions", "exhibitors", "event_type",
    "event_topic", "event_sub_topic", "speakers_call", "order_statistics",
    "general_statistics", "event_copyright", "tags", "faqs", "session_types",
)

EVENT = Schema(
    type="event",
    path="events",
    fields=with_extras("event", {
        "name": String(required=True, nullable=False, min_length=1, max_length=500),
        "identifier": String(read_only=True),
        "starts_at": DateTime(required=True, nullable=False),
        "ends_at": DateTime(required=True, nullable=False),
        "timezone": Timezone(required=True, nullable=False),
        "state": Choice(["draft", "published"], nullable=False),
        "privacy": Choice(["public", "private"], nullable=False),
        "description": String(max_length=50_000),
        "location_name": String(max_length=1000),
        "logo_url": Url(),
        "original_image_url": Url(),
        "payment_currency": String(max_length=3, min_length=3, nullable=False),
        "payment_country": String(max_length=100),
        "paypal_email": Email(),
        "can_pay_by_stripe": Boolean(nullable=False),
        "can_pay_by_paypal": Boolean(nullable=False),
        "can_pay_onsite": Boolean(nullable=False),
        "can_pay_by_bank": Boolean(nullable=False),
        "can_pay_by_cheque": Boolean(nullable=False),
        "is_donation_enabled": Boolean(nullable=False),
        "is_ticketing_enabled": Boolean(nullable=False),
        "created_at": DateTime(read_only=True),
        "deleted_at": DateTime(read_only=True),
        "is_stripe_linked": Boolean(read_only=True),
    }),
    read_relationships=frozenset(EVENT_RELATIONSHIPS),
)

TICKET = Schema(
    type="ticket",
    path="tickets",
    fields=with_extras("ticket", {
        "name": String(required=True, nullable=False, min_length=1, max_length=255),
        "description": String(max_length=10_000),
        "type": Choice(["free", "paid", "donation"], required=True, nullable=False),
        "price": Money(),
        "min_price": Money(),
        "max_price": Money(),
        "quantity": Integer(minimum=1, maximum=10_000_000, nullable=False),
        "min_order": Integer(minimum=1, maximum=100_000, nullable=False),
        "max_order": Integer(minimum=1, maximum=100_000, nullable=False),
        "sales_starts_at": DateTime(),
        "sales_ends_at": DateTime(),
        "is_hidden": Boolean(nullable=False),
        "position": Integer(minimum=0, maximum=100_000, nullable=False),
        # Our extension (docs/scale.md): the seats split over this many counters for a big
        # on-sale; null = one counter. Changeable while no seat is held or sold.
        "seat_shards": Integer(minimum=1, maximum=32),
        "created_at": DateTime(read_only=True),
        "deleted_at": DateTime(read_only=True),  # soft deletion, as Open Event shows it
    }),
    relationships={"event": RelSpec("event")},
    read_relationships=frozenset({"discount_codes", "attendees", "order_statistics"}),
)

DISCOUNT_CODE = Schema(
    type="discount-code",
    path="discount-codes",
    numeric_id=True,
    fields={
        "code": String(required=True, nullable=False, min_length=1, max_length=100),
        "discount_url": Url(),
        "value": Money(required=True, nullable=False),
        "type": Choice(["amount", "percent"], required=True, nullable=False),
        "is_active": Boolean(nullable=False),
        "tickets_number": Integer(minimum=1, maximum=10_000_000),
        "min_quantity": Integer(minimum=0, maximum=100_000),
        "max_quantity": Integer(minimum=1, maximum=100_000),
        "valid_from": DateTime(),
        "valid_till": DateTime(),
        "used_for": Choice(["ticket", "event"], aliases={"tickets": "ticket", "events": "event"},
                           required=True, nullable=False),
        "created_at": DateTime(read_only=True),
        "deleted_at": DateTime(read_only=True),  # soft deletion, as Open Event shows it
    },
    relationships={
        "event": RelSpec("event"),
        "tickets": RelSpec("ticket", many=True),
        "marketer": RelSpec("user"),
        # Open Event's event discount code names its event in a list (input only)
        "events": RelSpec("event", many=True),
    },
)

TAX = Schema(
    type="tax",
    path="taxes",
    fields={
        "name": String(required=True, nullable=False, min_length=1, max_length=255),
        "rate": Number(required=True, nullable=False, minimum=Decimal(0),
                       maximum=Decimal(100)),
        "tax_id": String(max_length=255),
        "is_tax_included_in_price": Boolean(nullable=False),
        "is_invoice_sent": Boolean(nullable=False),
        "country": String(max_length=100),
        "address": String(max_length=1000),
        "city": String(max_length=255),
        "state": String(max_length=255),
        "zip": String(max_length=50),
        "registered_company": String(max_length=255),
        "invoice_footer": String(max_length=5000),
    },
    relationships={"event": RelSpec("event")},
)

TRACK = Schema(
    type="track",
    path="tracks",
    fields={
        "name": String(required=True, nullable=False, min_length=1, max_length=255),
        "description": String(max_length=10_000),
        "color": String(max_length=32),
        "font_color": String(max_length=32),
    },
    relationships={"event": RelSpec("event")},
)

SPONSOR = Schema(
    type="sponsor",
    path="sponsors",
    fields={
        "name": String(required=True, nullable=False, min_length=1, max_length=255),
        "description": String(max_length=10_000),
        "url": Url(),
        "level": Integer(minimum=0, maximum=1000),
        "logo_url": Url(),
        "type": String(max_length=255),
        "position": Integer(minimum=0, maximum=100_000),
    },
    relationships={"event": RelSpec("event")},
)

MICROLOCATION = Schema(
    type="microlocation",
    path="microlocations",
    fields={
        "name": String(required=True, nullable=False, min_length=1, max_length=255),
        "latitude": Coordinate(minimum=Decimal(-90), maximum=Decimal(90)),
        "longitude": Coordinate(minimum=Decimal(-180), maximum=Decimal(180)),
        "floor": Integer(minimum=-1000, maximum=1000),
        "room": String(max_length=255),
        "position": Integer(minimum=0, maximum=100_000),
    },
    relationships={"event": RelSpec("event")},
)

SOCIAL_LINK = Schema(
    type="social-link",
    path="social-links",
    fields={
        "name": String(required=True, nullable=False, min_length=1, max_length=255),
        "link": Url(required=True, nullable=False),
        "identifier": String(max_length=255),
    },
    relationships={"event": RelSpec("event")},
)

CUSTOM_FORM = Schema(
    type="custom-form",
    path="custom-forms",
    fields={
        "field_identifier": String(required=True, nullable=False, min_length=1,
                                   max_length=255),
        "form": Choice(["attendee", "speaker", "session"], required=True, nullable=False),
        "type": String(required=True, nullable=False, min_length=1, max_length=50),
        "name": String(max_length=255),
        "description": String(max_length=5000),
        "is_required": Boolean(nullable=False),
        "is_included": Boolean(nullable=False),
        "is_fixed": Boolean(read_only=True),  # server-made default fields only
        "is_complex": Boolean(nullable=False),
        "position": Integer(minimum=0, maximum=100_000, nullable=False),
        # the ticket-specific form it belongs to (the app's payment step filters on it)
        "form_id": String(max_length=255),
    },
    relationships={"event": RelSpec("event")},
)

TAG = Schema(
    type="tag",
    path="tags",
    fields={
        "name": String(required=True, nullable=False, min_length=1, max_length=255),
        "color": String(max_length=32),
        "is_read_only": Boolean(nullable=False),
    },
    relationships={"event": RelSpec("event")},
)

STRIPE_AUTHORIZATION = Schema(
    type="stripe-authorization",
    path="stripe-authorization",
    fields={
        # The one-time code from Stripe's Connect redirect: accepted, never returned.
        "stripe_auth_code": String(required=True, nullable=False, min_length=1,
                                   max_length=512, write_only=True),
        "stripe_publishable_key": String(read_only=True),
    },
    relationships={"event": RelSpec("event")},
)


def _values(schema: Schema, item: Any) -> dict[str, Any]:
    return item_values(schema, item)


def _event_loader(event_id: int, user: User | None = None) -> Any:
    def load() -> list[Resource]:
        from openevent.rules.lookup import find_event
        from openevent.rules.permissions import can_see_event

        event = find_event(str(event_id))
        if event is None or not can_see_event(user, event):
            return []
        return [event_resource(event, user)]

    return load


# --- event ---------------------------------------------------------------------------------

def event_resource(event: Event, user: User | None = None) -> Resource:
    """The `event` resource. `user` decides what `include=` may load (hidden tickets, codes)."""
    base = f"/v1/events/{event.id}"

    def many(rtype: str, name: str, loader: Any = None) -> Rel:
        return Rel(rtype, None, f"{base}/{name}", loader=loader, include_data=False, many=True)

    def tickets() -> list[Resource]:
        from openevent.rules.event_reads import visible_tickets

        return [ticket_resource(t) for t in visible_tickets(event, user)]

    def tax() -> list[Resource]:
        found = tax_of(event.id)
        return [] if found is None else [content_resource(TAX, found)]

    def content(kind: str) -> Any:
        def load() -> list[Resource]:
            spec = KINDS[kind]
            return [content_resource(spec.schema, i) for i in children(spec, event.id)]

        return load

    def codes() -> list[Resource]:
        from openevent.rules.event_reads import discount_codes_of_event as codes_of_event
        from openevent.rules.permissions import has_event_role

        if not has_event_role(user, event.id, "coorganizer"):
            return []
        return [discount_code_resource(c) for c in codes_of_event(event.id)]

    def access_codes() -> list[Resource]:
        from openevent.rules.event_reads import access_codes_of_event as codes_of_event
        from openevent.rules.permissions import has_event_role
        access_code_resource = links.provided("access-code")

        if not has_event_role(user, event.id, "coorganizer"):
            return []
        return [access_code_resource(c, user) for c in codes_of_event(event.id)]

    def owner() -> list[Resource]:
        from openevent.rules.permissions import has_event_role
        from openevent.wire.users import user_resource

        if not has_event_role(user, event.id, "coorganizer"):
            return []
        try:
            return [user_resource(User.get(event.owner_id))]
        except User.DoesNotExist:
            return []

    values = _values(EVENT, event)
    values["is_stripe_linked"] = _is_stripe_linked(event)
    rels = {
        "owner": Rel("user", event.owner_id, f"{base}/owner", loader=owner),
        "tickets": many("ticket", "tickets", tickets),
        "tax": Rel("tax", None, f"{base}/tax", loader=tax, include_data=False),
        "tracks": many("track", "tracks", content("tracks")),
        "sponsors": many("sponsor", "sponsors", content("sponsors")),
        "microlocations": many("microlocation", "microlocations", content("microlocations")),
        "social_links": many("social-link", "social-links", content("social-links")),
        "custom_forms": many("custom-form", "custom-forms", content("custom-forms")),
        "discount_codes": many("discount-code", "discount-codes", codes),
        "access_codes": many("access-code", "access-codes", access_codes),
        # The event-wide code's id is a secret: only who may read the code (admins) sees
        # it; a buyer applies the code by its text (issue 20, item 1).
        "discount_code": Rel("discount-code",
                             event.discount_code_id if user is not None and user.is_staff
                             else None, f"{base}/discount-code"),
        "stripe_authorization": Rel("stripe-authorization", None,
                                    f"{base}/stripe-authorization", include_data=False),
        "roles": many("users-events-role", "users-events-roles"),
        "role_invites": many("role-invite", "role-invites"),
        "orders": many("order", "orders"),
        "attendees": many("attendee", "attendees"),
        "speakers": many("speaker", "speakers"),
        "sessions": many("session", "sessions"),
        "exhibitors": many("exhibitor", "exhibitors"),
        "event_type": Rel("event-type", None, f"{base}/event-type"),
        "event_topic": Rel("event-topic", None, f"{base}/event-topic"),
        "event_sub_topic": Rel("event-sub-topic", None, f"{base}/event-sub-topic"),
        "event_copyright": Rel("event-copyright", None, f"{base}/event-copyright"),
        "speakers_call": Rel("speakers-call", None, f"{base}/speakers-call",
                             include_data=False),
        "order_statistics": Rel("order-statistics-event", None, f"{base}/order-statistics",
                                include_data=False),
        "general_statistics": Rel("event-statistics-general", None,
                                  f"{base}/general-statistics", include_data=False),
        "tags": many("tag", "tags", content("tags")),
        "faqs": many("faq", "faqs"),
        "session_types": many("session-type", "session-types"),
    }
    return Resource(EVENT, event.id, values, rels, source=event)


def _is_stripe_linked(event: Event) -> bool:
    """Whether the event has a connected Stripe account (read only for Stripe events)."""
    if not event.can_pay_by_stripe:
        return False
    if event.stripe_linked is not None:
        return bool(event.stripe_linked)
    from openevent.rules.event_reads import stripe_authorization_of as authorization_of

    return authorization_of(event.id) is not None


# --- ticket --------------------------------------------------------------------------------

def ticket_resource(ticket: Ticket, user: User | None = None) -> Resource:
    """The `ticket` resource (event, attendees and discount-codes relationships)."""
    base = f"/v1/tickets/{ticket.id}"
    return Resource(TICKET, ticket.id, _values(TICKET, ticket), {
        "event": Rel("event", ticket.event_id, f"{base}/event",
                     loader=_event_loader(ticket.event_id, user)),
        "discount_codes": Rel("discount-code", None, f"{base}/discount-codes",
                              include_data=False, many=True),
        "attendees": Rel("attendee", None, f"{base}/attendees", include_data=False, many=True),
    }, source=ticket)


# --- discount code -------------------------------------------------------------------------

def discount_code_resource(code: DiscountCode, user: User | None = None) -> Resource:
    """The `discount-code` resource; its id is a JSON number on the wire."""
    base = f"/v1/discount-codes/{code.id}"
    ticket_ids = [int(t) for t in cast(list[Any], code.ticket_ids or [])]

    def tickets() -> list[Resource]:
        from openevent.wire import priming

        return [ticket_resource(t) for t in priming.live_tickets(ticket_ids)]

    def marketer() -> list[Resource]:
        from openevent.wire.users import user_resource

        if code.marketer_id is None:
            return []
        try:
            return [user_resource(User.get(code.marketer_id))]
        except User.DoesNotExist:
            return []

    return Resource(DISCOUNT_CODE, int(code.id), _values(DISCOUNT_CODE, code), {
        "event": Rel("event", code.event_id, f"{base}/event",
                     loader=_event_loader(code.event_id, user)),
        "tickets": Rel("ticket", ticket_ids, f"{base}/tickets", loader=tickets, many=True),
        "marketer": Rel("user", code.marketer_id, f"{base}/marketer", loader=marketer),
    }, source=code)


# What the public check by code text answers a buyer: enough to apply the code — nothing
# about who is behind it (`marketer`) or how it is run (uses allowed, creation date).
PUBLIC_DISCOUNT_CODE = Schema(
    type="discount-code",
    path="discount-codes",
    numeric_id=True,
    fields={name: spec for name, spec in DISCOUNT_CODE.fields.items()
            if name not in ("tickets_number", "created_at")},
)


def _by_identifier(resource: Resource, event: Event | None) -> Resource:
    """`resource` with its `event` linkage naming the event by identifier (see below)."""
    rel = resource.relationships.get("event")
    if event is not None and event.identifier and rel is not None:
        rel.ids = str(event.identifier)
    return resource


def public_discount_code_resource(code: DiscountCode, user: User | None = None,
                                  event: Event | None = None) -> Resource:
    """The discount code as `GET /v1/events/<id>/discount-codes/<code>` shows it to anyone:
    its linkage names only the tickets the caller may see (no hidden ones). With `event`
    (the one the check was asked under), the event linkage and link name it by identifier:
    the web app keys events by identifier, so it finds the event it already shows instead
    of fetching it again (and re-rendering the ticket list, which re-applies the code)."""
    from openevent.rules.visibility import RULES
    from openevent.wire import priming

    full = discount_code_resource(code, user)
    rels = {name: rel for name, rel in full.relationships.items() if name in ("event", "tickets")}
    ids = list(dict.fromkeys(int(i) for i in rels["tickets"].ids or []))
    priming.prime({"ticket": ids})  # one BatchGetItem, kept for the request
    visible = [t for t in priming.live_tickets(ids) if RULES["ticket"](user, t)]
    rels["tickets"].ids = [int(t.id) for t in visible]
    # `include=tickets` serves the tickets just read (its priming finds them kept).
    rels["tickets"].loader = lambda: [_by_identifier(ticket_resource(t), event)
                                      for t in visible]
    if event is not None and event.identifier:
        rels["event"] = Rel("event", str(event.identifier), f"/v1/events/{event.identifier}",
                            loader=lambda: [event_resource(event, user)])
    return Resource(PUBLIC_DISCOUNT_CODE, full.id, full.values, rels, source=code)


# --- event content -------------------------------------------------------------------------

def content_resource(schema: Schema, item: Model) -> Resource:
    """A tax, track, sponsor, microlocation, social link or custom form."""
    item_id = item.id  # type: ignore[attr-defined]
    event_id = item.event_id  # type: ignore[attr-defined]
    base = f"/v1/{schema.path}/{item_id}"
    return Resource(schema, item_id, _values(schema, item), {
        "event": Rel("event", event_id, f"{base}/event", loader=_event_loader(event_id)),
    }, source=item)


def tax_resource(tax: Any) -> Resource:
    return content_resource(TAX, tax)


def stripe_authorization_resource(auth: Any) -> Resource:
    """Only the publishable key and ids: the tokens are never serialized."""
    base = f"/v1/stripe-authorization/{auth.id}"
    return Resource(STRIPE_AUTHORIZATION, auth.id,
                    {"stripe_publishable_key": auth.stripe_publishable_key}, {
        "event": Rel("event", auth.event_id, f"{base}/event"),
    }, source=auth)


# --- the kinds of event content --------------------------------------------------------------

@dataclass(frozen=True)
class ContentKind:
    """One child resource type: its URL plural, wire schema and table (the model class, named
    here and loaded on first use: a group that never reads content never builds its tables'
    classes on a cold start)."""

    plural: str
    schema: Schema
    model_name: str
    label: str

    @property
    def model(self) -> type[Model]:
        from openevent.models import event_content

        return getattr(event_content, self.model_name)  # type: ignore[no-any-return]


KINDS: dict[str, ContentKind] = {
    k.plural: k for k in (
        ContentKind("tracks", TRACK, "Track", "Track"),
        ContentKind("sponsors", SPONSOR, "Sponsor", "Sponsor"),
        ContentKind("microlocations", MICROLOCATION, "Microlocation", "Microlocation"),
        ContentKind("social-links", SOCIAL_LINK, "SocialLink", "Social link"),
        ContentKind("custom-forms", CUSTOM_FORM, "CustomForm", "Custom form"),
        ContentKind("tags", TAG, "Tag", "Tag"),
    )
}
TAX_KIND = ContentKind("taxes", TAX, "Tax", "Tax")


def children(kind: ContentKind, event_id: int) -> list[Any]:
    """Every item of `kind` in the event (one Query on the event-index GSI)."""
    index = kind.model.event_index  # type: ignore[attr-defined]
    return list(index.query(event_id))


def tax_of(event_id: int) -> Any:
    """The event's tax (one per event), or None."""
    from openevent.models.event_content import Tax

    for tax in Tax.event_index.query(event_id, limit=1):
        return tax
    return None
