"""DynamoDB calls per request for the events and auth endpoints, with 10 and with 1,000 events.

Every request path must be a GetItem/Query/TransactWrite on keys or GSIs (DESIGN.md "Data"),
so its number of DynamoDB calls may not grow with the number of events in the system. This
runs each endpoint against an embedded AWS (moto, in-process, nothing leaves 127.0.0.1) seeded
with 10 and then 1,000 events, counts the calls by wrapping PynamoDB's `Connection`
(`_make_api_call`, the single point every model and transaction call goes through), prints a
table and exits non-zero if any count differs between the two sizes.

    .venv/bin/python bench/requests.py [--sizes 10 1000]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# This file is named like the `requests` package moto imports: keep bench/ off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
os.environ.update({
    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_SESSION_TOKEN": "bench",
    "AWS_DEFAULT_REGION": "us-east-1", "OPENEVENT_TABLE_PREFIX": "bench-",
    "OPENEVENT_JWT_SECRET": "bench-secret-for-jwt-signing-0123456789",
    "OPENEVENT_OUTBOX_DIR": tempfile.mkdtemp(prefix="openevent-bench-outbox-"),
})
os.environ.pop("AWS_ENDPOINT_URL", None)

JSONAPI = "application/vnd.api+json"


class CallCounter:
    """Counts DynamoDB operations made through PynamoDB while `active`."""

    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self.active = False

    def install(self) -> None:
        from pynamodb.connection.base import Connection

        original = Connection._make_api_call
        counter = self

        def counted(conn: Any, operation_name: str, operation_kwargs: Any) -> Any:
            if counter.active:
                counter.calls[operation_name] += 1
            return original(conn, operation_name, operation_kwargs)

        Connection._make_api_call = counted  # type: ignore[method-assign,assignment]

    def measure(self, fn: Callable[[], Any]) -> tuple[int, dict[str, int], Any]:
        self.calls.clear()
        self.active = True
        try:
            result = fn()
        finally:
            self.active = False
        return sum(self.calls.values()), dict(self.calls), result


def seed(n_events: int) -> dict[str, Any]:
    """n events (every 10th a draft) by batch writes, plus one fully set-up event."""
    from openevent.models.base import next_id
    from openevent.models.events import Event
    from openevent.services import users
    from openevent.services.events import create_event, new_identifier
    from openevent.services.roles import grant_role
    from openevent.services.system import update_modules

    update_modules({"ticket_include": True, "payment_include": True, "donation_include": True})
    owner = users.create_user({"email": "owner@bench.test", "password": "bench-password",
                               "is_verified": True}, send_verification=False)
    member = users.create_user({"email": "member@bench.test", "password": "bench-password",
                                "is_verified": True}, send_verification=False)
    admin = users.create_user({"email": "admin@bench.test", "password": "bench-password",
                               "is_verified": True, "is_admin": True}, send_verification=False)
    starts = datetime(2030, 1, 1, tzinfo=UTC)
    main = create_event(owner, {"name": "Main", "starts_at": starts,
                                "ends_at": starts + timedelta(days=1), "timezone": "UTC",
                                "state": "published", "can_pay_by_stripe": True})
    grant_role(main.id, member.id, "coorganizer")
    with Event.batch_write() as batch:
        for i in range(1, n_events):
            eid = next_id("event")
            batch.save(Event(eid, identifier=new_identifier(), owner_id=owner.id,
                             name=f"Event {eid}", starts_at=starts,
                             ends_at=starts + timedelta(days=1),
                             state="draft" if i % 10 == 0 else "published"))
    tokens = {name: users.tokens_for(u, with_refresh=False)["access_token"]
              for name, u in (("owner", owner), ("member", member), ("admin", admin))}
    return {"event": main, "owner": owner, "tokens": tokens}


def endpoints(world: dict[str, Any]) -> list[tuple[str, str, str, str | None, Any]]:
    """(label, method, path, token role, body) for each measured request, in order."""
    e = world["event"]
    t = world["tokens"]
    uid = world["owner"].id
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
    del t  # tokens are looked up by role name at request time
    return [
        ("events: list (anonymous)", "GET", "/v1/events", None, None),
        ("events: list (user with roles)", "GET", "/v1/events", "member", None),
        ("events: list (admin)", "GET", "/v1/events", "admin", None),
        ("events: list page 3", "GET", "/v1/events?page[size]=5&page[number]=3", None, None),
        ("events: list cursor", "GET", "/v1/events?page[size]=5&page[cursor]=", None, None),
        ("events: get by id", "GET", f"/v1/events/{e.id}", None, None),
        ("events: get by identifier", "GET", f"/v1/events/{e.identifier}", None, None),
        ("events: create", "POST", "/v1/events", "owner", event_doc),
        ("events: patch", "PATCH", f"/v1/events/{e.id}", "owner", patch),
        ("events: user's events", "GET", f"/v1/users/{uid}/events", "owner", None),
        ("tickets: create", "POST", "/v1/tickets", "owner", ticket),
        ("tickets: of event", "GET", f"/v1/events/{e.id}/tickets", None, None),
        ("tickets: availability", "GET", f"/v1/events/{e.identifier}/tickets/availability",
         None, None),
        ("tickets: get", "GET", "/v1/tickets/$T", None, None),
        ("events: get include=tickets", "GET", f"/v1/events/{e.id}?include=tickets", None,
         None),
        ("codes: create", "POST", "/v1/discount-codes", "owner", code),
        ("codes: of event", "GET", f"/v1/events/{e.id}/discount-codes", "owner", None),
        ("codes: public check", "GET", f"/v1/events/{e.id}/discount-codes/BENCH", None, None),
        ("content: custom forms", "GET", f"/v1/events/{e.id}/custom-forms", None, None),
        ("content: tax", "GET", f"/v1/events/{e.id}/tax", None, None),
        ("stubs: event types", "GET", "/v1/event-types", None, None),
        ("events: copy", "POST", f"/v1/events/{e.id}/copy", "owner", {}),
        ("auth: login", "POST", "/v1/auth/login", None,
         {"email": "owner@bench.test", "password": "bench-password"}),
        ("auth: get user", "GET", f"/v1/users/{uid}", "owner", None),
        ("auth: list users", "GET", "/v1/users", "admin", None),
        ("auth: modules", "GET", "/v1/modules", None, None),
        ("auth: settings", "GET", "/v1/settings", None, None),
        ("auth: event roles", "GET", f"/v1/events/{e.id}/users-events-roles", "owner", None),
    ]


def run(size: int, counter: CallCounter) -> dict[str, tuple[int, int, dict[str, int]]]:
    from moto import mock_aws
    from openevent.settings import get_settings

    get_settings.cache_clear()
    out: dict[str, tuple[int, int, dict[str, int]]] = {}
    with mock_aws():
        from openevent.local.gateway import Gateway
        from openevent.local.provision import provision

        provision()
        world = seed(size)
        gateway = Gateway(pool_size=1, groups=("auth", "events"))
        ticket_id = ""
        for label, method, path, role, body in endpoints(world):
            path = path.replace("$T", ticket_id)
            raw = json.dumps(body).replace("$T", ticket_id).encode() if body is not None \
                else None
            headers = {}
            if role:
                headers["Authorization"] = f"JWT {world['tokens'][role]}"
            if raw is not None:
                is_action = path.startswith("/v1/auth") or path.endswith("/copy")
                headers["Content-Type"] = "application/json" if is_action else JSONAPI

            def call(m: str = method, p: str = path, h: dict[str, str] = headers,
                     b: bytes | None = raw) -> Any:
                return gateway.request(m, p, h, b)

            total, ops, resp = counter.measure(call)
            if label == "tickets: create":
                ticket_id = str(resp.json()["data"]["id"])
            out[label] = (resp.status, total, ops)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[10, 1000])
    args = parser.parse_args()
    counter = CallCounter()
    counter.install()
    small, large = (run(size, counter) for size in args.sizes)
    width = max(len(label) for label in small)
    head = f"{'endpoint':<{width}}  status  {args.sizes[0]:>6} ev  {args.sizes[1]:>6} ev  same"
    print(head)
    print("-" * len(head))
    differ = 0
    for label, (status, calls, ops) in small.items():
        status_l, calls_l, _ = large[label]
        same = calls == calls_l
        differ += not same
        detail = ",".join(f"{k}:{v}" for k, v in sorted(ops.items()))
        print(f"{label:<{width}}  {status:>3}/{status_l:<3} {calls:>8}  {calls_l:>9}  "
              f"{'yes' if same else 'NO'}   {detail}")
    print(f"\n{len(small)} endpoints; {differ} with a call count that depends on the event count")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
