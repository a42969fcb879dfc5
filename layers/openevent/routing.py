"""The one route table: which function group serves which path.

The local gateway dispatches with `group_for()`; infra turns the same table into CloudFront
behaviours (`cloudfront_patterns()`), so a path that spans groups — `/v1/events/<id>/orders`
belongs to orders — is decided here and nowhere else.

Patterns are matched segment by segment: `*` is one segment, a trailing `**` any rest
(including nothing). The first matching row wins, so specific rows come first.
"""

from __future__ import annotations

GROUPS = ("auth", "events", "orders", "lab")

ROUTE_TABLE: tuple[tuple[str, str], ...] = (
    # orders: money, seats, attendees, and the event/ticket/user sub-collections about them
    ("/v1/orders/**", "orders"),
    ("/v1/orders", "orders"),
    ("/v1/attendees/**", "orders"),
    ("/v1/attendees", "orders"),
    ("/v1/webhooks/**", "orders"),
    ("/v1/checkin/**", "orders"),
    ("/v1/events/*/orders", "orders"),
    ("/v1/events/*/attendees", "orders"),
    ("/v1/events/*/order-statistics", "orders"),
    ("/v1/tickets/*/order-statistics", "orders"),
    ("/v1/tickets/*/attendees", "orders"),
    ("/v1/users/*/orders", "orders"),
    ("/v1/users/*/attendees", "orders"),
    # creating a Stripe authorization exchanges the Connect code: the Stripe SDK is here
    ("/v1/stripe-authorization", "orders"),
    ("/v1/stripe-authorizations", "orders"),
    ("/v1/stripe-authorizations/**", "orders"),
    ("/v1/events/*/attendees/search", "orders"),
    ("/v1/states", "orders"),
    # events listed under a user (the user document's `events` relationship)
    ("/v1/users/*/events", "events"),
    # lab
    ("/v1/lab/**", "lab"),
    # auth: accounts, sessions, roles, system settings and modules
    ("/auth/**", "auth"),
    ("/v1/auth/**", "auth"),
    ("/v1/users/**", "auth"),
    ("/v1/users", "auth"),
    ("/v1/settings/**", "auth"),
    ("/v1/settings", "auth"),
    ("/v1/modules/**", "auth"),
    ("/v1/modules", "auth"),
    ("/v1/role-invites/**", "auth"),
    ("/v1/role-invites", "auth"),
    ("/v1/role_invites/**", "auth"),
    ("/v1/users-events-roles/**", "auth"),
    ("/v1/events/*/users-events-roles", "auth"),
    ("/v1/events/*/role-invites", "auth"),
    ("/v1/openapi.json", "auth"),
    ("/v1/docs", "auth"),
    ("/v1/docs/*", "auth"),
    # admin pages: statistics and system records
    ("/v1/admin/**", "auth"),
    ("/v1/ticket-fees/**", "auth"),
    ("/v1/ticket-fees", "auth"),
    ("/v1/user-permissions/**", "auth"),
    ("/v1/user-permissions", "auth"),
    ("/v1/custom-system-roles/**", "auth"),
    ("/v1/custom-system-roles", "auth"),
    ("/v1/panel-permissions/**", "auth"),
    ("/v1/panel-permissions", "auth"),
    # events: everything else under /v1 (events, tickets, codes, content, stubs)
    ("/v1/**", "events"),
)


def _matches(pattern: str, path: str) -> bool:
    p_parts = pattern.strip("/").split("/")
    parts = path.split("?")[0].rstrip("/").strip("/").split("/")
    for i, p in enumerate(p_parts):
        if p == "**":
            return True
        if i >= len(parts):
            return False
        if p != "*" and p != parts[i]:
            return False
    return len(parts) == len(p_parts)


def group_for(path: str) -> str | None:
    """The function group serving `path`, or None when no group does."""
    for pattern, group in ROUTE_TABLE:
        if _matches(pattern, path):
            return group
    return None


def cloudfront_patterns() -> list[tuple[str, str]]:
    """The table as CloudFront path patterns (`*` there matches across '/')."""
    out = []
    for pattern, group in ROUTE_TABLE:
        cf = pattern.replace("/**", "/*")
        out.append((cf, group))
    return out
