"""Memory and latency of the local runtime under a mixed load.

Starts `python -m openevent.local` (the real runtime: gateway, journaled moto) on a free port
in a temporary data directory, then sends 3,000 requests at concurrency 50 — logins (argon2,
the memory-hungry part), signups, event creation, event lists and single events — and prints
the resident memory (RSS) of the runtime and of the embedded AWS before and after, next to
p50/p99 latency per kind. Exits non-zero if the runtime's RSS after the load exceeds the
budget (`--budget-mb`, default 400) or any request got a 5xx.

Then the embedded AWS's memory budget (issue #27): `--reads` (20,000) read requests (event
lists and single events, at the same concurrency) once warm (after `--warm-reads`, 2,000),
sampling moto's RSS every 1,000; it must stay flat, within ±`--moto-flat-pct` (10 %) of the
warm value — memory grows with the data, never with the number of requests. Then the
runtime is restarted on the same data dir; after the same warm-up reads and its first
snapshot cut (one write, then up to 60 s), moto's RSS must not be more than `--moto-flat-pct`
below what it was before the restart (the same data must not take less memory after a
restart than after the load). Exits non-zero otherwise. The
temporary data dir is removed at the end (`--keep-data` keeps it).

    .venv/bin/python bench/load.py [--requests 3000] [--concurrency 50] [--budget-mb 400]
                                   [--reads 20000] [--moto-flat-pct 10] [--keep-data]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from openevent.lab.localbroker import free_port  # noqa: E402

JSONAPI = {"Content-Type": "application/vnd.api+json"}
ADMIN = {"email": "admin@openevent.local", "password": "open-event-admin"}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def moto_pid(runtime: int) -> int:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().split(b"\0")
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == runtime and b"openevent.local.moto_server" in cmd:
                return int(entry.name)
    raise RuntimeError("moto child not found")


def event_doc(name: str) -> dict[str, Any]:
    start = datetime.now(UTC) + timedelta(days=30)
    return {"data": {"type": "event", "attributes": {
        "name": name, "starts-at": start.isoformat(), "timezone": "UTC", "state": "published",
        "ends-at": (start + timedelta(hours=2)).isoformat()}}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--budget-mb", type=float, default=400.0)
    parser.add_argument("--reads", type=int, default=20000)
    parser.add_argument("--warm-reads", type=int, default=2000)
    parser.add_argument("--moto-flat-pct", type=float, default=10.0)
    parser.add_argument("--keep-data", action="store_true")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="openevent-load-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "OPENEVENT_", "SUPER_ADMIN"))}
    env.update({"PORT": str(port), "OPENEVENT_DATA_DIR": str(root / "data"),
                "OPENEVENT_LAB": "0", "OPENEVENT_WEB_APP": "0",
                "OPENEVENT_PAYMENT_SANDBOX": "0", "OPENEVENT_HTTPS_PORT": "off"})
    base = f"http://127.0.0.1:{port}"
    try:
        proc = start(env, root / "runtime.log")
        try:
            seed, moto = run(base, proc.pid, args)
            end = reads_stay_flat(base, moto, seed, args) if args.reads else None
        finally:
            stop(proc)
        if end is not None:
            proc = start(env, root / "runtime-restarted.log")
            try:
                same_data_after_restart(base, proc.pid, seed, end, root / "data", args)
            finally:
                stop(proc)
    finally:
        if args.keep_data:
            print(f"data kept in {root / 'data'}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`python -m openevent.local` with `env`, once its banner says it is serving."""
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "openevent.local"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while "running locally" not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise SystemExit(f"runtime did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.2)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=120)


def run(base: str, runtime: int, args: argparse.Namespace) -> tuple[list[str], int]:
    """The mixed load; returns the seeded events' ids and moto's pid."""
    admin = requests.post(f"{base}/auth/session", json=ADMIN, timeout=60).json()["access_token"]
    auth = {**JSONAPI, "Authorization": f"JWT {admin}"}
    seed = [requests.post(f"{base}/v1/events", json=event_doc(f"Seed {i}"), headers=auth,
                          timeout=60).json()["data"]["id"] for i in range(10)]
    accounts = []
    for i in range(20):
        email = f"load{i}@example.com"
        requests.post(f"{base}/v1/users", json={"data": {"type": "user", "attributes": {
            "email": email, "password": "load-password"}}}, headers=JSONAPI, timeout=60)
        accounts.append(email)
    moto = moto_pid(runtime)
    before = (rss_mb(runtime), rss_mb(moto))

    local = threading.local()
    counter = iter(range(10**9))

    def session() -> requests.Session:
        if not hasattr(local, "s"):
            local.s = requests.Session()
        return local.s  # type: ignore[no-any-return]

    def one(kind: str) -> tuple[str, float, int]:
        s = session()
        n = next(counter)
        started = time.perf_counter()
        if kind == "login":
            resp = s.post(f"{base}/auth/session", timeout=120, json={
                "email": random.choice(accounts), "password": "load-password"})  # noqa: S311
        elif kind == "signup":
            resp = s.post(f"{base}/v1/users", headers=JSONAPI, timeout=120, json={"data": {
                "type": "user", "attributes": {"email": f"new{n}@example.com",
                                               "password": "load-password"}}})
        elif kind == "create event":
            resp = s.post(f"{base}/v1/events", json=event_doc(f"Load {n}"), headers=auth,
                          timeout=120)
        elif kind == "list events":
            resp = s.get(f"{base}/v1/events?page[size]=10", timeout=120)
        else:
            resp = s.get(f"{base}/v1/events/{random.choice(seed)}", timeout=120)  # noqa: S311
        return kind, (time.perf_counter() - started) * 1000, resp.status_code

    mix = (["login"] * 2 + ["signup"] * 2 + ["create event"] * 2 + ["list events"] * 2
           + ["get event"] * 2)
    kinds = [mix[i % len(mix)] for i in range(args.requests)]
    random.Random(7).shuffle(kinds)
    started = time.perf_counter()
    peak = [before[0]]

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb(runtime))
            time.sleep(0.2)

    done = threading.Event()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with ThreadPoolExecutor(args.concurrency) as pool:
        results = list(pool.map(one, kinds))
    done.set()
    elapsed = time.perf_counter() - started
    after = (rss_mb(runtime), rss_mb(moto))

    by_kind: dict[str, list[float]] = defaultdict(list)
    statuses: dict[int, int] = defaultdict(int)
    for kind, ms, status in results:
        by_kind[kind].append(ms)
        statuses[status] += 1
    all_ms = sorted(ms for _, ms, _ in results)

    def pct(values: list[float], p: float) -> float:
        return statistics.quantiles(values, n=100)[int(p) - 1] if len(values) > 1 else values[0]

    print(f"{args.requests} requests, concurrency {args.concurrency}, {elapsed:.1f} s "
          f"({args.requests / elapsed:.0f} req/s), {os.cpu_count()} cores")
    print(f"{'kind':14} {'n':>5} {'p50 ms':>8} {'p99 ms':>8}")
    for kind in sorted(by_kind):
        values = sorted(by_kind[kind])
        print(f"{kind:14} {len(values):5} {pct(values, 50):8.0f} {pct(values, 99):8.0f}")
    print(f"{'all':14} {len(all_ms):5} {pct(all_ms, 50):8.0f} {pct(all_ms, 99):8.0f}")
    print("statuses", dict(sorted(statuses.items())))
    print(f"RSS runtime   before {before[0]:6.0f} MB  after {after[0]:6.0f} MB  "
          f"peak {peak[0]:6.0f} MB  (budget {args.budget_mb:.0f} MB)")
    print(f"RSS moto      before {before[1]:6.0f} MB  after {after[1]:6.0f} MB")
    errors = sum(count for status, count in statuses.items() if status >= 500)
    if peak[0] > args.budget_mb or errors:
        print(f"FAIL: peak RSS {peak[0]:.0f} MB (budget {args.budget_mb:.0f}), {errors} 5xx")
        sys.exit(1)
    return seed, moto


class Reader:
    """Read requests as the budget counts them: event lists and single events, alternating,
    one session per thread."""

    def __init__(self, base: str, seed: list[str]) -> None:
        self.base, self.seed, self.local = base, seed, threading.local()

    def __call__(self, n: int) -> int:
        if not hasattr(self.local, "s"):
            self.local.s = requests.Session()
        session = self.local.s
        if n % 2:
            return session.get(f"{self.base}/v1/events?page[size]=10", timeout=120).status_code
        return session.get(f"{self.base}/v1/events/{self.seed[n % len(self.seed)]}",
                           timeout=120).status_code


def reads_stay_flat(base: str, moto: int, seed: list[str], args: argparse.Namespace) -> float:
    """The embedded AWS's memory over `args.reads` reads once warm: flat within ±pct.
    Returns its RSS at the end."""
    read = Reader(base, seed)
    with ThreadPoolExecutor(args.concurrency) as pool:
        bad = [s for s in pool.map(read, range(args.warm_reads)) if s != 200]
        warm = rss_mb(moto)
        samples = [warm]
        for start in range(0, args.reads, 1000):
            bad += [s for s in pool.map(read, range(start, min(start + 1000, args.reads)))
                    if s != 200]
            samples.append(rss_mb(moto))
    low, high = min(samples), max(samples)
    limit = warm * args.moto_flat_pct / 100
    print(f"RSS moto over {args.reads} reads once warm: {warm:.0f} MB warm, "
          f"{low:.0f}-{high:.0f} MB (budget ±{args.moto_flat_pct:g} % = ±{limit:.0f} MB), "
          f"{samples[-1]:.0f} MB at the end; {len(bad)} non-200")
    if high - warm > limit or warm - low > limit or bad:
        print("FAIL: the embedded AWS's memory is not flat over reads")
        sys.exit(1)
    return samples[-1]


def same_data_after_restart(base: str, runtime: int, seed: list[str], before: float,
                            data_dir: Path, args: argparse.Namespace) -> None:
    """The same data, restarted, warmed by the same reads and past one snapshot cut (as the
    process before the restart was), must take about as much memory as it did after the
    whole load: what the load left behind is the data, not the requests."""
    moto = moto_pid(runtime)
    fresh = rss_mb(moto)
    with ThreadPoolExecutor(args.concurrency) as pool:
        bad = [s for s in pool.map(Reader(base, seed), range(args.warm_reads)) if s != 200]
    warm = rss_mb(moto)
    # a cut holds its working memory (the S3 client's model, the captured tables) as the
    # long-running process does: one write, then the next generation (every 60 s)
    generations = set((data_dir / "store").glob("gen-*"))
    admin = requests.post(f"{base}/auth/session", json=ADMIN, timeout=60).json()["access_token"]
    requests.post(f"{base}/v1/events", json=event_doc("After restart"), timeout=60,
                  headers={**JSONAPI, "Authorization": f"JWT {admin}"}).raise_for_status()
    deadline = time.monotonic() + 120
    while set((data_dir / "store").glob("gen-*")) <= generations:
        if time.monotonic() > deadline:
            raise SystemExit("no snapshot generation was cut within 120 s of a write")
        time.sleep(1)
    cut = rss_mb(moto)
    limit = cut * args.moto_flat_pct / 100
    print(f"RSS moto, the same data after a restart: {fresh:.0f} MB at start, {warm:.0f} MB "
          f"after {args.warm_reads} reads, {cut:.0f} MB after its first snapshot cut; "
          f"{before:.0f} MB before the restart (budget +{args.moto_flat_pct:g} % = "
          f"+{limit:.0f} MB); {len(bad)} non-200")
    if before - cut > limit or bad:
        print("FAIL: the embedded AWS kept memory beyond its data (a restart frees it)")
        sys.exit(1)


if __name__ == "__main__":
    main()
