"""The public origin's routing: one CloudFront Function that applies the route table.

CloudFront path patterns cannot say "one segment" (`*` crosses '/'), so behaviours generated
from the route table send e.g. `/v1/events/1/relationships/orders` (events) to the orders API,
and the table's ~30 rows exceed the 25 behaviours a distribution may have by default. Instead,
API paths (`/v1/*`, `/auth/*`) share two behaviours whose viewer-request function runs the
route table itself — the same rows, the same segment matching as `openevent.routing` — and
points the request at its group's API (`cf.updateRequestOrigin`, JavaScript runtime 2.0).
`tests/infra/test_routes.py` runs this code under node against every route of every group.
"""

from __future__ import annotations

import json

from openevent.routing import GROUPS, ROUTE_TABLE

# The behaviours in front of the APIs; their own origin is the events API (the table's
# fallback row), the function switches the others.
API_PATTERNS = ("/v1/*", "/auth/*")
DEFAULT_GROUP = "events"

_JS = """import cf from 'cloudfront';
const ROUTES = __ROUTES__;
const ORIGINS = __ORIGINS__;
function matches(pattern, parts) {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '**') return true;
    if (i >= parts.length) return false;
    if (pattern[i] !== '*' && pattern[i] !== parts[i]) return false;
  }
  return parts.length === pattern.length;
}
function groupFor(uri) {
  const parts = uri.replace(/\\/+$/, '').replace(/^\\/+/, '').split('/');
  for (let i = 0; i < ROUTES.length; i++) {
    if (matches(ROUTES[i][0], parts)) return ROUTES[i][1];
  }
  return null;
}
function handler(event) {
  const group = groupFor(event.request.uri);
  if (group !== null && group !== '__DEFAULT__') {
    cf.updateRequestOrigin({ domainName: ORIGINS[group] });
  }
  return event.request;
}
"""


def router_js(origins: dict[str, str]) -> str:
    """The function's code; `origins` maps each group to its API's domain name."""
    assert set(origins) == set(GROUPS)
    routes = [[pattern.strip("/").split("/"), group] for pattern, group in ROUTE_TABLE]
    return (_JS.replace("__ROUTES__", json.dumps(routes))
            .replace("__ORIGINS__", "{" + ", ".join(
                f"{json.dumps(g)}: '{origins[g]}'" for g in GROUPS) + "}")
            .replace("__DEFAULT__", DEFAULT_GROUP))
