"""An event's own content: tax, tracks, sponsors, microlocations, social links, custom forms
and the organizer's Stripe Connect authorization.

Every child table is keyed by its numeric `id` and has an `event-index` GSI (event_id, id), so
"the tracks of event 12" is one Query and "track 7" one GetItem. Items are only reachable
through their event: an item whose event does not exist (e.g. a half-copied event that was
compensated) is invisible to every endpoint.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex
from pynamodb.models import Model

from openevent.models.base import (
    DecimalAttribute,
    IntAttribute,
    index_meta,
    now,
    table_meta,
    unique_key,
)


class TaxEventIndex(GlobalSecondaryIndex["Tax"]):
    Meta = index_meta("event-index")
    event_id = IntAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


class Tax(Model):
    """At most one per event (a `Unique` claim `tax#<event_id>` guards it)."""

    Meta = table_meta("taxes")
    id = IntAttribute(hash_key=True)
    event_id = IntAttribute()
    name = UnicodeAttribute()
    rate = DecimalAttribute()  # percent, e.g. 19.0000
    tax_id = UnicodeAttribute(null=True)
    is_tax_included_in_price = BooleanAttribute(default=False)
    is_invoice_sent = BooleanAttribute(default=False)
    country = UnicodeAttribute(null=True)
    address = UnicodeAttribute(null=True)
    city = UnicodeAttribute(null=True)
    state = UnicodeAttribute(null=True)
    zip = UnicodeAttribute(null=True)
    registered_company = UnicodeAttribute(null=True)
    invoice_footer = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute(default=now)

    event_index = TaxEventIndex()


class TrackEventIndex(GlobalSecondaryIndex["Track"]):
    Meta = index_meta("event-index")
    event_id = IntAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


class Track(Model):
    Meta = table_meta("tracks")
    id = IntAttribute(hash_key=True)
    event_id = IntAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    color = UnicodeAttribute(null=True)
    font_color = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute(default=now)

    event_index = TrackEventIndex()


class SponsorEventIndex(GlobalSecondaryIndex["Sponsor"]):
    Meta = index_meta("event-index")
    event_id = IntAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


class Sponsor(Model):
    Meta = table_meta("sponsors")
    id = IntAttribute(hash_key=True)
    event_id = IntAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    url = UnicodeAttribute(null=True)
    level = IntAttribute(null=True)
    logo_url = UnicodeAttribute(null=True)
    type = UnicodeAttribute(null=True)
    position = IntAttribute(null=True)
    created_at = UTCDateTimeAttribute(default=now)

    event_index = SponsorEventIndex()


class MicrolocationEventIndex(GlobalSecondaryIndex["Microlocation"]):
    Meta = index_meta("event-index")
    event_id = IntAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


class Microlocation(Model):
    Meta = table_meta("microlocations")
    id = IntAttribute(hash_key=True)
    event_id = IntAttribute()
    name = UnicodeAttribute()
    latitude = DecimalAttribute(null=True)
    longitude = DecimalAttribute(null=True)
    floor = IntAttribute(null=True)
    room = UnicodeAttribute(null=True)
    position = IntAttribute(null=True)
    created_at = UTCDateTimeAttribute(default=now)

    event_index = MicrolocationEventIndex()


class SocialLinkEventIndex(GlobalSecondaryIndex["SocialLink"]):
    Meta = index_meta("event-index")
    event_id = IntAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


class SocialLink(Model):
    Meta = table_meta("social-links")
    id = IntAttribute(hash_key=True)
    event_id = IntAttribute()
    name = UnicodeAttribute()
    link = UnicodeAttribute()
    identifier = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute(default=now)

    event_index = SocialLinkEventIndex()


class CustomFormEventIndex(GlobalSecondaryIndex["CustomForm"]):
    Meta = index_meta("event-index")
    event_id = IntAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


class CustomForm(Model):
    """One form field (attendee/speaker/session forms), as Open Event models them."""

    Meta = table_meta("custom-forms")
    id = IntAttribute(hash_key=True)
    event_id = IntAttribute()
    field_identifier = UnicodeAttribute()
    form = UnicodeAttribute(default="attendee")
    type = UnicodeAttribute(default="text")
    name = UnicodeAttribute(null=True)
    description = UnicodeAttribute(null=True)
    is_required = BooleanAttribute(default=False)
    is_included = BooleanAttribute(default=False)
    is_fixed = BooleanAttribute(default=False)
    is_complex = BooleanAttribute(default=False)
    position = IntAttribute(default=0)
    form_id = UnicodeAttribute(null=True)  # Open Event's per-ticket form (ticket `form-id`)
    created_at = UTCDateTimeAttribute(default=now)

    event_index = CustomFormEventIndex()


class StripeAuthEventIndex(GlobalSecondaryIndex["StripeAuthorization"]):
    Meta = index_meta("event-index")
    event_id = IntAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


class StripeAuthorization(Model):
    """An organizer's connected Stripe account for one event (a `Unique` claim
    `stripe-authorization#<event_id>` keeps it to one). The tokens are stored encrypted
    (openevent.events.stripe_connect) and never leave the server."""

    Meta = table_meta("stripe-authorizations")
    id = IntAttribute(hash_key=True)
    event_id = IntAttribute()
    stripe_user_id = UnicodeAttribute()
    stripe_publishable_key = UnicodeAttribute()
    access_token_enc = UnicodeAttribute()
    refresh_token_enc = UnicodeAttribute(null=True)
    livemode = BooleanAttribute(default=False)
    scope = UnicodeAttribute(null=True)
    created_by = IntAttribute(null=True)
    created_at = UTCDateTimeAttribute(default=now)

    event_index = StripeAuthEventIndex()


class TagEventIndex(GlobalSecondaryIndex["Tag"]):
    Meta = index_meta("event-index")
    event_id = IntAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


class Tag(Model):
    """An attendee tag of an event (the organizer's attendee list groups by them)."""

    Meta = table_meta("tags")
    id = IntAttribute(hash_key=True)
    event_id = IntAttribute()
    name = UnicodeAttribute()
    color = UnicodeAttribute(null=True)
    is_read_only = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute(default=now)

    event_index = TagEventIndex()


def tax_claim_key(event_id: int) -> str:
    """The `Unique` claim that keeps one tax per event (owner: the tax's id)."""
    return unique_key("tax", event_id)
