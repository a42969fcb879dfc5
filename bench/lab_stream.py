"""Live stream benchmark (``bench/lab.py --stream``): frames from the agent to WebSocket viewers.

The whole local path is measured: a real ``python -m openevent.local`` (started here on a free
port with a throw-away data dir, or ``--api`` for a running one) with its mosquitto, simulated
agent and stream hub; viewers are WebSocket clients (``websockets``) that log in and open the
oscilloscope of one device with the same settings, so they share one capture loop.

Printed for 1 viewer and for ``--viewers`` viewers (default 20): frames per second delivered
per viewer, end-to-end latency p50/p99 from the agent's capture (the frame's ``captured_at``)
to the viewer's receipt (same machine, same clock), and bytes per frame.
Budgets: ≥ 10 frames/s of 1,000 samples on one channel, p99 ≤ 250 ms, and with 20 viewers
no viewer's rate more than 10 % below the single viewer's.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess  # noqa: S404 - starting the runtime is the point
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BUDGET_FPS = 10.0
BUDGET_P99_MS = 250.0
BUDGET_SLOWDOWN = 0.10


@dataclass
class ViewerResult:
    received: list[tuple[float, float, int]] = field(default_factory=list)  # (at, captured, size)
    seqs: list[int] = field(default_factory=list)
    error: str | None = None

    def skipped(self) -> int:
        """Frames the agent sent that this viewer never got (dropped for it or lost)."""
        return sum(b - a - 1 for a, b in zip(self.seqs, self.seqs[1:], strict=False) if b > a)

    def rate(self) -> float:
        if len(self.received) < 2:
            return 0.0
        span = self.received[-1][0] - self.received[0][0]
        return (len(self.received) - 1) / span if span > 0 else 0.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _post(base: str, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(f"{base}{path}", data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310 - loopback
        return json.loads(resp.read())


def start_runtime() -> tuple[subprocess.Popen[str], str, Path]:
    from openevent.lab.localbroker import free_port

    port = free_port()
    data = Path(tempfile.mkdtemp(prefix="bench-lab-stream-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OPENEVENT_"))}
    env.update({"PORT": str(port), "OPENEVENT_DATA_DIR": str(data / "data"),
                "OPENEVENT_PAYMENT_SANDBOX": "0", "OPENEVENT_HTTPS_PORT": "off"})
    log = data / "runtime.log"
    process = subprocess.Popen([sys.executable, "-m", "openevent.local"], cwd=ROOT, env=env,  # noqa: S603
                               stdout=open(log, "w"), stderr=subprocess.STDOUT, text=True,  # noqa: SIM115
                               start_new_session=True)
    deadline = time.monotonic() + 120
    while "running locally" not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"runtime did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.2)
    return process, f"http://127.0.0.1:{port}", data


def viewer(base: str, token: str, settings: dict[str, Any], seconds: float,
           start: threading.Barrier | None, out: ViewerResult) -> None:
    from websockets.sync.client import connect

    url = base.replace("http://", "ws://") + "/v1/lab/stream"
    try:
        with connect(url, subprotocols=["openevent-lab.v1", f"jwt.{token}"],  # type: ignore[list-item]
                     max_size=2**20, open_timeout=20) as ws:
            if start is not None:
                start.wait(timeout=60)
            ws.send(json.dumps({"action": "open", "device": "lab-1", "instrument": "scope",
                                "settings": settings}))
            end = None
            while end is None or time.time() < end:
                raw = ws.recv(timeout=5)
                at = time.time()
                msg = json.loads(raw)
                if msg.get("kind") == "frame":
                    if end is None:
                        end = at + seconds  # measure from the first frame
                    out.received.append((at, float(msg["captured_at"]), len(raw)))
                    out.seqs.append(int(msg["seq"]))
                elif msg.get("kind") in ("busy", "error", "device", "closed"):
                    raise RuntimeError(f"stream refused: {msg}")
            ws.send('{"action":"close"}')
    except Exception as exc:  # reported, the benchmark fails
        out.error = f"{type(exc).__name__}: {exc}"


def run_viewers(base: str, token: str, n: int, settings: dict[str, Any],
                seconds: float) -> list[ViewerResult]:
    results = [ViewerResult() for _ in range(n)]
    barrier = threading.Barrier(n)
    threads = [threading.Thread(target=viewer, args=(base, token, settings, seconds, barrier, r))
               for r in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 90)
    return results


def summarize(label: str, results: list[ViewerResult]) -> dict[str, float]:
    errors = [r.error for r in results if r.error]
    if errors:
        raise RuntimeError(f"{label}: {len(errors)} viewers failed, e.g. {errors[0]}")
    lat = [(at - cap) * 1000 for r in results for at, cap, _ in r.received]
    sizes = [size for r in results for _, _, size in r.received]
    rates = [r.rate() for r in results]
    row = {"viewers": len(results), "fps_mean": statistics.fmean(rates), "fps_min": min(rates),
           "p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99),
           "bytes_per_frame": statistics.fmean(sizes), "frames": len(lat),
           "skipped": sum(r.skipped() for r in results)}
    print(f"{label:>10}: viewers={len(results):>2}  frames/s per viewer mean={row['fps_mean']:.2f} "
          f"min={row['fps_min']:.2f}  latency p50={row['p50_ms']:.1f} ms "
          f"p99={row['p99_ms']:.1f} ms  bytes/frame={row['bytes_per_frame']:.0f}  "
          f"frames={row['frames']} skipped={row['skipped']}")
    return row


def main(args: Any) -> int:
    process = data = None
    base = args.api
    if not base:
        process, base, data = start_runtime()
    try:
        token = _post(base, "/v1/auth/login", {"email": args.email,
                                               "password": args.password})["access_token"]
        _post_auth(base, "/v1/lab/calls", {"function": "set_sine1(1000)"}, token)
        settings = {"channels": ["CH1"], "samples": args.samples, "timegap": 2.0,
                    "fps": args.fps, "trigger": None}
        print(f"stream: oscilloscope CH1, {args.samples} samples, {args.fps:g} frames/s "
              f"requested, {args.seconds:g} s per phase")
        one = summarize("1 viewer", run_viewers(base, token, 1, settings, args.seconds))
        time.sleep(1.0)  # the first loop ends (last viewer left) before the next starts
        many = summarize(f"{args.viewers} viewers",
                         run_viewers(base, token, args.viewers, settings, args.seconds))
    finally:
        if process is not None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
    slowdown = 1 - many["fps_min"] / one["fps_mean"] if one["fps_mean"] else 1.0
    checks = {
        f"1 viewer >= {BUDGET_FPS:g} frames/s": one["fps_mean"] >= BUDGET_FPS,
        f"p99 <= {BUDGET_P99_MS:g} ms (1 viewer)": one["p99_ms"] <= BUDGET_P99_MS,
        f"p99 <= {BUDGET_P99_MS:g} ms ({args.viewers} viewers)": many["p99_ms"] <= BUDGET_P99_MS,
        f"slowest of {args.viewers} within {BUDGET_SLOWDOWN:.0%} of 1 viewer "
        f"(is {slowdown:.1%})": slowdown <= BUDGET_SLOWDOWN,
    }
    for name, ok in checks.items():
        print(f"  {'met' if ok else 'MISSED'}: {name}")
    return 0 if all(checks.values()) else 1


def _post_auth(base: str, path: str, body: dict[str, Any], token: str) -> Any:
    request = urllib.request.Request(f"{base}{path}", data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json",
                                                             "Authorization": f"JWT {token}"})
    with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310 - loopback
        return json.loads(resp.read())
