"""Open Event attributes beyond each resource's core fields: declared with their types,
accepted, validated and stored.

The reference client (the Open Event web frontend, Ember) serializes whole models, so a POST or
PATCH carries every attribute it knows — the attendee's job title and social links, an
event's `is-featured`, a ticket's `is-description-visible`. Those are data, not noise: each
name below is validated by type (422 naming it on a bad value), stored in the item's `extra`
map and served back, filterable and sortable like any attribute. Names nobody declared are
still a 422. Read-only names (computed by Open Event: image renditions, export URLs) are
accepted and ignored on input.

Names are snake_case; the lists come from Open Event Server's public v1 schemas and the web
app's models (app/models/*.js).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from openevent.jsonapi.fields import (
    Boolean,
    DateTime,
    Field,
    Integer,
    JsonValue,
    Number,
    String,
)


def _typed(*, strings: Iterable[str] = (), texts: Iterable[str] = (),
           booleans: Iterable[str] = (), numbers: Iterable[str] = (),
           integers: Iterable[str] = (), datetimes: Iterable[str] = (),
           objects: Iterable[str] = (), read_only: Iterable[str] = ()) -> dict[str, Field]:
    out: dict[str, Field] = {}
    for name in strings:
        out[name] = String(max_length=2048)
    for name in texts:
        out[name] = String(max_length=50_000)
    for name in booleans:
        out[name] = Boolean(default=False)  # Open Event's columns default to false
    for name in numbers:
        out[name] = Number()
    for name in integers:
        out[name] = Integer(minimum=-(10**12), maximum=10**12)
    for name in datetimes:
        out[name] = DateTime()
    for name in objects:
        out[name] = JsonValue()
    for name in read_only:
        out[name] = String(read_only=True)
    return out


EXTRA_FIELDS: dict[str, dict[str, Field]] = {
    "event": _typed(
        strings=("external_event_url", "searchable_location_name", "public_stream_link",
                 "owner_name", "ticket_url", "chat_room_name", "pentabarf_url"),
        texts=("after_order_message", "owner_description", "code_of_conduct",
               "cheque_details", "invoice_details", "bank_details", "onsite_details",
               "refund_policy"),
        booleans=("online", "stream_loop", "stream_autoplay", "show_remaining_tickets",
                  "is_map_shown", "is_oneclick_signup_enabled", "has_owner_info",
                  "is_sessions_speakers_enabled", "is_featured", "is_promoted", "is_demoted",
                  "is_announced", "is_ticket_form_enabled", "is_cfs_enabled",
                  "is_tax_enabled", "is_billing_info_mandatory", "is_chat_enabled",
                  "is_videoroom_enabled", "is_document_enabled", "can_pay_by_invoice",
                  "can_pay_by_omise", "can_pay_by_alipay", "can_pay_by_paytm",
                  "is_sponsors_enabled", "is_badges_enabled"),
        numbers=("latitude", "longitude"),
        datetimes=("schedule_published_on",),
        objects=("document_links",),
        read_only=("thumbnail_image_url", "large_image_url", "icon_image_url", "ical_url",
                   "xcal_url", "completed_order_sales", "placed_order_sales",
                   "pending_order_sales", "completed_order_tickets", "placed_order_tickets",
                   "pending_order_tickets"),
    ),
    "ticket": _typed(
        booleans=("is_description_visible", "is_fee_absorbed", "is_checkin_restricted",
                  "auto_checkin_enabled"),
        strings=("form_id", "badge_id"),
    ),
    "user": _typed(
        strings=("original_image_url", "facebook_url", "twitter_url", "instagram_url",
                 "google_plus_url", "language_prefrence", "billing_contact_name",
                 "billing_phone", "billing_country", "company", "billing_address",
                 "billing_city", "billing_zip_code", "billing_tax_info",
                 "billing_additional_info", "billing_state"),
        texts=("details", "contact"),
        booleans=("is_profile_public",),
        read_only=("thumbnail_image_url", "small_image_url", "icon_image_url",
                   "facebook_id", "is_user_owner", "is_user_organizer",
                   "is_user_coorganizer", "is_user_track_organizer", "is_user_moderator",
                   "is_user_registrar", "is_rocket_chat_registered"),
    ),
    "attendee": _typed(
        strings=("tax_business_info", "billing_address", "home_address", "shipping_address",
                 "work_address", "work_phone", "website", "blog", "twitter", "facebook", "github",
                 "instagram", "linkedin", "gender", "age_group", "native_language",
                 "fluent_language", "home_wiki", "wiki_scholarship", "checkin_times_device",
                 "register_times"),
        texts=("attendee_notes",),
        booleans=("same_as_buyer", "accept_receive_emails", "accept_video_recording",
                  "accept_share_details", "is_consent_of_refund_policy",
                  "is_consent_form_field", "is_consent_form_field_photo",
                  "is_consent_form_field_email", "is_registered"),
        integers=("tag_id",),
        datetimes=("birth_date",),
        objects=("complex_field_values",),
    ),
    "setting": {
        **_typed(
            strings=(
            "app_environment", "tagline", "storage_place", "aws_bucket_name", "aws_region",
            "gs_bucket_name", "google_client_id", "fb_client_id", "tw_consumer_key",
            "in_client_id", "start_pg_event_id", "paypal_sandbox_client",
            "alipay_publishable_key", "omise_mode", "omise_test_public", "omise_live_public",
            "paytm_mode", "paytm_live_merchant", "paytm_sandbox_merchant",
            "stripe_test_client_id", "stripe_test_publishable_key", "stripe_mode",
            "email_service", "email_from", "email_from_name", "smtp_host", "smtp_username",
            "smtp_encryption", "analytics_key", "google_url", "github_url",
            "twitter_url", "support_url", "facebook_url", "instagram_url", "weblate_url",
            "patreon_url", "gitter_url", "telegram_url", "youtube_url", "android_app_url",
            "web_app_url", "rocket_chat_url", "static_domain", "cookie_policy",
            "cookie_policy_link", "invoice_sending_timezone", "admin_billing_contact_name",
            "admin_billing_phone", "admin_billing_email", "admin_billing_state",
            "admin_billing_country", "admin_billing_tax_info", "admin_company",
            "admin_billing_address", "admin_billing_city", "admin_billing_zip",
            "admin_billing_additional_info", "admin_billing_paypal_email", "admin_billing_logo",
            "start_pg_enabled", "google_recaptcha_site",
            ),
            booleans=(
            "is_alipay_activated", "is_omise_activated", "is_paytm_activated",
            "is_billing_paypal_activated", "is_google_recaptcha_enabled",
            ),
            integers=(
            "invoice_sending_day", "logo_size", "image_size", "slide_size",
            ),
        ),
        # Credentials: stored, never served back (like the core secrets).
        **{name: String(max_length=2048, write_only=True) for name in (
            "aws_key", "aws_secret", "gs_key", "gs_secret", "google_client_secret",
            "fb_client_secret", "tw_consumer_secret", "in_client_secret",
            "paypal_sandbox_secret", "alipay_secret_key", "omise_test_secret",
            "omise_live_secret", "paytm_live_secret", "paytm_sandbox_secret",
            "stripe_test_secret_key", "sendgrid_key", "smtp_password",
            "rocket_chat_registration_secret", "google_recaptcha_secret",
        )},
    },
    "order": _typed(
        strings=("exp_month", "exp_year", "brand", "last4"),
    ),
}

EXTRA_FIELDS["user"]["last_accessed_at"] = DateTime(read_only=True)


class _Port(Integer):
    """A port is a number (Open Event's description sends one). The web app's settings
    model holds it as a string: digit strings read as that number, an empty one as unset."""

    def parse(self, value: Any, name: str) -> Any:
        return None if value == "" else super().parse(value, name)


EXTRA_FIELDS["setting"]["smtp_port"] = _Port(minimum=1, maximum=65535)
# The web app switches to the saved profile's language after every profile save and reloads
# the page when that differs from the one shown (a null does): Open Event's default, "en".
EXTRA_FIELDS["user"]["language_prefrence"] = String(max_length=2048, default="en")
# Account flags only an admin may change (echoed unchanged by anyone).
EXTRA_FIELDS["user"].update({name: Boolean(admin_only=True, default=False)
                             for name in ("is_blocked", "is_sales_admin", "is_marketer")})


def with_extras(schema_type: str, core: dict[str, Field]) -> dict[str, Field]:
    """A schema's fields: its core ones, then the declared Open Event extras."""
    return {**EXTRA_FIELDS.get(schema_type, {}), **core}


# Relationships a client may echo that this API does not model (linkage is ignored).
TOLERATED_RELATIONSHIPS: dict[str, frozenset[str]] = {
    "event": frozenset({
        "tickets", "faqs", "faq_types", "feedbacks", "ticket_tags", "microlocations",
        "social_links", "tracks", "sponsors", "speakers_call", "session_types",
        "event_copyright", "tax", "sessions", "speakers", "event_type", "event_topic",
        "event_sub_topic", "group", "custom_forms", "owner", "organizers", "coorganizers",
        "stripe_authorization", "order_statistics", "general_statistics", "video_stream",
        "exhibitors", "session_favourites", "speaker_invites", "station", "badge_forms",
        "event_invoices", "discount_codes", "discount_code", "access_codes", "attendees",
        "orders", "role_invites", "tags", "type", "topic", "sub_topic", "location", "user",
        "badges", "forms", "email_notifications", "invoice", "copyright", "track_organizers",
        "registrars", "moderators", "roles",
    }),
    "user": frozenset({
        "notifications", "event_invoice", "speakers", "access_codes", "discount_codes",
        "email_notifications", "sessions", "organizer_events", "coorganizer_events",
        "track_organizer_events", "registrar_events", "moderator_events", "attendees",
        "events", "orders", "owner_events", "favourite_events", "user_permissions",
        "feedbacks", "event_invoices", "groups", "followers", "sales_admin_events",
        "marketer_events", "session_favourites", "video_streams", "user_follow_groups",
    }),
    "ticket": frozenset({"access_codes", "discount_codes", "attendees", "order_statistics",
                         "tags", "orders", "badge_forms"}),
}


def core_and_extra(schema_type: str, values: dict[str, Any]) -> tuple[dict[str, Any],
                                                                      dict[str, Any]]:
    """Split parsed attribute values into the model's own and the `extra` map's."""
    extra_names = EXTRA_FIELDS.get(schema_type, {})
    core = {k: v for k, v in values.items() if k not in extra_names}
    extra = {k: v for k, v in values.items() if k in extra_names}
    return core, extra


def dump_extra(schema_type: str, stored: str | dict[str, Any] | None,
               updates: dict[str, Any]) -> str | None:
    """The `extra` map to store: the stored one with `updates` applied (None removes a name),
    as JSON text in wire form (numbers as numbers, datetimes as ISO-8601)."""
    current = load_stored(stored)
    fields = EXTRA_FIELDS.get(schema_type, {})
    for name, value in updates.items():
        if value is None:
            current.pop(name, None)
        else:
            current[name] = fields[name].dump(value)
    return json.dumps(current, sort_keys=True) if current else None


def item_values(schema: Any, item: Any) -> dict[str, Any]:
    """A stored item's attribute values for `schema`: its own attributes, then the extras
    kept in its `extra` map."""
    values = {name: getattr(item, name, None) for name in schema.fields}
    declared = EXTRA_FIELDS.get(schema.type, {})
    if declared:
        stored = extra_values(schema.type, getattr(item, "extra", None))
        for name, spec in declared.items():
            if schema.fields.get(name) is spec:
                values[name] = stored.get(name)
    return values


def load_stored(stored: str | dict[str, Any] | None) -> dict[str, Any]:
    if not stored:
        return {}
    if isinstance(stored, dict):
        return dict(stored)
    try:
        value = json.loads(stored)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def extra_values(schema_type: str, stored: str | dict[str, Any] | None) -> dict[str, Any]:
    """The stored extras as Python values (datetimes, decimals), every declared name present."""
    fields = EXTRA_FIELDS.get(schema_type, {})
    raw = load_stored(stored)
    out: dict[str, Any] = {}
    for name, spec in fields.items():
        value = raw.get(name)
        if value is None:
            out[name] = None if spec.read_only else spec.default
            continue
        try:
            out[name] = spec.convert(value, name)
        except Exception:  # noqa: BLE001 - a stored value of an older type reads as unset
            out[name] = None
    return out
