"""Singletons: system settings and modules (id "1" each)."""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, UnicodeAttribute
from pynamodb.models import Model

from openevent.container_cache import InvalidatingModel
from openevent.models.base import IntAttribute, table_meta


class SystemSettings(InvalidatingModel, Model):
    Meta = table_meta("settings")
    id = UnicodeAttribute(hash_key=True, default="1")
    extra = UnicodeAttribute(null=True)  # Open Event settings (jsonapi/compat.py), JSON
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
    # Open Event Server's ALLOW_UNVERIFIED_FREE_ORDERS (orders/free_orders.py)
    allow_unverified_free_orders = BooleanAttribute(default=False)


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


class SystemRecord(Model):
    """Admin-managed system configuration the web app edits: ticket fees, user permissions,
    custom system roles and panel permissions. One partition per kind (a handful of items
    each), read with a Query on `kind`; the record's attributes are JSON in `data`."""

    Meta = table_meta("system-records")
    kind = UnicodeAttribute(hash_key=True)
    id = IntAttribute(range_key=True)
    data = UnicodeAttribute(default="{}")


class Statistic(Model):
    """One figure of the admin dashboard (`openevent.platform.statistics`), kept current by
    an atomic ADD from the write that changes it."""

    Meta = table_meta("statistics")
    name = UnicodeAttribute(hash_key=True)
    value = IntAttribute(default=0)
