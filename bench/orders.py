"""Benchmark: buyers (threads) at one ticket over HTTP, one counter against N seat shards.

Starts moto's server and the gateway on free 127.0.0.1 ports; each buyer POSTs
/v1/orders/create-order for one seat (at most --concurrency in flight; a 503 is retried as a
client honouring Retry-After would). The same buyers run against a single-counter ticket and
then against one split over --shards shards; each run must sell exactly --seats. Prints
orders/s, p50/p99 latency, DynamoDB calls and transaction conflicts per order side by side,
with the ratio, and exits 1 if a run sold a different number of seats or sharding is not at
least --min-ratio faster.

    .venv/bin/python -m bench.orders [--buyers 2000 --seats 1000 --shards 8]

The embedded AWS models DynamoDB's transaction conflicts (--transaction-ms): a transaction is
in flight that long and another one naming one of its items meanwhile is cancelled with
TransactionConflict, as in DynamoDB. The default, 50 ms, is about 3x a real transaction:
moto serializes every call (it is not thread-safe), so here the rest of a request costs tens
of ms of one shared, serial resource, while in AWS it runs in parallel; with the longer window
the hot item — as in AWS — is the narrowest point. With 10 ms the emulator shares that role:
the orders/s ratio shrinks (1.4x against 1.9x) while conflicts still fall ninefold
(docs/scale.md has both). `--plain-moto` runs `.venv/bin/moto_server` unchanged.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_moto(port: int, plain: bool, transaction_ms: float) -> subprocess.Popen[bytes]:
    args = ["-H", "127.0.0.1", "-p", str(port)]
    cmd = [str(VENV_BIN / "moto_server"), *args] if plain else \
        [sys.executable, "-m", "openevent.local.moto_server", *args,
         *(["--transaction-ms", str(transaction_ms)] if transaction_ms else [])]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)  # noqa: S310
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("moto server did not start")


def post(url: str, body: Any, token: str) -> tuple[int, float]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"JWT {token}"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:  # noqa: S310
            resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        exc.read()
        status = exc.code
    return status, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--buyers", type=int, default=200)
    parser.add_argument("--seats", type=int, default=50)
    parser.add_argument("--shards", type=int, default=8,
                        help="shards of the sharded run (the single-counter run has 1)")
    parser.add_argument("--concurrency", type=int, default=64, help="buyers in flight at once")
    parser.add_argument("--transaction-ms", type=float, default=50.0,
                        help="how long a transaction is in flight in the modelled DynamoDB: "
                             "transactions on one item within it conflict (0: off)")
    parser.add_argument("--min-ratio", type=float, default=1.2,
                        help="fail unless sharded orders/s >= this x single-counter orders/s")
    parser.add_argument("--max-conflict-ratio", type=float, default=0.5,
                        help="fail unless sharded conflicts per order <= this x single's")
    parser.add_argument("--plain-moto", action="store_true")
    args = parser.parse_args()

    moto_port = free_port()
    moto = start_moto(moto_port, args.plain_moto, args.transaction_ms)
    os.environ.update({
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}", "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
        "OPENEVENT_TABLE_PREFIX": "bench-",
        "OPENEVENT_JWT_SECRET": "bench-secret-0123456789abcdef-0123456789",
    })
    sys.path.insert(0, str(ROOT))
    try:
        ok = compare(args)
    finally:
        moto.terminate()
        moto.wait(timeout=10)
    sys.exit(0 if ok else 1)


def compare(args: argparse.Namespace) -> bool:
    """The same buyers against a single-counter ticket, then against a sharded one."""
    from openevent.accounts import users as accounts
    from openevent.local.gateway import Gateway
    from openevent.local.provision import provision
    from openevent.models.system import Modules

    provision()
    Modules("1", ticket_include=True, payment_include=True).save()
    accounts.hash_password = lambda pw: "unused"  # type: ignore[assignment]  # JWT only here

    def user(i: int) -> tuple[int, str]:
        u = accounts.create_user({"email": f"buyer{i}-{time.time_ns()}@bench.test",
                                  "password": "bench-password", "is_verified": True},
                                 send_verification=False)
        return u.id, accounts.tokens_for(u, with_refresh=False)["access_token"]

    owner_id, _ = user(0)
    # two at a time: signups share the user count's shards, and the modelled conflicts
    # would turn a faster seeding into a signup benchmark
    with ThreadPoolExecutor(2) as pool:
        tokens = list(pool.map(lambda i: user(i + 1)[1], range(args.buyers)))
    gateway = Gateway(pool_size=8, groups=("orders",))
    port = free_port()
    server = gateway.serve("127.0.0.1", port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"buyers {args.buyers} (at most {args.concurrency} in flight), seats {args.seats}, "
          f"transactions modelled at {args.transaction_ms:g} ms")
    try:
        single = run(owner_id, tokens, args, port, shards=1)
        sharded = run(owner_id, tokens, args, port, shards=args.shards)
    finally:
        server.shutdown()
    print()
    print(f"{'':28}{'1 counter':>12}{f'{args.shards} shards':>12}{'ratio':>8}")
    rows = [("orders/s", "orders_per_s", "{:.1f}"), ("latency p50 ms", "p50", "{:.0f}"),
            ("latency p99 ms", "p99", "{:.0f}"), ("DynamoDB calls per order", "calls", "{:.1f}"),
            ("conflicts per order", "conflicts", "{:.2f}"), ("503 answers", "busy", "{:.0f}"),
            ("seats sold", "sold", "{:.0f}")]
    for label, key, fmt in rows:
        a, b = single[key], sharded[key]
        ratio = f"{b / a:.2f}x" if a else "-"
        print(f"{label:28}{fmt.format(a):>12}{fmt.format(b):>12}{ratio:>8}")
    ok = True
    for name, result in (("single counter", single), ("sharded", sharded)):
        if result["sold"] != args.seats or result["created"] != args.seats:
            print(f"INVARIANT VIOLATED ({name}): {result['sold']} seats sold, "
                  f"{result['created']} orders, for {args.seats} seats")
            ok = False
    ratio = sharded["orders_per_s"] / max(single["orders_per_s"], 1e-9)
    if args.transaction_ms and ratio < args.min_ratio:
        print(f"BUDGET: sharded orders/s is {ratio:.2f}x the single counter's, "
              f"below {args.min_ratio}x")
        ok = False
    conflicts = sharded["conflicts"] / max(single["conflicts"], 1e-9)
    if args.transaction_ms and single["conflicts"] and conflicts > args.max_conflict_ratio:
        print(f"BUDGET: sharded conflicts per order are {conflicts:.2f}x the single "
              f"counter's, above {args.max_conflict_ratio}x")
        ok = False
    if ok:
        print(f"budgets held: exactly {args.seats} seats sold in both runs"
              + (f", orders/s x{ratio:.2f} >= x{args.min_ratio}, conflicts x{conflicts:.2f}"
                 f" <= x{args.max_conflict_ratio}" if args.transaction_ms else ""))
    return ok


def run(owner_id: int, tokens: list[str], args: argparse.Namespace, port: int,
        shards: int) -> dict[str, float]:
    import botocore.client
    import botocore.exceptions
    from openevent.accounts.roles import grant_role
    from openevent.events import inventory
    from openevent.models.base import next_id, now
    from openevent.models.events import Event, Ticket
    from pynamodb.transactions import TransactWrite

    start = now() + timedelta(days=10)
    event = Event(next_id("event"), identifier=os.urandom(4).hex(), owner_id=owner_id,
                  name="Bench", starts_at=start, ends_at=start + timedelta(days=1),
                  state="published")
    event.save()
    grant_role(event.id, owner_id, "owner")
    ticket = Ticket(next_id("ticket"), event_id=event.id, name="Seat", type="free",
                    quantity=args.seats, max_order=10,
                    seat_shards=shards if shards > 1 else None)
    with TransactWrite(connection=inventory.db_connection()) as tx:
        tx.save(ticket)
        for shard in (inventory.shard_items(int(ticket.id), args.seats, shards)
                      if shards > 1 else []):
            tx.save(shard)
    url = f"http://127.0.0.1:{port}/v1/orders/create-order"
    body = {"tickets": [{"id": ticket.id, "quantity": 1}]}

    calls: Counter[str] = Counter()
    conflicts = [0]
    original = botocore.client.BaseClient._make_api_call
    count_lock = threading.Lock()

    def counted(self: object, operation: str, params: object) -> object:
        with count_lock:
            calls[operation] += 1
        try:
            return original(self, operation, params)  # type: ignore[arg-type]
        except botocore.exceptions.ClientError as exc:
            if "TransactionConflict" in str(exc):
                with count_lock:
                    conflicts[0] += 1
            raise

    botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]
    results: list[tuple[int, float, int]] = [(0, 0.0, 0)] * len(tokens)

    def buyer(i: int) -> None:
        # a client honouring 503 + Retry-After (scaled down: the bench has no minutes)
        busy = 0
        first = time.perf_counter()
        for _ in range(20):
            status, _latency = post(url, body, tokens[i])
            if status != 503:
                break
            busy += 1
            time.sleep(random.uniform(0.05, 0.2))
        results[i] = (status, time.perf_counter() - first, busy)

    started = time.perf_counter()
    with ThreadPoolExecutor(args.concurrency) as pool:
        list(pool.map(buyer, range(len(tokens))))
    elapsed = time.perf_counter() - started
    botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]

    statuses = Counter(status for status, _, _ in results)
    latencies = sorted(lat for _, lat, _ in results)
    if shards > 1:
        sold = sum(int(s.taken) for s in inventory.read_shards(int(ticket.id)).values())
    else:
        sold = int(Ticket.get(ticket.id).seats_taken)
    created = statuses.get(201, 0)
    total_calls = sum(calls.values())
    print(f"\n{shards} shard(s): wall {elapsed:.2f}s, responses {dict(sorted(statuses.items()))}"
          f", DynamoDB calls {dict(calls.most_common())}")
    return {"orders_per_s": created / elapsed, "p50": statistics.median(latencies) * 1000,
            "p99": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
            "calls": total_calls / max(created, 1), "conflicts": conflicts[0] / max(created, 1),
            "busy": sum(b for _, _, b in results), "sold": sold, "created": created}


if __name__ == "__main__":
    main()
