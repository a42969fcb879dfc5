"""Singletons: system settings and modules (id "1" each)."""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, UnicodeAttribute
from pynamodb.models import Model

from openevent.container_cache import InvalidatingModel
from openevent.models.base import IntAttribute, table_meta


class SystemSettings(InvalidatingModel, Model):
    Meta = table_meta("settings")
    id = UnicodeAttribute(hash_key=True, default="1")
    app_name = UnicodeAttribute(default="Open Event")
    frontend_url = UnicodeAttribute(null=True)
    order_expiry_time = IntAttribute(default=15)
    is_stripe_activated = BooleanAttribute(default=False)
    is_paypal_activated = BooleanAttribute(default=False)
    stripe_client_id = UnicodeAttribute(null=True)
    stripe_publishable_key = UnicodeAttribute(null=True)
    stripe_secret_key = UnicodeAttribute(null=True)  # write-only on the wire
    stripe_webhook_secret = UnicodeAttribute(null=True)  # write-only on the wire
    paypal_mode = UnicodeAttribute(default="sandbox")
    paypal_client = UnicodeAttribute(null=True)
    paypal_secret = UnicodeAttribute(null=True)  # write-only on the wire
    paypal_webhook_id = UnicodeAttribute(null=True)


class Modules(InvalidatingModel, Model):
    Meta = table_meta("modules")
    id = UnicodeAttribute(hash_key=True, default="1")
    ticket_include = BooleanAttribute(default=False)
    payment_include = BooleanAttribute(default=False)
    donation_include = BooleanAttribute(default=False)


class IdempotencyRecord(Model):
    """Requests sent with an `Idempotency-Key` and their first answer, kept 24 hours.

    Written and read by Powertools' idempotency utility (DynamoDB persistence layer: key
    attribute `id`, TTL attribute `expiration`); declared here so the table is created locally
    and in infra like every other."""

    Meta = table_meta("idempotency")
    id = UnicodeAttribute(hash_key=True)
