"""The JSON:API documents of the ticketing domains: each resource type's schema (its fields,
their types and limits, its relationships) and the builder that turns a stored item into a
resource for a given caller.

One layer for all domains, because documents link across them (an order's event, an event's
owner, a user's orders): the wire depends on the models and on `openevent.rules` (what a
caller may see), never on the services that write. Modules are layered inside too: `users`
at the bottom (it links its orders and events by type and id only), `events` above it, then
`access_codes` and `orders`. The one link upward — an event's document including its access
codes — is joined by name through `openevent.jsonapi.links`; this package imports its
provider, so the name is known wherever the wire is used.
"""

from openevent.wire import access_codes

__all__ = ["access_codes"]
