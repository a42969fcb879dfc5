"""DynamoDB round trips and items read per request, at 10 and at 10,000 items, with budgets.

DESIGN.md "Data": a request reads its page plus a constant, never the table. This runs each
endpoint against an embedded AWS (moto, in-process, nothing leaves 127.0.0.1) seeded with N
events, N users and N orders (written straight into the embedded DynamoDB's tables, with the
list counts they would have moved), and counts, by wrapping PynamoDB's `Connection._make_api_call`
(the single point every model, index and transaction call goes through):

- calls: DynamoDB operations the request made;
- read: items DynamoDB evaluated for it (a Query's ScannedCount — a filtered or counted item
  is read all the same — one per GetItem, the keys of a BatchGetItem). The small world may
  read up to a page less (it cannot fill one); any other difference is a read that grows.

Every endpoint is measured in two defined cache states (openevent/container_cache.py):
- cold: the container cache emptied just before the request (settings, modules and the
  caller's user not loaded: a fresh container, or the first request of this caller within
  OPENEVENT_CACHE_SECONDS);
- warm: the same request again at once (reads only; a write is measured cold).

Budgets (issue #14): GET of a single resource ≤ 2 calls, a list page ≤ 3, enforced warm; cold
they may spend one call more for an authenticated caller — the GetItem of the caller's own
account, which the container cache saves while the caller keeps using that container
(docs/scale.md "Reads"). Mutations carry a budget only where one is written below.

A filter or sort over a list that grows with the table (every event, every user) reads a
bounded candidate window (openevent.jsonapi.query.filter_window, docs/scale.md "Reads"): those
endpoints carry a read budget of the window plus a constant instead of "equal at both sizes".

Exit status 1 if any endpoint's calls or items read differ between the two sizes (or exceed
its read budget), or its calls exceed its budget.

`like`/`ilike` over a full window (issue 20, item 5): at the large size, the admin event list
with each of the worst patterns the caps allow (openevent.jsonapi.filtering) is timed against
the same request whose filter constrains nothing (`{"or": []}`, the web app's "all": it reads
the same full candidate window); the slowest must stay within `LIKE_RATIO_BUDGET` (2×) of
it. CPU time of the request (`time.process_time`: the gateway, the handler and the embedded
DynamoDB all run in this process, and other processes' load on a shared machine does not
count), the least of `LIKE_REPEATS` warm requests each, taken in turns (baseline, pattern,
baseline, ...). Exit status 1 otherwise.

    .venv/bin/python bench/requests.py [--sizes 10 10000]
    .venv/bin/python bench/requests.py --like-only [--like-size 10000]   # just that check
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
# This file is named like the `requests` package moto imports: keep bench/ off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
os.environ.update({
    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_SESSION_TOKEN": "bench",
    "AWS_DEFAULT_REGION": "us-east-1", "OPENEVENT_TABLE_PREFIX": "bench-",
    "OPENEVENT_JWT_SECRET": "bench-secret-for-jwt-signing-0123456789",
    "OPENEVENT_OUTBOX_DIR": tempfile.mkdtemp(prefix="openevent-bench-outbox-"),
    "OPENEVENT_CACHE_SECONDS": "60",  # warm means warm, however slow this machine is
    "OPENEVENT_JWT_ACCESS_MINUTES": "600",  # the seeded callers' tokens outlive a slow run
})
os.environ.pop("AWS_ENDPOINT_URL", None)

JSONAPI = "application/vnd.api+json"
DEFAULT_PAGE_SIZE = 20
# Budgets by kind of request: DynamoDB calls, warm; cold adds AUTH_ALLOWANCE for a token.
BUDGETS = {"get": 2, "list": 3}
AUTH_ALLOWANCE = 1


@dataclass
class Endpoint:
    label: str
    kind: str  # get | list | write
    method: str
    path: str
    role: str | None = None
    body: Any = None
    budget: int | None = None  # calls; None = BUDGETS[kind] (writes: none unless given)
    why: str = ""  # the reason for a budget other than its kind's
    repeatable: bool = False  # a write that can be sent again (measured warm too)
    cold_extra: int | None = None  # calls a cold container adds (None: AUTH_ALLOWANCE)
    read_budget: int | None = None  # items read, at any size (None: equal at both sizes)

    def limit(self) -> int | None:
        return self.budget if self.budget is not None else BUDGETS.get(self.kind)

    def page_size(self) -> int:
        """Items a full page holds: what the small world may read less of (it cannot fill
        a page), the only difference in items read the check allows."""
        if self.kind != "list":
            return 0
        found = re.search(r"page\[size\]=(\d+)", self.path)
        return int(found.group(1)) if found else DEFAULT_PAGE_SIZE


@dataclass
class Measured:
    status: int
    calls: int
    read: int
    ops: dict[str, int]


class CallCounter:
    """Counts DynamoDB operations, and the items they read, made through PynamoDB while
    `active`."""

    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self.read = 0
        self.active = False

    def install(self) -> None:
        from pynamodb.connection.base import Connection

        original = Connection._make_api_call
        counter = self

        def counted(conn: Any, operation_name: str, operation_kwargs: Any) -> Any:
            result = original(conn, operation_name, operation_kwargs)
            if counter.active:
                counter.calls[operation_name] += 1
                counter.read += items_read(operation_name, operation_kwargs, result)
            return result

        Connection._make_api_call = counted  # type: ignore[method-assign,assignment]

    def measure(self, fn: Callable[[], Any]) -> tuple[int, int, dict[str, int], Any]:
        self.calls.clear()
        self.read = 0
        self.active = True
        try:
            result = fn()
        finally:
            self.active = False
        return sum(self.calls.values()), self.read, dict(self.calls), result


def items_read(operation: str, kwargs: dict[str, Any], result: Any) -> int:
    if operation in ("Query", "Scan"):
        return int((result or {}).get("ScannedCount", 0))
    if operation == "GetItem":
        return 1
    if operation == "BatchGetItem":
        return sum(len(t.get("Keys", [])) for t in kwargs.get("RequestItems", {}).values())
    if operation == "TransactGetItems":
        return len(kwargs.get("TransactItems", []))
    return 0


# --- the data --------------------------------------------------------------------------

PASSWORD = "bench-password"


def seed(n: int) -> dict[str, Any]:
    """n events (every 10th a draft), n users and n orders in those events — batch writes,
    plus the list counts those writes would have moved — and one fully set-up event with a
    buyer's order and its attendee."""
    from openevent.accounts import users
    from openevent.accounts.roles import grant_role
    from openevent.events.lifecycle import create_event, new_identifier
    from openevent.events.tickets import create_ticket
    from openevent.models.base import next_id
    from openevent.models.events import Event
    from openevent.models.orders import OrderFigure
    from openevent.models.system import Statistic
    from openevent.models.users import User
    from openevent.orders import figures as order_counts
    from openevent.platform import list_counts
    from openevent.platform.settings import update_modules

    update_modules({"ticket_include": True, "payment_include": True, "donation_include": True})
    people = {}
    for name, extra in (("owner", {}), ("member", {}), ("buyer", {}),
                        ("admin", {"is_admin": True})):
        people[name] = users.create_user({"email": f"{name}@bench.test", "password": PASSWORD,
                                          "is_verified": True, **extra},
                                         send_verification=False)
    starts = datetime(2030, 1, 1, tzinfo=UTC)
    main = create_event(people["owner"], {"name": "Main", "starts_at": starts,
                                          "ends_at": starts + timedelta(days=1),
                                          "timezone": "UTC", "state": "published",
                                          "can_pay_by_stripe": True})
    grant_role(main.id, people["member"].id, "coorganizer")
    ticket = create_ticket(people["owner"], main, {"name": "Regular", "type": "free",
                                                   "quantity": 1000})
    sharded = create_ticket(people["owner"], main, {"name": "Hot", "type": "free",
                                                    "quantity": 1000, "seat_shards": 8})
    main_order, main_attendee = _order(main.id, people["buyer"].id, ticket.id)
    main_order.save()
    main_attendee.save()

    hashed = people["owner"].password_hash
    # The events a table accumulates are mostly over: the n events ended in 2020. (What the
    # home page's "not ended yet" filter reads is bounded by the events not ended.)
    starts = datetime(2020, 1, 1, tzinfo=UTC)
    drafts = 0
    event_ids: list[int] = []
    events = []
    for i in range(1, n):
        eid = next_id("event")
        event_ids.append(eid)
        state = "draft" if i % 10 == 0 else "published"
        drafts += state == "draft"
        events.append(Event(eid, identifier=new_identifier(), owner_id=people["owner"].id,
                            name=f"Event {eid}", starts_at=starts,
                            ends_at=starts + timedelta(days=1), state=state))
    put_all(events)
    user_ids = [next_id("user") for _ in range(1, n)]
    put_all([User(uid, email=f"user{i}@bench.test", password_hash=hashed, is_verified=True)
             for i, uid in enumerate(user_ids, start=1)])
    # Orders fill the table the admin list reads; their attendees would fill only other
    # events' and users' partitions, which no request here reads: not written (seed time).
    put_all([_order(event_ids[i - 1], user_ids[i - 1], ticket.id + i)[0] for i in range(1, n)])
    # The main event sells to the n users: its order and attendee tabs page through n
    # orders and n attendees.
    sold = [_order(main.id, uid, ticket.id) for uid in user_ids]
    put_all([item for pair in sold for item in pair])
    put_all([Statistic(name, value=value)  # what the items' transactions would have added
             for name, value in ((list_counts.event_figure("draft"), drafts),
                                 (list_counts.event_figure("published"), n - 1 - drafts),
                                 (list_counts.USERS, n - 1))])
    # ... and the order figures the orders' transactions would have added (one shard each)
    put_all([OrderFigure(order_counts.event_figure(main.id), 0, orders_completed=n,
                         seats_completed=n, sales_completed=0, attendees=n),
             OrderFigure(order_counts.ticket_figure(ticket.id), 0, orders_completed=n,
                         seats_completed=n, sales_completed=0),
             *(OrderFigure(order_counts.event_figure(eid), 0, orders_completed=1,
                           seats_completed=1, sales_completed=0) for eid in event_ids)])
    tokens = {name: users.tokens_for(u, with_refresh=False)["access_token"]
              for name, u in people.items()}
    return {"event": main, "ticket": ticket, "sharded": sharded, "order": main_order,
            "attendee": main_attendee, "people": people, "tokens": tokens}


def put_all(items: list[Any]) -> None:
    """Write items straight into the embedded DynamoDB's tables: what BatchWriteItem would
    store, without serializing 25-item requests through botocore and parsing them back (most
    of the seed time at 10,000)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_DEFAULT_REGION"]]
    for item in items:
        backend.get_table(type(item).Meta.table_name).put_item(item.serialize())


def _order(event_id: int, user_id: int, ticket_id: int) -> tuple[Any, Any]:
    import uuid

    from openevent.models.base import next_id
    from openevent.models.orders import Attendee, Order, OrderLine, event_status_key

    oid, aid = next_id("order"), next_id("attendee")
    order = Order(oid, identifier=str(uuid.uuid4()), event_id=event_id, user_id=user_id,
                  status="completed", event_status=event_status_key(event_id, "completed"),
                  payment_mode="free", attendee_ids=[aid],
                  lines=[OrderLine(ticket_id=ticket_id, quantity=1, price=0)],
                  completed_at=datetime.now(UTC))
    attendee = Attendee(aid, event_id=event_id, ticket_id=ticket_id, user_id=user_id,
                        order_id=oid, firstname="Ada", lastname="Lovelace",
                        email="ada@bench.test", holds_seat=True)
    return order, attendee


# --- the requests ----------------------------------------------------------------------

NOW = datetime.now(UTC).isoformat()
# What the web app's home page sends (app/routes/index.js).
READ_ALLOWANCE = 10  # items a windowed search reads besides its window (caller, settings ...)
HOME_FILTER = [{"and": [{"name": "state", "op": "eq", "val": "published"},
                        {"name": "privacy", "op": "eq", "val": "public"}]},
               {"or": [{"name": "ends-at", "op": "ge", "val": NOW},
                       {"name": "starts-at", "op": "ge", "val": NOW}]}]


# The organizer's "completed" order tab (app/routes/events/view/tickets/orders/list.js).
COMPLETED_TAB = [{"name": "status", "op": "eq", "val": "completed"}]
# What the web app's admin "past events" tab sends (app/routes/admin/events/list.js).
PAST_TAB = [{"and": [{"name": "deleted-at", "op": "eq", "val": None},
                     {"name": "ends-at", "op": "lt", "val": NOW},
                     {"name": "state", "op": "eq", "val": "published"}]}]
# The admin users page's search (app/routes/admin/users/list.js, applySearchFilters).
USER_SEARCH = [{"or": [{"name": f, "op": "ilike", "val": "%user1%"}
                       for f in ("first-name", "last-name", "email")]}]


# The organizer's "completed" attendee tab (app/routes/events/view/tickets/attendees/list.js).
COMPLETED_ATTENDEES = [{"name": "order", "op": "has",
                        "val": {"name": "status", "op": "eq", "val": "completed"}}]


def window_budget() -> int:
    """Items a windowed search may read at any size: its candidate window plus a constant."""
    from openevent.jsonapi.query import filter_window

    return filter_window() + READ_ALLOWANCE


def _windowed(label: str, path: str, role: str) -> Endpoint:
    from openevent.jsonapi.query import filter_window

    return Endpoint(label, "list", "GET", path, role, read_budget=window_budget(),
                    why=f"reads at most the candidate window ({filter_window()} items) of a "
                    "partition that grows with the table")


def event_endpoints(w: dict[str, Any]) -> list[Endpoint]:
    e, uid = w["event"], w["people"]["owner"].id
    ticket = {"data": {"type": "ticket", "attributes": {"name": "VIP", "type": "paid",
                                                        "price": 99, "quantity": 10},
                       "relationships": {"event": {"data": {"type": "event",
                                                            "id": str(e.id)}}}}}
    code = {"data": {"type": "discount-code",
                     "attributes": {"code": "BENCH", "type": "percent", "value": 10,
                                    "used-for": "ticket"},
                     "relationships": {"event": {"data": {"type": "event", "id": str(e.id)}},
                                       "tickets": {"data": [{"type": "ticket", "id": "$T"}]}}}}
    event_doc = {"data": {"type": "event", "attributes": {
        "name": "New", "starts-at": "2031-01-01T00:00:00Z", "ends-at": "2031-01-02T00:00:00Z",
        "timezone": "UTC"}}}
    patch = {"data": {"type": "event", "id": str(e.id), "attributes": {"name": "Renamed"}}}
    return [
        Endpoint("events: list (anonymous)", "list", "GET", "/v1/events"),
        Endpoint("events: list (user with roles)", "list", "GET", "/v1/events", "member"),
        Endpoint("events: list (admin)", "list", "GET", "/v1/events", "admin"),
        Endpoint("events: list page 3", "list", "GET", "/v1/events?page[size]=5&page[number]=3"),
        Endpoint("events: list cursor", "list", "GET", "/v1/events?page[size]=5&page[cursor]="),
        Endpoint("events: home page filter+sort", "list", "GET",
                 f"/v1/events?sort=starts-at&filter={quote(json.dumps(HOME_FILTER))}"),
        Endpoint("events: upcoming", "list", "GET", "/v1/events/upcoming"),
        Endpoint("events: get by id", "get", "GET", f"/v1/events/{e.id}"),
        Endpoint("events: get by identifier", "get", "GET", f"/v1/events/{e.identifier}"),
        Endpoint("events: create", "write", "POST", "/v1/events", "owner", event_doc, budget=2,
                 why="one transaction (event, claim, role, forms, list count) and the "
                 "dashboard's role figure"),
        Endpoint("events: patch", "write", "PATCH", f"/v1/events/{e.id}", "owner", patch,
                 budget=3, why="the event, the caller's role in it, the update"),
        Endpoint("events: user's events", "list", "GET", f"/v1/users/{uid}/events", "owner"),
        Endpoint("tickets: create", "write", "POST", "/v1/tickets", "owner", ticket),
        Endpoint("tickets: of event", "list", "GET", f"/v1/events/{e.id}/tickets"),
        Endpoint("tickets: availability", "list", "GET",
                 f"/v1/events/{e.identifier}/tickets/availability"),
        Endpoint("tickets: get", "get", "GET", "/v1/tickets/$T"),
        Endpoint("events: get include=tickets", "get", "GET",
                 f"/v1/events/{e.id}?include=tickets", budget=3,
                 why="the event, then its tickets: one Query more than a plain GET"),
        Endpoint("codes: create", "write", "POST", "/v1/discount-codes", "owner", code),
        Endpoint("codes: of event", "list", "GET", f"/v1/events/{e.id}/discount-codes", "owner"),
        Endpoint("codes: public check", "get", "GET",
                 f"/v1/events/{e.identifier}/discount-codes/BENCH?include=event,tickets",
                 budget=4, why="a chain of dependent keys, as the web app asks: the event by "
                 "identifier → the code's claim → the code → its tickets (to hide hidden ones)"),
        Endpoint("content: custom forms", "list", "GET", f"/v1/events/{e.id}/custom-forms"),
        Endpoint("content: tax", "get", "GET", f"/v1/events/{e.id}/tax"),
        Endpoint("stubs: event types", "list", "GET", "/v1/event-types"),
        Endpoint("events: copy", "write", "POST", f"/v1/events/{e.id}/copy", "owner", {}),
        _windowed("events: admin name search",
                  "/v1/events?filter=" + quote(json.dumps(
                      [{"name": "name", "op": "ilike", "val": "%Event 1%"}])), "admin"),
        _windowed("events: admin past tab",
                  f"/v1/events?page[size]=10&page[number]=1&filter={quote(json.dumps(PAST_TAB))}",
                  "admin"),
    ]


def auth_endpoints(w: dict[str, Any]) -> list[Endpoint]:
    e, uid = w["event"], w["people"]["owner"].id
    return [
        Endpoint("auth: login", "write", "POST", "/v1/auth/login", None,
                 {"email": "owner@bench.test", "password": PASSWORD}),
        Endpoint("auth: get user", "get", "GET", f"/v1/users/{uid}", "owner"),
        Endpoint("auth: list users (admin)", "list", "GET", "/v1/users", "admin"),
        Endpoint("auth: list users cursor", "list", "GET",
                 "/v1/users?page[size]=5&page[cursor]=", "admin"),
        Endpoint("auth: modules", "get", "GET", "/v1/modules"),
        Endpoint("auth: settings", "get", "GET", "/v1/settings"),
        Endpoint("auth: event roles", "list", "GET", f"/v1/events/{e.id}/users-events-roles",
                 "owner"),
        _windowed("auth: admin user email search",
                  f"/v1/users?page[size]=10&page[number]=1&filter="
                  f"{quote(json.dumps(USER_SEARCH))}", "admin"),
    ]


def order_endpoints(w: dict[str, Any]) -> list[Endpoint]:
    e, buyer = w["event"], w["people"]["buyer"].id
    order, attendee = w["order"], w["attendee"]
    return [
        *create_order_endpoints(w),
        Endpoint("orders: get", "get", "GET", f"/v1/orders/{order.identifier}", "buyer"),
        Endpoint("orders: list (admin)", "list", "GET", "/v1/orders", "admin"),
        Endpoint("orders: list cursor (admin)", "list", "GET",
                 "/v1/orders?page[size]=5&page[cursor]=", "admin"),
        Endpoint("orders: of event", "list", "GET", f"/v1/events/{e.id}/orders", "owner"),
        Endpoint("orders: event tab (web app)", "list", "GET",
                 f"/v1/events/{e.id}/orders?include=tickets,user,attendees&filter="
                 f"{quote(json.dumps(COMPLETED_TAB))}&page[size]=10&page[number]=1", "owner",
                 budget=4, why="a list page, then its tickets, buyers and attendees together "
                 "(one BatchGetItem)"),
        Endpoint("orders: of user", "list", "GET", f"/v1/users/{buyer}/orders", "buyer"),
        Endpoint("orders: event statistics", "get", "GET",
                 f"/v1/events/{e.id}/order-statistics", "owner"),
        Endpoint("orders: ticket statistics", "get", "GET",
                 f"/v1/tickets/{w['ticket'].id}/order-statistics", "owner", budget=3,
                 why="the ticket, then its event, then the figures with the caller's role"),
        Endpoint("attendees: get", "get", "GET", f"/v1/attendees/{attendee.id}", "buyer"),
        Endpoint("attendees: of event", "list", "GET", f"/v1/events/{e.id}/attendees", "owner"),
        Endpoint("attendees: event tab (web app)", "list", "GET",
                 f"/v1/events/{e.id}/attendees?include=user,ticket&filter="
                 f"{quote(json.dumps(COMPLETED_ATTENDEES))}&page[size]=10&page[number]=1",
                 "owner", budget=5, why="the event; the figure with the caller's role; the "
                 "tab's orders; their attendees; the included tickets (an attendee has no "
                 "user relationship: the app's include=user names nothing)"),
        Endpoint("attendees: of user", "list", "GET", f"/v1/users/{buyer}/attendees", "buyer"),
        Endpoint("attendees: of order", "list", "GET",
                 f"/v1/orders/{order.identifier}/attendees", "buyer"),
    ]


def create_order_endpoints(w: dict[str, Any]) -> list[Endpoint]:
    """The checkout rows: create-order ≤ 4 calls on success in a warm container (the tickets;
    the event, the caller's role and the tax claim in one BatchGetItem; the tax; the
    transaction). A cold container also loads the caller, the modules and the settings."""
    why = "create-order on success (issue 14); cold adds the caller, modules and settings"
    rows = []
    for label, ticket in (("1 counter", w["ticket"]), ("8 shards", w["sharded"])):
        rows.append(Endpoint(f"orders: create-order ({label})", "write", "POST",
                             "/v1/orders/create-order", "buyer",
                             {"tickets": [{"id": ticket.id, "quantity": 1}]}, budget=4,
                             why=why, repeatable=True, cold_extra=3))
    return rows


def _like_window() -> Any:
    """bench/like_window.py, loaded by path (bench/ stays off sys.path, see above)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_like_window",
                                                  ROOT / "bench" / "like_window.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def like_only(size: int) -> int:
    from moto import mock_aws
    from openevent.jsonapi.query import filter_window
    from openevent.settings import get_settings

    get_settings.cache_clear()
    with mock_aws():
        from openevent.local.gateway import Gateway
        from openevent.local.provision import provision

        provision()
        started = time.monotonic()
        world = seed(size)
        print(f"seeded {size} of each in {time.monotonic() - started:.1f} s", file=sys.stderr)
        gateway = Gateway(pool_size=1, groups=("auth", "events", "orders"))
        rows = _like_window().like_timing(gateway, world["tokens"]["admin"])
    return 0 if _like_window().report_like(rows, min(filter_window(), size), size) else 1


def all_endpoints(w: dict[str, Any]) -> list[Endpoint]:
    return event_endpoints(w) + auth_endpoints(w) + order_endpoints(w)


def run(size: int, counter: CallCounter) -> dict[str, tuple[Endpoint, dict[str, Measured]]]:
    """{label: (endpoint, {"cold": Measured, "warm": Measured})} at `size` items."""
    from moto import mock_aws
    from openevent import container_cache
    from openevent.settings import get_settings

    get_settings.cache_clear()
    out: dict[str, tuple[Endpoint, dict[str, Measured]]] = {}
    with mock_aws():
        from openevent.local.gateway import Gateway
        from openevent.local.provision import provision

        provision()
        started = time.monotonic()
        world = seed(size)
        print(f"seeded {size} of each in {time.monotonic() - started:.1f} s", file=sys.stderr)
        started = time.monotonic()
        gateway = Gateway(pool_size=1, groups=("auth", "events", "orders"))
        ticket_id = ""
        for ep in all_endpoints(world):
            path = ep.path.replace("$T", ticket_id)
            raw = json.dumps(ep.body).replace("$T", ticket_id).encode() \
                if ep.body is not None else None
            headers = {}
            if ep.role:
                headers["Authorization"] = f"JWT {world['tokens'][ep.role]}"
            if raw is not None:
                is_action = path.startswith("/v1/auth") or path.endswith("/copy") \
                    or path.endswith("/create-order")
                headers["Content-Type"] = "application/json" if is_action else JSONAPI

            def call(m: str = ep.method, p: str = path, h: dict[str, str] = headers,
                     b: bytes | None = raw) -> Any:
                return gateway.request(m, p, h, b)

            states: dict[str, Measured] = {}
            container_cache.invalidate()
            calls, read, ops, resp = counter.measure(call)
            states["cold"] = Measured(resp.status, calls, read, ops)
            if ep.label == "tickets: create":
                ticket_id = str(resp.json()["data"]["id"])
            if ep.kind != "write" or ep.repeatable:
                calls, read, ops, resp = counter.measure(call)
                states["warm"] = Measured(resp.status, calls, read, ops)
            out[ep.label] = (ep, states)
        print(f"measured {len(out)} endpoints at {size} in {time.monotonic() - started:.1f} s",
              file=sys.stderr)
        from openevent.jsonapi.query import filter_window

        if size > filter_window():
            LIKE_ROWS[:] = _like_window().like_timing(gateway, world["tokens"]["admin"])
    return out


LIKE_ROWS: list[tuple[str, float, int]] = []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[10, 10000])
    parser.add_argument("--like-only", action="store_true",
                        help="only time ilike over a full window (issue 20, item 5)")
    parser.add_argument("--like-size", type=int, default=10000)
    args = parser.parse_args()
    if args.like_only:
        return like_only(args.like_size)
    counter = CallCounter()
    counter.install()
    small_n, large_n = args.sizes
    small, large = run(small_n, counter), run(large_n, counter)
    width = max(len(label) for label in small)
    head = (f"{'endpoint':<{width}}  status   calls cold   calls warm   read cold      "
            f"budget  ok   ops (cold, at {large_n})")
    print(f"calls and items read at {small_n} → {large_n} items\n")
    print(head)
    print("-" * len(head))
    failures: list[str] = []
    for label, (ep, states) in small.items():
        big = large[label][1]
        cold_s, cold_l = states["cold"], big["cold"]
        warm_s, warm_l = states.get("warm"), big.get("warm")
        problems = []
        for state, a, b in (("cold", cold_s, cold_l), ("warm", warm_s, warm_l)):
            if a is None or b is None:
                continue
            if a.calls != b.calls:
                problems.append(f"{state} calls grow")
            if ep.read_budget is not None:
                if max(a.read, b.read) > ep.read_budget:
                    problems.append(f"{state} read {max(a.read, b.read)} > {ep.read_budget}")
            elif not 0 <= b.read - a.read <= ep.page_size():
                problems.append(f"{state} reads grow")
        limit = ep.limit()
        if limit is not None:
            cold_limit = limit + (ep.cold_extra if ep.cold_extra is not None
                                  else AUTH_ALLOWANCE if ep.role else 0)
            if warm_l is not None and warm_l.calls > limit:  # writes are measured cold only
                problems.append(f"warm {warm_l.calls} > {limit}")
            if cold_l.calls > cold_limit:
                problems.append(f"cold {cold_l.calls} > {cold_limit}")
        if cold_s.status >= 400 or cold_l.status >= 400:
            problems.append(f"status {cold_s.status}/{cold_l.status}")
        extra = ep.cold_extra if ep.cold_extra is not None else AUTH_ALLOWANCE
        budget = "-" if limit is None else (f"{limit}+{extra}" if ep.role else str(limit))
        warm = f"{warm_s.calls:>3}→{warm_l.calls:<3}" if warm_s and warm_l else "   -   "
        ops = ",".join(f"{k}:{v}" for k, v in sorted(cold_l.ops.items()))
        print(f"{label:<{width}}  {cold_s.status:>3}/{cold_l.status:<3} "
              f"{cold_s.calls:>4}→{cold_l.calls:<4}   {warm:<9}  "
              f"{cold_s.read:>5}→{cold_l.read:<6}  {budget:>5}  "
              f"{'yes' if not problems else 'NO '}  {ops}"
              + (f"   <- {'; '.join(problems)}" if problems else ""))
        if problems:
            failures.append(label)
    for label, (ep, _) in small.items():
        if ep.why and ep.read_budget is not None:
            print(f"read budget of '{label}': {ep.read_budget} items — {ep.why}, "
                  f"+{READ_ALLOWANCE}")
        elif ep.why:
            print(f"budget of '{label}': {ep.limit()} — {ep.why}")
    print(f"\n{len(small)} endpoints; budgets: get {BUDGETS['get']}, list page "
          f"{BUDGETS['list']} calls warm (+{AUTH_ALLOWANCE} cold with a token: the caller's "
          f"account); {len(failures)} failing: {', '.join(failures) or 'none'}")
    from openevent.jsonapi.query import filter_window

    like_ok = True
    if LIKE_ROWS:
        like_ok = _like_window().report_like(LIKE_ROWS, filter_window(), large_n)
    return 1 if failures or not like_ok else 0


if __name__ == "__main__":
    sys.exit(main())
