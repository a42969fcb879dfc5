"""The JSON:API documents of the ticketing domains: each resource type's schema (its fields,
their types and limits, its relationships) and the builder that turns a stored item into a
resource for a given caller.

One layer for all domains, because documents link across them (an order's event, an event's
owner, a user's orders): the wire depends on the models and on `openevent.rules` (what a
caller may see), never on the services that write. Types that link both ways are joined by
name through `openevent.jsonapi.links`; importing this package imports every module that
provides one, so every name is known wherever the wire is used.
"""

from openevent.wire import access_codes, events, orders, priming, users

__all__ = ["access_codes", "events", "orders", "priming", "users"]
