"""Lab round-trip benchmark: function calls through the MQTT broker to a simulated agent.

    .venv/bin/python bench/lab.py                 # own mosquitto + in-process simulated agent
    .venv/bin/python bench/lab.py --broker 127.0.0.1:1883 --device-id lab-1   # running agent
    .venv/bin/python bench/lab.py --via api --api http://127.0.0.1:8000    # a running `make run`
    .venv/bin/python bench/lab.py --stream        # live frames to 1 and 20 WebSocket viewers

Each call is published as a ``call`` command with the same relay/protocol code the API uses
(:func:`openevent.lab.relay.publish_command` through :class:`~openevent.lab.relay.MqttPublisher`)
and timed until its result arrives on ``lab/v1/<device>/res``. Targets: p50 ≤ 100 ms,
p99 ≤ 300 ms. ``--via api`` times the whole path instead: HTTP → lab group → DynamoDB →
broker → agent → result relay → DynamoDB → the waiting request (against `make run`).
"""

from __future__ import annotations

import argparse
import json
import queue
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from openevent.lab import protocol, relay
from openevent.lab.grammar import parse_call
from openevent.lab.localbroker import LocalBroker
from openevent.lab.mqtt5 import Mqtt5Session

FUNCTIONS = ["get_voltage('CH1')", "get_pv1()", "set_pv1(1.5)", "get_resistance()",
             "capture1('CH1', 200, 2)"]


def percentile(sorted_ms: list[float], p: float) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, int(round(p / 100 * (len(sorted_ms) - 1))))]


def via_broker(host: str, port: int, device_id: str, n: int) -> list[float]:
    results: queue.Queue[Any] = queue.Queue()
    # Separate connections for sending and receiving, as in the local runtime.
    sub = Mqtt5Session(host, port, subscriptions=[protocol.res_topic(device_id)],
                       on_message=results.put)
    sub.start()
    publisher = relay.MqttPublisher(host, port)
    times: list[float] = []
    try:
        for i in range(n):
            text = parse_call(FUNCTIONS[i % len(FUNCTIONS)]).to_text()
            cid = f"bench-{i}-{time.time_ns()}"
            start = time.perf_counter()
            relay.publish_command(publisher, device_id, protocol.make_call_command(cid, text))
            while True:
                msg = json.loads(results.get(timeout=10).payload)
                if msg.get("id") == cid:
                    break
            if msg.get("status") != "done":
                raise RuntimeError(f"call {text} failed: {msg.get('error')}")
            times.append((time.perf_counter() - start) * 1000)
    finally:
        publisher.close()
        sub.stop()
    return times


def via_api(base: str, email: str, password: str, n: int) -> list[float]:
    """POST /v1/lab/calls n times against a running system; ms per answered call."""
    # urllib, not requests: bench/requests.py would shadow the library here.
    import urllib.request

    def post(path: str, body: dict[str, Any], token: str | None = None) -> Any:
        request = urllib.request.Request(
            f"{base}{path}", data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json",
                     **({"Authorization": f"JWT {token}"} if token else {})})
        with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310 - loopback
            return json.loads(resp.read())

    token = post("/auth/session", {"email": email, "password": password})["access_token"]
    times = []
    for i in range(n):
        start = time.perf_counter()
        result = post("/v1/lab/calls", {"function": FUNCTIONS[i % len(FUNCTIONS)]}, token)
        times.append((time.perf_counter() - start) * 1000)
        if result.get("status") != "done":
            raise RuntimeError(f"call {i}: {result}")
    return times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--broker", help="host:port of a broker with a running agent")
    p.add_argument("--device-id", default="lab-1")
    p.add_argument("-n", type=int, default=200, help="number of calls")
    p.add_argument("--via", choices=["broker", "api"], default="broker")
    p.add_argument("--api", default="http://127.0.0.1:8000", help="base URL for --via api")
    p.add_argument("--email", default="admin@openevent.local")
    p.add_argument("--password", default="open-event-admin")
    p.add_argument("--stream", action="store_true",
                   help="measure live oscilloscope frames over the WebSocket (lab_stream.py)")
    p.add_argument("--viewers", type=int, default=20, help="viewers of one device (--stream)")
    p.add_argument("--seconds", type=float, default=10.0, help="seconds per phase (--stream)")
    p.add_argument("--fps", type=float, default=12.0,
                   help="frames/s asked for (--stream; 12 leaves a margin over the 10 budget)")
    p.add_argument("--samples", type=int, default=1000, help="samples per frame (--stream)")
    p.add_argument("--stream-api", dest="stream_api", default=None,
                   help="a running runtime for --stream (default: start one)")
    args = p.parse_args(argv)

    if args.stream:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from lab_stream import main as stream_main

        args.api = args.stream_api
        return stream_main(args)

    if args.via == "api":
        return report(args.via, sorted(via_api(args.api, args.email, args.password, args.n)))

    broker = agent = None
    if args.broker:
        host, _, port_s = args.broker.rpartition(":")
        port = int(port_s)
    else:
        from edge_agent.runner import start_agent

        broker = LocalBroker().start()
        host, port = broker.host, broker.port
        agent = start_agent(args.device_id, host, port)
    try:
        times = sorted(via_broker(host, port, args.device_id, args.n))
    finally:
        if agent is not None:
            agent.stop()
        if broker is not None:
            broker.stop()
    return report(args.via, times)


def report(via: str, times: list[float]) -> int:
    p50, p99 = percentile(times, 50), percentile(times, 99)
    print(f"lab round trip via {via}: n={len(times)} p50={p50:.2f} ms p99={p99:.2f} ms "
          f"mean={statistics.fmean(times):.2f} ms max={times[-1]:.2f} ms")
    ok = p50 <= 100 and p99 <= 300
    print("targets (p50 <= 100 ms, p99 <= 300 ms):", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
