"""Cold-start import time of each function group's `app` module.

Each group is imported in a fresh interpreter (as a new Lambda container would), several
times, and the median is printed. Target: auth ≤ 250 ms.

The Lambda layer does not ship awscrt (only the edge agent uses it), but botocore imports it
whenever it is installed, as it is in this virtualenv; the probe hides it so the figures are
those of the deployed package. The `floor` row is botocore + PynamoDB + Chalice alone: what
any group that touches DynamoDB pays before running a line of its own.

    .venv/bin/python bench/cold_import.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS_MS = {"auth": 250}
PROBE = """
import importlib.util, os, sys, time
sys.modules["awscrt"] = None  # not in the Lambda layer (see the docstring)
os.environ.setdefault("OPENEVENT_JWT_SECRET", "bench")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
start = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
elapsed = (time.perf_counter() - start) * 1000
heavy = sorted(m for m in ("weasyprint", "stripe", "awscrt", "awsiot", "numpy", "moto")
               if sys.modules.get(m) is not None)
print(f"{elapsed:.1f} {','.join(heavy) or '-'}")
"""


FLOOR = """
import sys, time
sys.modules["awscrt"] = None
start = time.perf_counter()
import chalice.app, pynamodb.models  # noqa: E401
print(f"{(time.perf_counter() - start) * 1000:.1f} -")
"""


def measure(group: str, runs: int) -> tuple[float, str]:
    times, heavy = [], "-"
    for _ in range(runs):
        argv = ([sys.executable, "-c", FLOOR] if group == "floor" else
                [sys.executable, "-c", PROBE, str(ROOT / "functions" / group / "app.py")])
        out = subprocess.run(  # noqa: S603 - our own interpreter and files
            argv,
            capture_output=True, text=True, check=True, cwd=ROOT,
        ).stdout.split()
        times.append(float(out[0]))
        heavy = out[1]
    return statistics.median(times), heavy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"{'group':8} {'median ms':>10} {'target':>8}  heavy modules loaded")
    failed = False
    for group in ("floor", "auth", "events", "orders", "lab"):
        ms, heavy = measure(group, args.runs)
        target = TARGETS_MS.get(group)
        verdict = "" if target is None else ("ok" if ms <= target else "OVER")
        failed |= verdict == "OVER"
        print(f"{group:8} {ms:10.1f} {target or '-':>8}  {heavy}  {verdict}")
    if failed:
        print("auth is over its target: see the floor row for the part botocore/PynamoDB take")


if __name__ == "__main__":
    main()
