"""Latency one request at a time on `make run`, against the floor of its own DynamoDB work.

A person clicking through the web app waits for one request at a time. For each request a
page of the app makes, this measures on a real local runtime (`python -m openevent.local`,
journal on, nothing but 127.0.0.1):

- p50 at concurrency 1, warm (keep-alive, after warm-up requests), over `--samples` requests,
  sampled in turns with its floor (and Open Event Server's answer): one of each per round;
- the floor: the p50 of the same AWS round trips made bare (botocore, no framework) to the
  same embedded AWS, in the same run. The calls are recorded by sending the same request
  through the same handlers in this process (`openevent.local.gateway.Gateway`, pointed at
  the runtime's embedded AWS and data) with botocore's `_make_api_call` recorded — operation
  and parameters — and replayed as they were (a replayed conditional write that is refused
  still costs its round trip). For the login the floor also holds one argon2 verification
  with the product's parameters (`openevent.security`): the password hash is the work, not
  overhead;
- the ratio p50 / floor, with budgets: ≤ 2x for reads, ≤ 3x for login and create-order;
- requests per second at concurrency 1, 10 and 50 (GET of one event by identifier);
- with `--profile`: where each request's time goes, from a profile of it sent through the same
  handlers in this process (the recorder's gateway): the local gateway, the handler and the
  domain code, the JSON:API layer, PynamoDB/botocore (serializing, signing, parsing), waiting
  on the embedded AWS (the HTTP hop, moto and the journal: a separate process, so time spent
  blocked reading its socket), and the rest;
- with `--oes URL`: the same requests against a running Open Event Server seeded with the
  same data through its own API, measured in the same run, and each row's ratio ours ÷ OES.

    .venv/bin/python bench/latency.py [--samples 200] [--events 1000]
        [--oes http://127.0.0.1:5000 --oes-login admin@example.com:password]

Exit status 1 when a budget is exceeded.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# This folder holds a file named like the `requests` package: keep it off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

ADMIN = {"email": "admin@openevent.local", "password": "open-event-admin"}
JSONAPI = {"Content-Type": "application/vnd.api+json", "Accept": "application/vnd.api+json"}
BUDGET = {"read": 2.0, "login": 3.0, "write": 3.0}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def p50(fn: Callable[[], Any], samples: int, warmup: int = 20) -> float:
    return paired_p50([fn], samples, warmup)[0]


def paired_p50(fns: list[Callable[[], Any]], samples: int, warmup: int = 20) -> list[float]:
    """The p50 of each function, sampled in turns (one call of each per round), so a change
    in the machine's load while measuring weighs on every figure of a row alike."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(samples):
        for fn, spent in zip(fns, times, strict=True):
            started = time.perf_counter()
            fn()
            spent.append((time.perf_counter() - started) * 1000)
    return [statistics.median(spent) for spent in times]


def ok(resp: requests.Response) -> requests.Response:
    if resp.status_code >= 400:
        raise SystemExit(f"{resp.request.method} {resp.request.url} -> {resp.status_code}: "
                         f"{resp.text[:300]}")
    return resp


class Wire:
    """The measured requests' client: a kept-alive HTTP/1.1 connection per thread
    (`http.client`), so the figures hold the server's time and little of a client library's
    own (`requests` added about 0.5 ms a request here; a browser's HTTP stack is native)."""

    def __init__(self, base: str) -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.local = threading.local()

    def send(self, method: str, path: str, headers: dict[str, str],
             body: Any = None) -> bytes:
        import http.client

        raw = json.dumps(body).encode() if body is not None else None
        for attempt in (1, 2):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection(self.host, self.port,
                                                                    timeout=60)
            try:
                conn.request(method, path, body=raw, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.HTTPException, OSError):
                conn.close()
                self.local.conn = None  # the server closed a kept-alive connection
                if attempt == 2:
                    raise
                continue
            if resp.status >= 400:
                raise SystemExit(f"{method} {path} -> {resp.status}: {data[:300]!r}")
            return data
        raise AssertionError("unreachable")


# --- the system under test ----------------------------------------------------------------

def start_runtime(data_dir: Path, port: int) -> tuple[subprocess.Popen[bytes], str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "OPENEVENT_", "SUPER_ADMIN"))}
    env.update({"PORT": str(port), "OPENEVENT_DATA_DIR": str(data_dir), "OPENEVENT_LAB": "0",
                "OPENEVENT_WEB_APP": "0", "OPENEVENT_PAYMENT_SANDBOX": "0",
                "OPENEVENT_MODULES": "ticket", "OPENEVENT_HTTPS_PORT": "off"})
    log = data_dir.parent / "runtime.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "openevent.local"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while "running locally" not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"runtime did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.2)
    moto = re.search(r"Embedded AWS moto at (http://127\.0\.0\.1:\d+)", log.read_text())
    assert moto is not None
    return proc, moto.group(1)


def event_doc(name: str) -> dict[str, Any]:
    start = datetime.now(UTC) + timedelta(days=30)
    return {"data": {"type": "event", "attributes": {
        "name": name, "starts-at": start.isoformat(), "timezone": "UTC", "state": "published",
        "ends-at": (start + timedelta(hours=2)).isoformat()}}}


def ticket_doc(event_id: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"data": {"type": "ticket", "attributes": {
        "name": "Free entry", "type": "free", "price": 0, "quantity": 1_000_000,
        "sales-starts-at": (now - timedelta(days=1)).isoformat(),
        "sales-ends-at": (now + timedelta(days=20)).isoformat(), "max-order": 10},
        "relationships": {"event": {"data": {"type": "event", "id": event_id}}}}}


class Target:
    """One API (ours or Open Event Server's) seeded with the same data through itself."""

    def __init__(self, base: str, email: str, password: str) -> None:
        self.base, self.email, self.password = base, email, password
        self.session = requests.Session()
        self.token = ""

    def login(self) -> requests.Response:
        return ok(self.session.post(self.base + "/auth/session", timeout=60, json={
            "email": self.email, "password": self.password}))

    def auth(self) -> dict[str, str]:
        return {**JSONAPI, "Authorization": f"JWT {self.token}"}

    def seed(self, events: int) -> None:
        self.token = self.login().json()["access_token"]

        def make(i: int) -> str:
            with requests.Session() as s:
                return str(ok(s.post(self.base + "/v1/events", json=event_doc(f"Event {i}"),
                                     headers=self.auth(), timeout=60)).json()["data"]["id"])

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            ids = list(pool.map(make, range(events)))
        self.event_id = ids[-1]
        got = ok(self.session.get(f"{self.base}/v1/events/{self.event_id}",
                                  headers=self.auth(), timeout=60)).json()
        self.identifier = got["data"]["attributes"]["identifier"]
        ticket = ok(self.session.post(self.base + "/v1/tickets", json=ticket_doc(self.event_id),
                                      headers=self.auth(), timeout=60)).json()
        self.ticket_id = ticket["data"]["id"]

    def pages(self) -> dict[str, tuple[str, Callable[[], bytes]]]:
        wire = Wire(self.base)
        body = {"tickets": [{"id": self.ticket_id, "quantity": 1}]}
        login = {"email": self.email, "password": self.password}
        as_json = {"Content-Type": "application/json"}
        return {
            "GET /v1/events (page of 10)": ("read", lambda: wire.send(
                "GET", "/v1/events?page[size]=10", JSONAPI)),
            "GET /v1/events/<identifier>": ("read", lambda: wire.send(
                "GET", f"/v1/events/{self.identifier}", JSONAPI)),
            "GET /v1/events/<id>/tickets": ("read", lambda: wire.send(
                "GET", f"/v1/events/{self.event_id}/tickets", JSONAPI)),
            "POST /auth/session": ("login", lambda: wire.send(
                "POST", "/auth/session", as_json, login)),
            "POST /v1/orders/create-order": ("write", lambda: wire.send(
                "POST", "/v1/orders/create-order", {**self.auth(), **as_json}, body)),
        }


# --- counting the AWS calls of a request, in-process ----------------------------------------

class CallRecorder:
    """Sends a request through the same handlers in this process, against the runtime's
    embedded AWS and data, and records the AWS calls it makes (service, operation, params)."""

    def __init__(self, moto: str, data_dir: Path) -> None:
        os.environ.update({
            "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": moto,
            "OPENEVENT_LOCAL": "1", "OPENEVENT_WEB_APP": "0",
            "OPENEVENT_DATA_DIR": str(data_dir),
            "OPENEVENT_OUTBOX_DIR": str(data_dir / "outbox"),
            "OPENEVENT_JWT_SECRET": (data_dir / "jwt-secret").read_text().strip(),
            "OPENEVENT_DATA_KEY": (data_dir / "data-key").read_text().strip()})
        import copy

        import botocore.client
        from openevent.local.gateway import Gateway

        self.calls: list[tuple[str, str, Any]] = []
        original = botocore.client.BaseClient._make_api_call
        recorder = self

        def recorded(client: Any, operation: str, params: Any) -> Any:
            recorder.calls.append((client.meta.service_model.service_name, operation,
                                   copy.deepcopy(params)))
            return original(client, operation, params)

        self.unrecorded = original
        botocore.client.BaseClient._make_api_call = recorded  # type: ignore[method-assign]
        self.gateway = Gateway(pool_size=1, groups=("auth", "events", "orders"))

    def record(self, method: str, path: str, headers: dict[str, str],
               body: Any = None) -> list[tuple[str, str, Any]]:
        raw = json.dumps(body).encode() if body is not None else None
        for _ in range(2):  # the second is warm, like the measured requests
            self.calls.clear()
            resp = self.gateway.request(method, path, {"Host": "127.0.0.1", **headers}, raw)
            assert resp.status < 400, (path, resp.status, resp.body[:300])
        return list(self.calls)


def floor_trips(moto: str, calls: list[tuple[str, str, Any]],
                replay: Callable[..., Any]) -> Callable[[], None]:
    """The recorded calls replayed bare, one after the other, with botocore (`replay` is
    botocore's own `_make_api_call`, not the recording one): one sample of the floor."""
    import boto3
    from botocore.exceptions import ClientError

    clients = {service: boto3.client(service, endpoint_url=moto, region_name="us-east-1",
                                     aws_access_key_id="local", aws_secret_access_key="local")
               for service in {c[0] for c in calls}}

    def trips() -> None:
        for service, operation, params in calls:
            try:
                replay(clients[service], operation, params)
            except ClientError:
                pass  # a refused conditional write: its round trip is what counts

    return trips


def argon2_ms(samples: int) -> float:
    from openevent.security import hash_password, verify_password

    stored = hash_password("a password of usual length")
    return p50(lambda: verify_password(stored, "a password of usual length"), samples, 3)


# Where a profiled function's own time is counted, by the file it runs in (first match wins).
LAYERS = (
    ("waiting on the embedded AWS", ("of '_socket.socket' objects", "<built-in method _socket",
                                     "<built-in method select.")),
    ("password hash (argon2)", ("argon2",)),
    ("local gateway", ("openevent/local/", "chalice/local.py")),
    ("JSON:API (wire, jsonapi)", ("openevent/jsonapi/", "openevent/wire/")),
    ("PynamoDB, botocore", ("pynamodb/", "botocore/", "urllib3/", "http/client.py")),
    ("handler and domain code", ("functions/", "openevent/", "chalice/")),
)


def profile_breakdown(recorder: CallRecorder, method: str, path: str, headers: dict[str, str],
                      body: Any, times: int = 50, top: int = 0) -> dict[str, float]:
    """Milliseconds per request by layer (`LAYERS`), from cProfile's own time of each function
    over `times` warm requests through the in-process gateway."""
    import cProfile
    import pstats

    raw = json.dumps(body).encode() if body is not None else None
    send = lambda: recorder.gateway.request(  # noqa: E731
        method, path, {"Host": "127.0.0.1", **headers}, raw)
    send()
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(times):
        send()
    profile.disable()
    out: dict[str, float] = {name: 0.0 for name, _ in LAYERS}
    out["other (stdlib, json, logging)"] = 0.0
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    for (filename, _line, function), (_cc, _nc, own, _cum, _callers) in stats.items():
        where = f"{filename} {function}"
        layer = next((name for name, marks in LAYERS if any(m in where for m in marks)),
                     "other (stdlib, json, logging)")
        out[layer] += own * 1000 / times
    if top:
        print(f"\n{method} {path}: the {top} costliest functions (own time, ms a request)")
        costly = sorted(stats.items(), key=lambda kv: -kv[1][2])[:top]
        for (filename, line, function), (_cc, calls, own, _cum, _callers) in costly:
            print(f"  {own * 1000 / times:6.2f}  {calls / times:7.1f} calls  "
                  f"{Path(filename).name}:{line} {function}")
    return out


def throughput(fn: Callable[[], Any], concurrency: int, total: int) -> float:
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda _: fn(), range(total)))
    return total / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--oes", help="a running Open Event Server to measure beside ours")
    parser.add_argument("--profile", action="store_true",
                        help="also print where each request's time goes, by layer")
    parser.add_argument("--top", type=int, default=0, metavar="N",
                        help="with --profile: also print each request's N costliest functions")
    parser.add_argument("--oes-login", default="admin@example.com:password",
                        help="its super admin, email:password")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="openevent-latency-")) / "data"
    proc, moto = start_runtime(data_dir, port := free_port())
    failed = []
    try:
        ours = Target(f"http://127.0.0.1:{port}", ADMIN["email"], ADMIN["password"])
        started = time.monotonic()
        ours.seed(args.events)
        print(f"seeded {args.events} events in {time.monotonic() - started:.0f} s")
        oes = None
        if args.oes:
            email, _, password = args.oes_login.partition(":")
            oes = Target(args.oes.rstrip("/"), email, password)
            oes.seed(args.events)
        recorder = CallRecorder(moto, data_dir)
        slow_hash = argon2_ms(20)
        print(f"argon2 verification (the login's own work): p50 {slow_hash:.1f} ms\n")
        header = ("| request, one at a time | AWS calls | p50 | floor p50 (same calls, bare) | "
                  "ratio | budget |")
        if oes:
            header += " OES p50 | ours ÷ OES |"
        print(header)
        print("|" + "---|" * (header.count("|") - 1))
        ours_req = ours.pages()
        oes_req = oes.pages() if oes else {}
        profiles: dict[str, dict[str, float]] = {}
        for name, (kind, send) in ours_req.items():
            method, path = name.split(" ", 1)
            real = {"GET /v1/events (page of 10)": "/v1/events?page[size]=10",
                    "GET /v1/events/<identifier>": f"/v1/events/{ours.identifier}",
                    "GET /v1/events/<id>/tickets": f"/v1/events/{ours.event_id}/tickets",
                    "POST /auth/session": "/auth/session",
                    "POST /v1/orders/create-order": "/v1/orders/create-order"}[name]
            headers = {"Content-Type": "application/json"} if method == "POST" else JSONAPI
            body: Any = None
            if kind == "login":
                body = {"email": ours.email, "password": ours.password}
            elif kind == "write":
                headers = {"Content-Type": "application/json",
                           "Authorization": f"JWT {ours.token}"}
                body = {"tickets": [{"id": ours.ticket_id, "quantity": 1}]}
            calls = recorder.record(method, real, headers, body)
            if args.profile:
                profiles[name] = profile_breakdown(recorder, method, real, headers, body,
                                                   top=args.top)
            # ours, the floor (and Open Event Server) in turns, sample by sample
            measured = [send, floor_trips(moto, calls, recorder.unrecorded)]
            if oes:
                measured.append(oes_req[name][1])
            ms, floor, *theirs_p50 = paired_p50(measured, args.samples)
            if kind == "login":
                floor += slow_hash
            ratio = ms / floor if floor else float("inf")
            within = ratio <= BUDGET[kind]
            if not within:
                failed.append(name)
            ops = ", ".join(sorted({c[1] for c in calls}))
            row = (f"| {name} | {len(calls)} ({ops}) | {ms:.1f} ms | {floor:.1f} ms | "
                   f"{ratio:.2f}x | ≤ {BUDGET[kind]:.0f}x {'ok' if within else 'EXCEEDED'} |")
            if oes:
                theirs = theirs_p50[0]
                row += f" {theirs:.1f} ms | {ms / theirs:.2f}x |"
            print(row)
        if profiles:
            layers = list(next(iter(profiles.values())))
            print("\nwhere the time goes (ms a request, in-process, profiled: the profiler "
                  "itself slows Python code, not the waits)\n")
            print("| request | " + " | ".join(layers) + " |")
            print("|" + "---|" * (len(layers) + 1))
            for name, spent in profiles.items():
                print(f"| {name} | " + " | ".join(f"{spent[k]:.1f}" for k in layers) + " |")
        one = ours_req["GET /v1/events/<identifier>"][1]
        print()
        for concurrency in (1, 10, 50):
            rate = throughput(one, concurrency, max(200, concurrency * 20))
            line = f"GET /v1/events/<identifier> at concurrency {concurrency}: {rate:.0f} req/s"
            if oes:
                theirs = throughput(oes_req["GET /v1/events/<identifier>"][1], concurrency,
                                    max(200, concurrency * 20))
                line += f"; OES {theirs:.0f} req/s ({rate / theirs:.2f}x)"
            print(line)
        print(f"\nload average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
              "cores")
    finally:
        proc.terminate()
        proc.wait(timeout=120)
    if failed:
        print(f"\nover budget: {', '.join(failed)}")
        sys.exit(1)
    print("\nevery request within its budget")


if __name__ == "__main__":
    main()
