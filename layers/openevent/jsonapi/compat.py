"""Open Event attributes and relationships this API does not store, by resource type.

The reference client (the Open Event web frontend, Ember) serializes whole models, so a PATCH
echoes every attribute and to-one relationship it knows — including Open Event features
outside our scope (streams, badges, speakers, ...). Those names are known, not unknown: a
request carrying them is accepted and they are ignored. Any other unknown name is still a 422.
Names are snake_case; the lists come from Open Event Server's public v1 schemas.
"""

from __future__ import annotations

TOLERATED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "event": frozenset({
        "external_event_url", "online", "latitude", "longitude", "searchable_location_name",
        "public_stream_link", "stream_loop", "stream_autoplay", "after_order_message",
        "thumbnail_image_url", "large_image_url", "icon_image_url", "show_remaining_tickets",
        "owner_name", "is_map_shown", "is_oneclick_signup_enabled", "has_owner_info",
        "owner_description", "is_sessions_speakers_enabled", "ticket_url", "code_of_conduct",
        "schedule_published_on", "is_featured", "is_promoted", "is_demoted", "is_announced",
        "is_ticket_form_enabled", "is_cfs_enabled", "is_tax_enabled",
        "is_billing_info_mandatory", "is_chat_enabled", "is_videoroom_enabled",
        "is_document_enabled", "document_links", "chat_room_name", "can_pay_by_invoice",
        "can_pay_by_omise", "can_pay_by_alipay", "can_pay_by_paytm", "cheque_details",
        "invoice_details", "bank_details", "onsite_details", "is_sponsors_enabled",
        "pentabarf_url", "ical_url", "xcal_url", "refund_policy", "is_stripe_linked",
        "is_badges_enabled", "completed_order_sales", "placed_order_sales",
        "pending_order_sales", "completed_order_tickets", "placed_order_tickets",
        "pending_order_tickets",
    }),
    "user": frozenset({
        "original_image_url", "thumbnail_image_url", "small_image_url", "icon_image_url",
        "facebook_url", "twitter_url", "instagram_url", "google_plus_url", "last_accessed_at",
        "details", "contact",
    }),
}

TOLERATED_RELATIONSHIPS: dict[str, frozenset[str]] = {
    "event": frozenset({
        "tickets", "faqs", "faq_types", "feedbacks", "ticket_tags", "microlocations",
        "social_links", "tracks", "sponsors", "speakers_call", "session_types",
        "event_copyright", "tax", "sessions", "speakers", "event_type", "event_topic",
        "event_sub_topic", "group", "custom_forms", "owner", "organizers", "coorganizers",
        "stripe_authorization", "order_statistics", "general_statistics", "video_stream",
        "exhibitors", "session_favourites", "speaker_invites", "station", "badge_forms",
        "event_invoices", "discount_codes", "discount_code", "access_codes", "attendees",
        "orders", "role_invites",
    }),
    "user": frozenset({
        "notifications", "event_invoice", "speakers", "access_codes", "discount_codes",
        "email_notifications", "sessions", "organizer_events", "coorganizer_events",
        "track_organizer_events", "registrar_events", "moderator_events", "attendees",
        "events", "orders",
    }),
}
