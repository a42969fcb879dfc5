"""Check-in at the door: scans per second through the API for an event of 10,000 attendees,
DynamoDB calls per scan (budget 2), and the scanner page's offline verification per ticket.

- The API side runs in-process against an embedded DynamoDB (moto, nothing leaves this
  machine) through the real gateway and route table, like bench/requests.py: an event with
  N attendees in completed orders of 10 seats (written straight into the tables, with the
  order figures their transactions would have kept), each attendee's signed code made by
  `openevent.checkin.tickets.ticket_code`. `--devices` scanners then admit `--scans`
  different attendees at once (each a POST /v1/checkin/events/<id>/scans with its own scan
  id); scans/s is wall time over that run. moto spends CPU where DynamoDB spends network
  time, so the figure is this machine's, not a deployment's.
- DynamoDB calls are counted per scan, by kind: an admission, a second scan of an admitted
  ticket ("already in"), a retry of the same scan id. Exit status 1 if any exceeds 2.
- The scanner page's offline path runs in Debian's Chromium on web/checkin/ served from
  127.0.0.1: per ticket, the Ed25519 check alone (WebCrypto), and a whole offline admission
  (check, attendee-list lookup, local save) against the 10,000-attendee list.

    .venv/bin/python bench/checkin.py [--attendees 10000] [--scans 2000] [--devices 4]
"""

from __future__ import annotations

import argparse
import collections
import functools
import http.server
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
_KEYS = Path(tempfile.mkdtemp(prefix="openevent-bench-keys-")) / "ticket-keys.json"
os.environ.update({
    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_SESSION_TOKEN": "bench",
    "AWS_DEFAULT_REGION": "us-east-1", "OPENEVENT_TABLE_PREFIX": "bench-",
    "OPENEVENT_JWT_SECRET": "bench-secret-for-jwt-signing-0123456789",
    "OPENEVENT_OUTBOX_DIR": tempfile.mkdtemp(prefix="openevent-bench-outbox-"),
    "OPENEVENT_CACHE_SECONDS": "600",
    "OPENEVENT_TICKET_KEYS_FILE": str(_KEYS),
})
os.environ.pop("AWS_ENDPOINT_URL", None)

BUDGET = 2
SEATS_PER_ORDER = 10
CHROMIUM = "/usr/bin/chromium"


class CallCounter:
    """DynamoDB operations made through PynamoDB, counted per thread."""

    def __init__(self) -> None:
        self.local = threading.local()

    def install(self) -> None:
        from pynamodb.connection.base import Connection

        original = Connection._make_api_call
        counter = self

        def counted(conn: Any, operation: str, kwargs: Any) -> Any:
            calls = getattr(counter.local, "calls", None)
            if calls is not None:
                calls.append(operation)
            return original(conn, operation, kwargs)

        Connection._make_api_call = counted  # type: ignore[method-assign]

    def measure(self, fn: Any) -> tuple[list[str], Any]:
        self.local.calls = []
        try:
            result = fn()
        finally:
            calls, self.local.calls = self.local.calls, None
        return calls, result


def put_all(items: list[Any]) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_DEFAULT_REGION"]]
    for item in items:
        backend.get_table(type(item).Meta.table_name).put_item(item.serialize())


def seed(n: int) -> dict[str, Any]:
    from openevent.accounts import users
    from openevent.accounts.roles import grant_role
    from openevent.events.lifecycle import create_event
    from openevent.events.tickets import create_ticket
    from openevent.models.base import next_id
    from openevent.models.orders import Attendee, Order, OrderFigure, OrderLine, event_status_key
    from openevent.orders import figures as order_counts
    from openevent.platform.settings import update_modules

    update_modules({"ticket_include": True})
    owner = users.create_user({"email": "owner@bench.test", "password": "bench-password-1",
                               "is_verified": True}, send_verification=False)
    registrar = users.create_user({"email": "door@bench.test", "password": "bench-password-1",
                                   "is_verified": True}, send_verification=False)
    starts = datetime.now(UTC) + timedelta(hours=1)
    event = create_event(owner, {"name": "Door", "starts_at": starts, "timezone": "UTC",
                                 "ends_at": starts + timedelta(days=1), "state": "published"})
    grant_role(event.id, registrar.id, "registrar")
    ticket = create_ticket(owner, event, {"name": "Regular", "type": "free", "quantity": n})
    items: list[Any] = []
    attendees: list[Any] = []
    for start in range(0, n, SEATS_PER_ORDER):
        oid = next_id("order")
        ids = [next_id("attendee") for _ in range(min(SEATS_PER_ORDER, n - start))]
        items.append(Order(oid, identifier=str(uuid.uuid4()), event_id=event.id,
                           user_id=owner.id, status="completed",
                           event_status=event_status_key(event.id, "completed"),
                           payment_mode="free", attendee_ids=ids,
                           lines=[OrderLine(ticket_id=ticket.id, quantity=len(ids), price=0)],
                           completed_at=datetime.now(UTC)))
        for aid in ids:
            attendee = Attendee(aid, event_id=event.id, ticket_id=ticket.id, user_id=owner.id,
                                order_id=oid, firstname="Guest", lastname=str(aid),
                                email=f"g{aid}@bench.test", holds_seat=True)
            attendees.append(attendee)
    put_all(items + attendees)
    put_all([OrderFigure(order_counts.event_figure(event.id), 0,
                         orders_completed=len(items), seats_completed=n, sales_completed=0,
                         attendees=n)])
    token = users.tokens_for(registrar, with_refresh=False)["access_token"]
    return {"event": event, "attendees": attendees, "token": token}


def api_figures(n: int, scans: int, devices: int) -> dict[str, Any]:
    from moto import mock_aws
    from openevent.checkin import tickets
    from openevent.local.moto_patches import lock_moto_dynamodb
    from openevent.settings import get_settings
    from openevent.signing import keys

    keys.ensure_file(_KEYS)
    get_settings.cache_clear()
    lock_moto_dynamodb()  # atomic per call, as DynamoDB is, for the concurrent devices
    counter = CallCounter()
    counter.install()
    with mock_aws():
        from openevent.local.gateway import Gateway
        from openevent.local.provision import provision

        provision()
        started = time.monotonic()
        world = seed(n)
        print(f"seeded {n} attendees in {time.monotonic() - started:.1f} s", file=sys.stderr)
        started = time.perf_counter()
        codes = {int(a.id): tickets.ticket_code(a) for a in world["attendees"]}
        sign_ms = (time.perf_counter() - started) * 1000 / n
        gateway = Gateway(pool_size=devices, groups=("auth", "orders"))
        path = f"/v1/checkin/events/{world['event'].id}/scans"
        headers = {"Authorization": f"JWT {world['token']}", "Content-Type": "application/json"}

        def scan(code: str, scan_id: str, device: str) -> dict[str, Any]:
            body = json.dumps({"code": code, "scan-id": scan_id, "device": device}).encode()
            resp = gateway.request("POST", path, headers, body)
            assert resp.status == 200, resp.body
            return dict(resp.json())

        order = list(codes)
        random.Random(24).shuffle(order)
        # warm the container (the caller's account, the key ring) before anything is timed
        scan(codes[order[-1]], "warm-0001", "warm")
        wanted = order[:scans]
        calls: dict[str, list[int]] = collections.defaultdict(list)
        ops: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)

        def device(k: int) -> list[str]:
            results = []
            for i in range(k, len(wanted), devices):
                made, answer = counter.measure(
                    lambda i=i: scan(codes[wanted[i]], f"adm-{i:08d}", f"Door {k}"))
                calls["admitted"].append(len(made))
                ops["admitted"].update(made)
                results.append(answer["result"])
            return results

        started = time.perf_counter()
        with ThreadPoolExecutor(devices) as pool:
            results = [r for part in pool.map(device, range(devices)) for r in part]
        elapsed = time.perf_counter() - started
        assert results.count("admitted") == len(wanted), collections.Counter(results)
        for i, aid in enumerate(wanted[:300]):
            made, answer = counter.measure(lambda aid=aid, i=i: scan(codes[aid], f"again-{i:08d}",
                                                                     "Door X"))
            assert answer["result"] == "already-in"
            calls["already-in"].append(len(made))
            ops["already-in"].update(made)
            made, again = counter.measure(lambda i=i: scan(codes[wanted[i]], f"adm-{i:08d}",
                                                           "Door 0"))
            assert again["result"] == "admitted"  # the admitting scan id's answer, again
            calls["retry"].append(len(made))
            ops["retry"].update(made)
        figures = tickets.figures(int(world["event"].id))
        assert figures["checked-in"] == len(wanted) + 1, figures
        return {"attendees": n, "scans": len(wanted), "devices": devices,
                "seconds": elapsed, "scans_per_s": len(wanted) / elapsed,
                "sign_ms": sign_ms, "calls": dict(calls), "ops": dict(ops),
                "figures": figures, "public_keys": tickets.public_keys(int(world["event"].id)),
                "sample": [(str(a.id), codes[int(a.id)]) for a in world["attendees"]],
                "event_id": str(world["event"].id)}


def offline_figures(api: dict[str, Any], samples: int) -> dict[str, float]:
    """Per-ticket times of the page's own offline path in Chromium."""
    from playwright.sync_api import sync_playwright

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(ROOT / "web"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    attendees = [{"id": aid, "name": f"Guest {aid}", "ticket": "Regular",
                  "ticket-id": None, "version": 1, "state": "admissible", "checked-in": False,
                  "checked-in-at": None, "device": None} for aid, _ in api["sample"]]
    sample = api["sample"][:samples]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page()
            page.goto(base + "/checkin/checkin.css")  # any page of the origin (a secure one)
            return dict(page.evaluate("""async ([keys, eventId, attendees, sample]) => {
                const codes = await import('/checkin/js/codes.js');
                const { OfflineStore } = await import('/checkin/js/offline.js');
                for (const a of attendees) a['ticket-id'] = codes.parse(sample[0][1]).ticketId;
                const imported = await codes.importKeys(keys);
                let t = performance.now();
                for (const [, code] of sample) await codes.verify(code, imported);
                const verify = (performance.now() - t) / sample.length;
                const store = new OfflineStore(eventId);
                store.prepare(keys, attendees);
                t = performance.now();
                let admitted = 0;
                for (const [, code] of sample) {
                    const answer = await store.admit(code, crypto.randomUUID(), 'Bench');
                    if (answer.result === 'admitted') admitted += 1;
                }
                const admit = (performance.now() - t) / sample.length;
                return {verify_ms: verify, admit_ms: admit, admitted, samples: sample.length,
                        list_bytes: localStorage.getItem(store.key + '.list').length};
            }""", [api["public_keys"], api["event_id"], attendees, sample]))
    finally:
        server.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attendees", type=int, default=10_000)
    parser.add_argument("--scans", type=int, default=2_000)
    parser.add_argument("--devices", type=int, default=4)
    parser.add_argument("--offline-samples", type=int, default=500)
    args = parser.parse_args()
    api = api_figures(args.attendees, args.scans, args.devices)
    print(f"event of {api['attendees']} attendees: {api['scans']} admissions by "
          f"{api['devices']} devices in {api['seconds']:.1f} s = "
          f"{api['scans_per_s']:.1f} scans/s (signing a ticket: {api['sign_ms']:.2f} ms)")
    failed = False
    for kind in ("admitted", "already-in", "retry"):
        made = api["calls"][kind]
        worst = max(made)
        ok = worst <= BUDGET
        failed |= not ok
        print(f"DynamoDB calls per scan, {kind:<10}: mean {sum(made) / len(made):.2f}, "
              f"max {worst} (budget {BUDGET}) {'ok' if ok else 'OVER BUDGET'}  "
              f"{dict(api['ops'][kind])}")
    print(f"figures: {api['figures']}")
    off = offline_figures(api, args.offline_samples)
    assert off["admitted"] == off["samples"], off
    print(f"scanner page offline (Chromium, {off['samples']} tickets, list of "
          f"{args.attendees} attendees = {off['list_bytes'] / 1e6:.1f} MB): Ed25519 check "
          f"{off['verify_ms']:.3f} ms/ticket; whole offline admission (check, lookup, save) "
          f"{off['admit_ms']:.2f} ms/ticket")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
