"""Benchmark: 200 concurrent buyers (threads) at one 50-seat ticket, over HTTP.

Starts moto's server and the gateway on free 127.0.0.1 ports, then each buyer POSTs
/v1/orders/create-order for one seat. Prints orders/s, p50/p99 latency, seats sold (must be
exactly 50) and DynamoDB calls per order.

    .venv/bin/python -m bench.orders [--buyers 200] [--seats 50] [--plain-moto]

moto's DynamoDB backend is not thread-safe (a failed transaction restores a deep copy of whole
tables, undoing other threads' writes), while its server is threaded. By default the bench
therefore runs moto's server with its DynamoDB backend serialized per call, as DynamoDB is;
`--plain-moto` runs `.venv/bin/moto_server` unchanged to show the difference.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_moto(port: int, plain: bool) -> subprocess.Popen[bytes]:
    args = ["-H", "127.0.0.1", "-p", str(port)]
    cmd = [str(VENV_BIN / "moto_server"), *args] if plain else \
        [sys.executable, "-m", "openevent.local.moto_server", *args]
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
    parser.add_argument("--plain-moto", action="store_true")
    args = parser.parse_args()

    moto_port = free_port()
    moto = start_moto(moto_port, args.plain_moto)
    os.environ.update({
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}", "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
        "OPENEVENT_TABLE_PREFIX": "bench-",
        "OPENEVENT_JWT_SECRET": "bench-secret-0123456789abcdef-0123456789",
    })
    sys.path.insert(0, str(ROOT))
    try:
        run(args.buyers, args.seats)
    finally:
        moto.terminate()
        moto.wait(timeout=10)


def run(buyers: int, seats: int) -> None:
    from datetime import timedelta

    import botocore.client
    from openevent.local.gateway import Gateway
    from openevent.local.provision import provision
    from openevent.models.base import next_id, now
    from openevent.models.events import Event, Ticket
    from openevent.models.system import Modules
    from openevent.services import users as accounts
    from openevent.services.roles import grant_role

    provision()
    Modules("1", ticket_include=True, payment_include=True).save()
    accounts.hash_password = lambda pw: "unused"  # type: ignore[assignment]  # JWT only here

    def user(i: int) -> tuple[int, str]:
        u = accounts.create_user({"email": f"buyer{i}-{time.time_ns()}@bench.test",
                                  "password": "bench-password", "is_verified": True},
                                 send_verification=False)
        return u.id, accounts.tokens_for(u, with_refresh=False)["access_token"]

    owner_id, _ = user(0)
    start = now() + timedelta(days=10)
    event = Event(next_id("event"), identifier=os.urandom(4).hex(), owner_id=owner_id,
                  name="Bench", starts_at=start, ends_at=start + timedelta(days=1),
                  state="published")
    event.save()
    grant_role(event.id, owner_id, "owner")
    ticket = Ticket(next_id("ticket"), event_id=event.id, name="Seat", type="free",
                    quantity=seats)
    ticket.save()
    tokens = [user(i + 1)[1] for i in range(buyers)]

    gateway = Gateway(pool_size=8, groups=("orders",))
    port = free_port()
    server = gateway.serve("127.0.0.1", port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{port}/v1/orders/create-order"
    body = {"tickets": [{"id": ticket.id, "quantity": 1}]}

    calls: Counter[str] = Counter()
    original = botocore.client.BaseClient._make_api_call
    count_lock = threading.Lock()

    def counted(self: object, operation: str, params: object) -> object:
        with count_lock:
            calls[operation] += 1
        return original(self, operation, params)  # type: ignore[arg-type]

    botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]
    results: list[tuple[int, float]] = [(0, 0.0)] * buyers
    barrier = threading.Barrier(buyers)

    def buyer(i: int) -> None:
        barrier.wait()
        results[i] = post(url, body, tokens[i])

    threads = [threading.Thread(target=buyer, args=(i,)) for i in range(buyers)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]
    server.shutdown()

    statuses = Counter(status for status, _ in results)
    latencies = sorted(lat for _, lat in results)
    sold = int(Ticket.get(ticket.id).seats_taken)
    created = statuses.get(201, 0)
    total_calls = sum(calls.values())
    print(f"buyers {buyers}, seats {seats}, wall {elapsed:.2f}s")
    print(f"responses {dict(sorted(statuses.items()))}")
    print(f"orders/s {created / elapsed:.1f} (requests/s {buyers / elapsed:.1f})")
    print(f"latency p50 {statistics.median(latencies) * 1000:.0f} ms, "
          f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.0f} ms")
    print(f"seats sold {sold} (orders created {created})")
    print(f"DynamoDB calls {total_calls}: {dict(calls.most_common())}")
    print(f"DynamoDB calls per request {total_calls / buyers:.1f}, "
          f"per created order {total_calls / max(created, 1):.1f}")
    if sold != seats or created != seats:
        print("INVARIANT VIOLATED: seats sold must equal the ticket quantity")
        sys.exit(1)


if __name__ == "__main__":
    main()
