"""The `ilike` part of bench/requests.py (issue 20, item 5): the worst patterns the caps allow,
timed over a full candidate window against the same request whose filter constrains nothing.

CPU time of each request (`time.process_time`: gateway, handler and embedded DynamoDB run in
this process; other processes' load does not count), the least of `LIKE_REPEATS` warm runs
taken in turns with the baseline. Used by bench/requests.py; not run on its own.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

LIKE_RATIO_BUDGET = 2.0
LIKE_REPEATS = 5


def worst_like_patterns() -> list[str]:
    """The most expensive patterns the caps allow against the seeded names ("Event <id>"):
    all wildcards (every candidate walks every part), wildcards with a last part that never
    matches, and the longest pattern with literal parts that occur in every name."""
    from openevent.jsonapi.filtering import MAX_LIKE_LENGTH, MAX_LIKE_WILDCARDS

    half = MAX_LIKE_WILDCARDS // 2
    longest = "%Event" + "%_" * (half - 1) + "%"  # exactly MAX_LIKE_WILDCARDS wildcards
    longest += "9" * (MAX_LIKE_LENGTH - len(longest))  # a tail longer than any name
    patterns = ["%_" * half, "%_" * half + "#", "_" * (MAX_LIKE_WILDCARDS - 1) + "%",
                "%E%v%e%n%t%_%1%", longest]
    assert all(len(p) <= MAX_LIKE_LENGTH and p.count("%") + p.count("_") <= MAX_LIKE_WILDCARDS
               for p in patterns)
    return patterns


def like_timing(gateway: Any, token: str) -> list[tuple[str, float, int]]:
    """(label, least CPU seconds, status) of the no-constraint window and of each worst
    pattern, admin event list, warm; each pattern is measured in turns with the baseline."""
    headers = {"Authorization": f"JWT {token}"}

    def path_of(spec: Any) -> str:
        return "/v1/events?filter=" + quote(json.dumps(spec))

    def once(path: str) -> tuple[float, int]:
        started = time.process_time()
        status = gateway.request("GET", path, headers, None).status
        return time.process_time() - started, status

    base_path = path_of({"or": []})
    base_status = once(base_path)[1]  # warms the caches too
    base_runs: list[float] = []
    rows: list[tuple[str, float, int]] = []
    for pattern in worst_like_patterns():
        path = path_of([{"name": "name", "op": "ilike", "val": pattern}])
        status = once(path)[1]
        runs = []
        for _ in range(LIKE_REPEATS):
            took, seen = once(base_path)
            base_runs.append(took)
            base_status = max(base_status, seen)  # any failure shows
            took, seen = once(path)
            runs.append(took)
            status = max(status, seen)
        rows.append((pattern, min(runs), status))
    return [('{"or": []}', min(base_runs), base_status), *rows]


def report_like(rows: list[tuple[str, float, int]], window: int, size: int) -> bool:
    base = rows[0][1]
    print(f"\nilike over a full candidate window ({window} of {size} events, admin list, "
          f"least CPU time of {LIKE_REPEATS} warm requests, in turns with the baseline)")
    ok = True
    for label, took, status in rows:
        ratio = took / base
        good = status == 200 and ratio <= LIKE_RATIO_BUDGET
        ok = ok and good
        print(f"  {label[:60]:<60}  {status}  {took * 1000:7.1f} ms  {ratio:4.2f}×  "
              f"{'yes' if good else 'NO'}")
    print(f"budget: every pattern within {LIKE_RATIO_BUDGET:.0f}× the no-constraint window")
    return ok
